"""Cohort retention with immature cells, churn over a period, and the at-risk list, over
hand-made histories with known answers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.errors import ValidationFailed
from app.metrics import retention
from app.segments.models import Segment
from tests.conftest import GraphQLClient
from tests.metrics.helpers import Person, add_users, at, event, track

UTC = ZoneInfo("UTC")


def d(day: int, month: int = 3) -> date:
    return date(2026, month, day)


COHORTS = [
    Person("u1", at(d(1), 10), tier="core"),
    Person("u2", at(d(1), 23)),
    Person("u3", at(d(1), 0)),  # never comes back
    Person("u4", at(d(2), 12)),
    Person("u5", at(d(28, 2))),  # signed up before the cohorts asked for
]
RETURNS = [
    event("u1", at(d(2))),
    event("u1", at(d(8))),
    event("u2", at(d(1), 23, 30)),  # day 0 only counts for N = 0
    event("u2", at(d(2))),
    event("u4", at(d(3))),
    event("u4", at(d(9))),
    event("u5", at(d(1))),
]


@pytest.fixture
async def cohorts(db: Database) -> None:
    await add_users(db, COHORTS)
    await track(db, RETURNS)


async def matrix(db: Database, **options: Any) -> retention.Retention:
    arguments = {
        "cohort_from": d(1),
        "cohort_to": d(3),
        "retention_days": [1, 7],
        "tz": UTC,
        "today": d(8),
    } | options
    async with db.read() as session:
        return await retention.retention(session, None, **arguments)


def cells(found: retention.Retention) -> list[tuple[Any, ...]]:
    return [
        (c.cohort_date, c.cohort_size, c.day, c.eligible, c.retained, c.rate)
        for cohort in found.cohorts
        for c in cohort.cells
    ]


async def test_each_cohort_has_its_retained_users_per_day(db: Database, cohorts: None) -> None:
    assert cells(await matrix(db)) == [
        (d(1), 3, 1, 3, 2, pytest.approx(200 / 3)),
        (d(1), 3, 7, 3, 1, pytest.approx(100 / 3)),
        (d(2), 1, 1, 1, 1, 100.0),
        (d(2), 1, 7, 0, None, None),  # Mar 9 is after today: not yet known
        (d(3), 0, 1, 0, 0, None),  # nobody signed up: no rate
        (d(3), 0, 7, 0, None, None),
    ]


async def test_overall_leaves_immature_cohorts_out(db: Database, cohorts: None) -> None:
    found = await matrix(db)
    assert [(o.day, o.cohorts, o.cohort_size, o.retained, o.rate) for o in found.overall] == [
        (1, 3, 4, 3, 75.0),
        (7, 1, 3, 1, pytest.approx(100 / 3)),
    ]


async def test_as_of_limits_what_is_observed(db: Database, cohorts: None) -> None:
    found = await matrix(db, as_of=d(2))
    assert found.as_of == d(2)
    assert [c[4] for c in cells(found)] == [2, None, None, None, None, None]
    assert found.overall[1].rate is None and found.overall[1].cohorts == 0


async def test_as_of_cannot_see_past_today(db: Database, cohorts: None) -> None:
    assert (await matrix(db, as_of=d(1, 6))).as_of == d(8)


async def test_day_zero_is_the_sign_up_day(db: Database, cohorts: None) -> None:
    found = await matrix(db, retention_days=[0])
    assert [c[4] for c in cells(found)] == [1, 0, 0]


async def test_a_segment_narrows_the_cohorts(db: Database, cohorts: None) -> None:
    async with db.unit_of_work() as session:
        segment = Segment(
            key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"}
        )
        session.add(segment)
    found = await matrix(db, segment_id=segment.id)
    assert [(c[0], c[1], c[4]) for c in cells(found)][:2] == [(d(1), 1, 1), (d(1), 1, 1)]


async def test_cohorts_are_sign_up_days_in_the_reporting_timezone(
    db: Database, cohorts: None
) -> None:
    found = await matrix(db, tz=ZoneInfo("Asia/Shanghai"), retention_days=[1])
    # In UTC+8, u2 (23:00 UTC) signed up on Mar 2 and u4 stays on Mar 2 (20:00).
    assert [(c.cohort_date, c.cohort_size) for c in found.cohorts] == [
        (d(1), 2),
        (d(2), 2),
        (d(3), 0),
    ]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"cohort_from": d(3), "cohort_to": d(1)}, "cohortFrom"),
        ({"cohort_to": d(1) + timedelta(days=366)}, "cohortTo"),
        ({"retention_days": []}, "days"),
        ({"retention_days": [1, -1]}, "days.1"),
    ],
)
async def test_bad_retention_input_names_the_argument(
    db: Database, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await matrix(db, **options)
    assert error.value.problems[0].field == field


CHURN_PEOPLE = [Person(name, at(d(1, 2))) for name in ("x", "y", "z", "w", "quiet")]
CHURN_EVENTS = [
    event("x", at(d(5))),
    event("x", at(d(15))),  # came back
    event("y", at(d(10), 23, 59)),  # churned
    event("z", at(d(1))),  # before the start window: not in the start set
    event("z", at(d(12))),
    event("w", at(d(4), 0)),  # churned: its next event is after the period
    event("w", at(d(21))),
]


async def churn(db: Database, **options: Any) -> retention.Churn:
    arguments = {"first": d(11), "last": d(20), "inactivity_days": 7, "today": d(31)} | options
    async with db.read() as session:
        return await retention.churn(session, None, **arguments)


async def test_churn_counts_the_start_set_users_with_no_event(db: Database) -> None:
    await add_users(db, CHURN_PEOPLE)
    await track(db, CHURN_EVENTS)
    found = await churn(db)
    assert (found.start_users, found.churned, found.rate) == (3, 2, pytest.approx(200 / 3))


async def test_churn_of_a_period_not_over_is_unknown(db: Database) -> None:
    await add_users(db, CHURN_PEOPLE)
    await track(db, CHURN_EVENTS)
    found = await churn(db, today=d(19))
    assert (found.start_users, found.churned, found.rate) == (3, None, None)


async def test_churn_with_an_empty_start_set_has_no_rate(db: Database) -> None:
    found = await churn(db)
    assert (found.start_users, found.churned, found.rate) == (0, 0, None)


@pytest.mark.parametrize("days", [0, 366])
async def test_churn_inactivity_days_are_bounded(db: Database, days: int) -> None:
    with pytest.raises(ValidationFailed) as error:
        await churn(db, inactivity_days=days)
    assert error.value.problems[0].field == "inactivityDays"


AT_RISK_PEOPLE = [
    Person("p", at(d(1, 1)), tier="core"),
    Person("q", at(d(1, 1)), tier="edge"),
    Person("r", at(d(1, 1)), tier="core"),
    Person("s", at(d(1, 1)), tier="backbone"),
    Person("t", at(d(1, 1)), tier="core"),
    Person("v", at(d(1, 1)), tier="core"),  # never active: not at risk
]
AT_RISK_EVENTS = [
    event("p", at(d(1))),
    event("p", at(d(2))),
    *(event("q", at(d(n))) for n in range(1, 6)),
    event("r", at(d(10))),
    event("s", at(d(21), 23, 59)),  # 10 quiet days: Mar 22–31
    event("t", at(d(22), 0)),  # active inside the last 10 days
]


@pytest.fixture
async def at_risk(db: Database) -> None:
    await add_users(db, AT_RISK_PEOPLE)
    await track(db, AT_RISK_EVENTS)


async def at_risk_page(db: Database, first: int, after: str | None = None) -> Any:
    async with db.read() as session:
        return await retention.at_risk_users(
            session,
            None,
            inactivity_days=10,
            first=first,
            after=after,
            count_session=db.read,
            tz=UTC,
            today=d(31),
        )


async def test_at_risk_users_come_most_valuable_first(db: Database, at_risk: None) -> None:
    page = await at_risk_page(db, first=10)
    assert [(u.user.external_id, u.active_days, u.inactive_days) for u, _ in page.items] == [
        ("p", 2, 29),
        ("r", 1, 21),
        ("s", 1, 10),
        ("q", 5, 26),
    ]
    assert await page.count() == 4


async def test_at_risk_pages_follow_their_cursors(db: Database, at_risk: None) -> None:
    first = await at_risk_page(db, first=2)
    second = await at_risk_page(db, first=2, after=first.items[-1][1])
    assert [u.user.external_id for u, _ in first.items] == ["p", "r"]
    assert [u.user.external_id for u, _ in second.items] == ["s", "q"]
    assert (first.has_next_page, second.has_next_page) == (True, False)


async def test_a_forged_at_risk_cursor_is_a_client_error(db: Database, at_risk: None) -> None:
    with pytest.raises(ValidationFailed) as error:
        await at_risk_page(db, first=2, after="WyJ4IiwgMSwgMl0=")  # ["x", 1, 2]
    assert error.value.problems[0].field == "after"


RETENTION = """
query($from: Date!, $to: Date!, $days: [Int!]!) {
  metrics { retention(cohortFrom: $from, cohortTo: $to, days: $days) {
    asOf
    cohorts { cohortDate cohortSize cells { day eligible retained rate } }
    overall { day cohorts cohortSize retained rate }
  } }
}"""


async def test_retention_over_the_api(gql: GraphQLClient, db: Database, cohorts: None) -> None:
    data = await gql.data(
        RETENTION, {"from": "2026-03-02", "to": "2026-03-02", "days": [1]}, role="integration"
    )
    assert data["metrics"]["retention"]["cohorts"] == [
        {
            "cohortDate": "2026-03-02",
            "cohortSize": 1,
            "cells": [{"day": 1, "eligible": 1, "retained": 1, "rate": 100.0}],
        }
    ]


async def test_a_retention_error_names_the_argument(gql: GraphQLClient, db: Database) -> None:
    body = await gql(RETENTION, {"from": "2026-03-02", "to": "2026-03-01", "days": [1]})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "cohortFrom"}


AT_RISK = """
query($after: String) {
  metrics { atRiskUsers(inactivityDays: 10, first: 3, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { activeDays user { externalId tier } } }
  } }
}"""


async def test_at_risk_users_over_the_api(gql: GraphQLClient, db: Database) -> None:
    # Relative to the real today: the API has no clock to set.
    today = date.today()
    await add_users(db, [Person("old", at(today - timedelta(days=400)), tier="core")])
    await track(db, [event("old", at(today - timedelta(days=20)))])
    data = await gql.data(AT_RISK)
    found = data["metrics"]["atRiskUsers"]
    assert found["totalCount"] == 1
    assert found["edges"][0]["node"] == {
        "activeDays": 1,
        "user": {"externalId": "old", "tier": "CORE"},
    }
