"""Shared steps for the campaign tests: make campaigns and users, move them along."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.db import Database
from app.users.models import User
from tests.conftest import GraphQLClient

FIELDS = """
  id key name goal theme form channels budget startsAt endsAt status
  variants { key name weight isControl } participantCount conversionCount
"""
CREATE = f"""
mutation($input: CreateCampaignInput!) {{
  createCampaign(input: $input) {{ campaign {{ {FIELDS} }} userErrors {{ field message code }} }}
}}
"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateCampaignInput!) {{
  updateCampaign(id: $id, input: $input) {{
    campaign {{ {FIELDS} }} userErrors {{ field message code }}
  }}
}}
"""


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def create_raw(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    """The createCampaign payload for a lottery named Spring, with `fields` on top."""
    values = {"key": "spring", "name": "Spring", "goal": "REGISTRATIONS", "form": "LOTTERY"}
    data = await gql.data(CREATE, {"input": {**values, **fields}})
    return dict(data["createCampaign"])


async def create(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload = await create_raw(gql, **fields)
    assert payload["userErrors"] == [], payload
    return dict(payload["campaign"])


async def update(gql: GraphQLClient, campaign_id: str, **fields: Any) -> dict[str, Any]:
    return dict((await gql.data(UPDATE, {"id": campaign_id, "input": fields}))["updateCampaign"])


async def transition(gql: GraphQLClient, mutation: str, campaign_id: str) -> dict[str, Any]:
    """Runs launchCampaign, endCampaign or cancelCampaign and returns its payload."""
    query = (
        f"mutation($id: ID!) {{ {mutation}(id: $id) "
        "{ campaign { status } userErrors { field message code } } }"
    )
    return dict((await gql.data(query, {"id": campaign_id}))[mutation])


async def running(gql: GraphQLClient, *, launch: bool = True, **fields: Any) -> dict[str, Any]:
    """A campaign that started an hour ago and ends in a day, launched unless told not."""
    now = datetime.now(UTC)
    campaign = await create(
        gql,
        **{
            "startsAt": iso(now - timedelta(hours=1)),
            "endsAt": iso(now + timedelta(days=1)),
            **fields,
        },
    )
    if launch:
        payload = await transition(gql, "launchCampaign", campaign["id"])
        assert payload["userErrors"] == [], payload
        campaign["status"] = payload["campaign"]["status"]
    return campaign


async def users(db: Database, count: int) -> list[int]:
    """Ids of `count` new users with external ids u0, u1, …"""
    async with db.unit_of_work() as session:
        rows = [User(external_id=f"u{i}", name=f"User {i}") for i in range(count)]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]  # type: ignore[misc]
