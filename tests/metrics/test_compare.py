"""Comparison analysis on a hand-made history: each metric split by tier, channel, region
and segment, with exact values per group, in one grouped statement."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.db import Database
from app.errors import ValidationFailed
from app.metrics import compare as metrics
from app.metrics.compare import CompareMetric as Metric
from app.metrics.compare import Dimension
from app.segments.models import Segment
from app.surveys.models import SurveyResponse
from app.users.models import User
from tests.conftest import GraphQLClient, StatementCounter
from tests.metrics.helpers import Person, add_users, at, event, track

MARCH = {"first": date(2026, 3, 1), "last": date(2026, 3, 31)}


def d(month: int, day: int) -> date:
    return date(2026, month, day)


async def history(db: Database) -> dict[str, int]:
    """Sign-ups in March: a, b (core), c (edge), d (backbone, no channel, never active);
    e (edge) signed up in February. Returns the ids of segments `core` and `searchers`."""
    ids = await add_users(
        db,
        [
            Person("a", at(d(3, 1), 10), tier="core", channel="search"),
            Person("b", at(d(3, 2)), tier="core", channel="social"),
            Person("c", at(d(3, 2)), tier="edge", channel="search"),
            Person("d", at(d(3, 3)), tier="backbone"),
            Person("e", at(d(2, 1)), tier="edge", channel="social"),
        ],
    )
    logins = {
        "a": [d(3, 1), d(3, 2), d(3, 8)],
        "b": [d(3, 2), d(3, 9)],
        "c": [d(3, 3)],
        "e": [d(3, 5)],
    }
    await track(
        db,
        [event(user, at(day, 15)) for user, days in logins.items() for day in days]
        + [
            event("a", at(d(3, 5)), "payment", revenue="100"),
            event("c", at(d(3, 4)), "payment", revenue="30"),
        ],
    )
    async with db.unit_of_work() as session:
        await session.execute(update(User).where(User.id == ids["a"]).values(region="East"))
        session.add_all(
            SurveyResponse(user_id=ids[user], kind="nps", score=score, responded_at=at(day))
            for user, score, day in [
                ("a", 0, d(3, 1)),
                ("a", 10, d(3, 20)),
                ("b", 0, d(3, 20)),
                ("c", 9, d(3, 21)),
            ]
        )
        segments = [
            Segment(key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"}),
            Segment(
                key="searchers",
                name="Search",
                rule={"attr": "channel", "op": "eq", "value": "search"},
            ),
        ]
        session.add_all(segments)
        await session.flush()
        return {s.key: s.id for s in segments}  # type: ignore[misc]


async def compare(
    db: Database, metric: Metric, dimension: Dimension, **arguments: Any
) -> dict[Any, tuple[Any, int]]:
    async with db.read() as session:
        result = await metrics.compare(
            session,
            None,
            metric=metric,
            dimension=dimension,
            **{"tz": ZoneInfo("UTC"), "today": d(4, 10), **MARCH, **arguments},
        )
    return {g.key: (g.value, g.users) for g in result.groups}


async def test_active_users_by_tier_leaves_out_tiers_nobody_was_active_in(db: Database) -> None:
    await history(db)
    assert await compare(db, Metric.ACTIVE_USERS, Dimension.TIER) == {
        "core": (2.0, 2),
        "edge": (2.0, 2),
    }


async def test_new_users_by_tier(db: Database) -> None:
    await history(db)
    assert await compare(db, Metric.NEW_USERS, Dimension.TIER) == {
        "backbone": (1.0, 1),
        "core": (2.0, 2),
        "edge": (1.0, 1),
    }


async def test_day_one_retention_by_tier(db: Database) -> None:
    await history(db)
    assert await compare(db, Metric.RETENTION_D1, Dimension.TIER) == {
        "backbone": (0.0, 1),
        "core": (50.0, 2),  # a came back on 2 March, b not on 3 March
        "edge": (100.0, 1),
    }


async def test_day_seven_retention_by_channel_groups_users_without_one_under_null(
    db: Database,
) -> None:
    await history(db)
    assert await compare(db, Metric.RETENTION_D7, Dimension.CHANNEL) == {
        "search": (50.0, 2),  # a on 8 March; c not on 9 March
        "social": (100.0, 1),
        None: (0.0, 1),
    }


async def test_retention_counts_only_cohorts_whose_day_n_has_come(db: Database) -> None:
    await history(db)
    # On 3 March, day 1 of the 1 March cohort (a) is known, of 2 March (b, c) it is today.
    result = await compare(db, Metric.RETENTION_D1, Dimension.TIER, today=d(3, 2))
    assert result == {"core": (100.0, 1)}


async def test_nps_by_channel_counts_each_users_latest_answer(db: Database) -> None:
    await history(db)
    assert await compare(db, Metric.NPS, Dimension.CHANNEL) == {
        "search": (100.0, 2),
        "social": (-100.0, 1),
    }


async def test_ltv_by_tier(db: Database) -> None:
    await history(db)
    assert await compare(db, Metric.LTV, Dimension.TIER) == {
        "backbone": (0.0, 1),
        "core": (50.0, 2),
        "edge": (30.0, 1),
    }


async def test_by_region(db: Database) -> None:
    await history(db)
    assert await compare(db, Metric.ACTIVE_USERS, Dimension.REGION) == {
        "East": (1.0, 1),
        None: (3.0, 3),
    }


async def test_by_segment_counts_a_user_in_each_of_their_segments(db: Database) -> None:
    await history(db)
    assert await compare(db, Metric.NEW_USERS, Dimension.SEGMENT) == {
        "core": (2.0, 2),
        "searchers": (2.0, 2),
    }


async def test_by_segment_without_segments_is_empty(db: Database) -> None:
    assert await compare(db, Metric.NEW_USERS, Dimension.SEGMENT) == {}


async def test_a_segment_narrows_every_group(db: Database) -> None:
    segments = await history(db)
    assert await compare(
        db, Metric.ACTIVE_USERS, Dimension.TIER, segment_id=segments["searchers"]
    ) == {"core": (1.0, 1), "edge": (1.0, 1)}


async def test_one_grouped_statement_whatever_the_number_of_groups(
    db: Database, count_statements: StatementCounter
) -> None:
    await history(db)
    count_statements.statements.clear()
    await compare(db, Metric.RETENTION_D1, Dimension.TIER)
    assert len(count_statements.statements) == 1
    assert "GROUP BY" in count_statements.statements[0]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"first": d(3, 2), "last": d(3, 1)}, "from"),
        ({"first": d(1, 1), "last": date(2027, 1, 2)}, "to"),
        ({"horizon_days": 0}, "horizonDays"),
    ],
)
async def test_bad_arguments_are_validation_errors(
    db: Database, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await compare(db, Metric.LTV, Dimension.TIER, **arguments)
    assert error.value.problems[0].field == field


COMPARE = """
query($segmentId: ID) {
  metrics {
    compare(metric: NPS, dimension: CHANNEL, from: "2026-03-01", to: "2026-03-31", segmentId: $segmentId) {
      metric dimension from to groups { key value users }
    }
  }
}
"""


async def test_compare_through_the_api(gql: GraphQLClient, db: Database) -> None:
    segments = await history(db)
    data = await gql.data(COMPARE, {"segmentId": str(segments["core"])})
    assert data["metrics"]["compare"] == {
        "metric": "NPS",
        "dimension": "CHANNEL",
        "from": "2026-03-01",
        "to": "2026-03-31",
        "groups": [
            {"key": "search", "value": 100.0, "users": 1},
            {"key": "social", "value": -100.0, "users": 1},
        ],
    }
