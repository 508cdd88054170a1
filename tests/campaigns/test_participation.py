"""Participations and conversions through the GraphQL API: once per user, within the
campaign's run, credited to a variant assigned the same way every time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.campaigns.models import Campaign, CampaignConversion, CampaignParticipation
from app.campaigns.service import assign_variant
from app.db import Database
from app.segments.models import Segment
from app.users.models import User
from tests.campaigns.helpers import create, iso, running, transition, users
from tests.conftest import GraphQLClient

PARTICIPATE = """
mutation($input: RecordParticipationInput!) {
  recordParticipation(input: $input) {
    participation { id campaignId created participatedAt user { externalId } variant { key } }
    userErrors { field message code }
  }
}
"""
CONVERT = """
mutation($input: RecordConversionInput!) {
  recordConversion(input: $input) {
    conversion { id created revenue user { externalId } variant { key } }
    userErrors { field message code }
  }
}
"""
AB = [
    {"key": "control", "name": "Reminder popup + email", "isControl": True},
    {"key": "drag", "name": "Drag-and-drop assignment"},
]


async def participate(gql: GraphQLClient, campaign_id: str, **fields: Any) -> dict[str, Any]:
    data = await gql.data(PARTICIPATE, {"input": {"campaignId": campaign_id, **fields}})
    return dict(data["recordParticipation"])


async def convert(gql: GraphQLClient, campaign_id: str, **fields: Any) -> dict[str, Any]:
    data = await gql.data(CONVERT, {"input": {"campaignId": campaign_id, **fields}})
    return dict(data["recordConversion"])


async def counts(gql: GraphQLClient, campaign_id: str) -> tuple[int, int]:
    data = await gql.data(
        "query($id: ID!) { campaign(id: $id) { participantCount conversionCount } }",
        {"id": campaign_id},
    )
    return data["campaign"]["participantCount"], data["campaign"]["conversionCount"]


async def _rows(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_participation_records_the_user_and_an_explicit_variant(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql, variants=AB)
    await users(db, 1)
    payload = await participate(gql, campaign["id"], externalId="u0", variantKey="drag")
    assert payload["userErrors"] == []
    participation = payload["participation"]
    assert participation["campaignId"] == campaign["id"]
    assert participation["created"] is True
    assert participation["user"] == {"externalId": "u0"}
    assert participation["variant"] == {"key": "drag"}
    assert await counts(gql, campaign["id"]) == (1, 0)


async def test_repeated_participation_returns_the_first_record_and_counts_once(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql, variants=AB)
    [user_id] = await users(db, 1)
    results = [
        (await participate(gql, campaign["id"], userId=str(user_id)))["participation"]
        for _ in range(3)
    ]
    assert [r["created"] for r in results] == [True, False, False]
    assert len({(r["id"], r["participatedAt"], r["variant"]["key"]) for r in results}) == 1
    assert await counts(gql, campaign["id"]) == (1, 0)


async def test_concurrent_participations_of_one_user_count_once(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql, variants=AB)
    [user_id] = await users(db, 1)
    results = await asyncio.gather(
        *(participate(gql, campaign["id"], userId=str(user_id)) for _ in range(5))
    )
    assert all(r["userErrors"] == [] for r in results)
    assert len({r["participation"]["id"] for r in results}) == 1
    assert sorted(r["participation"]["created"] for r in results) == [False] * 4 + [True]
    assert await _rows(db, CampaignParticipation) == 1


async def test_server_assigns_each_user_the_variant_its_hash_picks(
    gql: GraphQLClient, db: Database
) -> None:
    variants = [*AB, {"key": "third", "name": "Third", "weight": 2}]
    campaign = await running(gql, variants=variants)
    user_ids = await users(db, 12)
    assigned = {
        user_id: (await participate(gql, campaign["id"], userId=str(user_id)))["participation"][
            "variant"
        ]["key"]
        for user_id in user_ids
    }
    weights = [v.get("weight", 1) for v in variants]
    expected = {
        user_id: variants[assign_variant(int(campaign["id"]), user_id, weights)]["key"]
        for user_id in user_ids
    }
    assert assigned == expected


async def test_campaign_without_variants_records_no_variant(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql)
    await users(db, 1)
    payload = await participate(gql, campaign["id"], externalId="u0")
    assert payload["participation"]["variant"] is None


async def test_users_outside_the_target_segment_cannot_take_part(
    gql: GraphQLClient, db: Database
) -> None:
    async with db.unit_of_work() as session:
        session.add(
            Segment(key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"})
        )
        session.add_all(
            [
                User(external_id="boss", name="Boss", tier="core"),
                User(external_id="new", name="New"),
            ]
        )
    campaign = await running(gql, targetSegmentKey="core")
    member = await participate(gql, campaign["id"], externalId="boss")
    outsider = await participate(gql, campaign["id"], externalId="new")
    assert member["userErrors"] == []
    assert outsider == {
        "participation": None,
        "userErrors": [
            {
                "field": "input.userId",
                "message": "the user is not in the campaign's target segment",
                "code": "CONFLICT",
            }
        ],
    }
    assert await counts(gql, campaign["id"]) == (1, 0)


async def test_unknown_variant_key_is_a_validation_error_and_writes_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql, variants=AB)
    await users(db, 1)
    payload = await participate(gql, campaign["id"], externalId="u0", variantKey="nope")
    assert payload == {
        "participation": None,
        "userErrors": [
            {
                "field": "input.variantKey",
                "message": "the campaign has no variant 'nope'",
                "code": "VALIDATION",
            }
        ],
    }
    assert await _rows(db, CampaignParticipation) == 0


async def test_user_must_be_named_by_exactly_one_known_reference(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql)
    [user_id] = await users(db, 1)
    cases = [
        ({}, "input.userId", "VALIDATION"),
        ({"userId": str(user_id), "externalId": "u0"}, "input.userId", "VALIDATION"),
        ({"userId": str(user_id + 100)}, "input.userId", "NOT_FOUND"),
        ({"userId": "abc"}, "input.userId", "VALIDATION"),
        ({"externalId": "ghost"}, "input.externalId", "NOT_FOUND"),
    ]
    for fields, field, code in cases:
        payload = await participate(gql, campaign["id"], **fields)
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert await _rows(db, CampaignParticipation) == 0


async def test_unknown_campaign_is_not_found(gql: GraphQLClient, db: Database) -> None:
    await users(db, 1)
    payload = await participate(gql, "999", externalId="u0")
    assert payload["userErrors"] == [
        {"field": "input.campaignId", "message": "no campaign with id 999", "code": "NOT_FOUND"}
    ]


async def test_campaigns_not_running_reject_participation(gql: GraphQLClient, db: Database) -> None:
    await users(db, 1)
    planned = await create(gql, key="planned")
    ended = await running(gql, key="ended")
    await transition(gql, "endCampaign", ended["id"])
    for campaign, status in ((planned, "planned"), (ended, "ended")):
        payload = await participate(gql, campaign["id"], externalId="u0")
        assert payload["userErrors"] == [
            {
                "field": "input.campaignId",
                "message": f"the campaign is {status}, not running",
                "code": "CONFLICT",
            }
        ]
    assert await _rows(db, CampaignParticipation) == 0


async def test_participation_before_the_start_is_rejected(gql: GraphQLClient, db: Database) -> None:
    await users(db, 1)
    now = datetime.now(UTC)
    campaign = await create(
        gql, startsAt=iso(now + timedelta(days=1)), endsAt=iso(now + timedelta(days=2))
    )
    assert (await transition(gql, "launchCampaign", campaign["id"]))["userErrors"] == []
    payload = await participate(gql, campaign["id"], externalId="u0")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("input.campaignId", "CONFLICT")
    ]
    assert payload["userErrors"][0]["message"].startswith("the campaign runs from ")
    assert await _rows(db, CampaignParticipation) == 0


async def test_participation_and_conversion_after_the_end_date_are_rejected(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql)
    await users(db, 1)
    assert (await participate(gql, campaign["id"], externalId="u0"))["userErrors"] == []
    # Still running, but its end date passed without anyone calling endCampaign.
    async with db.unit_of_work() as session:
        await session.execute(
            update(Campaign)
            .where(Campaign.id == int(campaign["id"]))
            .values(ends_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    late = await convert(gql, campaign["id"], externalId="u0")
    assert [(e["field"], e["code"]) for e in late["userErrors"]] == [
        ("input.campaignId", "CONFLICT")
    ]
    assert await _rows(db, CampaignConversion) == 0


async def test_conversion_needs_a_participation_first(gql: GraphQLClient, db: Database) -> None:
    campaign = await running(gql)
    await users(db, 1)
    payload = await convert(gql, campaign["id"], externalId="u0")
    assert payload == {
        "conversion": None,
        "userErrors": [
            {
                "field": "input.userId",
                "message": "the user has not taken part in the campaign",
                "code": "CONFLICT",
            }
        ],
    }
    assert await _rows(db, CampaignConversion) == 0


async def test_conversion_is_credited_to_the_participation_variant_once(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql, variants=AB)
    await users(db, 2)
    await participate(gql, campaign["id"], externalId="u0", variantKey="drag")
    await participate(gql, campaign["id"], externalId="u1", variantKey="control")
    first = await convert(gql, campaign["id"], externalId="u0", revenue="99.9")
    again = await convert(gql, campaign["id"], externalId="u0", revenue="5")
    assert first["conversion"]["created"] is True
    assert first["conversion"]["variant"] == {"key": "drag"}
    assert first["conversion"]["revenue"] == "99.90"
    assert again["conversion"]["created"] is False
    assert again["conversion"]["id"] == first["conversion"]["id"]
    assert again["conversion"]["revenue"] == "99.90"
    assert await counts(gql, campaign["id"]) == (2, 1)


async def test_concurrent_conversions_of_one_user_count_once(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql)
    await users(db, 1)
    await participate(gql, campaign["id"], externalId="u0")
    results = await asyncio.gather(
        *(convert(gql, campaign["id"], externalId="u0") for _ in range(4))
    )
    assert len({r["conversion"]["id"] for r in results}) == 1
    assert await _rows(db, CampaignConversion) == 1


async def test_negative_revenue_is_a_validation_error(gql: GraphQLClient, db: Database) -> None:
    campaign = await running(gql)
    await users(db, 1)
    await participate(gql, campaign["id"], externalId="u0")
    payload = await convert(gql, campaign["id"], externalId="u0", revenue="-1")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("input.revenue", "VALIDATION")
    ]


async def test_integrations_record_participation_but_agents_cannot(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await running(gql)
    await users(db, 1)
    variables = {"input": {"campaignId": campaign["id"], "externalId": "u0"}}
    body = await gql(PARTICIPATE, variables, role="agent")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.data(PARTICIPATE, variables, role="integration"))["recordParticipation"][
        "userErrors"
    ] == []
