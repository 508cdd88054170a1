"""Engagement with an event, a feature or a campaign over the users registered by `to`, and
feature penetration among the active users, on hand-made events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.campaigns.models import Campaign, CampaignParticipation
from app.db import Database
from app.errors import NotFound, ValidationFailed
from app.events.models import Event
from app.metrics import engagement as metrics
from app.metrics.rollup import ensure_rollup
from app.segments.models import Segment
from app.users.models import User
from tests.conftest import GraphQLClient

MARCH = {"first": date(2026, 3, 1), "last": date(2026, 3, 31)}


def at(month: int, day: int, hour: int = 8) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# name, tier, signed up, [(event, feature, when)], campaign participation
PEOPLE: list[tuple[str, str, datetime, list[tuple[str, str | None, datetime]], datetime | None]] = [
    (
        "a",
        "core",
        at(2, 1),
        [("feature_used", "gantt_view", at(3, 5)), ("login", None, at(2, 28))],
        at(3, 10),
    ),
    (
        "b",
        "edge",
        at(2, 15),
        [
            ("login", None, at(3, 2)),
            ("feature_used", "kanban", at(3, 3)),
            ("gantt_exported", "gantt_view", at(3, 4)),  # not a `feature_used` event
        ],
        None,
    ),
    (
        "c",
        "core",
        at(3, 10),
        [("login", None, at(3, 15)), ("feature_used", "gantt_view", at(4, 1))],
        None,
    ),
    ("d", "edge", at(4, 5), [("login", None, at(4, 6))], None),  # registered after `to`
    ("e", "edge", at(1, 1), [], at(2, 27)),  # took part before the range
]


async def add_people(db: Database) -> dict[str, int]:
    """The people, their events (and the rollup of them), and campaign `spring` they took
    part in; returns the ids of the campaign and of a segment of core users."""
    async with db.unit_of_work() as session:
        campaign = Campaign(key="spring", name="Spring", goal="activity", form="lottery")
        core = Segment(key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"})
        session.add_all([campaign, core])
        await session.flush()
        for name, tier, signed_up_at, events, joined in PEOPLE:
            user = User(external_id=name, name=name, tier=tier, signed_up_at=signed_up_at)
            session.add(user)
            await session.flush()
            session.add_all(
                Event(user_id=user.id, name=event, feature=feature, occurred_at=when)
                for event, feature, when in events
            )
            if joined is not None:
                session.add(
                    CampaignParticipation(
                        campaign_id=campaign.id, user_id=user.id, participated_at=joined
                    )
                )
        ids = {"campaign": campaign.id, "core": core.id}
    await ensure_rollup(db, "UTC")  # built from the events stored above
    return ids  # type: ignore[return-value]


async def engagement(db: Database, **arguments: Any) -> metrics.Engagement:
    async with db.read() as session:
        return await metrics.engagement(
            session, None, **{"tz": ZoneInfo("UTC"), **MARCH, **arguments}
        )


async def test_engagement_with_an_event_is_over_users_registered_by_to(db: Database) -> None:
    await add_people(db)
    result = await engagement(db, event_name="login")
    # b and c logged in during March; a, b, c and e were registered by 31 March.
    assert (result.participants, result.users, result.rate) == (2, 4, 50.0)


async def test_engagement_with_a_feature_counts_its_events_in_the_range(db: Database) -> None:
    await add_people(db)
    result = await engagement(db, feature="gantt_view")
    assert (result.participants, result.users, result.rate) == (1, 4, 25.0)


async def test_engagement_with_a_campaign_counts_participations_in_the_range(
    db: Database,
) -> None:
    ids = await add_people(db)
    result = await engagement(db, campaign_id=ids["campaign"])
    assert (result.participants, result.rate) == (1, 25.0)


async def test_engagement_of_a_segment(db: Database) -> None:
    ids = await add_people(db)
    result = await engagement(db, event_name="login", segment_id=ids["core"])
    assert (result.participants, result.users, result.rate) == (1, 2, 50.0)


async def test_engagement_before_anyone_registered_has_no_rate(db: Database) -> None:
    await add_people(db)
    result = await engagement(
        db, event_name="login", first=date(2025, 1, 1), last=date(2025, 1, 31)
    )
    assert (result.participants, result.users, result.rate) == (0, 0, None)


@pytest.mark.parametrize(
    "given",
    [{}, {"event_name": "login", "feature": "kanban"}, {"feature": "kanban", "campaign_id": 1}],
)
async def test_engagement_needs_exactly_one_thing_to_do(
    db: Database, given: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed, match="exactly one"):
        await engagement(db, **given)


@pytest.mark.parametrize(
    ("given", "field"),
    [({"event_name": "Login\x00"}, "eventName"), ({"feature": ""}, "feature")],
)
async def test_engagement_text_arguments_are_checked(
    db: Database, given: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await engagement(db, **given)
    assert error.value.problems[0].field == field


async def test_engagement_with_an_unknown_campaign_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as error:
        await engagement(db, campaign_id=999)
    assert error.value.problems[0].field == "campaignId"


async def penetration(db: Database, **arguments: Any) -> metrics.Penetration:
    async with db.read() as session:
        return await metrics.feature_penetration(
            session, None, **{"tz": ZoneInfo("UTC"), **MARCH, **arguments}
        )


async def test_feature_penetration_is_over_users_active_in_the_range(db: Database) -> None:
    await add_people(db)
    result = await penetration(db, features=["gantt_view", "kanban", "report_export"])
    # Active in March: a (gantt), b (login, kanban) and c (login; gantt only in April).
    assert result.active_users == 3
    assert [(f.feature, f.users, f.penetration) for f in result.features] == [
        ("gantt_view", 1, pytest.approx(100 / 3)),
        ("kanban", 1, pytest.approx(100 / 3)),
        ("report_export", 0, 0.0),
    ]


async def test_feature_penetration_of_a_segment_and_without_active_users(db: Database) -> None:
    ids = await add_people(db)
    core = await penetration(db, features=["gantt_view"], segment_id=ids["core"])
    assert (core.active_users, core.features[0].users, core.features[0].penetration) == (2, 1, 50.0)
    quiet = await penetration(
        db, features=["gantt_view"], first=date(2025, 1, 1), last=date(2025, 1, 2)
    )
    assert (quiet.active_users, quiet.features[0].penetration) == (0, None)


@pytest.mark.parametrize("features", [[], [f"f{i}" for i in range(metrics.MAX_FEATURES + 1)]])
async def test_feature_penetration_needs_one_to_fifty_features(
    db: Database, features: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await penetration(db, features=features)
    assert error.value.problems[0].field == "features"


ENGAGEMENT = """
query($campaignId: ID) {
  metrics {
    engagement(from: "2026-03-01", to: "2026-03-31", campaignId: $campaignId) {
      participants users rate
    }
  }
}
"""
PENETRATION = """
query {
  metrics {
    featurePenetration(from: "2026-03-01", to: "2026-03-31", features: ["kanban", "wiki"]) {
      activeUsers features { feature users penetration }
    }
  }
}
"""


async def test_engagement_through_the_api(gql: GraphQLClient, db: Database) -> None:
    ids = await add_people(db)
    data = await gql.data(ENGAGEMENT, {"campaignId": str(ids["campaign"])})
    assert data["metrics"]["engagement"] == {"participants": 1, "users": 4, "rate": 25.0}


async def test_engagement_with_nothing_to_do_through_the_api_is_a_validation_error(
    gql: GraphQLClient,
) -> None:
    body = await gql(ENGAGEMENT, {"campaignId": None})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "eventName"}


async def test_feature_penetration_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await add_people(db)
    data = await gql.data(PENETRATION)
    assert data["metrics"]["featurePenetration"] == {
        "activeUsers": 3,
        "features": [
            {"feature": "kanban", "users": 1, "penetration": pytest.approx(100 / 3)},
            {"feature": "wiki", "users": 0, "penetration": 0.0},
        ],
    }


async def test_an_id_no_row_can_have_is_not_found_through_the_api(gql: GraphQLClient) -> None:
    body = await gql(ENGAGEMENT, {"campaignId": str(2**63)})
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "campaignId"}
