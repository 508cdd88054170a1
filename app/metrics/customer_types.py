"""GraphQL types and fields of the customer, support, revenue, engagement and content
metrics, the report and the comparison (`CustomerMetrics`, merged into `Metrics`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from strawberry import Info

from app.api.payloads import parse_optional_id
from app.metrics import compare, content, customers, engagement, report, revenue, support
from app.metrics.periods import today
from app.metrics.types import RATE, MetricPeriod

# The same arguments as the other metric families (app/metrics/resolvers.py), which this
# module cannot import: resolvers.py imports it to merge CustomerMetrics into Metrics.
From = Annotated[date, strawberry.argument(name="from", description="First day, included.")]
To = Annotated[date, strawberry.argument(name="to", description="Last day, included.")]
SegmentId = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Count only the users who are members of this segment now."),
]
SECONDS = "In seconds; null when no ticket has one."
RATIO = "Helpful votes / all votes, from 0 to 1; null without votes."

CompareMetric = strawberry.enum(
    compare.CompareMetric,
    name="CompareMetric",
    description="A metric `compare` can split: ACTIVE_USERS and NEW_USERS count users, "
    "RETENTION_D1 / D7 are rates, NPS a score, LTV revenue per user.",
)
CompareDimension = strawberry.enum(
    compare.Dimension,
    name="CompareDimension",
    description="What to split by: the user's tier, acquisition channel or region, or each "
    "segment the user is a member of now (a user can count in several).",
)


class Reflect:
    """A type whose plain fields are read from a service result's attributes (properties
    included) of the same names."""

    @classmethod
    def of(cls, result: Any, **nested: Any) -> Self:
        names = [
            f.python_name
            for f in cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
            if f.base_resolver is None
        ]
        return cls(**{n: nested[n] if n in nested else getattr(result, n) for n in names})


@strawberry.type(name="Nps", description="Net promoter score (0–10 answers).")
class NpsType(Reflect):
    responses: int = strawberry.field(description="Users with an answer; each counts once.")
    promoters: int = strawberry.field(description="Latest answer 9 or 10.")
    passives: int = strawberry.field(description="Latest answer 7 or 8.")
    detractors: int = strawberry.field(description="Latest answer 0 to 6.")
    promoter_rate: float | None = strawberry.field(description=RATE)
    passive_rate: float | None = strawberry.field(description=RATE)
    detractor_rate: float | None = strawberry.field(description=RATE)
    score: float | None = strawberry.field(
        description="promoterRate − detractorRate, from −100 to 100; null without answers."
    )


@strawberry.type(name="Csat", description="Customer satisfaction (1–5 answers).")
class CsatType(Reflect):
    responses: int
    satisfied: int = strawberry.field(description="Answers of 4 or 5.")
    score: float | None = strawberry.field(description="satisfied / responses; " + RATE)
    mean: float | None = strawberry.field(description="The mean answer; null without answers.")


@strawberry.type(name="SupportFigures")
class SupportFiguresType(Reflect):
    created: int = strawberry.field(description="Tickets created in the range.")
    resolved: int = strawberry.field(description="Of those, resolved or closed now.")
    resolution_rate: float | None = strawberry.field(description="resolved / created; " + RATE)
    answered: int = strawberry.field(description="Tickets with a first agent reply.")
    mean_first_response_seconds: float | None = strawberry.field(
        description="First agent reply − creation, over answered tickets. " + SECONDS
    )
    median_first_response_seconds: float | None = strawberry.field(description=SECONDS)
    mean_resolution_seconds: float | None = strawberry.field(
        description="Resolution − creation, over tickets resolved now. " + SECONDS
    )
    rated: int = strawberry.field(description="Tickets with a satisfaction score.")
    satisfaction_mean: float | None = strawberry.field(
        description="The mean satisfaction score (1–5); null when none was given."
    )


@strawberry.type(name="SupportGroup")
class SupportGroupType:
    key: str = strawberry.field(description="The feedback type or channel, e.g. `bug`, `email`.")
    figures: SupportFiguresType


@strawberry.type(name="Support", description="Support over the feedback created in a range.")
class SupportType:
    overall: SupportFiguresType
    by_type: list[SupportGroupType] = strawberry.field(description="Largest first.")
    by_channel: list[SupportGroupType] = strawberry.field(description="Largest first.")

    @classmethod
    def of(cls, result: support.Support) -> SupportType:
        def groups(found: list[support.SupportGroup]) -> list[SupportGroupType]:
            return [
                SupportGroupType(key=g.key, figures=SupportFiguresType.of(g.stats)) for g in found
            ]

        return cls(
            overall=SupportFiguresType.of(result.overall),
            by_type=groups(result.by_type),
            by_channel=groups(result.by_channel),
        )


@strawberry.type(name="Ltv", description="Customer lifetime value of a sign-up cohort.")
class LtvType(Reflect):
    horizon_days: int
    cohort_size: int = strawberry.field(description="Users who signed up in the cohort range.")
    observed_users: int = strawberry.field(
        description="Of those, users whose horizon has fully passed; the others count with "
        "what they paid so far."
    )
    paying_users: int = strawberry.field(description="Users with a payment within the horizon.")
    revenue: Decimal = strawberry.field(
        description="Revenue of `payment` events within horizonDays × 24 h of each sign-up."
    )
    ltv: Decimal | None = strawberry.field(
        description="revenue / cohortSize, to the cent; null for an empty cohort."
    )


@strawberry.type(name="Engagement")
class EngagementType(Reflect):
    participants: int = strawberry.field(description="Users who did it in the range.")
    users: int = strawberry.field(description="Users registered by the end of `to`.")
    rate: float | None = strawberry.field(description="participants / users; " + RATE)


@strawberry.type(name="FeatureUse")
class FeatureUseType(Reflect):
    feature: str
    users: int = strawberry.field(
        description="Users with a `feature_used` event of this feature in the range."
    )
    penetration: float | None = strawberry.field(description="users / activeUsers; " + RATE)


@strawberry.type(name="FeaturePenetration")
class FeaturePenetrationType:
    active_users: int = strawberry.field(description="Users with any event in the range.")
    features: list[FeatureUseType] = strawberry.field(description="In the order asked.")


@strawberry.type(name="ArticleFigures")
class ArticleFiguresType(Reflect):
    article_id: strawberry.ID
    slug: str
    title: str
    category: str
    views: int
    helpful_votes: int
    unhelpful_votes: int
    helpful_ratio: float | None = strawberry.field(description=RATIO)

    @classmethod
    def from_result(cls, result: content.ArticleFigures) -> ArticleFiguresType:
        return cls.of(result, article_id=strawberry.ID(str(result.article_id)))


@strawberry.type(name="ContentMetrics", description="Published articles in a range.")
class ContentType(Reflect):
    views: int = strawberry.field(description="Views of every published article in the range.")
    helpful_votes: int = strawberry.field(description="Votes last cast in the range.")
    unhelpful_votes: int
    helpful_ratio: float | None = strawberry.field(description=RATIO)
    articles: list[ArticleFiguresType] = strawberry.field(
        description="The most viewed first, with the views and votes in the range."
    )


@strawberry.type(name="ReportLine")
class ReportLineType(Reflect):
    value: float | None = strawberry.field(description="This period's; null when not known yet.")
    previous: float | None = strawberry.field(description="The period before's.")
    change_percent: float | None = strawberry.field(
        description="(value − previous) / previous × 100; null when either is null or "
        "previous is 0."
    )


@strawberry.type(name="Report", description="The period's key figures beside the period before.")
class ReportType:
    period: MetricPeriod  # type: ignore[valid-type]
    first: date = strawberry.field(name="from", description="The period containing `date`.")
    last: date = strawberry.field(name="to")
    previous_from: date
    previous_to: date
    new_users: ReportLineType = strawberry.field(description="Users who signed up.")
    active_users: ReportLineType = strawberry.field(description="Users with an event.")
    stickiness: ReportLineType = strawberry.field(
        description="DAU / MAU (0–1) of the period's last day (today while it runs)."
    )
    retention_d1: ReportLineType = strawberry.field(
        description="Day-1 retention (%) of the users who signed up in the period."
    )
    churn_rate: ReportLineType = strawberry.field(
        description="Churn (%) over the period, 30 days of inactivity; null until it ends."
    )
    feedback_created: ReportLineType
    feedback_resolved: ReportLineType = strawberry.field(
        description="Of the tickets created in the period, resolved or closed now."
    )
    resolution_rate: ReportLineType
    first_response_seconds: ReportLineType = strawberry.field(
        description="Mean first-response time of the period's tickets."
    )
    nps: ReportLineType

    @classmethod
    def of(cls, result: report.Report) -> ReportType:
        return cls(
            period=result.period,
            first=result.first,
            last=result.last,
            previous_from=result.previous_first,
            previous_to=result.previous_last,
            **{name: ReportLineType.of(line) for name, line in result.lines.items()},
        )


@strawberry.type(name="ComparisonGroup")
class ComparisonGroupType(Reflect):
    key: str | None = strawberry.field(
        description="The tier, channel, region or segment key; null for users without one."
    )
    value: float | None = strawberry.field(description="The metric in this group.")
    users: int = strawberry.field(
        description="Whom the value is about: active users, new users, the users of the "
        "cohorts with an observable day N, NPS respondents, or the LTV cohort."
    )


@strawberry.type(name="Comparison")
class ComparisonType(Reflect):
    metric: CompareMetric  # type: ignore[valid-type]
    dimension: CompareDimension  # type: ignore[valid-type]
    first: date = strawberry.field(name="from")
    last: date = strawberry.field(name="to")
    groups: list[ComparisonGroupType] = strawberry.field(description="By key; null key last.")


def _scope(info: Info, segment_id: strawberry.ID | None) -> dict[str, Any]:
    """The arguments every customer metric's service takes from the request."""
    return {
        "tz": info.context.settings.tz,
        "segment_id": parse_optional_id(segment_id, field="segmentId"),
    }


@strawberry.type
class CustomerMetrics:
    """Customer voice, support, revenue, engagement, content, the report and comparisons
    (app/metrics/customers.py, support.py, revenue.py, engagement.py, content.py,
    report.py, compare.py)."""

    @strawberry.field(description="NPS over each user's latest answer in the range.")
    async def nps(
        self, info: Info, first: From, last: To, segment_id: SegmentId = None
    ) -> NpsType | None:
        async with info.context.db.read() as session:
            result = await customers.nps(
                session, info.context.actor, first=first, last=last, **_scope(info, segment_id)
            )
        return NpsType.of(result)

    @strawberry.field(description="CSAT over every answer in the range.")
    async def csat(
        self, info: Info, first: From, last: To, segment_id: SegmentId = None
    ) -> CsatType | None:
        async with info.context.db.read() as session:
            result = await customers.csat(
                session, info.context.actor, first=first, last=last, **_scope(info, segment_id)
            )
        return CsatType.of(result)

    @strawberry.field(
        description="Feedback created in the range: resolution, response times and "
        "satisfaction, overall and per type and channel."
    )
    async def support(
        self, info: Info, first: From, last: To, segment_id: SegmentId = None
    ) -> SupportType | None:
        async with info.context.db.read() as session:
            result = await support.support(
                session, info.context.actor, first=first, last=last, **_scope(info, segment_id)
            )
        return SupportType.of(result)

    @strawberry.field(
        description="Revenue of `payment` events within horizonDays of sign-up per user of "
        "the cohort (sign-ups from cohortFrom to cohortTo, at most 366 days)."
    )
    async def ltv(
        self,
        info: Info,
        cohort_from: date,
        cohort_to: date,
        horizon_days: int = 30,
        segment_id: SegmentId = None,
    ) -> LtvType | None:
        async with info.context.db.read() as session:
            result = await revenue.ltv(
                session,
                info.context.actor,
                cohort_from=cohort_from,
                cohort_to=cohort_to,
                horizon_days=horizon_days,
                **_scope(info, segment_id),
            )
        return LtvType.of(result)

    @strawberry.field(
        description="Users who did one thing in the range (give exactly one of eventName, "
        "feature and campaignId) / users registered by `to`."
    )
    async def engagement(
        self,
        info: Info,
        first: From,
        last: To,
        event_name: str | None = None,
        feature: Annotated[
            str | None,
            strawberry.argument(description="`feature_used` events of this feature."),
        ] = None,
        campaign_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Participations in this campaign."),
        ] = None,
        segment_id: SegmentId = None,
    ) -> EngagementType | None:
        async with info.context.db.read() as session:
            result = await engagement.engagement(
                session,
                info.context.actor,
                first=first,
                last=last,
                event_name=event_name,
                feature=feature,
                campaign_id=parse_optional_id(campaign_id, field="campaignId"),
                **_scope(info, segment_id),
            )
        return EngagementType.of(result)

    @strawberry.field(description="Per feature: users who used it / users active in the range.")
    async def feature_penetration(
        self,
        info: Info,
        first: From,
        last: To,
        features: list[str],
        segment_id: SegmentId = None,
    ) -> FeaturePenetrationType | None:
        async with info.context.db.read() as session:
            result = await engagement.feature_penetration(
                session,
                info.context.actor,
                first=first,
                last=last,
                features=features,
                **_scope(info, segment_id),
            )
        return FeaturePenetrationType(
            active_users=result.active_users,
            features=[FeatureUseType.of(f) for f in result.features],
        )

    @strawberry.field(
        description="Views and helpful votes of published articles in the range, the most "
        f"viewed first (1 to {content.MAX_ARTICLES})."
    )
    async def content(
        self,
        info: Info,
        first: From,
        last: To,
        category: str | None = None,
        limit: int = 20,
    ) -> ContentType | None:
        async with info.context.db.read() as session:
            result = await content.content(
                session,
                info.context.actor,
                tz=info.context.settings.tz,
                first=first,
                last=last,
                category=category,
                limit=limit,
            )
        return ContentType.of(
            result, articles=[ArticleFiguresType.from_result(a) for a in result.articles]
        )

    @strawberry.field(
        description="Published articles viewed at least minViews times in all whose helpful "
        "ratio (all votes) is at most maxHelpfulRatio (0–1), the least helpful first; "
        "articles without votes are not listed."
    )
    async def low_performing_articles(
        self, info: Info, min_views: int, max_helpful_ratio: float, limit: int = 20
    ) -> list[ArticleFiguresType] | None:
        async with info.context.db.read() as session:
            rows = await content.low_performing_articles(
                session,
                info.context.actor,
                min_views=min_views,
                max_helpful_ratio=max_helpful_ratio,
                limit=limit,
            )
        return [ArticleFiguresType.from_result(row) for row in rows]

    @strawberry.field(
        description="The daily, weekly, monthly or quarterly report of the period containing "
        "`date`, beside the period before."
    )
    async def report(
        self,
        info: Info,
        period: MetricPeriod,  # type: ignore[valid-type]
        date: date,
        segment_id: SegmentId = None,
    ) -> ReportType | None:
        async with info.context.db.read() as session:
            result = await report.report(
                session,
                info.context.actor,
                period=period,
                day=date,
                today=today(info.context.settings.tz),
                **_scope(info, segment_id),
            )
        return ReportType.of(result)

    @strawberry.field(
        description="One metric per tier, channel, region or segment, over the range "
        "(at most 366 days)."
    )
    async def compare(
        self,
        info: Info,
        metric: CompareMetric,  # type: ignore[valid-type]
        dimension: CompareDimension,  # type: ignore[valid-type]
        first: From,
        last: To,
        horizon_days: Annotated[
            int, strawberry.argument(description="The LTV horizon; other metrics ignore it.")
        ] = 30,
        segment_id: SegmentId = None,
    ) -> ComparisonType | None:
        async with info.context.db.read() as session:
            result = await compare.compare(
                session,
                info.context.actor,
                metric=metric,
                dimension=dimension,
                first=first,
                last=last,
                horizon_days=horizon_days,
                today=today(info.context.settings.tz),
                **_scope(info, segment_id),
            )
        return ComparisonType.of(result, groups=[ComparisonGroupType.of(g) for g in result.groups])
