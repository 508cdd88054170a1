"""Feedback tickets through the GraphQL API: create, read, filter, page, update, delete, roles."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient
from tests.feedback.helpers import act, create, create_payload, done, get

COUNT = "query($f: FeedbackFilter) { feedbackItems(filter: $f) { totalCount } }"
TITLES = """
query($f: FeedbackFilter, $o: FeedbackOrderBy, $first: Int!, $after: String) {
  feedbackItems(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { title } }
  }
}"""


async def make_user(gql: GraphQLClient, external_id: str) -> str:
    data = await gql.data(
        'mutation($e: String!) { createUser(input: {externalId: $e, name: "Han Meimei"}) { user { id } } }',
        {"e": external_id},
    )
    return str(data["createUser"]["user"]["id"])


async def count(gql: GraphQLClient, filter: dict[str, Any] | None = None) -> int:
    return int((await gql.data(COUNT, {"f": filter}))["feedbackItems"]["totalCount"])


async def titles(gql: GraphQLClient, filter: dict[str, Any]) -> list[str]:
    data = await gql.data(TITLES, {"f": filter, "first": 50})
    return [edge["node"]["title"] for edge in data["feedbackItems"]["edges"]]


async def test_created_ticket_is_open_and_records_who_opened_it(gql: GraphQLClient) -> None:
    await make_user(gql, "u-1")
    ticket = await create(
        gql,
        userExternalId="u-1",
        channel="HOTLINE",
        type="FEATURE_REQUEST",
        title="  Bulk Excel import  ",
        body="We import 500 users a week",
        priority="HIGH",
        tags=["批量导入", "excel", "excel"],
    )
    assert ticket["status"] == "OPEN"
    assert ticket["title"] == "Bulk Excel import"
    assert ticket["tags"] == ["excel", "批量导入"]
    assert ticket["user"] == {"externalId": "u-1"}
    assert (ticket["channel"], ticket["type"], ticket["priority"]) == (
        "HOTLINE",
        "FEATURE_REQUEST",
        "HIGH",
    )
    assert ticket["history"] == [
        {"fromStatus": None, "toStatus": "OPEN", "actor": "agent key", "note": None}
    ]
    assert await get(gql, ticket["id"]) == ticket


async def test_ticket_can_name_its_user_by_id_or_nobody(gql: GraphQLClient) -> None:
    user_id = await make_user(gql, "u-2")
    assert (await create(gql, userId=user_id))["user"] == {"externalId": "u-2"}
    anonymous = await create(gql)
    assert anonymous["user"] is None
    assert anonymous["priority"] == "NORMAL"
    assert anonymous["body"] == ""


async def test_unknown_user_is_not_found_on_its_field_and_writes_nothing(
    gql: GraphQLClient,
) -> None:
    by_external = await create_payload(gql, userExternalId="nobody")
    assert by_external["feedback"] is None
    assert by_external["userErrors"] == [
        {
            "field": "input.userExternalId",
            "message": "no user with externalId 'nobody'",
            "code": "NOT_FOUND",
        }
    ]
    by_id = await create_payload(gql, userId="999")
    assert by_id["userErrors"][0]["field"] == "input.userId"
    assert await count(gql) == 0


async def test_giving_both_user_references_is_a_validation_error(gql: GraphQLClient) -> None:
    user_id = await make_user(gql, "u-3")
    payload = await create_payload(gql, userId=user_id, userExternalId="u-3")
    assert payload["userErrors"] == [
        {
            "field": "input.userExternalId",
            "message": "give at most one of userId and userExternalId",
            "code": "VALIDATION",
        }
    ]
    assert await count(gql) == 0


async def test_invalid_fields_are_all_reported_with_their_paths(gql: GraphQLClient) -> None:
    blank = await create_payload(gql, title="   ", tags=[f"t{i}" for i in range(21)])
    assert sorted(e["field"] for e in blank["userErrors"]) == ["input.tags", "input.title"]
    assert {e["code"] for e in blank["userErrors"]} == {"VALIDATION"}
    too_long = await create_payload(gql, title="x" * 301, tags=["", "ok"])
    assert sorted(e["field"] for e in too_long["userErrors"]) == ["input.tags.0", "input.title"]
    assert await count(gql) == 0


async def test_title_of_300_characters_and_20_tags_are_accepted(gql: GraphQLClient) -> None:
    ticket = await create(gql, title="x" * 300, tags=[f"t{i:02}" for i in range(20)])
    assert len(ticket["title"]) == 300
    assert len(ticket["tags"]) == 20


async def test_unknown_or_malformed_id_reads_as_null(gql: GraphQLClient) -> None:
    data = await gql.data('query { a: feedback(id: "404") { id } b: feedback(id: "x") { id } }')
    assert data == {"a": None, "b": None}


async def test_update_changes_only_given_fields_and_leaves_the_status(gql: GraphQLClient) -> None:
    ticket = await create(gql, body="Steps: ...", tags=["old"])
    updated = await done(
        gql,
        "updateFeedback",
        ticket["id"],
        input={
            "title": "Export to PDF fails",
            "priority": "URGENT",
            "tags": ["导出", "pdf"],
            "assignee": "Wang",
        },
    )
    assert (updated["title"], updated["priority"], updated["assignee"]) == (
        "Export to PDF fails",
        "URGENT",
        "Wang",
    )
    assert updated["tags"] == ["pdf", "导出"]
    assert (updated["body"], updated["type"], updated["channel"]) == ("Steps: ...", "BUG", "IN_APP")
    assert updated["status"] == "OPEN"
    assert updated["history"] == ticket["history"]
    assert updated["updatedAt"] > ticket["updatedAt"]
    cleared = await done(gql, "updateFeedback", ticket["id"], input={"assignee": None})
    assert cleared["assignee"] is None


async def test_update_rejects_null_for_required_fields_and_writes_nothing(
    gql: GraphQLClient,
) -> None:
    ticket = await create(gql)
    payload = await act(
        gql, "updateFeedback", ticket["id"], input={"title": None, "priority": "LOW"}
    )
    assert payload["userErrors"] == [
        {"field": "input.title", "message": "title cannot be null", "code": "VALIDATION"}
    ]
    assert await get(gql, ticket["id"]) == ticket


async def test_update_of_unknown_ticket_is_not_found(gql: GraphQLClient) -> None:
    payload = await act(gql, "updateFeedback", "404", input={"title": "x"})
    assert payload == {
        "feedback": None,
        "userErrors": [{"field": "id", "message": "no feedback with id 404", "code": "NOT_FOUND"}],
    }


async def test_delete_removes_the_ticket_and_then_reports_not_found(gql: GraphQLClient) -> None:
    ticket = await create(gql, tags=["a"])
    await done(gql, "replyToFeedback", ticket["id"], body="On it")
    mutation = "mutation($id: ID!) { deleteFeedback(id: $id) { deletedId userErrors { code } } }"
    deleted = (await gql.data(mutation, {"id": ticket["id"]}, role="agent"))["deleteFeedback"]
    assert deleted == {"deletedId": ticket["id"], "userErrors": []}
    assert await get(gql, ticket["id"]) is None
    again = (await gql.data(mutation, {"id": ticket["id"]}, role="agent"))["deleteFeedback"]
    assert again == {"deletedId": None, "userErrors": [{"code": "NOT_FOUND"}]}


async def test_each_filter_selects_the_matching_tickets(gql: GraphQLClient) -> None:
    user_id = await make_user(gql, "u-f")
    await create(gql, title="Gantt view is slow", type="COMPLAINT", channel="EMAIL", tags=["gantt"])
    await create(gql, title="Excel import 100% broken", priority="URGENT", userId=user_id)
    assigned = await create(gql, title="Kanban praise", type="PRAISE", tags=["kanban", "gantt"])
    await done(gql, "assignFeedback", assigned["id"], assignee="Li")
    await done(gql, "replyToFeedback", assigned["id"], body="Thanks!")
    cases = [
        ({"status": "IN_PROGRESS"}, ["Kanban praise"]),
        ({"type": "COMPLAINT"}, ["Gantt view is slow"]),
        ({"channel": "IN_APP"}, ["Kanban praise", "Excel import 100% broken"]),
        ({"priority": "URGENT"}, ["Excel import 100% broken"]),
        ({"tag": "gantt"}, ["Kanban praise", "Gantt view is slow"]),
        ({"assignee": "Li"}, ["Kanban praise"]),
        ({"userId": user_id}, ["Excel import 100% broken"]),
        ({"search": "GANTT"}, ["Gantt view is slow"]),
        ({"search": "100%"}, ["Excel import 100% broken"]),
        ({"search": "0%b"}, []),  # % is matched literally, not as a wildcard
        ({"tag": "gantt", "type": "PRAISE"}, ["Kanban praise"]),
    ]
    for filter, expected in cases:
        assert await titles(gql, filter) == expected, filter


async def test_created_range_filter_bounds_are_inclusive(gql: GraphQLClient) -> None:
    first = await create(gql, title="first")
    second = await create(gql, title="second")
    created = {
        t["title"]: (
            await gql.data("query($id: ID!) { feedback(id: $id) { createdAt } }", {"id": t["id"]})
        )["feedback"]["createdAt"]
        for t in (first, second)
    }
    assert await titles(gql, {"createdFrom": created["second"]}) == ["second"]
    assert await titles(gql, {"createdTo": created["first"]}) == ["first"]
    assert await titles(gql, {"createdFrom": created["first"], "createdTo": created["second"]}) == [
        "second",
        "first",
    ]


async def test_bad_filter_values_are_readable_errors(gql: GraphQLClient) -> None:
    body = await gql('query { feedbackItems(filter: {userId: "abc"}) { totalCount } }')
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "filter.userId"}


async def test_keyset_pages_cover_every_ticket_once_in_order(gql: GraphQLClient) -> None:
    for i in range(7):
        await create(gql, title=f"T{i}")
    for order, expected in [
        ({}, [f"T{i}" for i in reversed(range(7))]),
        ({"field": "ID", "descending": False}, [f"T{i}" for i in range(7)]),
        ({"field": "UPDATED_AT"}, [f"T{i}" for i in reversed(range(7))]),
    ]:
        seen: list[str] = []
        after = None
        while True:
            page = (await gql.data(TITLES, {"o": order, "first": 3, "after": after}))[
                "feedbackItems"
            ]
            assert page["totalCount"] == 7
            seen += [e["node"]["title"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected, order


async def test_integration_key_cannot_read_feedback(gql: GraphQLClient) -> None:
    user_id = await make_user(gql, "u-i")
    await create(gql, userId=user_id)
    for query in (
        "query { feedbackItems { totalCount } }",
        'query { feedback(id: "1") { id } }',
        "query { users { edges { node { feedback { id } } } } }",
    ):
        body = await gql(query, role="integration")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query


async def test_integration_key_cannot_write_feedback(gql: GraphQLClient) -> None:
    body = await gql(
        'mutation { createFeedback(input: {channel: EMAIL, type: BUG, title: "x"}) { feedback { id } } }',
        role="integration",
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count(gql) == 0


async def test_operator_can_work_tickets_like_an_agent(gql: GraphQLClient) -> None:
    ticket = await create(gql, role="operator")
    payload = await act(gql, "resolveFeedback", ticket["id"], role="operator", note="Done")
    assert payload["feedback"]["history"][-1]["actor"] == "operator key"


async def test_a_users_feedback_lists_their_tickets_newest_first(gql: GraphQLClient) -> None:
    user_id = await make_user(gql, "u-n")
    for title in ("older", "newer"):
        await create(gql, userId=user_id, title=title)
    await create(gql, title="someone else's")
    data = await gql.data(
        'query { user(externalId: "u-n") { feedback { title user { externalId } } } }', role="agent"
    )
    assert data["user"]["feedback"] == [
        {"title": "newer", "user": {"externalId": "u-n"}},
        {"title": "older", "user": {"externalId": "u-n"}},
    ]
