"""Retention by sign-up cohort, churn over a period, and the at-risk list, from the rollup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import Date, Integer, Select, case, exists, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.errors import ValidationFailed
from app.metrics.activity import count_active, count_returning
from app.metrics.models import ActivityDay
from app.metrics.periods import (
    MAX_DAYS,
    check_day,
    check_range,
    constant_table,
    day_start,
    day_table,
    days,
    during,
    local_day,
)
from app.metrics.scope import scoped_users
from app.metrics.stats import percent
from app.pagination import Ordering, Page, decode_cursor, encode_cursor
from app.users.models import Tier, User

DAYS = ActivityDay.__table__
MAX_RETENTION_DAY = 3650
MAX_INACTIVITY_DAYS = 365
RetentionDays = TypeAdapter(
    Annotated[
        list[Annotated[int, Field(ge=0, le=MAX_RETENTION_DAY)]],
        Field(min_length=1, max_length=20),
    ]
)


@dataclass(frozen=True)
class RetentionCell:
    cohort_date: date
    cohort_size: int
    day: int  # N: retained users were active on exactly cohort_date + N
    eligible: int  # cohort_size when cohort_date + N is observable, else 0
    retained: int | None  # None: cohort_date + N is after as_of (not 0: not yet known)
    rate: float | None  # retained / cohort_size × 100


@dataclass(frozen=True)
class RetentionCohort:
    cohort_date: date
    cohort_size: int
    cells: list[RetentionCell]  # one per asked N, in the order asked


@dataclass(frozen=True)
class RetentionOverall:
    day: int
    cohorts: int  # cohorts with a value for N
    cohort_size: int  # their users
    retained: int
    rate: float | None  # Σ retained / Σ cohort size over those cohorts × 100


@dataclass(frozen=True)
class Retention:
    as_of: date
    cohorts: list[RetentionCohort]
    overall: list[RetentionOverall]


async def retention(
    session: AsyncSession,
    actor: Actor | None,
    *,
    cohort_from: date,
    cohort_to: date,
    retention_days: list[int],
    segment_id: int | None = None,
    as_of: date | None = None,
    tz: ZoneInfo,
    today: date,
) -> Retention:
    check_range(cohort_from, cohort_to, names=("cohortFrom", "cohortTo"), max_days=MAX_DAYS)
    if as_of is not None:
        check_day(as_of, field="asOf")
    try:
        asked = list(dict.fromkeys(RetentionDays.validate_python(retention_days)))
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc, prefix="days") from None
    users = await scoped_users(session, actor, segment_id=segment_id)
    # Nothing after today is known, whatever as_of says.
    known = min(as_of, today) if as_of is not None else today
    counted = await _cohort_cells(session, cohort_from, cohort_to, asked, known, users, tz)
    cohorts = []
    for cohort in days(cohort_from, cohort_to):
        cells = []
        for n in asked:
            size, count = counted.get((cohort, n), (0, 0))
            mature = cohort + timedelta(days=n) <= known
            cells.append(
                RetentionCell(
                    cohort_date=cohort,
                    cohort_size=size,
                    day=n,
                    eligible=size if mature else 0,
                    retained=count if mature else None,
                    rate=percent(count, size) if mature else None,
                )
            )
        cohorts.append(RetentionCohort(cohort, cells[0].cohort_size, cells))
    overall = []
    for index, n in enumerate(asked):
        known_cells = [c.cells[index] for c in cohorts if c.cells[index].retained is not None]
        size = sum(c.cohort_size for c in known_cells)
        kept = sum(c.retained or 0 for c in known_cells)
        overall.append(RetentionOverall(n, len(known_cells), size, kept, percent(kept, size)))
    return Retention(known, cohorts, overall)


async def _cohort_cells(
    session: AsyncSession,
    cohort_from: date,
    cohort_to: date,
    asked: list[int],
    known: date,
    users: Select[Any] | None,
    tz: ZoneInfo,
) -> dict[tuple[date, int], tuple[int, int]]:
    """Per (cohort, N) with members: the cohort's size, and its members active on exactly
    cohort + N (0 when that day is after `known`), in one statement."""
    cohort_days = day_table(cohort_from, cohort_to, tz, name="cohort_days")
    members = select(User.id.label("user_id"), cohort_days.c.day.label("cohort")).join(
        cohort_days, during(User.signed_up_at, cohort_days, cohort_from, cohort_to, tz)
    )
    if users is not None:
        members = members.where(User.id.in_(users))
    joined = members.cte("members")
    # An immature cell has no target day, so nobody is counted on it.
    targets = constant_table(
        "cells",
        {"cohort": Date, "n": Integer, "target": Date},
        [
            (cohort, n, target if (target := cohort + timedelta(days=n)) <= known else None)
            for cohort in days(cohort_from, cohort_to)
            for n in asked
        ],
    )
    active = exists().where(DAYS.c.user_id == joined.c.user_id, DAYS.c.day == targets.c.target)
    stmt = (
        select(targets.c.cohort, targets.c.n, func.count(), func.count(case((active, 1))))
        .select_from(joined)
        .join(targets, targets.c.cohort == joined.c.cohort)
        .group_by(targets.c.cohort, targets.c.n)
    )
    return {
        (cohort, n): (int(size), int(count))
        for cohort, n, size, count in await session.execute(stmt)
    }


@dataclass(frozen=True)
class Churn:
    first: date
    last: date
    inactivity_days: int
    start_users: int  # active in the inactivity_days before `first`
    # Of those, users with no event in first..last; None until `last` has passed.
    churned: int | None
    rate: float | None  # churned / start_users × 100


def _inactivity(days_: int) -> None:
    if not 1 <= days_ <= MAX_INACTIVITY_DAYS:
        raise ValidationFailed(
            f"inactivityDays must be between 1 and {MAX_INACTIVITY_DAYS}", field="inactivityDays"
        )


async def churn(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: date,
    last: date,
    inactivity_days: int = 30,
    segment_id: int | None = None,
    today: date,
) -> Churn:
    check_range(first, last, max_days=MAX_DAYS)
    _inactivity(inactivity_days)
    users = await scoped_users(session, actor, segment_id=segment_id)
    start = first - timedelta(days=inactivity_days)
    total = await count_active(session, start, first - timedelta(days=1), users=users)
    churned = total - await count_returning(session, first, last, since=start, users=users)
    if last > today:
        return Churn(first, last, inactivity_days, total, None, None)
    return Churn(first, last, inactivity_days, total, churned, percent(churned, total))


@dataclass(frozen=True)
class AtRiskUser:
    user: User
    active_days: int  # lifetime days with at least one event
    last_active_at: datetime
    inactive_days: int  # whole days since the last active day


TIER_RANK = {Tier.CORE.value: 0, Tier.BACKBONE.value: 1}  # edge and anything else: 2


async def at_risk_users(
    session: AsyncSession,
    actor: Actor | None,
    *,
    inactivity_days: int = 30,
    segment_id: int | None = None,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
    tz: ZoneInfo,
    today: date,
) -> Page[AtRiskUser]:
    """Users with events before but none in the last `inactivity_days` days (today
    included), most valuable first: core, backbone, edge, then most lifetime active days."""
    _inactivity(inactivity_days)
    users = await scoped_users(session, actor, segment_id=segment_id)
    quiet_since = day_start(today - timedelta(days=inactivity_days - 1), tz)
    lifetime = select(func.count()).where(DAYS.c.user_id == User.id).scalar_subquery()
    candidates = select(
        User.id.label("id"),
        case(TIER_RANK, value=User.tier, else_=2).label("tier_rank"),
        (-lifetime).label("negative_days"),
    ).where(User.last_active_at.is_not(None), User.last_active_at < quiet_since)  # type: ignore[union-attr]
    if users is not None:
        candidates = candidates.where(User.id.in_(users))  # type: ignore[union-attr]
    ranked = candidates.subquery("ranked")
    ordering = Ordering((ranked.c.tier_rank, ranked.c.negative_days, ranked.c.id))  # type: ignore[arg-type]
    stmt: Select[Any] = select(User, ranked.c.tier_rank, ranked.c.negative_days).join(
        ranked, ranked.c.id == User.id
    )
    if after is not None:
        cursor = decode_cursor(after, ordering)
        stmt = stmt.where(
            tuple_(*ordering.columns)
            > tuple_(
                *(literal(v, type_=c.type) for c, v in zip(ordering.columns, cursor, strict=True))
            )
        )
    rows = (await session.execute(stmt.order_by(*ordering.columns).limit(first + 1))).all()

    async def count() -> int:
        async with count_session() as counting:
            return int(await counting.scalar(select(func.count()).select_from(ranked)) or 0)

    items = [
        (
            AtRiskUser(
                user=user,
                active_days=-negative_days,
                last_active_at=user.last_active_at,
                inactive_days=(today - local_day(user.last_active_at, tz)).days,
            ),
            encode_cursor([rank, negative_days, user.id]),
        )
        for user, rank, negative_days in rows[:first]
    ]
    return Page(
        items, has_next_page=len(rows) > first, has_previous_page=after is not None, count=count
    )
