"""Table for NPS and CSAT survey responses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from app.sqltypes import UTCDateTime, one_of, utcnow


class SurveyKind(StrEnum):
    NPS = "nps"  # 0–10: how likely to recommend
    CSAT = "csat"  # 1–5: how satisfied


class SurveySubject(StrEnum):
    PRODUCT = "product"
    FEEDBACK = "feedback"
    ARTICLE = "article"
    CAMPAIGN = "campaign"


class SurveyResponse(SQLModel, table=True):
    __tablename__ = "survey_responses"
    __table_args__ = (
        one_of("kind", SurveyKind),
        one_of("subject_type", SurveySubject),
        CheckConstraint(
            "(kind = 'nps' AND score BETWEEN 0 AND 10) OR (kind = 'csat' AND score BETWEEN 1 AND 5)",
            name="score_range",
        ),
        Index("ix_survey_responses_kind_responded_at", "kind", "responded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: str = Field(sa_type=String(8))
    score: int
    comment: str | None = Field(default=None, sa_type=Text)
    subject_type: str = Field(default=SurveySubject.PRODUCT, sa_type=String(16))
    subject_id: int | None = None
    responded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
