"""Support metrics over the feedback tickets created in a range of days: volume, resolution,
first-response and resolution times, satisfaction, and the same per type and channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Float, and_, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.auth.service import Actor
from app.feedback.models import Feedback
from app.feedback.service import DONE
from app.metrics.customers import check_days, count_if, mean, only
from app.metrics.periods import instants
from app.metrics.scope import scoped_users
from app.metrics.stats import percent


class seconds_between(FunctionElement[float]):
    """SQL for (end − start) in seconds between two timestamps; NULL if either is NULL."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS DOUBLE PRECISION)"


def seconds(value: Any) -> float | None:
    """A duration from SQL, to the millisecond: SQLite's julianday arithmetic is off by
    some microseconds."""
    return None if value is None else round(float(value), 3)


@dataclass(frozen=True)
class SupportStats:
    created: int
    resolved: int  # resolved or closed now
    answered: int  # with a first agent reply
    rated: int  # with a satisfaction score
    mean_first_response_seconds: float | None
    median_first_response_seconds: float | None
    mean_resolution_seconds: float | None
    satisfaction_mean: float | None

    @property
    def resolution_rate(self) -> float | None:
        return percent(self.resolved, self.created)


@dataclass(frozen=True)
class SupportGroup:
    key: str
    stats: SupportStats


@dataclass(frozen=True)
class Support:
    overall: SupportStats
    by_type: list[SupportGroup] = field(default_factory=list)
    by_channel: list[SupportGroup] = field(default_factory=list)


async def support(
    session: AsyncSession,
    actor: Actor | None,
    *,
    tz: ZoneInfo,
    first: date,
    last: date,
    segment_id: int | None = None,
    breakdown: bool = True,
) -> Support:
    """Tickets created in first..last, whatever happened to them since. `breakdown=False`
    skips the per-type and per-channel figures (one statement instead of three)."""
    check_days(first, last)
    start, end = instants(first, last, tz)
    members = await scoped_users(session, actor, segment_id=segment_id)
    tickets = [
        Feedback.created_at >= start,
        Feedback.created_at < end,
        *only(members, Feedback.user_id),
    ]
    overall = (await _stats(session, tickets, None))[None]
    if not breakdown:
        return Support(overall=overall)
    return Support(
        overall=overall,
        by_type=_groups(await _stats(session, tickets, Feedback.type)),
        by_channel=_groups(await _stats(session, tickets, Feedback.channel)),
    )


def _groups(stats: dict[Any, SupportStats]) -> list[SupportGroup]:
    """Largest group first."""
    ordered = sorted(stats.items(), key=lambda item: (-item[1].created, item[0]))
    return [SupportGroup(key=key, stats=value) for key, value in ordered]


async def _stats(
    session: AsyncSession, tickets: list[ColumnElement[bool]], group: Any | None
) -> dict[Any, SupportStats]:
    """The figures of the tickets matching `tickets`, per value of `group` (None: one
    group, keyed None), in one statement.

    The median is portable SQL: the answered tickets of each group are numbered in order of
    their first-response time, and the middle one (odd count) or the mean of the middle two
    (even count) is kept. Unanswered tickets are numbered apart and never counted.
    """
    grouped = group is not None
    ticket = (
        select(
            (group if grouped else null()).label("key"),
            Feedback.status.in_(DONE).label("resolved"),  # type: ignore[attr-defined]
            seconds_between(Feedback.created_at, Feedback.first_response_at).label("response"),
            seconds_between(Feedback.created_at, Feedback.resolved_at).label("resolution"),
            Feedback.satisfaction,
        )
        .where(*tickets)
        .subquery("tickets")
    ).c
    numbered = select(
        ticket.key,
        ticket.resolved,
        ticket.response,
        ticket.resolution,
        ticket.satisfaction,
        func.row_number()
        .over(partition_by=(ticket.key, ticket.response.is_(None)), order_by=ticket.response)
        .label("rank"),
        func.count(ticket.response).over(partition_by=ticket.key).label("answered"),
    ).subquery("numbered")
    t = numbered.c
    middle = and_(
        t.response.is_not(None),
        or_(t.rank == (t.answered + 1) // 2, t.rank == (t.answered + 2) // 2),
    )
    key = t.key if grouped else null()  # a constant beside aggregates: one row
    stmt = select(
        key,
        func.count(),
        count_if(t.resolved),
        func.count(t.response),
        func.count(t.satisfaction),
        func.avg(t.response),
        func.avg(case((middle, t.response))),
        func.avg(t.resolution),
        func.avg(t.satisfaction),
    )
    rows = await session.execute(stmt.group_by(key) if grouped else stmt)
    return {
        row[0]: SupportStats(
            created=row[1],
            resolved=row[2],
            answered=row[3],
            rated=row[4],
            mean_first_response_seconds=seconds(row[5]),
            median_first_response_seconds=seconds(row[6]),
            mean_resolution_seconds=seconds(row[7]),
            satisfaction_mean=mean(row[8]),
        )
        for row in rows
    }
