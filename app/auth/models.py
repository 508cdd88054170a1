"""API keys: who may call the API, with which role. Only a hash of each key is stored."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from app.sqltypes import UTCDateTime, one_of, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AGENT = "agent"
    INTEGRATION = "integration"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (one_of("role", Role),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200))
    role: str = Field(sa_type=String(16))
    # SHA-256 of the secret: keys are 256-bit random, so a slow hash adds nothing.
    key_hash: str = Field(sa_type=String(64), unique=True)
    prefix: str = Field(sa_type=String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeySegment(SQLModel, table=True):
    """Limits an integration key to some segments: it then sees only them and their members."""

    __tablename__ = "api_key_segments"

    api_key_id: int = Field(
        sa_column=Column(ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    )
    segment_id: int = Field(
        sa_column=Column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    )
