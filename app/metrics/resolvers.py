"""The root field `metrics`: every metric family's fields, merged into one `Metrics` type."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry import Info
from strawberry.tools import merge_types

from app.api.connection import Connection
from app.api.payloads import parse_optional_id
from app.api.permissions import requires
from app.auth.roles import Permission
from app.metrics import activity, growth, retention, rollup
from app.metrics.customer_types import CustomerMetrics
from app.metrics.growth import ACTIVATION_EVENTS
from app.metrics.periods import Period, Window, today
from app.metrics.types import (
    ActiveUsersPointType,
    ActiveUsersSeriesType,
    ActiveUsersType,
    ActivityWindow,
    AtRiskUserType,
    ChannelConversionType,
    ChurnType,
    GrowthType,
    LifecycleIntervalType,
    LifecycleType,
    MetricPeriod,
    NewUsersType,
    RetentionType,
    StickinessDistributionType,
    StickinessType,
    UsageTimeType,
)

From = Annotated[date, strawberry.argument(name="from", description="First day, included.")]
To = Annotated[date, strawberry.argument(name="to", description="Last day, included.")]
SegmentId = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Count only the users who are members of this segment now."),
]


def _segment(segment_id: strawberry.ID | None) -> int | None:
    return parse_optional_id(segment_id, field="segmentId")


def _today(info: Info) -> date:
    return today(info.context.settings.tz)


@strawberry.type
class ActivityMetrics:
    """Active users, retention, churn and acquisition (app/metrics/activity.py,
    retention.py, growth.py)."""

    @strawberry.field(description="Distinct users with an event in the window ending on `date`.")
    async def active_users(
        self,
        info: Info,
        date: date,
        window: ActivityWindow = Window.DAY,  # type: ignore[valid-type]
        segment_id: SegmentId = None,
        event_names: Annotated[
            list[str] | None,
            strawberry.argument(description="Count only events with one of these names."),
        ] = None,
    ) -> ActiveUsersType | None:
        async with info.context.db.read() as session:
            result = await activity.active_users(
                session,
                info.context.actor,
                day=date,
                window=window,
                segment_id=_segment(segment_id),
                names=event_names,
                today=_today(info),
            )
        return ActiveUsersType.of(result)

    @strawberry.field(description="DAU / MAU of `date`.")
    async def stickiness(
        self, info: Info, date: date, segment_id: SegmentId = None
    ) -> StickinessType | None:
        async with info.context.db.read() as session:
            result = await activity.stickiness(
                session,
                info.context.actor,
                day=date,
                segment_id=_segment(segment_id),
                today=_today(info),
            )
        return StickinessType.of(result)

    @strawberry.field(
        description="Active users per day (the `window` ending on each day), or per calendar "
        "week, month or quarter with `granularity`; at most 366 points."
    )
    async def active_users_series(
        self,
        info: Info,
        first: From,
        last: To,
        window: ActivityWindow = Window.DAY,  # type: ignore[valid-type]
        granularity: MetricPeriod = Period.DAY,  # type: ignore[valid-type]
        segment_id: SegmentId = None,
    ) -> ActiveUsersSeriesType | None:
        async with info.context.db.read() as session:
            points = await activity.active_users_series(
                session,
                info.context.actor,
                first=first,
                last=last,
                window=window,
                granularity=granularity,
                segment_id=_segment(segment_id),
                today=_today(info),
            )
        return ActiveUsersSeriesType(
            window=window,
            granularity=granularity,
            points=[ActiveUsersPointType.of(p) for p in points],
        )

    @strawberry.field(
        description="How many users were active on exactly 1, 2, … N days of the range "
        "(at most 366 days), and on that many days or more."
    )
    async def stickiness_distribution(
        self, info: Info, first: From, last: To, segment_id: SegmentId = None
    ) -> StickinessDistributionType | None:
        async with info.context.db.read() as session:
            result = await activity.stickiness_distribution(
                session,
                info.context.actor,
                first=first,
                last=last,
                segment_id=_segment(segment_id),
            )
        return StickinessDistributionType.from_result(result)

    @strawberry.field(
        description="New, returning, resurrecting and dormant users per calendar interval "
        "overlapping the range."
    )
    async def lifecycle(
        self,
        info: Info,
        first: From,
        last: To,
        granularity: MetricPeriod = Period.WEEK,  # type: ignore[valid-type]
        segment_id: SegmentId = None,
    ) -> LifecycleType | None:
        async with info.context.db.read() as session:
            intervals = await activity.lifecycle(
                session,
                info.context.actor,
                first=first,
                last=last,
                granularity=granularity,
                segment_id=_segment(segment_id),
                tz=info.context.settings.tz,
                today=_today(info),
            )
        return LifecycleType(
            granularity=granularity, intervals=[LifecycleIntervalType.of(i) for i in intervals]
        )

    @strawberry.field(description="Total `session` duration / distinct active users, in seconds.")
    async def average_usage_time(
        self, info: Info, first: From, last: To, segment_id: SegmentId = None
    ) -> UsageTimeType | None:
        async with info.context.db.read() as session:
            result = await activity.average_usage_time(
                session,
                info.context.actor,
                first=first,
                last=last,
                segment_id=_segment(segment_id),
            )
        return UsageTimeType.of(result)

    @strawberry.field(
        description="Users who signed up in the range (at most 366 days) and how many activated."
    )
    async def new_users(
        self,
        info: Info,
        first: From,
        last: To,
        activation_events: Annotated[
            list[str],
            strawberry.argument(description="Event names that count as activation."),
        ] = ACTIVATION_EVENTS,  # type: ignore[assignment]
        segment_id: SegmentId = None,
    ) -> NewUsersType | None:
        async with info.context.db.read() as session:
            result = await growth.new_users(
                session,
                info.context.actor,
                first=first,
                last=last,
                activation_events=activation_events,
                segment_id=_segment(segment_id),
                tz=info.context.settings.tz,
            )
        return NewUsersType.of(result)

    @strawberry.field(
        description="Registered users at the end of the period containing `date` against "
        "the end of the period before."
    )
    async def growth(
        self,
        info: Info,
        period: MetricPeriod,  # type: ignore[valid-type]
        date: date,
        segment_id: SegmentId = None,
    ) -> GrowthType | None:
        async with info.context.db.read() as session:
            result = await growth.growth(
                session,
                info.context.actor,
                period=period,
                day=date,
                segment_id=_segment(segment_id),
                tz=info.context.settings.tz,
                today=_today(info),
            )
        return GrowthType.of(result)

    @strawberry.field(description="Registrations / exposures per acquisition channel.")
    async def channel_conversion(
        self, info: Info, first: From, last: To, segment_id: SegmentId = None
    ) -> list[ChannelConversionType] | None:
        async with info.context.db.read() as session:
            rows = await growth.channel_conversion(
                session,
                info.context.actor,
                first=first,
                last=last,
                segment_id=_segment(segment_id),
                tz=info.context.settings.tz,
            )
        return [ChannelConversionType.of(row) for row in rows]

    @strawberry.field(
        description="Retention of sign-up cohorts (at most 366) on day N after sign-up."
    )
    async def retention(
        self,
        info: Info,
        cohort_from: date,
        cohort_to: date,
        days: list[int] = (1, 7, 30),  # type: ignore[assignment]
        segment_id: SegmentId = None,
        as_of: Annotated[
            date | None,
            strawberry.argument(description="Treat days after this one as not yet observed."),
        ] = None,
    ) -> RetentionType | None:
        async with info.context.db.read() as session:
            result = await retention.retention(
                session,
                info.context.actor,
                cohort_from=cohort_from,
                cohort_to=cohort_to,
                retention_days=days,
                segment_id=_segment(segment_id),
                as_of=as_of,
                tz=info.context.settings.tz,
                today=_today(info),
            )
        return RetentionType.from_result(result)

    @strawberry.field(
        description="Of the users active in the inactivityDays days before `from`, those "
        "with no event from `from` to `to`."
    )
    async def churn(
        self,
        info: Info,
        first: From,
        last: To,
        inactivity_days: int = 30,
        segment_id: SegmentId = None,
    ) -> ChurnType | None:
        async with info.context.db.read() as session:
            result = await retention.churn(
                session,
                info.context.actor,
                first=first,
                last=last,
                inactivity_days=inactivity_days,
                segment_id=_segment(segment_id),
                today=_today(info),
            )
        return ChurnType.of(result)

    @strawberry.field(
        description="Users with events before but none in the last inactivityDays days "
        "(today included): core, backbone, then edge users, each by lifetime active days."
    )
    async def at_risk_users(
        self,
        info: Info,
        inactivity_days: int = 30,
        segment_id: SegmentId = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AtRiskUserType] | None:
        db = info.context.db
        async with db.read() as session:
            page = await retention.at_risk_users(
                session,
                info.context.actor,
                inactivity_days=inactivity_days,
                segment_id=_segment(segment_id),
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
                tz=info.context.settings.tz,
                today=_today(info),
            )
        return Connection.of(page, AtRiskUserType.of)


# Each metric family is one class of fields; a new family is added to this tuple.
METRIC_FAMILIES: tuple[type, ...] = (ActivityMetrics, CustomerMetrics)
Metrics = merge_types("Metrics", METRIC_FAMILIES)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=requires(Permission.METRICS_READ),
        description="Operations metrics, computed when asked (docs/metrics.md).",
    )
    async def metrics(self, info: Info) -> Metrics | None:  # type: ignore[valid-type]
        # A changed OPSGRAPH_TIMEZONE moves every day boundary: the rollup follows it.
        await rollup.ensure_rollup(info.context.db, info.context.settings.timezone)
        return Metrics()
