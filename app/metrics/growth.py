"""Acquisition: new users and their activation, registered-user growth, channel conversion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, exists, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.events.models import ChannelExposure
from app.metrics.activity import event_names
from app.metrics.models import ActivityDayEvent
from app.metrics.periods import (
    MAX_DAYS,
    Period,
    check_day,
    check_range,
    constant_table,
    day_start,
    days,
    during,
    instants,
    period_bounds,
    shift,
)
from app.metrics.scope import scoped_users
from app.metrics.stats import change_percent, percent
from app.sqltypes import UTCDateTime
from app.users.models import User

NAMED_DAYS = ActivityDayEvent.__table__
ACTIVATION_EVENTS = ("feature_used",)
ACTIVATION_DAYS = 7  # the sign-up day and the six days after it


@dataclass(frozen=True)
class NewUsers:
    first: date
    last: date
    activation_events: list[str]
    users: int  # signed up in first..last
    activated: int  # of those, with an activation event in their first 7 days
    activation_rate: float | None  # activated / users × 100


async def new_users(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: date,
    last: date,
    activation_events: list[str] | None = None,
    segment_id: int | None = None,
    tz: ZoneInfo,
) -> NewUsers:
    check_range(first, last, max_days=MAX_DAYS)
    names = event_names(
        list(ACTIVATION_EVENTS if activation_events is None else activation_events),
        field="activationEvents",
    )
    users = await scoped_users(session, actor, segment_id=segment_id)
    signup_days = constant_table(
        "signup_days",
        {"day": Date, "starts_at": UTCDateTime, "ends_at": UTCDateTime, "until": Date},
        [
            (day, *instants(day, day, tz), day + timedelta(days=ACTIVATION_DAYS - 1))
            for day in days(first, last)
        ],
    )
    activated = exists().where(
        NAMED_DAYS.c.user_id == User.id,
        NAMED_DAYS.c.name.in_(names),
        NAMED_DAYS.c.day >= signup_days.c.day,
        NAMED_DAYS.c.day <= signup_days.c.until,
    )
    stmt = (
        select(func.count(), func.count(case((activated, 1))))
        .select_from(User)
        .join(signup_days, during(User.signed_up_at, signup_days, first, last, tz))
    )
    if users is not None:
        stmt = stmt.where(User.id.in_(users))  # type: ignore[union-attr]
    total, active = (await session.execute(stmt)).one()
    return NewUsers(first, last, names, int(total), int(active), percent(active, total))


@dataclass(frozen=True)
class Growth:
    period: Period
    first: date  # the period containing the asked date
    last: date
    users: int | None  # registered by the end of the period (by now while it runs)
    previous_users: int | None  # registered by the end of the period before
    change: int | None
    rate: float | None  # (users − previous) / previous × 100


async def growth(
    session: AsyncSession,
    actor: Actor | None,
    *,
    period: Period,
    day: date,
    segment_id: int | None = None,
    tz: ZoneInfo,
    today: date,
) -> Growth:
    check_day(day, field="date")
    users = await scoped_users(session, actor, segment_id=segment_id)
    first, last = period_bounds(period, day)
    if first > today:
        return Growth(period, first, last, None, None, None, None)
    end, previous_end = day_start(shift(period, first, 1), tz), day_start(first, tz)
    stmt = select(func.count(), func.count(case((User.signed_up_at < previous_end, 1)))).where(
        User.signed_up_at < end
    )
    if users is not None:
        stmt = stmt.where(User.id.in_(users))  # type: ignore[union-attr]
    now, before = (await session.execute(stmt)).one()
    return Growth(
        period, first, last, int(now), int(before), now - before, change_percent(now, before)
    )


@dataclass(frozen=True)
class ChannelConversion:
    channel: str
    registrations: int  # users of the channel who signed up in the range
    impressions: int  # the channel's exposures in the range
    rate: float | None  # registrations / impressions × 100


async def channel_conversion(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: date,
    last: date,
    segment_id: int | None = None,
    tz: ZoneInfo,
) -> list[ChannelConversion]:
    """Per channel with registrations or exposures in the range, by channel name.
    Registrations count the users in scope; exposures belong to a channel, not to users,
    so they are the channel's whatever the scope."""
    check_range(first, last)
    start, end = instants(first, last, tz)
    users = await scoped_users(session, actor, segment_id=segment_id)
    channel = User.acquisition_channel
    registered = select(channel.label("channel"), func.count().label("registrations")).where(
        User.signed_up_at >= start,
        User.signed_up_at < end,
        channel.is_not(None),  # type: ignore[union-attr]
    )
    if users is not None:
        registered = registered.where(User.id.in_(users))  # type: ignore[union-attr]
    registrations = registered.group_by(channel).subquery("registrations")
    exposures = (
        select(
            ChannelExposure.channel.label("channel"),
            func.sum(ChannelExposure.impressions).label("impressions"),
        )
        .where(ChannelExposure.day >= first, ChannelExposure.day <= last)
        .group_by(ChannelExposure.channel)
        .subquery("exposures")
    )
    channels = union(select(registrations.c.channel), select(exposures.c.channel)).subquery()
    rows = await session.execute(
        select(
            channels.c.channel,
            func.coalesce(registrations.c.registrations, 0),
            func.coalesce(exposures.c.impressions, 0),
        )
        .select_from(channels)
        .outerjoin(registrations, registrations.c.channel == channels.c.channel)
        .outerjoin(exposures, exposures.c.channel == channels.c.channel)
        .order_by(channels.c.channel)
    )
    return [
        ChannelConversion(name, int(registered), int(shown), percent(registered, shown))
        for name, registered, shown in rows
    ]
