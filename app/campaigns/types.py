"""GraphQL types for campaigns, their A/B variants, participations and conversions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info

from app.api.errors import UserError
from app.campaigns import models, report, service
from app.feedback.models import FeedbackType as FeedbackKindValue
from app.feedback.types import FeedbackKind
from app.metrics import campaigns as evaluation
from app.metrics.stats import SIGNIFICANCE_LEVEL

if TYPE_CHECKING:
    from app.segments.types import SegmentType
    from app.users.types import UserType

CampaignStatus = strawberry.enum(
    models.CampaignStatus,
    description="planned → running → ended; planned or running campaigns can be cancelled.",
)
CampaignGoal = strawberry.enum(models.CampaignGoal)
CampaignForm = strawberry.enum(
    models.CampaignForm,
    description="lottery 抽奖, check_in 打卡, limited_offer 限时优惠, "
    "content_contest 内容创作大赛, webinar, training.",
)
CampaignChannel = strawberry.enum(service.CampaignChannel)
CampaignAudienceSource = strawberry.enum(
    evaluation.AudienceSource,
    name="CampaignAudienceSource",
    description="snapshot: the target segment's members when the campaign was launched; "
    "segment: its members now (no snapshot was taken); all_users: no target segment.",
)


@strawberry.type(name="CampaignVariant", description="One arm of a campaign's A/B test.")
class CampaignVariantType:
    id: strawberry.ID
    key: str
    name: str
    description: str
    weight: int = strawberry.field(
        description="Share of automatically assigned participants: weight / sum of weights."
    )
    is_control: bool

    @classmethod
    def of(cls, row: models.CampaignVariant) -> CampaignVariantType:
        return cls(
            id=strawberry.ID(str(row.id)),
            key=row.key,
            name=row.name,
            description=row.description,
            weight=row.weight,
            is_control=row.is_control,
        )


@strawberry.type(name="Campaign", description="An operations campaign (运营活动).")
class CampaignType:
    id: strawberry.ID
    key: str
    name: str
    goal: CampaignGoal  # type: ignore[valid-type]
    theme: str
    form: CampaignForm  # type: ignore[valid-type]
    channels: list[CampaignChannel]  # type: ignore[valid-type]
    budget: Decimal
    starts_at: datetime | None
    ends_at: datetime | None
    status: CampaignStatus  # type: ignore[valid-type]
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[models.Campaign]

    @classmethod
    def of(cls, row: models.Campaign) -> CampaignType:
        return cls(
            id=strawberry.ID(str(row.id)),
            key=row.key,
            name=row.name,
            goal=models.CampaignGoal(row.goal),
            theme=row.theme,
            form=models.CampaignForm(row.form),
            channels=[service.CampaignChannel(c) for c in row.channels],
            budget=row.budget,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=models.CampaignStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="Who may take part; null: the campaign is open to all users.")
    async def target_segment(
        self, info: Info
    ) -> Annotated[SegmentType, strawberry.lazy("app.segments.types")] | None:
        # Imported here as the annotation is lazy: segments' types may refer to campaigns.
        from app.segments.types import SegmentType

        if self.row.target_segment_id is None:
            return None
        row = await info.context.loaders.segment_by_id.load(self.row.target_segment_id)
        return SegmentType.of(row) if row is not None else None

    @strawberry.field(description="In creation order.")
    async def variants(self, info: Info) -> list[CampaignVariantType]:
        rows = await info.context.loaders.campaign_variants.load(self.row.id)
        return [CampaignVariantType.of(row) for row in rows]

    @strawberry.field(description="Users who took part (each counted once).")
    async def participant_count(self, info: Info) -> int:
        return await info.context.loaders.campaign_participant_count.load(self.row.id)

    @strawberry.field(description="Participants who converted (each counted once).")
    async def conversion_count(self, info: Info) -> int:
        return await info.context.loaders.campaign_conversion_count.load(self.row.id)

    @strawberry.field(
        description="Results (效果评估), computed when asked with several queries: ask for "
        "it on one campaign at a time rather than across a list."
    )
    async def evaluation(self, info: Info) -> CampaignEvaluationType:
        async with info.context.db.read() as session:
            result = await evaluation.evaluate_campaign(
                session, campaign=self.row, tz=info.context.settings.tz
            )
        return CampaignEvaluationType.of(result)


@strawberry.interface(description="What one user did in a campaign, recorded once per user.")
class CampaignRecord:
    id: strawberry.ID
    campaign_id: strawberry.ID
    created: bool = strawberry.field(
        description="False when this user was already recorded: the earlier record is "
        "returned and nothing was counted again."
    )
    user_id: strawberry.Private[int]
    variant_id: strawberry.Private[int | None]

    @strawberry.field
    async def user(
        self, info: Info
    ) -> Annotated[UserType, strawberry.lazy("app.users.types")] | None:
        # Imported here as the annotation is lazy: users' types may refer to campaigns.
        from app.users.types import UserType

        row = await info.context.loaders.user_by_id.load(self.user_id)
        return UserType.of(row) if row is not None else None

    @strawberry.field(description="Null when the campaign has no variants.")
    async def variant(self, info: Info) -> CampaignVariantType | None:
        if self.variant_id is None:
            return None
        row = await info.context.loaders.campaign_variant.load(self.variant_id)
        return CampaignVariantType.of(row) if row is not None else None


@strawberry.type(name="CampaignParticipation")
class ParticipationType(CampaignRecord):
    participated_at: datetime

    @classmethod
    def of(cls, recorded: service.Recorded[models.CampaignParticipation]) -> ParticipationType:
        row = recorded.record
        return cls(
            id=strawberry.ID(str(row.id)),
            campaign_id=strawberry.ID(str(row.campaign_id)),
            created=recorded.created,
            user_id=row.user_id,
            variant_id=row.variant_id,
            participated_at=row.participated_at,
        )


@strawberry.type(name="CampaignConversion")
class ConversionType(CampaignRecord):
    revenue: Decimal | None
    converted_at: datetime

    @classmethod
    def of(cls, recorded: service.Recorded[models.CampaignConversion]) -> ConversionType:
        row = recorded.record
        return cls(
            id=strawberry.ID(str(row.id)),
            campaign_id=strawberry.ID(str(row.campaign_id)),
            created=recorded.created,
            user_id=row.user_id,
            variant_id=row.variant_id,
            revenue=row.revenue,
            converted_at=row.converted_at,
        )


@strawberry.input
class CampaignFilter:
    status: CampaignStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    goal: CampaignGoal | None = strawberry.UNSET  # type: ignore[valid-type]
    form: CampaignForm | None = strawberry.UNSET  # type: ignore[valid-type]
    starts_from: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="startsAt on or after this time."
    )
    starts_to: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="startsAt on or before this time."
    )


@strawberry.input
class CampaignVariantInput:
    key: str
    name: str
    description: str = ""
    weight: int = 1
    is_control: bool = False


@strawberry.input(
    description="At most one control variant; with variants, their weights must sum above 0."
)
class CreateCampaignInput:
    key: str
    name: str
    goal: CampaignGoal  # type: ignore[valid-type]
    form: CampaignForm  # type: ignore[valid-type]
    theme: str = ""
    channels: list[CampaignChannel] | None = strawberry.UNSET  # type: ignore[valid-type]
    target_segment_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Null or absent: open to all users."
    )
    budget: Decimal | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    variants: list[CampaignVariantInput] | None = strawberry.UNSET


@strawberry.input(
    description="Only the fields given change. Planned campaigns: any field, and `variants` "
    "replaces all variants. Running: only name, theme, budget and endsAt. Ended and "
    "cancelled campaigns are read-only."
)
class UpdateCampaignInput:
    key: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    goal: CampaignGoal | None = strawberry.UNSET  # type: ignore[valid-type]
    form: CampaignForm | None = strawberry.UNSET  # type: ignore[valid-type]
    theme: str | None = strawberry.UNSET
    channels: list[CampaignChannel] | None = strawberry.UNSET  # type: ignore[valid-type]
    target_segment_key: str | None = strawberry.UNSET
    budget: Decimal | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    variants: list[CampaignVariantInput] | None = strawberry.UNSET


@strawberry.input
class RecordParticipationInput:
    campaign_id: strawberry.ID
    user_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Give exactly one of userId and externalId."
    )
    external_id: str | None = strawberry.UNSET
    variant_key: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Absent: assigned by weight, the same variant for a user every time.",
    )


@strawberry.input
class RecordConversionInput:
    campaign_id: strawberry.ID
    user_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Give exactly one of userId and externalId."
    )
    external_id: str | None = strawberry.UNSET
    revenue: Decimal | None = strawberry.UNSET


@strawberry.type
class CampaignPayload:
    campaign: CampaignType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignParticipationPayload:
    participation: ParticipationType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignConversionPayload:
    conversion: ConversionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="CampaignAudience", description="Who the campaign was for.")
class CampaignAudienceType:
    source: CampaignAudienceSource  # type: ignore[valid-type]
    size: int = strawberry.field(description="Users in the audience.")
    snapshot_taken_at: datetime | None = strawberry.field(
        description="When the snapshot used was taken; null unless source is snapshot."
    )

    @classmethod
    def of(cls, audience: evaluation.Audience) -> CampaignAudienceType:
        return cls(
            source=audience.source,
            size=audience.size,
            snapshot_taken_at=audience.snapshot.taken_at if audience.snapshot else None,
        )


@strawberry.type(name="CampaignVariantResult", description="One A/B arm against the control.")
class CampaignVariantResultType:
    variant: CampaignVariantType
    participants: int
    conversions: int
    conversion_rate: float | None = strawberry.field(
        description="conversions / participants × 100; null without participants."
    )
    revenue: Decimal = strawberry.field(description="Sum of its conversions' revenue.")
    lift: float | None = strawberry.field(
        description="(conversionRate − control's) / control's × 100; null for the control, "
        "without a control, or when the control's rate is 0 or unknown."
    )
    z_score: float | None = strawberry.field(
        description="Two-proportion z statistic against the control (pooled standard "
        "error); positive when this variant converts better."
    )
    p_value: float | None = strawberry.field(
        description="Two-sided p-value of the z-test; null when the test is undefined (the "
        "control itself, no control, a group without participants, or no variation)."
    )
    significant: bool | None = strawberry.field(
        description=f"pValue < {SIGNIFICANCE_LEVEL}; null when there is no p-value."
    )

    @classmethod
    def of(cls, result: evaluation.VariantResult) -> CampaignVariantResultType:
        test = result.test
        return cls(
            variant=CampaignVariantType.of(result.variant),
            participants=result.participants,
            conversions=result.conversions,
            conversion_rate=result.conversion_rate,
            revenue=result.revenue,
            lift=result.lift,
            z_score=test.z if test else None,
            p_value=test.p_value if test else None,
            significant=test.significant if test else None,
        )


@strawberry.type(
    name="CampaignActivity",
    description="Mean daily active users (DAU) of the audience over the days the campaign ran "
    "on (calendar days in OPSGRAPH_TIMEZONE, from its start's day to its end's, up to "
    "yesterday while it runs) and over as many days just before it.",
)
class CampaignActivityType:
    days: int = strawberry.field(description="0 until the campaign's first day is over.")
    before_from: date | None
    before_to: date | None
    during_from: date | None
    during_to: date | None
    mean_dau_before: float | None
    mean_dau_during: float | None
    change_percent: float | None = strawberry.field(
        description="(meanDauDuring − meanDauBefore) / meanDauBefore × 100; null when the "
        "audience had no active user before."
    )

    @classmethod
    def of(cls, activity: evaluation.Activity) -> CampaignActivityType:
        return cls(
            days=activity.days,
            before_from=activity.before_from,
            before_to=activity.before_to,
            during_from=activity.during_from,
            during_to=activity.during_to,
            mean_dau_before=activity.mean_dau_before,
            mean_dau_during=activity.mean_dau_during,
            change_percent=activity.change_percent,
        )


@strawberry.type(name="CampaignEvaluation", description="A campaign's results; rates in percent.")
class CampaignEvaluationType:
    audience: CampaignAudienceType
    participants: int
    participation_rate: float | None = strawberry.field(
        description="participants / audience size × 100; null for an empty audience."
    )
    conversions: int
    conversion_rate: float | None = strawberry.field(
        description="conversions / participants × 100; null without participants."
    )
    revenue: Decimal = strawberry.field(description="Sum of the conversions' revenue.")
    registrations: int = strawberry.field(
        description="Registrations brought in: participants who signed up between startsAt "
        "and endsAt."
    )
    variants: list[CampaignVariantResultType] = strawberry.field(
        description="In creation order; empty for a campaign without variants."
    )
    activity: CampaignActivityType
    budget: Decimal
    cost_per_participant: Decimal | None = strawberry.field(
        description="budget / participants; null without participants."
    )

    @classmethod
    def of(cls, result: evaluation.CampaignEvaluation) -> CampaignEvaluationType:
        return cls(
            audience=CampaignAudienceType.of(result.audience),
            participants=result.participants,
            participation_rate=result.participation_rate,
            conversions=result.conversions,
            conversion_rate=result.conversion_rate,
            revenue=result.revenue,
            registrations=result.registrations,
            variants=[CampaignVariantResultType.of(v) for v in result.variants],
            activity=CampaignActivityType.of(result.activity),
            budget=result.campaign.budget,
            cost_per_participant=result.cost_per_participant,
        )


@strawberry.type(name="CampaignFeedbackTypeCount")
class FeedbackTypeCount:
    type: FeedbackKind  # type: ignore[valid-type]
    count: int


@strawberry.type(name="CampaignFeedbackTagCount")
class FeedbackTagCount:
    tag: str
    count: int


@strawberry.type(
    name="CampaignFeedback",
    description="Feedback tickets the audience created from startsAt to endsAt (or now).",
)
class CampaignFeedbackType:
    total: int
    by_type: list[FeedbackTypeCount] = strawberry.field(description="Most frequent first.")
    top_tags: list[FeedbackTagCount] = strawberry.field(description="At most 5, most first.")

    @classmethod
    def of(cls, received: evaluation.FeedbackReceived) -> CampaignFeedbackType:
        return cls(
            total=received.total,
            by_type=[
                FeedbackTypeCount(type=FeedbackKindValue(kind), count=count)
                for kind, count in received.by_type
            ],
            top_tags=[FeedbackTagCount(tag=tag, count=count) for tag, count in received.top_tags],
        )


@strawberry.type(name="CampaignReport", description="A campaign summary (活动总结).")
class CampaignReportType:
    campaign: CampaignType
    evaluation: CampaignEvaluationType
    feedback: CampaignFeedbackType
    generated_at: datetime
    markdown: str = strawberry.field(
        description="The whole report as Markdown, to paste into a summary."
    )

    @classmethod
    def of(cls, result: evaluation.CampaignReport) -> CampaignReportType:
        return cls(
            campaign=CampaignType.of(result.evaluation.campaign),
            evaluation=CampaignEvaluationType.of(result.evaluation),
            feedback=CampaignFeedbackType.of(result.feedback),
            generated_at=result.generated_at,
            markdown=report.render(result),
        )
