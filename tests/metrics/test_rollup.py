"""The activity rollup: days in the reporting timezone, kept by ingestion in the same
transaction, correct for late events, equal to a rebuild, rebuilt when the timezone changes."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from app.db import Database
from app.metrics import rollup
from app.metrics.models import ActivityDayEvent, RollupState
from app.users.models import User
from tests.metrics.helpers import Person, add_users, at, event, rollup_rows, track

D = date(2026, 3, 1)


async def test_an_event_at_2330_utc_is_on_the_next_day_in_shanghai(db: Database) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(D, 23, 30))], tz="Asia/Shanghai")
    assert [row[1] for row in await rollup_rows(db)] == [date(2026, 3, 2)]


async def test_the_same_event_is_on_its_utc_day_in_utc(db: Database) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(D, 23, 30))], tz="UTC")
    assert [row[1] for row in await rollup_rows(db)] == [D]


async def test_a_day_sums_events_session_seconds_and_payment_revenue(db: Database) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    await track(
        db,
        [
            event("u1", at(D, 8)),
            event("u1", at(D, 9), "session", seconds=600),
            event("u1", at(D, 10), "session", seconds=30),
            event("u1", at(D, 11), "payment", revenue="99.50"),
            event("u1", at(D, 12), "payment", revenue="0.25"),
        ],
    )
    assert await rollup_rows(db) == [("u1", D, 5, 630, Decimal("99.75"), None)]


async def test_duplicate_events_count_twice_on_one_day(db: Database) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    same = event("u1", at(D, 8))
    await track(db, [same, same])
    await track(db, [same])
    assert await rollup_rows(db) == [("u1", D, 3, 0, Decimal(0), None)]


async def test_a_late_event_lands_on_its_own_day_and_the_gaps_follow(db: Database) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(date(2026, 3, 1))), event("u1", at(date(2026, 3, 10)))])
    await track(db, [event("u1", at(date(2026, 3, 4))), event("u1", at(date(2026, 3, 10), 18))])
    assert await rollup_rows(db) == [
        ("u1", date(2026, 3, 1), 1, 0, Decimal(0), None),
        ("u1", date(2026, 3, 4), 1, 0, Decimal(0), 3),
        ("u1", date(2026, 3, 10), 2, 0, Decimal(0), 6),
    ]


async def test_an_event_before_the_first_day_becomes_the_first(db: Database) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(date(2026, 3, 5)))])
    await track(db, [event("u1", at(date(2026, 3, 2)))])
    assert [(row[1], row[5]) for row in await rollup_rows(db)] == [
        (date(2026, 3, 2), None),
        (date(2026, 3, 5), 3),
    ]


async def test_named_days_count_each_event_name(db: Database) -> None:
    ids = await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(D, 8)), event("u1", at(D, 9)), event("u1", at(D, 9), "x")])
    async with db.read() as session:
        rows = (
            await session.execute(
                select(ActivityDayEvent.name, ActivityDayEvent.events)
                .where(ActivityDayEvent.user_id == ids["u1"])
                .order_by(ActivityDayEvent.name)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("login", 2), ("x", 1)]


# Around both 2026 DST changes in New York: 04:30 UTC is 23:30 the day before in winter
# (UTC−5) and 00:30 the same day in summer (UTC−4).
NEW_YORK_EDGES = [
    (at(date(2026, 3, 8), 4, 30), date(2026, 3, 7)),  # EST: 23:30 on the 7th
    (at(date(2026, 3, 9), 4, 30), date(2026, 3, 9)),  # EDT since the 8th: 00:30 on the 9th
    (at(date(2026, 11, 1), 4, 30), date(2026, 11, 1)),  # EDT until 06:00 UTC: 00:30 on the 1st
    (at(date(2026, 11, 2), 4, 30), date(2026, 11, 1)),  # EST again: 23:30 on the 1st
]


async def test_days_follow_new_york_across_both_dst_changes(db: Database) -> None:
    await add_users(db, [Person("u1", at(date(2026, 1, 1)))])
    await track(db, [event("u1", when) for when, _ in NEW_YORK_EDGES], tz="America/New_York")
    rows = await rollup_rows(db)
    assert [(row[1], row[2]) for row in rows] == [
        (date(2026, 3, 7), 1),
        (date(2026, 3, 9), 1),
        (date(2026, 11, 1), 2),
    ]


async def test_a_rebuild_gives_what_ingestion_kept(db: Database) -> None:
    await add_users(db, [Person("u1", at(date(2026, 1, 1))), Person("u2", at(date(2026, 1, 1)))])
    # Out of order, across DST, with late events and sessions: kept batch by batch.
    await track(
        db,
        [event("u1", when, "session", seconds=60) for when, _ in NEW_YORK_EDGES[2:]]
        + [event("u2", at(date(2026, 3, 9), 3, 59))],
        tz="America/New_York",
    )
    await track(
        db,
        [event("u1", when) for when, _ in NEW_YORK_EDGES[:2]]
        + [event("u2", at(date(2026, 3, 8), 4, 59), "payment", revenue="5")],
        tz="America/New_York",
    )
    kept = await rollup_rows(db)
    async with db.unit_of_work() as session:
        await rollup.rebuild_rollup(session, "America/New_York")
    assert await rollup_rows(db) == kept
    assert len(kept) == 5


async def test_concurrent_batches_over_the_same_users_all_land_and_match_a_rebuild(
    db: Database,
) -> None:
    people = [Person(f"u{i}", at(date(2026, 1, 1))) for i in range(30)]
    await add_users(db, people)
    await rollup.ensure_rollup(db, "Asia/Shanghai")
    rng = random.Random(7)

    def batch() -> list[dict[str, Any]]:
        # Every batch touches most users, on days that interleave with the other batches'.
        return [
            event(rng.choice(people).external_id, at(date(2026, 3, rng.randrange(1, 28)), 16))
            for _ in range(200)
        ]

    # On PostgreSQL each batch has its own connection: they run at the same time, and
    # lock their users in different orders unless ingestion orders them.
    await asyncio.gather(*(track(db, batch(), tz="Asia/Shanghai") for _ in range(8)))
    kept = await rollup_rows(db)
    assert sum(row[2] for row in kept) == 8 * 200
    async with db.unit_of_work() as session:
        await rollup.rebuild_rollup(session, "Asia/Shanghai")
    assert await rollup_rows(db) == kept


async def test_a_new_timezone_rebuilds_the_rollup_once(db: Database) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(D, 23, 30))], tz="UTC")
    assert await rollup.ensure_rollup(db, "Asia/Shanghai") is True
    assert await rollup.ensure_rollup(db, "Asia/Shanghai") is False
    assert [row[1] for row in await rollup_rows(db)] == [date(2026, 3, 2)]


async def test_events_stored_before_the_rollup_exists_are_built_on_first_use(
    db: Database,
) -> None:
    await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(D, 8))])
    async with db.unit_of_work() as session:  # as a database migrated before the rollup
        await session.execute(delete(rollup.DAYS))
        await session.execute(delete(RollupState))
    await track(db, [event("u1", at(D, 9))])  # ensures the rollup first: rebuilt from both
    assert await rollup_rows(db) == [("u1", D, 2, 0, Decimal(0), None)]


async def test_deleting_a_user_deletes_their_days(db: Database) -> None:
    ids = await add_users(db, [Person("u1", at(D, 0))])
    await track(db, [event("u1", at(D, 8))])
    async with db.unit_of_work() as session:
        await session.execute(delete(User).where(User.id == ids["u1"]))
    assert await rollup_rows(db) == []
