"""Customer lifetime value (LTV): what a sign-up cohort paid in its first days, per user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.errors import ValidationFailed
from app.events.models import Event
from app.metrics.customers import check_days, count_if, group_key, only, per_group, split
from app.metrics.periods import MAX_DAYS, instants
from app.metrics.scope import scoped_users
from app.metrics.support import seconds_between
from app.money import to_cents
from app.sqltypes import utcnow
from app.users.models import User

PAYMENT = "payment"
MAX_HORIZON_DAYS = 3650


@dataclass(frozen=True)
class Ltv:
    horizon_days: int
    cohort_size: int
    observed_users: int  # whose horizon has fully passed
    paying_users: int
    revenue: Decimal

    @property
    def ltv(self) -> Decimal | None:
        """Revenue per cohort user, to the cent; None for an empty cohort."""
        if self.cohort_size == 0:
            return None
        return to_cents(self.revenue / self.cohort_size)


def check_horizon(horizon_days: int, *, field: str = "horizonDays") -> None:
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValidationFailed(f"{field} is from 1 to {MAX_HORIZON_DAYS}", field=field)


def ltv_sums(
    start: datetime,
    end: datetime,
    horizon_days: int,
    members: Select[Any] | None,
    observed_by: datetime,
    by: Subquery | None = None,
) -> Select[Any]:
    """(key, cohort size, observed users, paying users, revenue) per group, for the users who
    signed up in [start, end) and their `payment` events in [sign-up, sign-up + horizon)."""
    in_cohort = [User.signed_up_at >= start, User.signed_up_at < end, *only(members, User.id)]
    paid = (
        select(Event.user_id, func.sum(Event.revenue).label("revenue"))
        .join(User, User.id == Event.user_id)
        .where(
            *in_cohort,
            Event.name == PAYMENT,
            # Per cohort user, an index on (user_id, name, occurred_at) seeks to this.
            Event.occurred_at >= User.signed_up_at,
            seconds_between(User.signed_up_at, Event.occurred_at) < horizon_days * 86400,
        )
        .group_by(Event.user_id)
        .subquery()
    )
    key = group_key(by)
    stmt = split(
        select(
            key,
            func.count(),
            count_if(User.signed_up_at <= observed_by),
            func.count(paid.c.user_id),
            func.coalesce(func.sum(paid.c.revenue), 0),
        )
        .select_from(User)
        .outerjoin(paid, paid.c.user_id == User.id)
        .where(*in_cohort),
        User.id,
        by,
    )
    return per_group(stmt, key, by)


def ltv_of(horizon_days: int, row: Any) -> Ltv:
    _, size, observed, paying, revenue = row
    return Ltv(
        horizon_days=horizon_days,
        cohort_size=size,
        observed_users=observed,
        paying_users=paying,
        revenue=to_cents(revenue),
    )


async def ltv(
    session: AsyncSession,
    actor: Actor | None,
    *,
    tz: ZoneInfo,
    cohort_from: date,
    cohort_to: date,
    horizon_days: int,
    segment_id: int | None = None,
    now: datetime | None = None,
) -> Ltv:
    """Users who signed up on cohort_from..cohort_to; revenue of their `payment` events
    within `horizon_days` × 24 h of each one's sign-up, over the cohort size. A user whose
    horizon has not passed yet counts with what was paid so far (see `observed_users`)."""
    check_days(cohort_from, cohort_to, names=("cohortFrom", "cohortTo"), max_days=MAX_DAYS)
    check_horizon(horizon_days)
    start, end = instants(cohort_from, cohort_to, tz)
    members = await scoped_users(session, actor, segment_id=segment_id)
    observed_by = (now or utcnow()) - timedelta(days=horizon_days)
    row = (await session.execute(ltv_sums(start, end, horizon_days, members, observed_by))).one()
    return ltv_of(horizon_days, row)
