"""The period report on a hand-made history: every line for March against February, a
running and a future period, weeks and days, and the report through the API."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.errors import ValidationFailed
from app.feedback.models import Feedback
from app.metrics import report as metrics
from app.metrics.periods import Period
from app.surveys.models import SurveyResponse
from tests.conftest import GraphQLClient
from tests.metrics.helpers import Person, add_users, at, event, track

UTC_ZONE = ZoneInfo("UTC")
APRIL_10 = date(2026, 4, 10)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


async def history(db: Database) -> None:
    """a, b sign up in February, c, d in March, e in January; their logins, tickets and
    NPS answers make every line of the March and February reports known (see the tests)."""
    ids = await add_users(
        db,
        [
            Person("a", at(d(2, 10), 10)),
            Person("b", at(d(2, 20))),
            Person("c", at(d(3, 5))),
            Person("d", at(d(3, 6))),
            Person("e", at(d(1, 5))),
        ],
    )
    logins = {
        "a": [d(2, 10), d(2, 11), d(3, 2)],
        "b": [d(2, 20)],
        "c": [d(3, 5), d(3, 6)],
        "d": [d(3, 6)],
        "e": [d(1, 20), d(3, 31)],
    }
    await track(db, [event(user, at(day, 15)) for user, days in logins.items() for day in days])
    async with db.unit_of_work() as session:
        session.add_all(
            [
                Feedback(
                    channel="email",
                    type="bug",
                    title="March, answered",
                    status="resolved",
                    created_at=at(d(3, 3)),
                    first_response_at=at(d(3, 3), 13),
                    resolved_at=at(d(3, 3), 14),
                ),
                Feedback(channel="email", type="bug", title="March, open", created_at=at(d(3, 10))),
                Feedback(
                    channel="email",
                    type="bug",
                    title="February",
                    status="closed",
                    created_at=at(d(2, 15)),
                    first_response_at=at(d(2, 15), 14),
                    resolved_at=at(d(2, 16)),
                ),
            ]
        )
        session.add_all(
            SurveyResponse(user_id=ids[user], kind="nps", score=score, responded_at=at(day))
            for user, score, day in [
                ("a", 10, d(3, 20)),
                ("c", 9, d(3, 20)),
                ("d", 3, d(3, 21)),
                ("a", 8, d(2, 25)),
            ]
        )


async def monthly(db: Database, day: date, today: date = APRIL_10) -> metrics.Report:
    async with db.read() as session:
        return await metrics.report(
            session, None, period=Period.MONTH, day=day, tz=UTC_ZONE, today=today
        )


def table(result: metrics.Report) -> dict[str, tuple[float | None, float | None, float | None]]:
    return {
        name: (line.value, line.previous, line.change_percent)
        for name, line in result.lines.items()
    }


async def test_monthly_report_sets_each_line_beside_the_month_before(db: Database) -> None:
    await history(db)
    result = await monthly(db, d(3, 15))
    assert (result.first, result.last) == (d(3, 1), d(3, 31))
    assert (result.previous_first, result.previous_last) == (d(2, 1), d(2, 28))
    assert table(result) == {
        "new_users": (2, 2, 0.0),
        "active_users": (4, 2, 100.0),
        # DAU / MAU of 31 March (e / a, c, d, e) and of 28 February (nobody / a, b).
        "stickiness": (0.25, 0.0, None),
        # c came back the day after signing up, d did not; a did, b did not.
        "retention_d1": (50.0, 50.0, 0.0),
        # b (active in the 30 days before March) had no event in March; e none in February.
        "churn_rate": (50.0, 100.0, -50.0),
        "feedback_created": (2, 1, 100.0),
        "feedback_resolved": (1, 1, 0.0),
        "resolution_rate": (50.0, 100.0, -50.0),
        "first_response_seconds": (3600.0, 7200.0, -50.0),
        "nps": (pytest.approx(100 / 3), 0.0, None),
    }


async def test_a_running_month_has_no_churn_yet(db: Database) -> None:
    await history(db)
    result = await monthly(db, d(3, 15), today=d(3, 20))
    assert result.lines["churn_rate"].value is None
    assert result.lines["churn_rate"].previous == 100.0
    assert result.lines["new_users"].value == 2


async def test_a_month_after_today_has_no_figures(db: Database) -> None:
    await history(db)
    result = await monthly(db, d(5, 15))
    assert all(line.value is None for line in result.lines.values())
    assert result.lines["new_users"].previous == 0  # April so far
    assert result.lines["feedback_created"].change_percent is None


async def test_weekly_report_runs_monday_to_sunday(db: Database) -> None:
    await history(db)
    async with db.read() as session:
        result = await metrics.report(
            session, None, period=Period.WEEK, day=d(3, 4), tz=UTC_ZONE, today=APRIL_10
        )
    assert (result.first, result.last) == (d(3, 2), d(3, 8))
    assert (result.previous_first, result.previous_last) == (d(2, 23), d(3, 1))
    assert table(result)["active_users"] == (3, 0, None)  # a, c, d
    assert table(result)["new_users"] == (2, 0, None)


async def test_daily_report_compares_with_the_day_before(db: Database) -> None:
    await history(db)
    async with db.read() as session:
        result = await metrics.report(
            session, None, period=Period.DAY, day=d(3, 6), tz=UTC_ZONE, today=APRIL_10
        )
    assert (result.previous_first, result.previous_last) == (d(3, 5), d(3, 5))
    assert table(result)["active_users"] == (2, 1, 100.0)
    assert table(result)["new_users"] == (1, 1, 0.0)


REPORT = """
query($date: Date!) {
  metrics {
    report(period: MONTH, date: $date) {
      period from to previousFrom previousTo
      newUsers { value previous changePercent }
      resolutionRate { value previous changePercent }
      nps { value previous changePercent }
    }
  }
}
"""


async def test_report_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await history(db)
    data = await gql.data(REPORT, {"date": "2026-03-15"})
    report = data["metrics"]["report"]
    assert {k: report[k] for k in ("period", "from", "to", "previousFrom", "previousTo")} == {
        "period": "MONTH",
        "from": "2026-03-01",
        "to": "2026-03-31",
        "previousFrom": "2026-02-01",
        "previousTo": "2026-02-28",
    }
    assert report["newUsers"] == {"value": 2.0, "previous": 2.0, "changePercent": 0.0}
    assert report["resolutionRate"] == {"value": 50.0, "previous": 100.0, "changePercent": -50.0}
    assert report["nps"]["value"] == pytest.approx(100 / 3)


async def test_report_for_an_unknown_segment_is_a_not_found_error(gql: GraphQLClient) -> None:
    query = '{ metrics { report(period: DAY, date: "2026-03-01", segmentId: "77") { from } } }'
    body = await gql(query)
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "segmentId"}


async def test_a_date_beyond_plausible_dates_is_a_validation_error(db: Database) -> None:
    with pytest.raises(ValidationFailed) as error:
        await monthly(db, date(1, 1, 1))
    assert error.value.problems[0].field == "date"
