"""Active users, stickiness, trends, the stickiness distribution, lifecycle and usage time
over a hand-made March where every answer is known."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.db import Database
from app.errors import NotFound, ValidationFailed
from app.main import create_app
from app.metrics import activity
from app.metrics.periods import Period, Window
from app.segments.models import Segment
from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.metrics.helpers import Person, add_users, at, event, track


def d(day: int, month: int = 3) -> date:
    return date(2026, month, day)


TODAY = d(30, 4)
PEOPLE = [
    Person("a", at(d(20, 2)), tier="core"),
    Person("b", at(d(1)), tier="backbone"),
    Person("c", at(d(5))),
    Person("d", at(d(1, 1))),  # never active
    Person("e", at(d(10))),
    Person("f", at(d(3))),
]
MARCH = [
    event("a", at(d(1), 9)),
    event("a", at(d(2)), "session", seconds=600),
    event("a", at(d(10))),
    event("a", at(d(31))),
    event("b", at(d(1), 8)),
    event("b", at(d(1), 8)),  # a duplicate: still one active day
    event("b", at(d(8)), "feature_used"),
    event("b", at(d(8)), "session", seconds=300),
    event("b", at(d(31))),
    event("c", at(d(31))),
    event("e", at(d(20))),
    event("f", at(d(4)), "feature_used"),
]
# Active days: a 1, 2, 10, 31; b 1, 8, 31; c 31; e 20; f 4; d none.


@pytest.fixture
async def march(db: Database) -> dict[str, int]:
    ids = await add_users(db, PEOPLE)
    await track(db, MARCH)
    return ids


async def core_segment(db: Database) -> int:
    async with db.unit_of_work() as session:
        segment = Segment(
            key="core", name="Core", rule={"attr": "tier", "op": "eq", "value": "core"}
        )
        session.add(segment)
        await session.flush()
        assert segment.id is not None
        return segment.id


async def active(db: Database, day: date, window: Window, **options: Any) -> int | None:
    async with db.read() as session:
        found = await activity.active_users(
            session, None, day=day, window=window, today=TODAY, **options
        )
    return found.users


async def test_dau_wau_and_mau_count_distinct_users(db: Database, march: Any) -> None:
    assert await active(db, d(31), Window.DAY) == 3
    assert await active(db, d(1), Window.DAY) == 2
    assert await active(db, d(31), Window.WEEK) == 3
    assert await active(db, d(31), Window.MONTH) == 5  # Mar 2–31: a, b, c, e, f


async def test_a_late_event_counts_on_its_own_day(db: Database, march: Any) -> None:
    assert await active(db, d(20), Window.DAY) == 1
    await track(db, [event("d", at(d(20))), event("a", at(d(20)))])  # delivered weeks later
    assert await active(db, d(20), Window.DAY) == 3
    assert await series(db, d(16), d(22), granularity=Period.WEEK) == [(d(16), 3)]
    assert await active(db, d(31), Window.MONTH) == 6


async def test_event_names_narrow_the_events_that_count(db: Database, march: Any) -> None:
    assert await active(db, d(31), Window.MONTH, names=["feature_used"]) == 2
    assert await active(db, d(31), Window.MONTH, names=["feature_used", "nothing"]) == 2
    assert await active(db, d(31), Window.DAY, names=["feature_used"]) == 0


async def test_a_segment_counts_only_its_members(db: Database, march: Any) -> None:
    segment_id = await core_segment(db)
    assert await active(db, d(31), Window.MONTH, segment_id=segment_id) == 1


async def test_an_unknown_segment_is_not_found(db: Database, march: Any) -> None:
    with pytest.raises(NotFound) as error:
        await active(db, d(31), Window.DAY, segment_id=999)
    assert error.value.problems[0].field == "segmentId"


async def test_a_date_after_today_has_no_count(db: Database, march: Any) -> None:
    assert await active(db, TODAY + timedelta(days=1), Window.DAY) is None
    assert await active(db, TODAY, Window.DAY) == 0


async def test_bad_event_names_are_named_by_index(db: Database, march: Any) -> None:
    with pytest.raises(ValidationFailed) as error:
        await active(db, d(31), Window.DAY, names=["login", "Bad Name"])
    assert error.value.problems[0].field == "eventNames.1"
    with pytest.raises(ValidationFailed):
        await active(db, d(31), Window.DAY, names=[])


async def test_stickiness_is_dau_over_mau(db: Database, march: Any) -> None:
    async with db.read() as session:
        found = await activity.stickiness(session, None, day=d(31), today=TODAY)
        empty = await activity.stickiness(session, None, day=d(1, 2), today=TODAY)
    assert (found.dau, found.mau, found.ratio) == (3, 5, 0.6)
    assert (empty.dau, empty.mau, empty.ratio) == (0, 0, None)


async def series(db: Database, first: date, last: date, **options: Any) -> list[tuple[date, Any]]:
    options = {"window": Window.DAY, "granularity": Period.DAY, "today": TODAY} | options
    async with db.read() as session:
        points = await activity.active_users_series(
            session, None, first=first, last=last, **options
        )
    return [(p.date, p.users) for p in points]


@pytest.mark.parametrize("window", list(Window))
async def test_each_daily_point_equals_the_active_users_of_its_window(
    db: Database, march: Any, window: Window
) -> None:
    points = await series(db, d(25, 2), d(10, 4), window=window)
    expected = [(day, await active(db, day, window)) for day, _ in points]
    assert points == expected
    assert len(points) == 45


async def test_the_rolling_mau_series_has_the_known_values(db: Database, march: Any) -> None:
    points = dict(await series(db, d(28, 2), d(31), window=Window.MONTH))
    assert points[d(28, 2)] == 0
    assert points[d(1)] == 2
    assert points[d(4)] == 3  # a, b, f
    assert points[d(30)] == 4  # a, b, e, f; c not yet
    assert points[d(31)] == 5  # a, b, c, e, f: Mar 1 left the window


async def test_weekly_points_count_each_calendar_week(db: Database, march: Any) -> None:
    points = await series(db, d(2), d(31), granularity=Period.WEEK)
    assert points == [(d(2), 3), (d(9), 1), (d(16), 1), (d(23), 0), (d(30), 3)]


async def test_monthly_points_count_each_calendar_month(db: Database, march: Any) -> None:
    assert await series(db, d(10, 2), d(5), granularity=Period.MONTH) == [(d(1, 2), 0), (d(1), 5)]


async def test_points_after_today_are_null(db: Database, march: Any) -> None:
    points = await series(db, d(19), d(22), window=Window.WEEK, today=d(20))
    assert points == [(d(19), 0), (d(20), 1), (d(21), None), (d(22), None)]


async def test_a_series_segment_counts_only_its_members(db: Database, march: Any) -> None:
    segment_id = await core_segment(db)
    points = await series(db, d(30), d(31), window=Window.MONTH, segment_id=segment_id)
    assert points == [(d(30), 1), (d(31), 1)]


async def test_series_input_errors_name_the_argument(db: Database, march: Any) -> None:
    cases = [
        ({"first": d(2), "last": d(1)}, "from"),
        ({"first": d(1, 1), "last": d(1, 1) + timedelta(days=366)}, "to"),
        (
            {"first": d(1), "last": d(2), "window": Window.WEEK, "granularity": Period.MONTH},
            "window",
        ),
    ]
    for arguments, field in cases:
        with pytest.raises(ValidationFailed) as error:
            await series(db, **arguments)
        assert error.value.problems[0].field == field


async def test_the_distribution_counts_users_by_active_days(db: Database, march: Any) -> None:
    async with db.read() as session:
        found = await activity.stickiness_distribution(session, None, first=d(1), last=d(31))
    assert found.active_users == 5
    assert len(found.buckets) == 31
    assert [(b.days, b.users, b.cumulative) for b in found.buckets[:5]] == [
        (1, 3, 5),
        (2, 0, 2),
        (3, 1, 2),
        (4, 1, 1),
        (5, 0, 0),
    ]


async def lifecycle(db: Database, **options: Any) -> list[tuple[Any, ...]]:
    async with db.read() as session:
        intervals = await activity.lifecycle(
            session,
            None,
            first=d(2),
            last=d(31),
            granularity=Period.WEEK,
            tz=ZoneInfo("UTC"),
            **({"today": TODAY} | options),
        )
    return [(i.first, i.active, i.new, i.returning, i.resurrecting, i.dormant) for i in intervals]


async def test_lifecycle_splits_each_week_into_its_users(db: Database, march: Any) -> None:
    assert await lifecycle(db) == [
        # week of: active, new, returning, resurrecting, dormant
        (d(2), 3, 1, 2, 0, 0),  # a, b were active Feb 23–Mar 1; f signed up and came
        (d(9), 1, 0, 1, 0, 2),  # a stays; b and f go dormant
        (d(16), 1, 0, 0, 1, 1),  # e (signed up the week before) comes; a goes
        (d(23), 0, 0, 0, 0, 1),
        (d(30), 3, 0, 0, 3, 0),
    ]


async def test_lifecycle_intervals_after_today_are_null(db: Database, march: Any) -> None:
    found = await lifecycle(db, today=d(10))
    assert found[1] == (d(9), 1, 0, 1, 0, 2)
    assert found[2:] == [(start, None, None, None, None, None) for start in (d(16), d(23), d(30))]


async def test_average_usage_time_divides_session_time_by_active_users(
    db: Database, march: Any
) -> None:
    async with db.read() as session:
        found = await activity.average_usage_time(session, None, first=d(1), last=d(31))
        empty = await activity.average_usage_time(session, None, first=d(1, 2), last=d(28, 2))
    assert (found.total_seconds, found.active_users, found.average_seconds) == (900, 5, 180.0)
    assert (empty.total_seconds, empty.active_users, empty.average_seconds) == (0, 0, None)


ACTIVE = """
query($date: Date!, $window: ActivityWindow, $segment: ID, $names: [String!]) {
  metrics { activeUsers(date: $date, window: $window, segmentId: $segment, eventNames: $names) {
    date window windowStart users } }
}"""


async def test_active_users_over_the_api(gql: GraphQLClient, db: Database, march: Any) -> None:
    data = await gql.data(ACTIVE, {"date": "2026-03-31", "window": "MONTH"}, role="integration")
    assert data["metrics"]["activeUsers"] == {
        "date": "2026-03-31",
        "window": "MONTH",
        "windowStart": "2026-03-02",
        "users": 5,
    }


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"segment": "999"}, "NOT_FOUND", "segmentId"),
        ({"segment": "x"}, "NOT_FOUND", "segmentId"),
        ({"segment": "99999999999999999999"}, "NOT_FOUND", "segmentId"),
        ({"names": ["Bad Name"]}, "VALIDATION", "eventNames.0"),
        ({"date": "0001-01-01"}, "VALIDATION", "date"),
        ({"date": "9999-12-31"}, "VALIDATION", "date"),
    ],
)
async def test_bad_arguments_are_readable_errors_with_codes(
    gql: GraphQLClient, db: Database, variables: dict[str, Any], code: str, field: str
) -> None:
    body = await gql(ACTIVE, {"date": "2026-03-31"} | variables)
    assert body["data"] == {"metrics": {"activeUsers": None}}  # the error stays on its path
    (error,) = body["errors"]
    assert (error["path"], error["extensions"]) == (
        ["metrics", "activeUsers"],
        {"code": code, "field": field},
    )


@pytest.fixture
async def shanghai(
    settings: Settings, keys: dict[str, str], workdir: Path, backend: str
) -> AsyncIterator[GraphQLClient]:
    """The API of a server whose reporting timezone is Asia/Shanghai (UTC+8)."""
    application = create_app(
        settings.model_copy(
            update={"timezone": "Asia/Shanghai", "index_dir": workdir / f"index-sh-{backend}"}
        )
    )
    async with (
        LifespanManager(application) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as http,
    ):
        yield GraphQLClient(http, keys)


async def test_days_are_counted_in_the_reporting_timezone(
    gql: GraphQLClient, shanghai: GraphQLClient, db: Database
) -> None:
    await add_users(db, [Person("late", at(d(1), 0))])
    await track(db, [event("late", at(d(1), 23, 30))])  # 07:30 on Mar 2 in Shanghai
    for client, day, other in (
        (gql, "2026-03-01", "2026-03-02"),
        (shanghai, "2026-03-02", "2026-03-01"),
    ):
        assert (await client.data(ACTIVE, {"date": day}))["metrics"]["activeUsers"]["users"] == 1
        assert (await client.data(ACTIVE, {"date": other}))["metrics"]["activeUsers"]["users"] == 0
