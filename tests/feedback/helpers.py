"""Operations on feedback through the GraphQL API, shared by the feedback tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient

TICKET = """
id status title body channel type priority tags assignee resolutionNote satisfaction
firstResponseAt resolvedAt updatedAt user { externalId }
replies { author body } history { fromStatus toStatus actor note }
"""
PAYLOAD = f"feedback {{ {TICKET} }} userErrors {{ field message code }}"
CREATE = (
    f"mutation($input: CreateFeedbackInput!) {{ createFeedback(input: $input) {{ {PAYLOAD} }} }}"
)
GET = f"query($id: ID!) {{ feedback(id: $id) {{ {TICKET} }} }}"

# Each mutation on one ticket, with its arguments beyond the id and their GraphQL types.
ARGUMENTS = {
    "updateFeedback": {"input": "UpdateFeedbackInput!"},
    "assignFeedback": {"assignee": "String", "expectedVersion": "Int"},
    "replyToFeedback": {"body": "String!"},
    "resolveFeedback": {"note": "String!"},
    "closeFeedback": {},
    "reopenFeedback": {"note": "String"},
    "rateFeedback": {"score": "Int!"},
}


async def create(gql: GraphQLClient, *, role: str = "agent", **fields: Any) -> dict[str, Any]:
    """A new ticket (an in-app bug unless told otherwise); fails the test on userErrors."""
    payload = await create_payload(gql, role=role, **fields)
    assert payload["userErrors"] == [], payload
    return dict(payload["feedback"])


async def create_payload(
    gql: GraphQLClient, *, role: str = "agent", **fields: Any
) -> dict[str, Any]:
    data = {"channel": "IN_APP", "type": "BUG", "title": "Report export fails", **fields}
    return dict((await gql.data(CREATE, {"input": data}, role=role))["createFeedback"])


async def act(
    gql: GraphQLClient, mutation: str, ticket_id: str, *, role: str = "agent", **args: Any
) -> dict[str, Any]:
    """Runs one of ARGUMENTS' mutations on a ticket and returns its payload."""
    types = ARGUMENTS[mutation]
    declared = "".join(f", ${name}: {types[name]}" for name in args)
    passed = "".join(f", {name}: ${name}" for name in args)
    query = f"mutation($id: ID!{declared}) {{ {mutation}(id: $id{passed}) {{ {PAYLOAD} }} }}"
    return dict((await gql.data(query, {"id": ticket_id, **args}, role=role))[mutation])


async def done(gql: GraphQLClient, mutation: str, ticket_id: str, **args: Any) -> dict[str, Any]:
    """Like act, but the mutation must succeed; returns the ticket."""
    payload = await act(gql, mutation, ticket_id, **args)
    assert payload["userErrors"] == [], payload
    return dict(payload["feedback"])


async def get(gql: GraphQLClient, ticket_id: str) -> dict[str, Any] | None:
    return (await gql.data(GET, {"id": ticket_id}))["feedback"]


async def ticket_in(gql: GraphQLClient, status: str) -> str:
    """The id of a new ticket brought to `status` by the legal path."""
    ticket_id = str((await create(gql))["id"])
    steps = {
        "OPEN": [],
        "IN_PROGRESS": [("replyToFeedback", {"body": "Looking into it"})],
        "RESOLVED": [("resolveFeedback", {"note": "Fixed the export"})],
        "CLOSED": [("resolveFeedback", {"note": "Fixed the export"}), ("closeFeedback", {})],
    }[status]
    for mutation, args in steps:
        await done(gql, mutation, ticket_id, **args)
    return ticket_id
