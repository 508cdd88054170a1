"""GraphQL types for campaigns, their A/B variants, participations and conversions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info

from app.api.errors import UserError
from app.campaigns import models, service

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
