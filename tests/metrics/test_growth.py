"""New users and activation, registered-user growth and channel conversion over a hand-made
March with known answers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.errors import ValidationFailed
from app.events.service import record_channel_exposures
from app.metrics import growth, rollup
from app.metrics.periods import Period
from tests.conftest import GraphQLClient
from tests.metrics.helpers import Person, add_users, at, event, track

UTC = ZoneInfo("UTC")
TODAY = date(2026, 4, 30)


def d(day: int, month: int = 3) -> date:
    return date(2026, month, day)


PEOPLE = [
    Person("n1", at(d(1), 0), channel="search"),
    Person("n2", at(d(10)), channel="search"),
    Person("n3", at(d(31), 23, 59), channel="social"),
    Person("n4", at(d(28, 2)), channel="search"),  # February
    Person("n5", at(d(15)), channel="partner"),
    Person("n6", at(d(20))),
]
EVENTS = [
    event("n1", at(d(7)), "feature_used"),  # six days after the sign-up day: activated
    event("n2", at(d(11))),
    event("n2", at(d(17)), "feature_used"),  # seven days after: too late
    event("n3", at(d(1, 4)), "feature_used"),  # after the range, within n3's first 7 days
    event("n4", at(d(1)), "feature_used"),  # not new in March
    event("n6", at(d(20)), "report_export"),
]


@pytest.fixture
async def march(db: Database) -> None:
    await add_users(db, PEOPLE)
    await track(db, EVENTS)


async def new_users(db: Database, **options: Any) -> growth.NewUsers:
    arguments = {"first": d(1), "last": d(31), "tz": UTC} | options
    async with db.read() as session:
        return await growth.new_users(session, None, **arguments)


async def test_new_users_and_activation_in_the_first_seven_days(db: Database, march: None) -> None:
    found = await new_users(db)
    assert (found.users, found.activated, found.activation_rate) == (5, 2, 40.0)
    assert found.activation_events == ["feature_used"]


@pytest.mark.parametrize(
    ("names", "activated"),
    [(["report_export", "feature_used"], 3), (["login"], 1), (["payment"], 0)],
)
async def test_activation_events_can_be_named(
    db: Database, march: None, names: list[str], activated: int
) -> None:
    assert (await new_users(db, activation_events=names)).activated == activated


async def test_sign_up_days_are_in_the_reporting_timezone(db: Database, march: None) -> None:
    # n3 signed up at 23:59 UTC on Mar 31: April 1 in Shanghai.
    await rollup.ensure_rollup(db, "Asia/Shanghai")
    found = await new_users(db, tz=ZoneInfo("Asia/Shanghai"))
    assert (found.users, found.activated) == (4, 1)


async def test_a_range_without_sign_ups_has_no_activation_rate(db: Database, march: None) -> None:
    found = await new_users(db, first=d(1, 1), last=d(31, 1))
    assert (found.users, found.activated, found.activation_rate) == (0, 0, None)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"first": d(2), "last": d(1)}, "from"),
        ({"activation_events": []}, "activationEvents"),
        ({"activation_events": ["ok", "Not OK"]}, "activationEvents.1"),
    ],
)
async def test_bad_new_user_input_names_the_argument(
    db: Database, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await new_users(db, **options)
    assert error.value.problems[0].field == field


async def growth_of(db: Database, period: Period, day: date) -> tuple[Any, ...]:
    async with db.read() as session:
        found = await growth.growth(session, None, period=period, day=day, tz=UTC, today=TODAY)
    return found.first, found.last, found.users, found.previous_users, found.change, found.rate


async def test_growth_compares_registered_users_at_period_ends(db: Database, march: None) -> None:
    assert await growth_of(db, Period.MONTH, d(15)) == (d(1), d(31), 6, 1, 5, 500.0)
    # Mon Mar 9 – Sun Mar 15: n1, n4 before; n2 and n5 (on the Sunday) during.
    assert await growth_of(db, Period.WEEK, d(15)) == (d(9), d(15), 4, 2, 2, 100.0)
    assert await growth_of(db, Period.DAY, d(10)) == (d(10), d(10), 3, 2, 1, 50.0)


async def test_growth_from_zero_has_no_rate(db: Database, march: None) -> None:
    assert await growth_of(db, Period.QUARTER, d(15)) == (d(1, 1), d(31), 6, 0, 6, None)


async def test_growth_of_a_future_period_is_unknown(db: Database, march: None) -> None:
    assert await growth_of(db, Period.MONTH, d(1, 5)) == (d(1, 5), d(31, 5), *[None] * 4)


async def test_channel_conversion_divides_registrations_by_exposures(
    db: Database, march: None
) -> None:
    async with db.unit_of_work() as session:
        await record_channel_exposures(
            session,
            exposures=[
                {"channel": "search", "day": d(1), "impressions": 100},
                {"channel": "search", "day": d(31), "impressions": 100},
                {"channel": "search", "day": d(28, 2), "impressions": 1000},
                {"channel": "social", "day": d(5), "impressions": 0},
                {"channel": "offline_event", "day": d(3), "impressions": 50},
            ],
        )
    async with db.read() as session:
        rows = await growth.channel_conversion(session, None, first=d(1), last=d(31), tz=UTC)
    assert [(r.channel, r.registrations, r.impressions, r.rate) for r in rows] == [
        ("offline_event", 0, 50, 0.0),
        ("partner", 1, 0, None),
        ("search", 2, 200, 1.0),
        ("social", 1, 0, None),
    ]


NEW_USERS = """
query($from: Date!, $to: Date!) {
  metrics {
    newUsers(from: $from, to: $to) { from to users activated activationRate activationEvents }
    growth(period: MONTH, date: $to) { from to users previousUsers change rate }
  }
}"""


async def test_acquisition_over_the_api(gql: GraphQLClient, db: Database, march: None) -> None:
    data = await gql.data(NEW_USERS, {"from": "2026-03-01", "to": "2026-03-31"}, role="integration")
    assert data["metrics"]["newUsers"] == {
        "from": "2026-03-01",
        "to": "2026-03-31",
        "users": 5,
        "activated": 2,
        "activationRate": 40.0,
        "activationEvents": ["feature_used"],
    }
    assert data["metrics"]["growth"]["rate"] == 500.0


async def test_a_long_new_users_range_is_refused(gql: GraphQLClient, db: Database) -> None:
    last = d(1, 1) + timedelta(days=366)
    body = await gql(NEW_USERS, {"from": "2026-01-01", "to": last.isoformat()})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "to"}
