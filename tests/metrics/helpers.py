"""Hand-made activity histories for metrics tests: users, and events stored through the
events service, so the rollup is kept exactly as in production."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.db import Database
from app.events.service import track_events
from app.metrics import rollup
from app.metrics.models import ActivityDay
from app.users.models import User


def at(day: date, hour: int = 12, minute: int = 0, tz: str = "UTC") -> datetime:
    """An instant on `day` at hour:minute local time in `tz`."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(UTC)


@dataclass(frozen=True)
class Person:
    external_id: str
    signed_up: datetime
    tier: str = "edge"
    channel: str | None = None


async def add_users(db: Database, people: Sequence[Person]) -> dict[str, int]:
    """Stores the users; returns their ids by external id."""
    async with db.unit_of_work() as session:
        rows = [
            User(
                external_id=p.external_id,
                name=p.external_id,
                tier=p.tier,
                acquisition_channel=p.channel,
                signed_up_at=p.signed_up,
            )
            for p in people
        ]
        session.add_all(rows)
        await session.flush()
        return {row.external_id: row.id for row in rows}  # type: ignore[misc]


def event(
    user: str,
    when: datetime,
    name: str = "login",
    *,
    seconds: int | None = None,
    revenue: str | None = None,
) -> dict[str, Any]:
    """One event as `trackEvents` takes it (service field names)."""
    found: dict[str, Any] = {"external_id": user, "name": name, "occurred_at": when}
    if seconds is not None:
        found["duration_seconds"] = seconds
    if revenue is not None:
        found["revenue"] = Decimal(revenue)
    return found


async def track(db: Database, events: list[dict[str, Any]], *, tz: str = "UTC") -> None:
    """Stores one batch through the events service; the rollup, built for `tz` first if it
    is not, is maintained by the ingestion itself."""
    await rollup.ensure_rollup(db, tz)
    async with db.unit_of_work() as session:
        result = await track_events(
            session, events=events, idempotency_key=None, api_key_id=None, max_batch=5000
        )
    assert not result.rejected, result.rejected


async def rollup_rows(db: Database) -> list[tuple[Any, ...]]:
    """The rollup's rows as (external id, day, events, session seconds, revenue, gap days)."""
    async with db.read() as session:
        rows = await session.execute(
            select(
                User.external_id,
                ActivityDay.day,
                ActivityDay.events,
                ActivityDay.session_seconds,
                ActivityDay.revenue,
                ActivityDay.gap_days,
            )
            .join(User, User.id == ActivityDay.user_id)
            .order_by(User.external_id, ActivityDay.day)
        )
        return [tuple(row) for row in rows]
