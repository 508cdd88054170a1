"""Keeps the activity rollup (app/metrics/models.py) in step with the events.

Event ingestion adds each batch to it in the same transaction; the rollup is rebuilt from
all events when it does not exist yet or was built for another timezone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database, bulk_insert, upsert
from app.events.models import Event
from app.metrics.models import ActivityDay, ActivityDayEvent, RollupState
from app.metrics.periods import MAX_DAYS, day_table, days_between, local_day
from app.recordset import recordset
from app.sqltypes import utcnow

DAYS = ActivityDay.__table__
NAMED_DAYS = ActivityDayEvent.__table__
SESSION, PAYMENT = "session", "payment"


async def rollup_timezone(session: AsyncSession) -> str | None:
    """The timezone the rollup was built for, or None when it has not been built."""
    return await session.scalar(select(RollupState.timezone))


@dataclass(frozen=True)
class BatchSums:
    """A batch of events summed per user and day, as the rollup adds them (sorted, so
    concurrent batches lock shared rows in the same order, without deadlock)."""

    days: list[dict[str, Any]]
    names: list[dict[str, Any]]


async def sums_of(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> BatchSums | None:
    """Sums just-stored events (dicts as inserted into `events`) for `add_sums`; None when
    the rollup is not built (the first metric builds it from the events). Called after the
    events are inserted: a rebuild running meanwhile holds the insert back, and its
    timezone is read here."""
    tz_name = await rollup_timezone(session)
    if tz_name is None or not rows:
        return None
    tz = ZoneInfo(tz_name)
    days: dict[tuple[int, date], list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    names: Counter[tuple[int, date, str]] = Counter()
    for row in rows:
        day = local_day(row["occurred_at"], tz)
        totals = days[row["user_id"], day]
        totals[0] += 1
        if row["name"] == SESSION:
            totals[1] += row.get("duration_seconds") or 0
        elif row["name"] == PAYMENT:
            totals[2] += row.get("revenue") or 0
        names[row["user_id"], day, row["name"]] += 1
    return BatchSums(
        days=[
            {"user_id": u, "day": d, "events": n, "session_seconds": s, "revenue": r}
            for (u, d), (n, s, r) in sorted(days.items())
        ],
        names=[
            {"user_id": u, "day": d, "name": name, "events": n}
            for (u, d, name), n in sorted(names.items())
        ],
    )


async def add_sums(session: AsyncSession, sums: BatchSums) -> None:
    """Adds a batch's sums to what each day already holds, so an event arriving late lands
    on its own day and the figures stay those a rebuild would give. Callers take turns
    (see app/events/service.py), so each sees the days the previous batch committed."""
    added = await _add(
        session, DAYS, sums.days, keys=["user_id", "day"], returning=["user_id", "day", "events"]
    )
    await _add(session, NAMED_DAYS, sums.names, keys=["user_id", "day", "name"])
    # A day is new when its total is just this batch's count: a day held already has
    # events of its own.
    batch_counts = {(row["user_id"], row["day"]): row["events"] for row in sums.days}
    earliest: dict[int, date] = {}
    for user_id, day, events in sorted(added, reverse=True):
        if events == batch_counts[user_id, day]:
            earliest[user_id] = day
    # Only a new day changes gaps, its own and the next day's: recompute the user's days
    # from the earliest new one on. Days a user was already active on keep their gaps, so
    # a batch on days already seen (the usual case) refreshes nothing.
    await _refresh_gaps(session, [{"u": u, "d": d} for u, d in sorted(earliest.items())])


async def _add(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET column = column + new, for the rows' other
    columns; gives back the `returning` columns of every row, as they now are."""
    stmt, parameters = bulk_insert(session, table, rows)
    added = [column for column in rows[0] if column not in keys]
    adding = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in added}
    )
    if not returning:
        await session.execute(adding, parameters)
        return []
    result = await session.execute(adding.returning(*(table.c[c] for c in returning)), parameters)
    return [tuple(row) for row in result]


async def rebuild_rollup(session: AsyncSession, tz: str) -> None:
    """Recomputes the whole rollup from the events, with days in `tz`."""
    zone = ZoneInfo(tz)
    await _hold_ingestion(session)
    await session.execute(delete(NAMED_DAYS))
    await session.execute(delete(DAYS))
    first, last = (
        await session.execute(select(func.min(Event.occurred_at), func.max(Event.occurred_at)))
    ).one()
    if first is not None:
        start, end = local_day(first, zone), local_day(last, zone)
        # A bounded number of days per statement keeps the day table's parameters few.
        while start <= end:
            chunk_end = min(end, start + timedelta(days=MAX_DAYS - 1))
            await _insert_days(session, start, chunk_end, zone)
            start = chunk_end + timedelta(days=1)
        await _refresh_gaps(session)
    await upsert(
        session,
        RollupState.__table__,
        [{"id": 1, "timezone": tz, "built_at": utcnow()}],
        keys=["id"],
        update=["timezone", "built_at"],
    )


async def _insert_days(session: AsyncSession, first: date, last: date, tz: ZoneInfo) -> None:
    days = day_table(first, last, tz)
    events = Event.__table__
    on_day = and_(events.c.occurred_at >= days.c.starts_at, events.c.occurred_at < days.c.ends_at)

    def total(name: str, value: Any) -> Any:
        return func.coalesce(func.sum(case((events.c.name == name, value))), 0)

    per_day = (
        select(
            events.c.user_id,
            days.c.day,
            func.count(),
            total(SESSION, events.c.duration_seconds),
            total(PAYMENT, events.c.revenue),
        )
        .select_from(days)
        .join(events, on_day)
        .group_by(events.c.user_id, days.c.day)
    )
    await session.execute(
        insert(DAYS).from_select(
            ["user_id", "day", "events", "session_seconds", "revenue"], per_day
        )
    )
    per_name = (
        select(events.c.user_id, days.c.day, events.c.name, func.count())
        .select_from(days)
        .join(events, on_day)
        .group_by(events.c.user_id, days.c.day, events.c.name)
    )
    await session.execute(
        insert(NAMED_DAYS).from_select(["user_id", "day", "name", "events"], per_name)
    )


async def _refresh_gaps(session: AsyncSession, since: list[dict[str, Any]] | None = None) -> None:
    """Sets gap_days from each day to the user's previous one: for the days of user `u` from
    day `d` on, for each {"u", "d"} in `since`, or for every row."""
    previous = DAYS.alias("previous")
    previous_day = (
        select(func.max(previous.c.day))
        .where(previous.c.user_id == DAYS.c.user_id, previous.c.day < DAYS.c.day)
        .scalar_subquery()
    )
    stmt = update(DAYS).values(gap_days=days_between(DAYS.c.day, previous_day))
    if since is None:
        await session.execute(stmt)
    elif not since:
        return
    elif session.bind.dialect.name == "sqlite":
        stmt = stmt.where(DAYS.c.user_id == bindparam("u"), DAYS.c.day >= bindparam("d"))
        await session.execute(stmt, since)
    else:  # one UPDATE … FROM the pairs, rather than one UPDATE per user
        pairs = recordset([column("u", Integer), column("d", Date)], since).subquery()
        await session.execute(stmt.where(DAYS.c.user_id == pairs.c.u, DAYS.c.day >= pairs.c.d))


async def ensure_rollup(db: Database, tz: str) -> bool:
    """Rebuilds the rollup when it is missing or in another timezone; True if it did."""
    async with db.read() as session:
        if await rollup_timezone(session) == tz:
            return False
    async with db.unit_of_work() as session:
        await _hold_ingestion(session)
        if await rollup_timezone(session) == tz:  # another process rebuilt it meanwhile
            return False
        await rebuild_rollup(session, tz)
    return True


async def _hold_ingestion(session: AsyncSession) -> None:
    """Until the transaction ends, no events are added and no other rebuild runs."""
    if session.bind.dialect.name == "postgresql":
        # Waits for batches being ingested and holds new ones until the rebuild commits;
        # they then read the new timezone (ingestion reads it after inserting events).
        # SQLite needs nothing: its write transactions already run one at a time.
        await session.execute(text("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"))
