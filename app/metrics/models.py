"""The activity rollup: each user's events summed per day in the reporting timezone.

Kept by event ingestion in the same transaction (app/metrics/rollup.py), so metrics read a
few hundred thousand small rows instead of millions of events.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Index, Numeric, String
from sqlmodel import Field, SQLModel

from app.sqltypes import UTCDateTime, utcnow


class ActivityDay(SQLModel, table=True):
    """A user with at least one event on `day`: the user was active that day."""

    __tablename__ = "activity_days"
    # Active-user counts read only this index: day ranges, gaps and segment membership.
    __table_args__ = (Index("ix_activity_days_day_gap_days_user_id", "day", "gap_days", "user_id"),)

    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    day: date = Field(primary_key=True)
    events: int
    session_seconds: int  # duration of the day's `session` events
    revenue: Decimal = Field(sa_type=Numeric(16, 2))  # revenue of the day's `payment` events
    # Days since the user's previous active day, null on the first. A row is the user's first
    # in a range starting at F exactly when day - gap_days < F, so distinct users of any
    # range are counted from rows alone, without DISTINCT (app/metrics/activity.py).
    gap_days: int | None = None


class ActivityDayEvent(SQLModel, table=True):
    """The same per event name, for metrics narrowed to some events (`eventNames`)."""

    __tablename__ = "activity_day_events"
    __table_args__ = (Index("ix_activity_day_events_name_day_user_id", "name", "day", "user_id"),)

    user_id: int = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    day: date = Field(primary_key=True)
    name: str = Field(sa_type=String(64), primary_key=True)
    events: int


class RollupState(SQLModel, table=True):
    """One row: the timezone the rollup's days are in. No row: the rollup is not built yet."""

    __tablename__ = "rollup_state"

    id: int = Field(default=1, primary_key=True)
    timezone: str = Field(sa_type=String(64))
    built_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
