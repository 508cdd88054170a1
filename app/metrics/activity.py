"""Active users from the activity rollup: DAU/WAU/MAU, stickiness, trends, the stickiness
distribution, lifecycle composition and average usage time.

Counting distinct users over many ranges is the expensive part; the rollup's `gap_days`
makes it a sum over rows: a row is its user's first in a range starting at F exactly when
its previous active day is before F, so each active user has exactly one such row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.errors import ValidationFailed
from app.events.service import EVENT_NAME
from app.metrics.models import ActivityDay, ActivityDayEvent
from app.metrics.periods import (
    MAX_DAYS,
    Period,
    Window,
    check_day,
    check_range,
    constant_table,
    days,
    days_between,
    during,
    instants,
    period_bounds,
    period_starts,
    shift,
)
from app.metrics.scope import scoped_users
from app.sqltypes import UTCDateTime
from app.users.models import User

DAYS = ActivityDay.__table__
NAMED_DAYS = ActivityDayEvent.__table__
MAX_EVENT_NAMES = 20
EventNames = TypeAdapter(
    Annotated[
        list[Annotated[str, Field(pattern=EVENT_NAME)]],
        Field(min_length=1, max_length=MAX_EVENT_NAMES),
    ]
)


def event_names(names: list[str], *, field: str) -> list[str]:
    """A checked list of event names (1 to 20, each a valid event name), without repeats."""
    try:
        return list(dict.fromkeys(EventNames.validate_python(names)))
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc, prefix=field) from None


def _in_scope(table: Any, users: Select[Any] | None) -> list[Any]:
    return [] if users is None else [table.c.user_id.in_(users)]


def first_since(start: date) -> ColumnElement[bool]:
    """The rollup row is its user's first active day on or after `start` (in a range from
    `start` that holds the row): the previous active day is before `start`."""
    gap = DAYS.c.gap_days
    return or_(gap.is_(None), gap > days_between(DAYS.c.day, literal(start, Date)))


async def count_returning(
    session: AsyncSession, first: date, last: date, *, since: date, users: Select[Any] | None
) -> int:
    """Users active in first..last who were also active from `since` to the day before
    `first`: rows that are their user's first in the range and follow a day since `since`."""
    stmt = select(func.count()).where(
        DAYS.c.day >= first,
        DAYS.c.day <= last,
        first_since(first),
        DAYS.c.gap_days <= days_between(DAYS.c.day, literal(since, Date)),
        *_in_scope(DAYS, users),
    )
    return int(await session.scalar(stmt) or 0)


async def count_active(
    session: AsyncSession,
    first: date,
    last: date,
    *,
    users: Select[Any] | None = None,
    names: list[str] | None = None,
) -> int:
    """Distinct users active on a day in first..last (with one of `names`, if given)."""
    if names:
        table, distinct_users = NAMED_DAYS, func.count(func.distinct(NAMED_DAYS.c.user_id))
        narrowed = [NAMED_DAYS.c.name.in_(names)]
    else:  # each user's first day in the range: one row per user, no DISTINCT to sort
        table, distinct_users, narrowed = DAYS, func.count(), [first_since(first)]
    stmt = select(distinct_users).where(
        table.c.day >= first, table.c.day <= last, *narrowed, *_in_scope(table, users)
    )
    return int(await session.scalar(stmt) or 0)


def _days_by_gap(first: date, last: date, users: Select[Any] | None) -> Any:
    """Rollup rows of first..last counted per (day, gap_days): a few thousand rows, read
    from the (day, gap_days, user_id) index in order, that every range count sums over."""
    return (
        select(DAYS.c.day, DAYS.c.gap_days, func.count().label("users"))
        .where(DAYS.c.day >= first, DAYS.c.day <= last, *_in_scope(DAYS, users))
        .group_by(DAYS.c.day, DAYS.c.gap_days)
        .cte("by_gap")
    )


@dataclass(frozen=True)
class IntervalActivity:
    active: int  # users active in the interval
    continuing: int  # of those, users also active in the interval before it


async def activity_by_interval(
    session: AsyncSession, intervals: list[tuple[date, date]], *, users: Select[Any] | None
) -> dict[date, IntervalActivity]:
    """For consecutive intervals (first, last), keyed by first: users active in each, and
    how many were also active in the interval before (for the first: the days just before,
    as many as it has)."""
    rows = []
    previous_length = (intervals[0][1] - intervals[0][0]).days + 1
    for first, last in intervals:
        rows += [(day, first, (day - first).days, previous_length) for day in days(first, last)]
        previous_length = (last - first).days + 1
    calendar = constant_table(
        "calendar",
        {"day": Date, "interval": Date, "position": Integer, "previous": Integer},
        rows,
    )
    by_gap = _days_by_gap(intervals[0][0], intervals[-1][1], users)
    gap, position = by_gap.c.gap_days, calendar.c.position
    first_in_interval = or_(gap.is_(None), gap > position)
    also_before = and_(gap > position, gap <= position + calendar.c.previous)
    stmt = (
        select(
            calendar.c.interval,
            func.sum(case((first_in_interval, by_gap.c.users), else_=0)),
            func.sum(case((also_before, by_gap.c.users), else_=0)),
        )
        .select_from(by_gap.join(calendar, calendar.c.day == by_gap.c.day))
        .group_by(calendar.c.interval)
    )
    return {
        first: IntervalActivity(int(active), int(continuing))
        for first, active, continuing in await session.execute(stmt)
    }


async def rolling_active(
    session: AsyncSession, first: date, last: date, window: Window, *, users: Select[Any] | None
) -> dict[date, int]:
    """For each day D in first..last, the users active in the window ending on D.

    A user's first row in the window ending on D is a row on day d with a gap g such
    that d <= D < d + W and d - g < D - W + 1: it counts for D in [d + W - min(g, W),
    d + W). Those +1/-1 steps, summed in day order, give every day's count in one pass.
    """
    size = window.days
    start = first - timedelta(days=size - 1)
    calendar = constant_table(
        "calendar",
        {"day": Date, "n": Integer},
        [(day, n) for n, day in enumerate(days(start, last))],
    )
    by_gap = _days_by_gap(start, last, users)
    gap = by_gap.c.gap_days
    capped = case((or_(gap.is_(None), gap > size), size), else_=gap)
    spans = (
        select(
            (calendar.c.n + size - capped).label("enters"),
            (calendar.c.n + size).label("leaves"),
            by_gap.c.users,
        )
        .select_from(by_gap.join(calendar, calendar.c.day == by_gap.c.day))
        .cte("spans")
    )
    changes = union_all(
        select(spans.c.enters.label("n"), spans.c.users.label("change")),
        select(spans.c.leaves, -spans.c.users),
    ).subquery("changes")
    steps = (
        select(changes.c.n, func.sum(changes.c.change).label("change"))
        .group_by(changes.c.n)
        .cte("steps")
    )
    running = (
        select(
            calendar.c.day,
            func.sum(func.coalesce(steps.c.change, 0)).over(order_by=calendar.c.n).label("users"),
        )
        .select_from(calendar.outerjoin(steps, steps.c.n == calendar.c.n))
        .subquery("running")
    )
    rows = await session.execute(
        select(running.c.day, running.c.users).where(running.c.day >= first)
    )
    return {day: int(count) for day, count in rows}


@dataclass(frozen=True)
class ActiveUsers:
    date: date
    window: Window
    first: date  # the window's first day
    users: int | None  # None: the date is after today, nothing to count yet


async def active_users(
    session: AsyncSession,
    actor: Actor | None,
    *,
    day: date,
    window: Window,
    segment_id: int | None = None,
    names: list[str] | None = None,
    today: date,
) -> ActiveUsers:
    check_day(day, field="date")
    checked = event_names(names, field="eventNames") if names is not None else None
    users = await scoped_users(session, actor, segment_id=segment_id)
    first = window.first_day(day)
    if day > today:
        return ActiveUsers(day, window, first, None)
    count = await count_active(session, first, day, users=users, names=checked)
    return ActiveUsers(day, window, first, count)


@dataclass(frozen=True)
class Stickiness:
    date: date
    dau: int | None
    mau: int | None
    ratio: float | None  # DAU / MAU, 0..1; None when MAU is 0 or the date is after today


async def stickiness(
    session: AsyncSession,
    actor: Actor | None,
    *,
    day: date,
    segment_id: int | None = None,
    today: date,
) -> Stickiness:
    check_day(day, field="date")
    users = await scoped_users(session, actor, segment_id=segment_id)
    if day > today:
        return Stickiness(day, None, None, None)
    dau = await count_active(session, day, day, users=users)
    mau = await count_active(session, Window.MONTH.first_day(day), day, users=users)
    return Stickiness(day, dau, mau, dau / mau if mau else None)


@dataclass(frozen=True)
class Point:
    date: date  # the day, or the first day of the week / month / quarter
    users: int | None  # None for a point after today


async def active_users_series(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: date,
    last: date,
    window: Window,
    granularity: Period,
    segment_id: int | None = None,
    today: date,
) -> list[Point]:
    """Daily points count the `window` ending on each day; weekly, monthly and quarterly
    points count the whole calendar period (partial while it runs)."""
    check_range(first, last)
    if granularity is not Period.DAY and window is not Window.DAY:
        raise ValidationFailed(
            "window applies to daily points; weekly, monthly and quarterly points count "
            "their whole period",
            field="window",
        )
    starts = (
        days(first, last) if granularity is Period.DAY else period_starts(granularity, first, last)
    )
    if len(starts) > MAX_DAYS:
        raise ValidationFailed(
            f"at most {MAX_DAYS} points; this range has {len(starts)}", field="to"
        )
    users = await scoped_users(session, actor, segment_id=segment_id)
    observed = [start for start in starts if start <= today]
    counts: dict[date, int] = {}
    if observed and granularity is Period.DAY:
        counts = await rolling_active(session, observed[0], observed[-1], window, users=users)
    elif observed:
        intervals = [period_bounds(granularity, start) for start in observed]
        counts = {
            start: activity.active
            for start, activity in (
                await activity_by_interval(session, intervals, users=users)
            ).items()
        }
    return [Point(start, counts.get(start, 0) if start <= today else None) for start in starts]


@dataclass(frozen=True)
class DistributionBucket:
    days: int
    users: int  # users active on exactly `days` days of the range
    cumulative: int  # users active on `days` days or more


@dataclass(frozen=True)
class Distribution:
    first: date
    last: date
    active_users: int
    buckets: list[DistributionBucket]  # one per 1..number of days in the range


async def stickiness_distribution(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: date,
    last: date,
    segment_id: int | None = None,
) -> Distribution:
    check_range(first, last, max_days=MAX_DAYS)
    users = await scoped_users(session, actor, segment_id=segment_id)
    per_user = (
        select(func.count().label("days"))
        .where(DAYS.c.day >= first, DAYS.c.day <= last, *_in_scope(DAYS, users))
        .group_by(DAYS.c.user_id)
        .subquery("per_user")
    )
    counted = dict(
        (
            await session.execute(select(per_user.c.days, func.count()).group_by(per_user.c.days))
        ).all()
    )
    length = (last - first).days + 1
    buckets, cumulative = [], 0
    for n in range(length, 0, -1):  # from the most days down, to accumulate "n or more"
        cumulative += counted.get(n, 0)
        buckets.append(DistributionBucket(n, counted.get(n, 0), cumulative))
    return Distribution(first, last, cumulative, buckets[::-1])


@dataclass(frozen=True)
class LifecycleInterval:
    first: date
    last: date
    active: int | None
    new: int | None  # signed up in the interval and active in it
    returning: int | None  # active in it and in the interval before, not new
    resurrecting: int | None  # active in it, not in the interval before, not new
    dormant: int | None  # active in the interval before, not in it


async def lifecycle(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: date,
    last: date,
    granularity: Period,
    segment_id: int | None = None,
    tz: ZoneInfo,
    today: date,
) -> list[LifecycleInterval]:
    check_range(first, last)
    starts = period_starts(granularity, first, last)
    if len(starts) > MAX_DAYS:
        raise ValidationFailed(
            f"at most {MAX_DAYS} intervals; this range has {len(starts)}", field="to"
        )
    users = await scoped_users(session, actor, segment_id=segment_id)
    observed = [start for start in starts if start <= today]
    if not observed:
        return [
            LifecycleInterval(*period_bounds(granularity, s), None, None, None, None, None)
            for s in starts
        ]
    intervals = [period_bounds(granularity, shift(granularity, observed[0], -1))]
    intervals += [period_bounds(granularity, start) for start in observed]
    activity = await activity_by_interval(session, intervals, users=users)
    new = await _new_in_interval(session, intervals, users=users, tz=tz)
    found = []
    for (before, _), (start, end) in pairwise(intervals):
        now, previous = (
            activity.get(start, IntervalActivity(0, 0)),
            activity.get(before, IntervalActivity(0, 0)),
        )
        new_users, new_continuing = new.get(start, (0, 0))
        returning = now.continuing - new_continuing
        found.append(
            LifecycleInterval(
                first=start,
                last=end,
                active=now.active,
                new=new_users,
                returning=returning,
                resurrecting=now.active - new_users - returning,
                dormant=previous.active - now.continuing,
            )
        )
    future = [
        LifecycleInterval(*period_bounds(granularity, s), None, None, None, None, None)
        for s in starts[len(observed) :]
    ]
    return found + future


async def _new_in_interval(
    session: AsyncSession,
    intervals: list[tuple[date, date]],
    *,
    users: Select[Any] | None,
    tz: ZoneInfo,
) -> dict[date, tuple[int, int]]:
    """Per interval after the first: users who signed up in it and were active in it, and
    how many of those were also active in the interval before."""
    bounds = constant_table(
        "bounds",
        {
            "first": Date,
            "last": Date,
            "starts_at": UTCDateTime,
            "ends_at": UTCDateTime,
            "before_first": Date,
        },
        [
            (first, last, *instants(first, last, tz), before)
            for (before, _), (first, last) in pairwise(intervals)
        ],
    )

    # Each new user's first active day in the interval: one row per user, whose gap tells
    # whether they were active in the interval before.
    gap, day = DAYS.c.gap_days, DAYS.c.day
    first_day = and_(
        DAYS.c.user_id == User.id,
        day >= bounds.c.first,
        day <= bounds.c.last,
        or_(gap.is_(None), gap > days_between(day, bounds.c.first)),
    )
    active_before = gap <= days_between(day, bounds.c.before_first)
    stmt = (
        select(bounds.c.first, func.count(), func.count(case((active_before, 1))))
        .select_from(User)
        .join(bounds, during(User.signed_up_at, bounds, intervals[1][0], intervals[-1][1], tz))
        .join(DAYS, first_day)
        .group_by(bounds.c.first)
    )
    if users is not None:
        stmt = stmt.where(User.id.in_(users))
    return {first: (int(n), int(c)) for first, n, c in await session.execute(stmt)}


@dataclass(frozen=True)
class UsageTime:
    first: date
    last: date
    total_seconds: int  # duration of all `session` events
    active_users: int
    average_seconds: float | None  # total / active users; None when nobody was active


async def average_usage_time(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: date,
    last: date,
    segment_id: int | None = None,
) -> UsageTime:
    check_range(first, last)
    users = await scoped_users(session, actor, segment_id=segment_id)
    total, active = (
        await session.execute(
            select(
                func.coalesce(func.sum(DAYS.c.session_seconds), 0),
                func.count(func.distinct(DAYS.c.user_id)),
            ).where(DAYS.c.day >= first, DAYS.c.day <= last, *_in_scope(DAYS, users))
        )
    ).one()
    return UsageTime(first, last, int(total), int(active), int(total) / active if active else None)
