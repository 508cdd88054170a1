"""The daily / weekly / monthly / quarterly report (日报/周报/月报): the period's key figures,
each beside the period before and the change in percent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.metrics import activity, customers, growth, retention, support
from app.metrics.customers import check_days
from app.metrics.periods import Period, period_bounds, shift
from app.metrics.scope import scoped_users
from app.metrics.stats import change_percent

# The report's lines, in order: what each figure is (the docs and the API say it too).
LINES = (
    "new_users",
    "active_users",
    "stickiness",
    "retention_d1",
    "churn_rate",
    "feedback_created",
    "feedback_resolved",
    "resolution_rate",
    "first_response_seconds",
    "nps",
)


@dataclass(frozen=True)
class Line:
    value: float | None
    previous: float | None

    @property
    def change_percent(self) -> float | None:
        """(value − previous) / previous × 100; None when either is unknown or previous is 0."""
        if self.value is None or self.previous is None:
            return None
        return change_percent(self.value, self.previous)


@dataclass(frozen=True)
class Report:
    period: Period
    first: date
    last: date
    previous_first: date
    previous_last: date
    lines: dict[str, Line]  # by name, in the order of LINES


async def _figures(
    session: AsyncSession,
    actor: Actor | None,
    first: date,
    last: date,
    *,
    segment_id: int | None,
    tz: ZoneInfo,
    today: date,
) -> dict[str, float | None]:
    """The figures of the days first..last; a period after today has none."""
    if first > today:
        return dict.fromkeys(LINES)
    scope = {"segment_id": segment_id}
    users = await scoped_users(session, actor, **scope)
    new = await growth.new_users(session, actor, first=first, last=last, tz=tz, **scope)
    sticky = await activity.stickiness(session, actor, day=min(last, today), today=today, **scope)
    cohorts = await retention.retention(
        session,
        actor,
        cohort_from=first,
        cohort_to=last,
        retention_days=[1],
        tz=tz,
        today=today,
        **scope,
    )
    churn = await retention.churn(session, actor, first=first, last=last, today=today, **scope)
    tickets = await support.support(
        session, actor, tz=tz, first=first, last=last, breakdown=False, **scope
    )
    nps = await customers.nps(session, actor, tz=tz, first=first, last=last, **scope)
    return {
        "new_users": new.users,
        "active_users": await activity.count_active(session, first, last, users=users),
        "stickiness": sticky.ratio,
        "retention_d1": cohorts.overall[0].rate,
        "churn_rate": churn.rate,
        "feedback_created": tickets.overall.created,
        "feedback_resolved": tickets.overall.resolved,
        "resolution_rate": tickets.overall.resolution_rate,
        "first_response_seconds": tickets.overall.mean_first_response_seconds,
        "nps": nps.score,
    }


async def report(
    session: AsyncSession,
    actor: Actor | None,
    *,
    period: Period,
    day: date,
    segment_id: int | None = None,
    tz: ZoneInfo,
    today: date,
) -> Report:
    """The period containing `day` and the one before it. A period still running counts
    the days so far; one after today has no figures (null), and neither has a figure that
    is not known yet (churn before the period ends, day-1 retention of today's sign-ups)."""
    check_days(day, day, names=("date", "date"))
    first, last = period_bounds(period, day)
    previous_first, previous_last = period_bounds(period, shift(period, first, -1))
    figures = {"segment_id": segment_id, "tz": tz, "today": today}
    now = await _figures(session, actor, first, last, **figures)
    before = await _figures(session, actor, previous_first, previous_last, **figures)
    return Report(
        period=period,
        first=first,
        last=last,
        previous_first=previous_first,
        previous_last=previous_last,
        lines={name: Line(now[name], before[name]) for name in LINES},
    )
