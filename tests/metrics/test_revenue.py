"""LTV over a hand-made cohort: payments inside and at the edge of the horizon, payments
before sign-up or of other events, immature cohorts, timezones, segments, empty cohorts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.errors import ValidationFailed
from app.events.models import Event
from app.metrics import revenue as metrics
from app.segments.models import Segment
from app.users.models import User
from tests.conftest import GraphQLClient

COHORT = {"cohort_from": date(2026, 3, 1), "cohort_to": date(2026, 3, 2), "horizon_days": 30}
LATER = datetime(2026, 6, 1, tzinfo=UTC)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# name, tier, signed up, [(event, revenue, when)]
PEOPLE: list[tuple[str, str, datetime, list[tuple[str, str, datetime]]]] = [
    (
        "a",
        "core",
        at(3, 1, 10),
        [
            ("payment", "7.00", at(3, 1, 9)),  # before signing up
            ("payment", "100.00", at(3, 1, 12)),
            ("payment", "50.50", at(3, 31, 9, 59)),  # 29 days 23 h 59 min after
            ("payment", "25.00", at(3, 31, 10)),  # exactly 30 days after: outside
        ],
    ),
    (
        "b",
        "edge",
        at(3, 2, 23),
        [("payment", "10.00", at(4, 1, 22, 59)), ("session", "999.00", at(3, 3))],
    ),
    ("c", "core", at(3, 2, 5), []),
    ("d", "core", at(3, 3, 0), [("payment", "1000.00", at(3, 4))]),  # after the cohort
    ("e", "edge", at(2, 28, 23, 59), [("payment", "3.00", at(3, 1))]),  # before it
]


async def add_people(db: Database) -> None:
    async with db.unit_of_work() as session:
        for name, tier, signed_up_at, events in PEOPLE:
            user = User(external_id=name, name=name, tier=tier, signed_up_at=signed_up_at)
            session.add(user)
            await session.flush()
            session.add_all(
                Event(user_id=user.id, name=event, revenue=Decimal(amount), occurred_at=when)
                for event, amount, when in events
            )


async def ltv(db: Database, **arguments: Any) -> metrics.Ltv:
    async with db.read() as session:
        return await metrics.ltv(
            session, None, **{"tz": ZoneInfo("UTC"), "now": LATER, **COHORT, **arguments}
        )


async def test_ltv_is_horizon_revenue_over_cohort_size(db: Database) -> None:
    await add_people(db)
    result = await ltv(db)
    assert (result.cohort_size, result.paying_users) == (3, 2)
    assert result.revenue == Decimal("160.50")
    assert result.ltv == Decimal("53.50")
    assert result.observed_users == 3


async def test_a_shorter_horizon_keeps_only_the_earlier_payments(db: Database) -> None:
    await add_people(db)
    result = await ltv(db, horizon_days=1)
    assert (result.paying_users, result.revenue, result.ltv) == (
        1,
        Decimal("100.00"),
        Decimal("33.33"),
    )


async def test_users_whose_horizon_has_not_passed_are_not_observed(db: Database) -> None:
    await add_people(db)
    # On 1 April 12:00 the 30 days of a (to 31 March 10:00) and c (to 1 April 05:00) have
    # passed, those of b (to 1 April 23:00) not.
    result = await ltv(db, now=at(4, 1, 12))
    assert (result.cohort_size, result.observed_users) == (3, 2)


async def test_cohort_days_follow_the_reporting_timezone(db: Database) -> None:
    await add_people(db)
    # In Shanghai (UTC+8) 1–2 March is 28 Feb 16:00 to 2 March 16:00 UTC: a, c and e.
    result = await ltv(db, tz=ZoneInfo("Asia/Shanghai"))
    assert (result.cohort_size, result.paying_users) == (3, 2)
    assert result.revenue == Decimal("153.50")
    assert result.ltv == Decimal("51.17")


async def test_ltv_of_a_segment(db: Database) -> None:
    await add_people(db)
    async with db.unit_of_work() as session:
        core = Segment(key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"})
        session.add(core)
        await session.flush()
    result = await ltv(db, segment_id=core.id)
    assert (result.cohort_size, result.revenue, result.ltv) == (
        2,
        Decimal("150.50"),
        Decimal("75.25"),
    )


async def test_empty_cohort_has_no_ltv(db: Database) -> None:
    await add_people(db)
    result = await ltv(db, cohort_from=date(2026, 1, 1), cohort_to=date(2026, 1, 31))
    assert (result.cohort_size, result.paying_users, result.revenue) == (0, 0, Decimal("0.00"))
    assert result.ltv is None


@pytest.mark.parametrize("horizon", [0, -1, metrics.MAX_HORIZON_DAYS + 1])
async def test_horizon_out_of_bounds_is_a_validation_error(db: Database, horizon: int) -> None:
    with pytest.raises(ValidationFailed) as error:
        await ltv(db, horizon_days=horizon)
    assert error.value.problems[0].field == "horizonDays"


async def test_cohort_from_after_cohort_to_is_a_validation_error(db: Database) -> None:
    with pytest.raises(ValidationFailed) as error:
        await ltv(db, cohort_from=date(2026, 3, 3))
    assert error.value.problems[0].field == "cohortFrom"


LTV = """
query($horizon: Int!) {
  metrics {
    ltv(cohortFrom: "2026-03-01", cohortTo: "2026-03-02", horizonDays: $horizon) {
      horizonDays cohortSize observedUsers payingUsers revenue ltv
    }
  }
}
"""


async def test_ltv_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await add_people(db)
    result = (await gql.data(LTV, {"horizon": 30}))["metrics"]["ltv"]
    assert result == {
        "horizonDays": 30,
        "cohortSize": 3,
        "observedUsers": 3,
        "payingUsers": 2,
        "revenue": "160.50",
        "ltv": "53.50",
    }


async def test_ltv_horizon_out_of_bounds_through_the_api(gql: GraphQLClient) -> None:
    body = await gql(LTV, {"horizon": 0})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "horizonDays"}
