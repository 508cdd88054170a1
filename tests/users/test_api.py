"""Users through the GraphQL API: create, read, filter, page, update, delete, typed errors."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient

CREATE = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) {
    user { id externalId name tier tags properties signedUpAt lifecycleStage }
    userErrors { field message code }
  }
}
"""


async def create(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload = (await gql.data(CREATE, {"input": {"name": "Li Lei", **fields}}))["createUser"]
    assert payload["userErrors"] == [], payload
    return dict(payload["user"])


async def test_created_user_is_readable_by_id_and_external_id(gql: GraphQLClient) -> None:
    user = await create(
        gql, externalId="u-1", tier="CORE", tags=["vip", "vip", "pm"], properties={"dept": "PMO"}
    )
    assert user["tier"] == "CORE"
    assert user["tags"] == ["pm", "vip"]
    assert user["lifecycleStage"] == "NEW"
    by_external = await gql.data(
        'query { user(externalId: "u-1") { id name properties } }', role="agent"
    )
    assert by_external["user"] == {
        "id": user["id"],
        "name": "Li Lei",
        "properties": {"dept": "PMO"},
    }
    by_id = await gql.data("query($id: ID!) { user(id: $id) { externalId } }", {"id": user["id"]})
    assert by_id["user"]["externalId"] == "u-1"


async def test_unknown_user_is_null(gql: GraphQLClient) -> None:
    data = await gql.data('query { a: user(externalId: "nope") { id } b: user(id: "x") { id } }')
    assert data == {"a": None, "b": None}


async def test_duplicate_external_id_is_a_conflict_and_writes_nothing(gql: GraphQLClient) -> None:
    await create(gql, externalId="dup")
    payload = (await gql.data(CREATE, {"input": {"name": "Other", "externalId": "dup"}}))[
        "createUser"
    ]
    assert payload["user"] is None
    assert payload["userErrors"] == [
        {
            "field": "input.externalId",
            "message": "a user with externalId 'dup' exists",
            "code": "CONFLICT",
        }
    ]
    total = await gql.data("query { users { totalCount } }")
    assert total["users"]["totalCount"] == 1


async def test_invalid_fields_are_all_reported_with_their_paths(gql: GraphQLClient) -> None:
    payload = (
        await gql.data(CREATE, {"input": {"name": "  ", "externalId": "", "email": "not-an-email"}})
    )["createUser"]
    fields = sorted(e["field"] for e in payload["userErrors"])
    assert fields == ["input.email", "input.externalId", "input.name"]
    assert {e["code"] for e in payload["userErrors"]} == {"VALIDATION"}
    assert (await gql.data("query { users { totalCount } }"))["users"]["totalCount"] == 0


async def test_filters_and_keyset_pages_cover_every_user_once(gql: GraphQLClient) -> None:
    for i in range(7):
        await create(
            gql,
            externalId=f"u{i}",
            name=f"User {i}",
            tier="CORE" if i % 2 else "EDGE",
            region="east",
            signedUpAt=f"2026-01-0{i + 1}T08:00:00Z",
        )
    seen: list[str] = []
    after = None
    query = """
    query($after: String) {
      users(filter: {region: "east"}, orderBy: {field: SIGNED_UP_AT, descending: true},
            first: 3, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { externalId } }
      }
    }"""
    while True:
        page = (await gql.data(query, {"after": after}))["users"]
        assert page["totalCount"] == 7
        seen += [e["node"]["externalId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"u{i}" for i in reversed(range(7))]
    core = await gql.data('query { users(filter: {tier: CORE, search: "user"}) { totalCount } }')
    assert core["users"]["totalCount"] == 3


async def test_bad_cursor_and_oversized_page_are_readable_errors(gql: GraphQLClient) -> None:
    body = await gql('query { users(after: "garbage") { totalCount } }')
    assert body["errors"][0]["message"] == "invalid cursor"
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    body = await gql("query { users(first: 5000) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_update_changes_only_given_fields_and_null_clears(gql: GraphQLClient) -> None:
    user = await create(gql, externalId="u-up", region="north", plan="pro", tags=["a"])
    mutation = """
    mutation($id: ID!, $input: UpdateUserInput!) {
      updateUser(id: $id, input: $input) {
        user { name region plan tags } userErrors { field code }
      }
    }"""
    data = await gql.data(mutation, {"id": user["id"], "input": {"plan": None, "tags": ["b"]}})
    assert data["updateUser"]["user"] == {
        "name": "Li Lei",
        "region": "north",
        "plan": None,
        "tags": ["b"],
    }
    data = await gql.data(mutation, {"id": user["id"], "input": {"name": None}})
    assert data["updateUser"]["userErrors"] == [{"field": "input.name", "code": "VALIDATION"}]


async def test_delete_removes_the_user_and_then_reports_not_found(gql: GraphQLClient) -> None:
    user = await create(gql, externalId="gone")
    mutation = "mutation($id: ID!) { deleteUser(id: $id) { deletedId userErrors { code } } }"
    assert (await gql.data(mutation, {"id": user["id"]}))["deleteUser"] == {
        "deletedId": user["id"],
        "userErrors": [],
    }
    again = (await gql.data(mutation, {"id": user["id"]}))["deleteUser"]
    assert again == {"deletedId": None, "userErrors": [{"code": "NOT_FOUND"}]}
