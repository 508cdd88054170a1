"""Comparison analysis (对比分析): one metric split by tier, channel, region or segment, each
in one SQL statement grouped by the dimension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, Subquery, and_, exists, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.metrics.customers import (
    Nps,
    check_days,
    count_if,
    group_key,
    nps_counts,
    only,
    per_group,
    split,
)
from app.metrics.models import ActivityDay
from app.metrics.periods import MAX_DAYS, constant_table, days, instants
from app.metrics.revenue import check_horizon, ltv_of, ltv_sums
from app.metrics.scope import scoped_users
from app.metrics.stats import percent
from app.segments import service as segments
from app.segments.models import Segment
from app.segments.rules import compile_rule
from app.sqltypes import UTCDateTime, utcnow
from app.users.models import User

DAYS = ActivityDay.__table__


class CompareMetric(StrEnum):
    ACTIVE_USERS = "active_users"
    NEW_USERS = "new_users"
    RETENTION_D1 = "retention_d1"
    RETENTION_D7 = "retention_d7"
    NPS = "nps"
    LTV = "ltv"


class Dimension(StrEnum):
    TIER = "tier"
    CHANNEL = "channel"
    REGION = "region"
    SEGMENT = "segment"


ATTRIBUTES = {
    Dimension.TIER: User.tier,
    Dimension.CHANNEL: User.acquisition_channel,
    Dimension.REGION: User.region,
}
RETENTION_DAY = {CompareMetric.RETENTION_D1: 1, CompareMetric.RETENTION_D7: 7}


@dataclass(frozen=True)
class Group:
    key: str | None  # the tier, channel, region or segment key; None: users without one
    value: float | None
    users: int  # whom the value is about (see `compare`)


@dataclass(frozen=True)
class Comparison:
    metric: CompareMetric
    dimension: Dimension
    first: date
    last: date
    groups: list[Group]  # by key, users without one last


async def _groups_of_users(
    session: AsyncSession, actor: Actor | None, dimension: Dimension
) -> Subquery | None:
    """(key, user_id) for every user and group: an attribute's value, or each segment the
    user is a member of now (a user may be in several). None: there is no segment."""
    if dimension in ATTRIBUTES:
        return select(
            ATTRIBUTES[dimension].label("key"),
            User.id.label("user_id"),  # type: ignore[union-attr]
        ).subquery("groups")
    visible = (await session.scalars(segments.visible_segments(actor).order_by(Segment.key))).all()
    if not visible:
        return None
    # `inSegment` may name any segment, visible or not.
    rules = dict((await session.execute(select(Segment.key, Segment.rule))).all())
    now = utcnow()
    return union_all(
        *(
            select(literal(s.key).label("key"), User.id.label("user_id")).where(  # type: ignore[union-attr]
                compile_rule(s.rule, now=now, segments=rules, key=s.key)
            )
            for s in visible
        )
    ).subquery("groups")


def _active_users(
    first: date, last: date, members: Select[Any] | None, by: Subquery
) -> Select[Any]:
    # Distinct users first (from the (day, user_id) index alone), then their groups.
    active = (
        select(DAYS.c.user_id)
        .where(DAYS.c.day >= first, DAYS.c.day <= last, *only(members, DAYS.c.user_id))
        .distinct()
        .subquery("active")
    )
    key = group_key(by)
    stmt = split(select(key, func.count()).select_from(active), active.c.user_id, by)
    return per_group(stmt, key, by)


def _new_users(
    start: datetime, end: datetime, members: Select[Any] | None, by: Subquery
) -> Select[Any]:
    key = group_key(by)
    stmt = split(
        select(key, func.count())
        .select_from(User)
        .where(User.signed_up_at >= start, User.signed_up_at < end, *only(members, User.id)),
        User.id,
        by,
    )
    return per_group(stmt, key, by)


def _retention(
    first: date,
    last: date,
    n: int,
    members: Select[Any] | None,
    by: Subquery,
    *,
    tz: ZoneInfo,
    today: date,
) -> Select[Any] | None:
    """(key, retained, cohort users) over the sign-up days of first..last whose day N is
    observable; None when none is."""
    mature = [d for d in days(first, last) if d + timedelta(days=n) <= today]
    if not mature:
        return None
    cohorts = constant_table(
        "cohort_days",
        {"starts_at": UTCDateTime, "ends_at": UTCDateTime, "target": Date},
        [(*instants(d, d, tz), d + timedelta(days=n)) for d in mature],
    )
    retained = exists().where(DAYS.c.user_id == User.id, DAYS.c.day == cohorts.c.target)
    key = group_key(by)
    stmt = split(
        select(key, count_if(retained), func.count())
        .select_from(User)
        .join(
            cohorts,
            and_(User.signed_up_at >= cohorts.c.starts_at, User.signed_up_at < cohorts.c.ends_at),
        )
        .where(*only(members, User.id)),
        User.id,
        by,
    )
    return per_group(stmt, key, by)


async def compare(
    session: AsyncSession,
    actor: Actor | None,
    *,
    metric: CompareMetric,
    dimension: Dimension,
    first: date,
    last: date,
    horizon_days: int = 30,
    segment_id: int | None = None,
    tz: ZoneInfo,
    today: date,
    now: datetime | None = None,
) -> Comparison:
    """The metric per group over first..last. `users` is what the value is about: active
    users (activeUsers), new users (newUsers), the users of the cohorts with an observable
    day N (retention, value = rate), NPS respondents (value = score), the sign-up cohort
    (LTV over `horizon_days`, value = LTV)."""
    check_days(first, last, max_days=MAX_DAYS)
    if metric is CompareMetric.LTV:
        check_horizon(horizon_days)
    members = await scoped_users(session, actor, segment_id=segment_id)
    by = await _groups_of_users(session, actor, dimension)
    if by is None:  # no segment to split by
        return Comparison(metric, dimension, first, last, [])
    stmt = _statement(
        metric, first, last, members, by, horizon_days=horizon_days, tz=tz, today=today, now=now
    )
    rows = (await session.execute(stmt)).all() if stmt is not None else []
    groups = sorted(
        (_group(metric, horizon_days, row) for row in rows),
        key=lambda g: (g.key is None, g.key or ""),
    )
    return Comparison(metric, dimension, first, last, groups)


def _statement(
    metric: CompareMetric,
    first: date,
    last: date,
    members: Select[Any] | None,
    by: Subquery,
    *,
    horizon_days: int,
    tz: ZoneInfo,
    today: date,
    now: datetime | None,
) -> Select[Any] | None:
    start, end = instants(first, last, tz)
    if metric is CompareMetric.ACTIVE_USERS:
        return _active_users(first, last, members, by)
    if metric is CompareMetric.NEW_USERS:
        return _new_users(start, end, members, by)
    if metric in RETENTION_DAY:
        return _retention(first, last, RETENTION_DAY[metric], members, by, tz=tz, today=today)
    if metric is CompareMetric.NPS:
        return nps_counts(start, end, members, by)
    observed_by = (now or utcnow()) - timedelta(days=horizon_days)
    return ltv_sums(start, end, horizon_days, members, observed_by, by)


def _group(metric: CompareMetric, horizon_days: int, row: Any) -> Group:
    key = row[0]
    if metric is CompareMetric.NPS:
        nps = Nps(*row[1:])
        return Group(key, nps.score, nps.responses)
    if metric is CompareMetric.LTV:
        ltv = ltv_of(horizon_days, row)
        return Group(key, None if ltv.ltv is None else float(ltv.ltv), ltv.cohort_size)
    if metric in RETENTION_DAY:
        _, retained, size = row
        return Group(key, percent(retained, size), size)
    _, count = row  # a count of users: the value and whom it is about
    return Group(key, float(count), count)
