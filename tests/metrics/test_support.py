"""Support metrics over hand-made tickets: counts, resolution rate, mean and median response
times (odd and even counts, unanswered tickets left out), breakdowns, timezone edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.errors import NotFound, ValidationFailed
from app.feedback.models import Feedback
from app.metrics import support as metrics
from app.segments.models import Segment
from app.users.models import User
from tests.conftest import GraphQLClient

UTC_ZONE = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = {"first": date(2026, 3, 1), "last": date(2026, 3, 31)}
HOUR = 3600


def at(day: int, hour: int = 8, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ticket(
    created: datetime,
    *,
    type: str = "bug",
    channel: str = "in_app",
    status: str = "open",
    answered_after: float | None = None,
    resolved_after: float | None = None,
    satisfaction: int | None = None,
    user_id: int | None = None,
) -> Feedback:
    """A ticket `answered_after` / `resolved_after` seconds after its creation (None: not)."""

    def later(seconds: float | None) -> datetime | None:
        return None if seconds is None else created + timedelta(seconds=seconds)

    return Feedback(
        user_id=user_id,
        channel=channel,
        type=type,
        title="t",
        status=status,
        created_at=created,
        first_response_at=later(answered_after),
        resolved_at=later(resolved_after),
        satisfaction=satisfaction,
    )


async def add(db: Database, *rows: Any) -> None:
    async with db.unit_of_work() as session:
        session.add_all(rows)


async def run(db: Database, **arguments: Any) -> metrics.Support:
    async with db.read() as session:
        return await metrics.support(session, None, **{"tz": UTC_ZONE, **MARCH, **arguments})


def march_tickets() -> list[Feedback]:
    return [
        ticket(
            at(2),
            answered_after=1 * HOUR,
            resolved_after=5 * HOUR,
            status="resolved",
            satisfaction=5,
        ),
        ticket(
            at(3),
            channel="email",
            answered_after=3 * HOUR,
            resolved_after=10 * HOUR,
            status="closed",
            satisfaction=3,
        ),
        ticket(
            at(4), type="complaint", channel="email", answered_after=2 * HOUR, status="in_progress"
        ),
        ticket(at(5), type="complaint"),  # never answered
        ticket(at(5, 9), type="consultation", channel="hotline", answered_after=8 * HOUR),
    ]


def outside() -> list[Feedback]:
    return [ticket(at(28, 23, month=2)), ticket(at(1, 0, month=4))]


async def test_support_counts_tickets_created_in_the_range(db: Database) -> None:
    await add(db, *march_tickets(), *outside())
    overall = (await run(db)).overall
    assert (overall.created, overall.resolved, overall.resolution_rate) == (5, 2, 40.0)
    assert (overall.answered, overall.rated, overall.satisfaction_mean) == (4, 2, 4.0)


async def test_response_times_leave_out_unanswered_tickets_and_median_of_even_count_is_a_mean(
    db: Database,
) -> None:
    await add(db, *march_tickets())
    overall = (await run(db)).overall
    # Answered after 1 h, 3 h, 2 h and 8 h: mean 3.5 h, median (2 h + 3 h) / 2.
    assert overall.mean_first_response_seconds == 3.5 * HOUR
    assert overall.median_first_response_seconds == 2.5 * HOUR
    assert overall.mean_resolution_seconds == 7.5 * HOUR


async def test_median_of_odd_count_is_the_middle_value(db: Database) -> None:
    await add(db, *(ticket(at(d), answered_after=s) for d, s in ((2, 100), (3, 300), (4, 200))))
    overall = (await run(db)).overall
    assert overall.median_first_response_seconds == 200
    assert overall.mean_first_response_seconds == 200


async def test_breakdown_by_type_and_channel_has_each_groups_own_median(db: Database) -> None:
    await add(db, *march_tickets())
    result = await run(db)

    def figures(groups: list[metrics.SupportGroup]) -> dict[str, tuple[Any, ...]]:
        return {
            g.key: (g.stats.created, g.stats.resolved, g.stats.median_first_response_seconds)
            for g in groups
        }

    assert figures(result.by_type) == {
        "bug": (2, 2, 2 * HOUR),
        "complaint": (2, 0, 2 * HOUR),
        "consultation": (1, 0, 8 * HOUR),
    }
    # in_app: answered after 1 h, the other never: the median is of the one answered.
    assert figures(result.by_channel) == {
        "in_app": (2, 1, 1 * HOUR),
        "email": (2, 1, 2.5 * HOUR),
        "hotline": (1, 0, 8 * HOUR),
    }
    # The largest group first, ties by key.
    assert [g.key for g in result.by_type] == ["bug", "complaint", "consultation"]
    assert [g.key for g in result.by_channel] == ["email", "in_app", "hotline"]


async def test_empty_range_has_zero_counts_and_null_rates(db: Database) -> None:
    await add(db, *outside())
    result = await run(db)
    assert result.overall == metrics.SupportStats(0, 0, 0, 0, None, None, None, None)
    assert result.overall.resolution_rate is None
    assert (result.by_type, result.by_channel) == ([], [])


async def test_days_end_at_midnight_in_the_reporting_timezone(db: Database) -> None:
    # 16:30 UTC on 31 March is 00:30 on 1 April in Shanghai.
    await add(db, ticket(at(31, 16, 30)), ticket(at(28, 16, 30, month=2)))
    assert (await run(db)).overall.created == 1
    assert (await run(db, tz=SHANGHAI)).overall.created == 1
    in_shanghai = await run(db, tz=SHANGHAI, first=date(2026, 3, 1), last=date(2026, 3, 1))
    assert in_shanghai.overall.created == 1  # 28 Feb 16:30 UTC is 1 March in Shanghai


async def test_segment_narrows_to_its_members_tickets(db: Database) -> None:
    async with db.unit_of_work() as session:
        core, edge = User(external_id="c", name="C", tier="core"), User(external_id="e", name="E")
        segment = Segment(
            key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"}
        )
        session.add_all([core, edge, segment])
        await session.flush()
        session.add_all(
            [ticket(at(2), user_id=core.id), ticket(at(3), user_id=edge.id), ticket(at(4))]
        )
    assert (await run(db)).overall.created == 3
    assert (await run(db, segment_id=segment.id)).overall.created == 1


async def test_unknown_segment_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as error:
        await run(db, segment_id=404)
    assert error.value.problems[0].field == "segmentId"


async def test_from_after_to_is_a_validation_error(db: Database) -> None:
    with pytest.raises(ValidationFailed) as error:
        await run(db, first=date(2026, 3, 2), last=date(2026, 3, 1))
    assert error.value.problems[0].field == "from"


SUPPORT = """
query {
  metrics {
    support(from: "2026-03-01", to: "2026-03-31") {
      overall {
        created resolved resolutionRate answered meanFirstResponseSeconds
        medianFirstResponseSeconds meanResolutionSeconds rated satisfactionMean
      }
      byType { key figures { created medianFirstResponseSeconds } }
      byChannel { key figures { created } }
    }
  }
}
"""


async def test_support_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await add(db, *march_tickets(), *outside())
    result = (await gql.data(SUPPORT))["metrics"]["support"]
    assert result["overall"] == {
        "created": 5,
        "resolved": 2,
        "resolutionRate": 40.0,
        "answered": 4,
        "meanFirstResponseSeconds": 3.5 * HOUR,
        "medianFirstResponseSeconds": 2.5 * HOUR,
        "meanResolutionSeconds": 7.5 * HOUR,
        "rated": 2,
        "satisfactionMean": 4.0,
    }
    assert result["byType"][0] == {
        "key": "bug",
        "figures": {"created": 2, "medianFirstResponseSeconds": 2 * HOUR},
    }
    assert [g["key"] for g in result["byChannel"]] == ["email", "in_app", "hotline"]
