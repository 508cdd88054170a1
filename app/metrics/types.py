"""GraphQL types for the activity, retention and growth metrics (docs/metrics.md defines each)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry

from app.metrics import activity, retention
from app.metrics.periods import Period, Window

if TYPE_CHECKING:
    from app.users.types import UserType

ActivityWindow = strawberry.enum(
    Window,
    name="ActivityWindow",
    description="Days counted for an active-user figure ending on a date: DAY (DAU), the "
    "7 days ending on it (WEEK, WAU) or the 30 days ending on it (MONTH, MAU).",
)
MetricPeriod = strawberry.enum(
    Period,
    name="MetricPeriod",
    description="A calendar period in the reporting timezone; weeks start on Monday.",
)

FROM = "First day of the range (reporting timezone)."
TO = "Last day of the range, included."
RATE = "A percentage (0–100); null when its denominator is 0."


class Mirror:
    """A type whose fields are those of a service result of the same field names."""

    @classmethod
    def of(cls, result: Any, **nested: Any) -> Self:
        values = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
        return cls(**(values | nested))


@strawberry.type(name="ActiveUsers")
class ActiveUsersType(Mirror):
    date: date
    window: ActivityWindow  # type: ignore[valid-type]
    first: date = strawberry.field(name="windowStart", description="The window's first day.")
    users: int | None = strawberry.field(
        description="Distinct users with an event in the window; null when `date` is after today."
    )


@strawberry.type(name="Stickiness")
class StickinessType(Mirror):
    date: date
    dau: int | None
    mau: int | None = strawberry.field(description="Active users in the 30 days ending on `date`.")
    ratio: float | None = strawberry.field(
        description="DAU / MAU between 0 and 1; null when MAU is 0 or `date` is after today."
    )


@strawberry.type(name="ActiveUsersPoint")
class ActiveUsersPointType(Mirror):
    date: date = strawberry.field(description="The day, or the period's first day.")
    users: int | None = strawberry.field(description="Null for a point after today.")


@strawberry.type(name="ActiveUsersSeries")
class ActiveUsersSeriesType:
    window: ActivityWindow  # type: ignore[valid-type]
    granularity: MetricPeriod  # type: ignore[valid-type]
    points: list[ActiveUsersPointType]


@strawberry.type(name="StickinessBucket")
class StickinessBucketType(Mirror):
    days: int
    users: int = strawberry.field(description="Users active on exactly `days` days.")
    cumulative: int = strawberry.field(description="Users active on `days` days or more.")


@strawberry.type(name="StickinessDistribution")
class StickinessDistributionType(Mirror):
    first: date = strawberry.field(name="from", description=FROM)
    last: date = strawberry.field(name="to", description=TO)
    active_users: int
    buckets: list[StickinessBucketType] = strawberry.field(
        description="One per number of days, 1 to the range's length."
    )

    @classmethod
    def from_result(cls, result: activity.Distribution) -> StickinessDistributionType:
        return cls.of(result, buckets=[StickinessBucketType.of(b) for b in result.buckets])


@strawberry.type(name="LifecycleInterval")
class LifecycleIntervalType(Mirror):
    first: date = strawberry.field(name="from", description="The interval's first day.")
    last: date = strawberry.field(name="to", description="The interval's last day.")
    active: int | None = strawberry.field(description="Null for intervals after today.")
    new: int | None = strawberry.field(description="Signed up in the interval and active in it.")
    returning: int | None = strawberry.field(
        description="Active in the interval and the one before; not new."
    )
    resurrecting: int | None = strawberry.field(
        description="Active in the interval, not in the one before; not new."
    )
    dormant: int | None = strawberry.field(
        description="Active in the interval before, not in this one."
    )


@strawberry.type(name="Lifecycle")
class LifecycleType:
    granularity: MetricPeriod  # type: ignore[valid-type]
    intervals: list[LifecycleIntervalType]


@strawberry.type(name="UsageTime")
class UsageTimeType(Mirror):
    first: date = strawberry.field(name="from", description=FROM)
    last: date = strawberry.field(name="to", description=TO)
    total_seconds: int = strawberry.field(description="Duration of all `session` events.")
    active_users: int
    average_seconds: float | None = strawberry.field(
        description="totalSeconds / activeUsers; null when nobody was active."
    )


@strawberry.type(name="NewUsers")
class NewUsersType(Mirror):
    first: date = strawberry.field(name="from", description=FROM)
    last: date = strawberry.field(name="to", description=TO)
    activation_events: list[str]
    users: int = strawberry.field(description="Users who signed up in the range.")
    activated: int = strawberry.field(
        description="Of those, users with an activation event on their sign-up day or the 6 days after."
    )
    activation_rate: float | None = strawberry.field(description=RATE)


@strawberry.type(name="Growth")
class GrowthType(Mirror):
    period: MetricPeriod  # type: ignore[valid-type]
    first: date = strawberry.field(name="from", description="The period containing `date`.")
    last: date = strawberry.field(name="to")
    users: int | None = strawberry.field(
        description="Registered users at the end of the period (so far while it runs); "
        "null for a period after today."
    )
    previous_users: int | None = strawberry.field(
        description="Registered users at the end of the period before."
    )
    change: int | None
    rate: float | None = strawberry.field(
        description="(users − previousUsers) / previousUsers; " + RATE
    )


@strawberry.type(name="ChannelConversion")
class ChannelConversionType(Mirror):
    channel: str
    registrations: int
    impressions: int
    rate: float | None = strawberry.field(description="registrations / impressions; " + RATE)


@strawberry.type(name="RetentionCell")
class RetentionCellType(Mirror):
    cohort_date: date
    cohort_size: int
    day: int = strawberry.field(description="N: retained users were active on cohortDate + N.")
    eligible: int = strawberry.field(
        description="Users who could be retained on day N: the cohort size once cohortDate + N "
        "is observable, else 0."
    )
    retained: int | None = strawberry.field(
        description="Null (not 0) while cohortDate + N is after today or `asOf`."
    )
    rate: float | None = strawberry.field(description="retained / cohortSize; " + RATE)


@strawberry.type(name="RetentionCohort")
class RetentionCohortType(Mirror):
    cohort_date: date = strawberry.field(description="The sign-up day.")
    cohort_size: int
    cells: list[RetentionCellType] = strawberry.field(description="One per asked day, in order.")


@strawberry.type(name="RetentionOverall")
class RetentionOverallType(Mirror):
    day: int
    cohorts: int = strawberry.field(description="Cohorts with a value for this day.")
    cohort_size: int = strawberry.field(description="Users in those cohorts.")
    retained: int
    rate: float | None = strawberry.field(description="retained / cohortSize; " + RATE)


@strawberry.type(name="Retention")
class RetentionType(Mirror):
    as_of: date = strawberry.field(description="The last observable day used.")
    cohorts: list[RetentionCohortType]
    overall: list[RetentionOverallType]

    @classmethod
    def from_result(cls, result: retention.Retention) -> RetentionType:
        return cls.of(
            result,
            cohorts=[
                RetentionCohortType.of(c, cells=[RetentionCellType.of(x) for x in c.cells])
                for c in result.cohorts
            ],
            overall=[RetentionOverallType.of(o) for o in result.overall],
        )


@strawberry.type(name="Churn")
class ChurnType(Mirror):
    first: date = strawberry.field(name="from", description=FROM)
    last: date = strawberry.field(name="to", description=TO)
    inactivity_days: int
    start_users: int = strawberry.field(
        description="Users active in the inactivityDays days before `from`."
    )
    churned: int | None = strawberry.field(
        description="Of those, users with no event from `from` to `to`; null until `to` has passed."
    )
    rate: float | None = strawberry.field(description="churned / startUsers; " + RATE)


@strawberry.type(name="AtRiskUser")
class AtRiskUserType:
    active_days: int = strawberry.field(description="Lifetime days with at least one event.")
    last_active_at: datetime
    inactive_days: int = strawberry.field(description="Whole days since the last active day.")
    row: strawberry.Private[retention.AtRiskUser]

    @classmethod
    def of(cls, found: retention.AtRiskUser) -> AtRiskUserType:
        return cls(
            active_days=found.active_days,
            last_active_at=found.last_active_at,
            inactive_days=found.inactive_days,
            row=found,
        )

    @strawberry.field
    def user(self) -> Annotated[UserType, strawberry.lazy("app.users.types")]:
        from app.users.types import UserType

        return UserType.of(self.row.user)
