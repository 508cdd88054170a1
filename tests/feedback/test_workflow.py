"""The ticket workflow through the API: legal moves, refused ones, replies, ratings, races."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import GraphQLClient
from tests.feedback.helpers import act, create, done, get, ticket_in


async def test_first_reply_starts_work_and_sets_the_first_response_time(gql: GraphQLClient) -> None:
    ticket = await create(gql)
    assert ticket["firstResponseAt"] is None
    replied = await done(gql, "replyToFeedback", ticket["id"], body="  We are on it  ")
    assert replied["status"] == "IN_PROGRESS"
    assert replied["firstResponseAt"] is not None
    assert replied["replies"] == [{"author": "agent key", "body": "We are on it"}]
    assert replied["history"][-1] == {
        "fromStatus": "OPEN",
        "toStatus": "IN_PROGRESS",
        "actor": "agent key",
        "note": None,
    }


async def test_first_response_time_is_set_once_even_across_a_reopening(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "IN_PROGRESS")
    first = (await get(gql, ticket_id))["firstResponseAt"]  # type: ignore[index]
    again = await done(gql, "replyToFeedback", ticket_id, body="Any news?")
    assert again["firstResponseAt"] == first
    assert again["status"] == "IN_PROGRESS"
    assert len(again["history"]) == 2  # a reply to a ticket in progress moves nothing
    await done(gql, "resolveFeedback", ticket_id, note="Fixed")
    await done(gql, "reopenFeedback", ticket_id)
    after_reopen = await done(gql, "replyToFeedback", ticket_id, body="Still broken?")
    assert after_reopen["firstResponseAt"] == first
    assert after_reopen["status"] == "IN_PROGRESS"
    assert [r["body"] for r in after_reopen["replies"]] == [
        "Looking into it",
        "Any news?",
        "Still broken?",
    ]


async def test_resolving_work_in_progress_keeps_the_note_and_time(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "IN_PROGRESS")
    resolved = await done(gql, "resolveFeedback", ticket_id, note="Permissions were misconfigured")
    assert resolved["status"] == "RESOLVED"
    assert resolved["resolutionNote"] == "Permissions were misconfigured"
    assert resolved["resolvedAt"] is not None
    assert resolved["history"][-1] == {
        "fromStatus": "IN_PROGRESS",
        "toStatus": "RESOLVED",
        "actor": "agent key",
        "note": "Permissions were misconfigured",
    }


async def test_an_open_ticket_can_be_resolved_directly(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "OPEN")
    resolved = await done(gql, "resolveFeedback", ticket_id, note="Answered on first contact")
    assert [(h["fromStatus"], h["toStatus"]) for h in resolved["history"]] == [
        (None, "OPEN"),
        ("OPEN", "RESOLVED"),
    ]


async def test_a_resolved_ticket_can_be_closed(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    closed = await done(gql, "closeFeedback", ticket_id)
    assert closed["status"] == "CLOSED"
    assert closed["resolutionNote"] == "Fixed the export"
    assert closed["history"][-1]["fromStatus"] == "RESOLVED"


@pytest.mark.parametrize("status", ["RESOLVED", "CLOSED"])
async def test_reopening_clears_the_resolution_and_records_why(
    gql: GraphQLClient, status: str
) -> None:
    ticket_id = await ticket_in(gql, status)
    reopened = await done(gql, "reopenFeedback", ticket_id, note="Fails again on Safari")
    assert reopened["status"] == "OPEN"
    assert (reopened["resolutionNote"], reopened["resolvedAt"]) == (None, None)
    assert reopened["history"][-1] == {
        "fromStatus": status,
        "toStatus": "OPEN",
        "actor": "agent key",
        "note": "Fails again on Safari",
    }
    again = await done(gql, "resolveFeedback", ticket_id, note="Fixed on Safari too")
    assert again["resolutionNote"] == "Fixed on Safari too"


@pytest.mark.parametrize(
    ("status", "mutation", "args", "target"),
    [
        ("OPEN", "closeFeedback", {}, "closed"),
        ("IN_PROGRESS", "closeFeedback", {}, "closed"),
        ("CLOSED", "closeFeedback", {}, "closed"),
        ("OPEN", "reopenFeedback", {}, "open"),
        ("IN_PROGRESS", "reopenFeedback", {"note": "why"}, "open"),
        ("RESOLVED", "resolveFeedback", {"note": "again"}, "resolved"),
        ("CLOSED", "resolveFeedback", {"note": "again"}, "resolved"),
    ],
)
async def test_an_illegal_move_is_a_conflict_and_changes_nothing(
    gql: GraphQLClient, status: str, mutation: str, args: dict[str, str], target: str
) -> None:
    ticket_id = await ticket_in(gql, status)
    before = await get(gql, ticket_id)
    payload = await act(gql, mutation, ticket_id, **args)
    assert payload == {
        "feedback": None,
        "userErrors": [
            {
                "field": None,
                "message": f"cannot move feedback from {status.lower()} to {target}",
                "code": "CONFLICT",
            }
        ],
    }
    assert await get(gql, ticket_id) == before


async def test_resolving_needs_a_note(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "OPEN")
    before = await get(gql, ticket_id)
    payload = await act(gql, "resolveFeedback", ticket_id, note="  ")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("note", "VALIDATION")]
    assert await get(gql, ticket_id) == before


async def test_workflow_on_an_unknown_ticket_is_not_found(gql: GraphQLClient) -> None:
    for mutation, args in [("closeFeedback", {}), ("replyToFeedback", {"body": "hi"})]:
        payload = await act(gql, mutation, "404", **args)
        assert payload["userErrors"] == [
            {"field": "id", "message": "no feedback with id 404", "code": "NOT_FOUND"}
        ]


async def test_assigning_sets_and_clears_the_assignee_without_moving(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "OPEN")
    assigned = await done(gql, "assignFeedback", ticket_id, assignee=" Zhang Wei ")
    assert (assigned["assignee"], assigned["status"]) == ("Zhang Wei", "OPEN")
    assert len(assigned["history"]) == 1
    assert (await done(gql, "assignFeedback", ticket_id, assignee=None))["assignee"] is None
    blank = await act(gql, "assignFeedback", ticket_id, assignee="")
    assert [(e["field"], e["code"]) for e in blank["userErrors"]] == [("assignee", "VALIDATION")]


@pytest.mark.parametrize("status", ["RESOLVED", "CLOSED"])
async def test_a_resolved_or_closed_ticket_can_be_rated(gql: GraphQLClient, status: str) -> None:
    ticket_id = await ticket_in(gql, status)
    rated = await done(gql, "rateFeedback", ticket_id, score=4)
    assert (rated["satisfaction"], rated["status"]) == (4, status)


@pytest.mark.parametrize("status", ["OPEN", "IN_PROGRESS"])
async def test_rating_before_resolution_is_a_conflict(gql: GraphQLClient, status: str) -> None:
    ticket_id = await ticket_in(gql, status)
    payload = await act(gql, "rateFeedback", ticket_id, score=5)
    assert payload["userErrors"] == [
        {
            "field": None,
            "message": f"feedback {ticket_id} is {status.lower()}; rate it once resolved",
            "code": "CONFLICT",
        }
    ]
    assert (await get(gql, ticket_id))["satisfaction"] is None  # type: ignore[index]


async def test_a_ticket_is_rated_only_once_even_after_reopening(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    await done(gql, "rateFeedback", ticket_id, score=2)
    second = await act(gql, "rateFeedback", ticket_id, score=5)
    assert second["userErrors"] == [
        {"field": None, "message": f"feedback {ticket_id} was already rated 2", "code": "CONFLICT"}
    ]
    await done(gql, "reopenFeedback", ticket_id)
    await done(gql, "resolveFeedback", ticket_id, note="Fixed for real")
    third = await act(gql, "rateFeedback", ticket_id, score=5)
    assert third["userErrors"][0]["code"] == "CONFLICT"
    assert (await get(gql, ticket_id))["satisfaction"] == 2  # type: ignore[index]


@pytest.mark.parametrize("score", [0, 6])
async def test_a_score_outside_1_to_5_is_a_validation_error(gql: GraphQLClient, score: int) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    payload = await act(gql, "rateFeedback", ticket_id, score=score)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("score", "VALIDATION")]
    assert (await get(gql, ticket_id))["satisfaction"] is None  # type: ignore[index]


async def test_two_agents_resolving_at_once_leave_one_resolution(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "IN_PROGRESS")
    results = await asyncio.gather(
        act(gql, "resolveFeedback", ticket_id, note="Fix A"),
        act(gql, "resolveFeedback", ticket_id, note="Fix B"),
    )
    winners = [r for r in results if not r["userErrors"]]
    losers = [r for r in results if r["userErrors"]]
    assert len(winners) == 1
    assert len(losers) == 1
    assert losers[0]["userErrors"][0]["code"] == "CONFLICT"
    ticket = await get(gql, ticket_id)
    assert ticket is not None
    assert [h["toStatus"] for h in ticket["history"]] == ["OPEN", "IN_PROGRESS", "RESOLVED"]
    assert ticket["resolutionNote"] == winners[0]["feedback"]["resolutionNote"]


async def _assign_at_once(
    gql: GraphQLClient, ticket_id: str, **args: object
) -> list[dict[str, object]]:
    return list(
        await asyncio.gather(
            act(gql, "assignFeedback", ticket_id, assignee="Agent A", **args),
            act(gql, "assignFeedback", ticket_id, assignee="Agent B", **args),
        )
    )


async def test_two_agents_taking_the_same_version_leave_one_assignee(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "OPEN")
    results = await _assign_at_once(gql, ticket_id, expectedVersion=1)
    winners = [r for r in results if not r["userErrors"]]
    losers = [r for r in results if r["userErrors"]]
    assert len(winners) == 1
    assert len(losers) == 1
    # Which check refuses it depends on the interleaving: the expected version read, or
    # the conditional write finding the version moved.
    assert [e["code"] for e in losers[0]["userErrors"]] == ["CONFLICT"]  # type: ignore[union-attr]
    ticket = await get(gql, ticket_id)
    assert ticket is not None
    assert ticket["assignee"] == winners[0]["feedback"]["assignee"]  # type: ignore[index]


async def test_assigning_at_once_without_a_version_loses_no_update(gql: GraphQLClient) -> None:
    """Unconditional assignments may both apply, one after the other (SQLite serialises
    writers), or the second may find the version moved (PostgreSQL): either way every
    success is one version step and the ticket ends with a successful request's value."""
    ticket_id = await ticket_in(gql, "OPEN")
    results = await _assign_at_once(gql, ticket_id)
    winners = [r["feedback"]["assignee"] for r in results if not r["userErrors"]]  # type: ignore[index]
    codes = [e["code"] for r in results for e in r["userErrors"]]  # type: ignore[attr-defined]
    assert codes in ([], ["CONFLICT"])
    assert len(winners) + len(codes) == 2
    body = await gql.data(
        "query($id: ID!) { feedback(id: $id) { assignee version } }", {"id": ticket_id}
    )
    assert body["feedback"]["version"] == 1 + len(winners)
    assert body["feedback"]["assignee"] in winners


async def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(
    gql: GraphQLClient,
) -> None:
    ticket_id = await ticket_in(gql, "IN_PROGRESS")  # version 2: created, replied
    payload = await act(gql, "assignFeedback", ticket_id, assignee="Li", expectedVersion=1)
    assert payload["userErrors"] == [
        {
            "field": "expectedVersion",
            "code": "CONFLICT",
            "message": "the ticket is at version 2, not 1; reload and retry",
        }
    ]
    assert (await get(gql, ticket_id))["assignee"] is None  # type: ignore[index]
    taken = await done(gql, "assignFeedback", ticket_id, assignee="Li", expectedVersion=2)
    assert taken["assignee"] == "Li"
