"""Tables for campaigns, their A/B variants, participations and conversions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.sqltypes import JSONType, UTCDateTime, one_of, utcnow


class CampaignStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    ENDED = "ended"
    CANCELLED = "cancelled"


class CampaignGoal(StrEnum):
    REGISTRATIONS = "registrations"
    ACTIVITY = "activity"
    RETENTION = "retention"
    REVENUE = "revenue"


class CampaignForm(StrEnum):
    LOTTERY = "lottery"  # 抽奖
    CHECK_IN = "check_in"  # 打卡
    LIMITED_OFFER = "limited_offer"  # 限时优惠
    CONTENT_CONTEST = "content_contest"  # 内容创作大赛
    WEBINAR = "webinar"
    TRAINING = "training"


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"
    __table_args__ = (
        one_of("status", CampaignStatus),
        one_of("goal", CampaignGoal),
        one_of("form", CampaignForm),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=String(64), unique=True)
    name: str = Field(sa_type=String(200))
    goal: str = Field(sa_type=String(16))
    theme: str = Field(default="", sa_type=Text)
    form: str = Field(sa_type=String(16))
    channels: list[str] = Field(default_factory=list, sa_type=JSONType)
    target_segment_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("segments.id", ondelete="RESTRICT"), nullable=True),
    )
    budget: Decimal = Field(default=Decimal(0), sa_type=Numeric(14, 2))
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default=CampaignStatus.PLANNED, sa_type=String(16), index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CampaignVariant(SQLModel, table=True):
    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(sa_type=String(64))
    name: str = Field(sa_type=String(200))
    description: str = Field(default="", sa_type=Text)
    weight: int = Field(default=1, ge=0)
    is_control: bool = False


class CampaignParticipation(SQLModel, table=True):
    __tablename__ = "campaign_participations"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False)
    )
    variant_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("campaign_variants.id", ondelete="CASCADE"), nullable=True),
    )
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    participated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CampaignConversion(SQLModel, table=True):
    __tablename__ = "campaign_conversions"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False)
    )
    variant_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("campaign_variants.id", ondelete="CASCADE"), nullable=True),
    )
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    revenue: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    converted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
