"""Tables for rule-based segments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Text
from sqlmodel import Field, SQLModel

from app.sqltypes import JSONType, UTCDateTime, utcnow


class Segment(SQLModel, table=True):
    __tablename__ = "segments"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=String(64), unique=True)
    name: str = Field(sa_type=String(200))
    description: str = Field(default="", sa_type=Text)
    # Membership is always computed from the rule (see segments/rules.py), never stored.
    rule: dict[str, Any] = Field(sa_type=JSONType)
    is_builtin: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SegmentSnapshot(SQLModel, table=True):
    """A segment's membership frozen at a moment, e.g. the audience a campaign targeted."""

    __tablename__ = "segment_snapshots"

    id: int | None = Field(default=None, primary_key=True)
    segment_id: int = Field(
        sa_column=Column(ForeignKey("segments.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rule: dict[str, Any] = Field(sa_type=JSONType)  # the rule as it was when taken
    size: int
    taken_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SegmentSnapshotMember(SQLModel, table=True):
    __tablename__ = "segment_snapshot_members"

    snapshot_id: int = Field(
        sa_column=Column(ForeignKey("segment_snapshots.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
