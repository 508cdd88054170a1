"""Tables for feedback tickets, their replies and their status history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from app.sqltypes import UTCDateTime, one_of, utcnow


class FeedbackStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class FeedbackType(StrEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    BUG = "bug"
    FEATURE_REQUEST = "feature_request"
    PRAISE = "praise"


class FeedbackChannel(StrEnum):
    IN_APP = "in_app"
    ONLINE_CHAT = "online_chat"
    HOTLINE = "hotline"
    EMAIL = "email"
    SOCIAL = "social"
    SURVEY = "survey"
    INTERVIEW = "interview"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    __table_args__ = (
        one_of("status", FeedbackStatus),
        one_of("type", FeedbackType),
        one_of("channel", FeedbackChannel),
        one_of("priority", Priority),
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction"),
        Index("ix_feedback_created_at_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    channel: str = Field(sa_type=String(16))
    type: str = Field(sa_type=String(16))
    title: str = Field(sa_type=String(300))
    body: str = Field(default="", sa_type=Text)
    priority: str = Field(default=Priority.NORMAL, sa_type=String(8))
    status: str = Field(default=FeedbackStatus.OPEN, sa_type=String(16), index=True)
    assignee: str | None = Field(default=None, sa_type=String(200))
    resolution_note: str | None = Field(default=None, sa_type=Text)
    satisfaction: int | None = None
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Bumped on every change: concurrent writers compare it to detect a lost update.
    version: int = 1


class FeedbackTag(SQLModel, table=True):
    __tablename__ = "feedback_tags"

    feedback_id: int = Field(
        sa_column=Column(ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(sa_type=String(64), primary_key=True, index=True)


class FeedbackReply(SQLModel, table=True):
    __tablename__ = "feedback_replies"

    id: int | None = Field(default=None, primary_key=True)
    feedback_id: int = Field(
        sa_column=Column(ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    author: str = Field(sa_type=String(200))
    from_agent: bool = True
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FeedbackStatusChange(SQLModel, table=True):
    __tablename__ = "feedback_status_changes"

    id: int | None = Field(default=None, primary_key=True)
    feedback_id: int = Field(
        sa_column=Column(ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    from_status: str | None = Field(default=None, sa_type=String(16))
    to_status: str = Field(sa_type=String(16))
    actor: str = Field(sa_type=String(200))
    note: str | None = Field(default=None, sa_type=Text)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
