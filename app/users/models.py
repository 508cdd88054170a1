"""Tables for the product's end users and the tags they carry."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from app.sqltypes import JSONType, UTCDateTime, one_of, utcnow


class Tier(StrEnum):
    CORE = "core"  # 核心用户: directors, department heads, decision makers
    BACKBONE = "backbone"  # 中间用户: project managers, team leads
    EDGE = "edge"  # 边缘用户: new staff, occasional users


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        one_of("tier", Tier),
        Index("ix_users_signed_up_at_id", "signed_up_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_type=String(128), unique=True)
    name: str = Field(sa_type=String(200))
    email: str | None = Field(default=None, sa_type=String(320))
    phone: str | None = Field(default=None, sa_type=String(40))
    tier: str = Field(default=Tier.EDGE, sa_type=String(16), index=True)
    acquisition_channel: str | None = Field(default=None, sa_type=String(64), index=True)
    region: str | None = Field(default=None, sa_type=String(64), index=True)
    plan: str | None = Field(default=None, sa_type=String(64))
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    signed_up_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A cache of max(events.occurred_at), kept by event ingestion: segment rules and
    # at-risk lists filter on it and must not aggregate millions of events to do so.
    last_active_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserTag(SQLModel, table=True):
    __tablename__ = "user_tags"

    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(sa_type=String(64), primary_key=True, index=True)
