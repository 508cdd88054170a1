"""NPS and CSAT over hand-made survey answers: one latest answer per user for NPS, every
answer for CSAT, range and timezone edges, segments, empty ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.errors import NotFound, ValidationFailed
from app.metrics import customers as metrics
from app.segments.models import Segment
from app.surveys.models import SurveyResponse
from app.users.models import User
from tests.conftest import GraphQLClient

UTC_ZONE = ZoneInfo("UTC")
MARCH = {"first": date(2026, 3, 1), "last": date(2026, 3, 31)}


def at(month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# user, kind, score, when
ANSWERS = [
    ("u1", "nps", 3, at(3, 2)),
    ("u1", "nps", 10, at(3, 10)),  # u1's latest: a promoter, counted once
    ("u2", "nps", 9, at(3, 5)),
    ("u3", "nps", 9, at(3, 6)),
    ("u4", "nps", 6, at(3, 7)),
    ("u5", "nps", 10, at(2, 20)),  # before the range: u5 is a detractor (2) in March
    ("u5", "nps", 2, at(3, 15)),
    ("u6", "nps", 0, at(4, 1, 0)),  # after the range
    ("u7", "nps", 8, at(3, 20)),
    ("u7", "nps", 0, at(4, 2)),  # a later answer after the range does not count
    ("u1", "csat", 5, at(3, 3)),
    ("u1", "csat", 4, at(3, 4)),
    ("u2", "csat", 3, at(3, 5)),
    ("u3", "csat", 1, at(3, 6)),
    ("u4", "csat", 5, at(3, 8)),
    ("u3", "csat", 5, at(4, 1)),
]


async def add_answers(
    db: Database, answers: list[tuple[str, str, int, datetime]]
) -> dict[str, int]:
    """Users u1…u7 (u1 to u3 in tier core) and the answers; returns user ids by name."""
    async with db.unit_of_work() as session:
        users = {
            f"u{i}": User(external_id=f"u{i}", name=f"U{i}", tier="core" if i <= 3 else "edge")
            for i in range(1, 8)
        }
        session.add_all(users.values())
        await session.flush()
        session.add_all(
            SurveyResponse(user_id=users[u].id, kind=kind, score=score, responded_at=when)
            for u, kind, score, when in answers
        )
        return {name: user.id for name, user in users.items()}  # type: ignore[misc]


async def core_segment(db: Database) -> int:
    async with db.unit_of_work() as session:
        segment = Segment(
            key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"}
        )
        session.add(segment)
        await session.flush()
        return segment.id  # type: ignore[return-value]


async def nps(db: Database, **arguments: Any) -> metrics.Nps:
    async with db.read() as session:
        return await metrics.nps(session, None, **{"tz": UTC_ZONE, **MARCH, **arguments})


async def csat(db: Database, **arguments: Any) -> metrics.Csat:
    async with db.read() as session:
        return await metrics.csat(session, None, **{"tz": UTC_ZONE, **MARCH, **arguments})


async def test_nps_counts_each_users_latest_answer_in_the_range_once(db: Database) -> None:
    await add_answers(db, ANSWERS)
    result = await nps(db)
    assert (result.promoters, result.passives, result.detractors) == (3, 1, 2)
    assert result.responses == 6
    assert result.score == pytest.approx((3 - 2) / 6 * 100)
    assert result.promoter_rate == 50.0
    assert result.detractor_rate == pytest.approx(2 / 6 * 100)


async def test_nps_category_bounds_are_six_seven_eight_nine(db: Database) -> None:
    await add_answers(
        db, [(f"u{i}", "nps", s, at(3, 2)) for i, s in enumerate((0, 6, 7, 8, 9, 10), 1)]
    )
    result = await nps(db)
    assert (result.promoters, result.passives, result.detractors) == (2, 2, 2)
    assert result.score == 0.0


async def test_nps_answers_at_the_same_instant_keep_the_last_stored(db: Database) -> None:
    await add_answers(db, [("u1", "nps", 10, at(3, 2)), ("u1", "nps", 0, at(3, 2))])
    result = await nps(db)
    assert (result.promoters, result.detractors) == (0, 1)


async def test_nps_without_answers_has_no_score(db: Database) -> None:
    await add_answers(db, [("u1", "nps", 10, at(2, 1))])
    result = await nps(db)
    assert result.responses == 0
    assert (result.score, result.promoter_rate, result.passive_rate) == (None, None, None)


async def test_nps_days_follow_the_reporting_timezone(db: Database) -> None:
    # 16:30 UTC on 31 March is already 1 April in Shanghai.
    await add_answers(db, [("u1", "nps", 10, at(3, 31, 16, 30))])
    assert (await nps(db)).promoters == 1
    assert (await nps(db, tz=ZoneInfo("Asia/Shanghai"))).promoters == 0


async def test_nps_of_a_segment_counts_its_members_only(db: Database) -> None:
    await add_answers(db, ANSWERS)
    result = await nps(db, segment_id=await core_segment(db))
    assert (result.promoters, result.passives, result.detractors) == (3, 0, 0)
    assert result.score == 100.0


async def test_nps_of_an_unknown_segment_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as error:
        await nps(db, segment_id=12345)
    assert error.value.problems[0].field == "segmentId"


async def test_nps_from_after_to_is_a_validation_error(db: Database) -> None:
    with pytest.raises(ValidationFailed) as error:
        await nps(db, first=date(2026, 4, 1), last=date(2026, 3, 1))
    assert error.value.problems[0].field == "from"


async def test_csat_is_the_share_of_four_and_five_among_every_answer(db: Database) -> None:
    await add_answers(db, ANSWERS)
    result = await csat(db)
    assert (result.responses, result.satisfied) == (5, 3)
    assert result.score == 60.0
    assert result.mean == pytest.approx(3.6)


async def test_csat_of_a_segment_and_of_an_empty_range(db: Database) -> None:
    await add_answers(db, ANSWERS)
    core = await csat(db, segment_id=await core_segment(db))
    assert (core.responses, core.satisfied, core.mean) == (4, 2, 3.25)
    empty = await csat(db, first=date(2026, 5, 1), last=date(2026, 5, 31))
    assert (empty.responses, empty.score, empty.mean) == (0, None, None)


NPS = """
query($from: Date!, $to: Date!, $segmentId: ID) {
  metrics {
    nps(from: $from, to: $to, segmentId: $segmentId) {
      responses promoters passives detractors promoterRate passiveRate detractorRate score
    }
  }
}
"""
CSAT = """
query($from: Date!, $to: Date!) {
  metrics { csat(from: $from, to: $to) { responses satisfied score mean } }
}
"""
RANGE = {"from": "2026-03-01", "to": "2026-03-31"}


async def test_nps_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await add_answers(db, ANSWERS)
    nps = (await gql.data(NPS, RANGE, role="integration"))["metrics"]["nps"]
    assert nps == {
        "responses": 6,
        "promoters": 3,
        "passives": 1,
        "detractors": 2,
        "promoterRate": 50.0,
        "passiveRate": pytest.approx(100 / 6),
        "detractorRate": pytest.approx(200 / 6),
        "score": pytest.approx(100 / 6),
    }


async def test_csat_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await add_answers(db, ANSWERS)
    csat = (await gql.data(CSAT, RANGE))["metrics"]["csat"]
    assert csat == {"responses": 5, "satisfied": 3, "score": 60.0, "mean": pytest.approx(3.6)}


async def test_from_after_to_through_the_api_is_a_validation_error(gql: GraphQLClient) -> None:
    body = await gql(NPS, {"from": "2026-03-02", "to": "2026-03-01"})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "from"}


async def test_unknown_segment_through_the_api_is_not_found(gql: GraphQLClient) -> None:
    body = await gql(NPS, {**RANGE, "segmentId": "404"})
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "segmentId"}


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [(date(1969, 12, 31), date(2026, 3, 1), "from"), (date(2026, 3, 1), date(9999, 12, 31), "to")],
)
async def test_days_beyond_plausible_dates_are_validation_errors(
    db: Database, first: date, last: date, field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await nps(db, first=first, last=last)
    assert error.value.problems[0].field == field
