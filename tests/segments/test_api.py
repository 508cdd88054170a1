"""Segments through the GraphQL API: save, read, preview, members, membership, typed errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.db import Database
from app.segments import service
from app.segments.models import Segment
from app.users.models import User
from tests.conftest import GraphQLClient, StatementCounter
from tests.segments.helpers import populate

CORE = {"attr": "tier", "op": "eq", "value": "core"}
EAST = {"attr": "region", "op": "eq", "value": "East"}

SEGMENT = "id key name description rule isBuiltin size createdAt updatedAt"
CREATE = f"""
mutation($input: CreateSegmentInput!) {{
  createSegment(input: $input) {{ segment {{ {SEGMENT} }} userErrors {{ field message code }} }}
}}"""
UPDATE = """
mutation($key: String!, $input: UpdateSegmentInput!) {
  updateSegment(key: $key, input: $input) {
    segment { name description rule } userErrors { field message code }
  }
}"""
DELETE = (
    "mutation($key: String!) { deleteSegment(key: $key) { deletedId userErrors { field code } } }"
)
PREVIEW = """
query($rule: JSON!) {
  previewSegment(rule: $rule) {
    preview { size sample { externalId } } userErrors { field message code }
  }
}"""
MEMBERS = """
query($key: String!, $first: Int!, $after: String) {
  segment(key: $key) {
    members(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { externalId } }
    }
  }
}"""
MEMBERSHIP = """
query($key: String!, $ids: [String!]!) {
  segmentMembership(segmentKey: $key, externalIds: $ids) { externalId isMember known }
}"""


async def create(gql: GraphQLClient, key: str, rule: Any, **fields: Any) -> dict[str, Any]:
    payload = (
        await gql.data(CREATE, {"input": {"key": key, "name": key.title(), "rule": rule, **fields}})
    )["createSegment"]
    assert payload["userErrors"] == [], payload
    return dict(payload["segment"])


async def segment_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Segment)) or 0)


async def add_users(db: Database, count: int, *, start: int = 0, tier: str = "core") -> None:
    async with db.unit_of_work() as session:
        session.add_all(
            User(external_id=f"u{i:03}", name=f"User {i}", tier=tier)
            for i in range(start, start + count)
        )


async def test_created_segment_is_readable_by_key_and_id_with_its_size(
    gql: GraphQLClient, db: Database
) -> None:
    await populate(db)
    segment = await create(
        gql, "east-core", {"all": [CORE, EAST]}, description="核心用户 in the East"
    )
    assert segment["rule"] == {"all": [CORE, EAST]}
    assert (segment["size"], segment["isBuiltin"], segment["description"]) == (
        1,
        False,
        "核心用户 in the East",
    )
    by_key = await gql.data(
        'query { segment(key: "east-core") { id name size } }', role="integration"
    )
    assert by_key["segment"] == {"id": segment["id"], "name": "East-Core", "size": 1}
    by_id = await gql.data("query($id: ID!) { segment(id: $id) { key } }", {"id": segment["id"]})
    assert by_id["segment"] == {"key": "east-core"}


async def test_unknown_segment_is_null(gql: GraphQLClient) -> None:
    data = await gql.data('query { a: segment(key: "nope") { id } b: segment(id: "x") { id } }')
    assert data == {"a": None, "b": None}


async def test_an_invalid_rule_is_reported_at_each_faulty_node_and_nothing_is_written(
    gql: GraphQLClient, db: Database
) -> None:
    rule = {"all": [CORE, {"any": [{"attr": "tier", "op": "gt", "value": "core"}, {"nps": "fan"}]}]}
    payload = (await gql.data(CREATE, {"input": {"key": "bad", "name": "Bad", "rule": rule}}))[
        "createSegment"
    ]
    assert payload["segment"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("input.rule.all[1].any[0].op", "VALIDATION"),
        ("input.rule.all[1].any[1].nps", "VALIDATION"),
    ]
    assert await segment_count(db) == 0


async def test_a_bad_key_and_a_taken_key_are_reported_at_input_key(
    gql: GraphQLClient, db: Database
) -> None:
    await create(gql, "core", CORE)
    for key, code in (("Not A Key", "VALIDATION"), ("core", "CONFLICT")):
        payload = (await gql.data(CREATE, {"input": {"key": key, "name": "X", "rule": CORE}}))[
            "createSegment"
        ]
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("input.key", code)]
    assert await segment_count(db) == 1


async def test_update_changes_only_given_fields(gql: GraphQLClient) -> None:
    await create(gql, "core", CORE, description="old")
    data = await gql.data(UPDATE, {"key": "core", "input": {"name": "核心", "rule": EAST}})
    assert data["updateSegment"] == {
        "segment": {"name": "核心", "description": "old", "rule": EAST},
        "userErrors": [],
    }
    data = await gql.data(UPDATE, {"key": "core", "input": {"rule": None}})
    assert data["updateSegment"]["userErrors"] == [
        {"field": "input.rule", "message": "rule cannot be null", "code": "VALIDATION"}
    ]
    data = await gql.data(UPDATE, {"key": "nope", "input": {"name": "x"}})
    assert data["updateSegment"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_delete_removes_the_segment_and_then_reports_not_found(gql: GraphQLClient) -> None:
    segment = await create(gql, "core", CORE)
    assert (await gql.data(DELETE, {"key": "core"}))["deleteSegment"] == {
        "deletedId": segment["id"],
        "userErrors": [],
    }
    again = (await gql.data(DELETE, {"key": "core"}))["deleteSegment"]
    assert again == {"deletedId": None, "userErrors": [{"field": "key", "code": "NOT_FOUND"}]}


async def test_deleting_a_builtin_is_a_conflict(gql: GraphQLClient, db: Database) -> None:
    async with db.unit_of_work() as session:
        await service.ensure_builtin_segments(session)
    payload = (await gql.data(DELETE, {"key": "at-risk"}))["deleteSegment"]
    assert payload == {"deletedId": None, "userErrors": [{"field": "key", "code": "CONFLICT"}]}
    assert await segment_count(db) == 4


async def test_segments_are_listed_by_key_in_keyset_pages(gql: GraphQLClient) -> None:
    for key in ("c", "a", "d", "b", "e"):
        await create(gql, key, CORE)
    query = """
    query($after: String) {
      segments(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { key } }
      }
    }"""
    seen, after = [], None
    while True:
        page = (await gql.data(query, {"after": after}))["segments"]
        assert page["totalCount"] == 5
        seen += [edge["node"]["key"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["a", "b", "c", "d", "e"]


async def test_preview_gives_size_and_sample_without_saving(
    gql: GraphQLClient, db: Database
) -> None:
    await populate(db)
    data = await gql.data(PREVIEW, {"rule": {"any": [CORE, EAST]}}, role="integration")
    assert data["previewSegment"] == {
        "preview": {
            "size": 3,
            "sample": [{"externalId": "ann"}, {"externalId": "bob"}, {"externalId": "eve"}],
        },
        "userErrors": [],
    }
    assert await segment_count(db) == 0


async def test_preview_sample_is_at_most_ten_users(gql: GraphQLClient, db: Database) -> None:
    await add_users(db, 12)
    preview = (await gql.data(PREVIEW, {"rule": CORE}))["previewSegment"]["preview"]
    assert preview["size"] == 12
    assert len(preview["sample"]) == 10


async def test_preview_of_an_invalid_rule_returns_readable_user_errors(gql: GraphQLClient) -> None:
    rule = {
        "all": [{"attr": "properties.x') OR 1=1 --", "op": "eq", "value": 1}, {"inSegment": "nope"}]
    }
    data = await gql.data(PREVIEW, {"rule": rule})
    assert data["previewSegment"]["preview"] is None
    assert data["previewSegment"]["userErrors"] == [
        {
            "field": "rule.all[0].attr",
            "message": "a property name is 1 to 64 letters, digits, '_' or '-'",
            "code": "VALIDATION",
        },
        {
            "field": "rule.all[1].inSegment",
            "message": "unknown segment 'nope'",
            "code": "VALIDATION",
        },
    ]


async def test_members_pages_visit_every_member_once_while_users_are_added(
    gql: GraphQLClient, db: Database
) -> None:
    await add_users(db, 7)
    await add_users(db, 3, start=7, tier="edge")
    await create(gql, "core", CORE)
    seen: list[str] = []
    after = None
    added = 0
    while True:
        page = (await gql.data(MEMBERS, {"key": "core", "first": 3, "after": after}))["segment"][
            "members"
        ]
        seen += [edge["node"]["externalId"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        if added < 2:  # new users between page requests: a member and a non-member each time
            await add_users(db, 1, start=100 + added)
            await add_users(db, 1, start=200 + added, tier="edge")
            added += 1
    assert seen == [*(f"u{i:03}" for i in range(7)), "u100", "u101"]
    assert page["totalCount"] == 9


async def test_members_page_size_is_bounded(gql: GraphQLClient) -> None:
    await create(gql, "core", CORE)
    body = await gql(MEMBERS, {"key": "core", "first": 1001})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_membership_answers_for_each_external_id(gql: GraphQLClient, db: Database) -> None:
    await populate(db)
    await create(gql, "east", EAST)
    data = await gql.data(
        MEMBERSHIP, {"key": "east", "ids": ["eve", "ghost", "bob"]}, role="integration"
    )
    assert data["segmentMembership"] == [
        {"externalId": "eve", "isMember": True, "known": True},
        {"externalId": "ghost", "isMember": False, "known": False},
        {"externalId": "bob", "isMember": False, "known": True},
    ]


async def test_membership_errors_are_readable(gql: GraphQLClient) -> None:
    await create(gql, "core", CORE)
    too_many = await gql(MEMBERSHIP, {"key": "core", "ids": [str(i) for i in range(1001)]})
    assert too_many["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "externalIds"}
    unknown = await gql(MEMBERSHIP, {"key": "nope", "ids": ["a"]})
    assert unknown["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "key"}


async def test_user_segments_lists_the_segments_the_user_matches(
    gql: GraphQLClient, db: Database
) -> None:
    await populate(db)
    await create(gql, "east", EAST)
    await create(gql, "core", CORE)
    await create(gql, "east-core", {"all": [{"inSegment": "east"}, {"inSegment": "core"}]})
    data = await gql.data('query { user(externalId: "ann") { segments { key } } }')
    assert data["user"]["segments"] == [{"key": "core"}, {"key": "east"}, {"key": "east-core"}]


async def test_user_segments_need_segments_read(gql: GraphQLClient, db: Database) -> None:
    await populate(db)
    body = await gql('query { user(externalId: "ann") { name segments { key } } }', role="agent")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_user_segments_run_the_same_statements_for_5_or_50_users(
    gql: GraphQLClient, db: Database, count_statements: StatementCounter
) -> None:
    await add_users(db, 30)
    await add_users(db, 30, start=30, tier="edge")
    async with db.unit_of_work() as session:
        await service.ensure_builtin_segments(session)
    await create(gql, "gantt", {"event": "feature_used", "feature": "gantt_view"})
    await create(
        gql, "edge-or-gantt", {"any": [{"inSegment": "tier-edge"}, {"inSegment": "gantt"}]}
    )
    query = "query($n: Int!) { users(first: $n) { edges { node { segments { key } } } } }"

    async def statements(first: int) -> int:
        before = len(count_statements.statements)
        data = await gql.data(query, {"n": first})
        assert len(data["users"]["edges"]) == first
        return len(count_statements.statements) - before

    assert await statements(50) == await statements(5)


async def test_keys_and_external_ids_with_nul_are_unknown_on_both_databases(
    gql: GraphQLClient,
) -> None:
    await create(gql, "core", CORE)
    data = await gql.data(
        'query { segment(key: "a\\u0000") { id } user(externalId: "a\\u0000") { id } '
        'segmentMembership(segmentKey: "core", externalIds: ["a\\u0000"]) { known } }'
    )
    assert data == {"segment": None, "user": None, "segmentMembership": [{"known": False}]}
    snapshot = await gql.data(
        'mutation { snapshotSegment(key: "a\\u0000") { userErrors { field code } } }'
    )
    assert snapshot["snapshotSegment"]["userErrors"] == [{"field": "key", "code": "NOT_FOUND"}]
