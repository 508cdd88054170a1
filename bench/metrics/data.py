"""A deterministic product history for the metrics benchmark: users who sign up over time,
use the product on some days (core users more), drift away, and a few events that arrive late.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

TIERS = (("core", 0.1, 0.45), ("backbone", 0.3, 0.2), ("edge", 0.6, 0.07))  # share, P(active)
CHANNELS = ("search", "social", "partner", "offline_event", "referral", "campaign")
REGIONS = ("East", "West", "North", "South", "Central")
FEATURES = ("task_create", "gantt_view", "kanban", "report_export", "calendar", "wiki")
LATE_SHARE = 0.01  # events delivered in a later batch, up to two weeks after they happened
BATCH = 5000


@dataclass(frozen=True)
class Plan:
    users: int
    events: int
    days: int
    first_day: date  # the history covers first_day .. first_day + days - 1
    tz: ZoneInfo
    seed: int = 7


@dataclass
class Person:
    id: int
    tier: str
    signup_day: date
    p_active: float
    fades_after: int  # days after sign-up when the user starts drifting away


def _tier(roll: float) -> tuple[str, float]:
    """The tier whose share of users `roll` (0..1) falls in, and its P(active)."""
    cumulative = 0.0
    for tier, share, p_active in TIERS:
        cumulative += share
        if roll <= cumulative:
            return tier, p_active
    return TIERS[-1][0], TIERS[-1][2]


def people(plan: Plan, rng: random.Random) -> list[Person]:
    found = []
    for n in range(plan.users):
        tier, p_active = _tier(rng.random())
        # A third signed up before the history starts; the rest during it.
        offset = rng.randint(-365, -1) if n % 3 == 0 else rng.randint(0, plan.days - 1)
        found.append(
            Person(
                id=n + 1,
                tier=tier,
                signup_day=plan.first_day + timedelta(days=offset),
                p_active=p_active * rng.uniform(0.3, 1.7),
                fades_after=int(rng.expovariate(1 / 90)),
            )
        )
    return found


def user_rows(plan: Plan) -> list[dict[str, Any]]:
    rng = random.Random(plan.seed)
    now = datetime.now(UTC)
    rows = []
    for person in people(plan, rng):
        rows.append(
            {
                "id": person.id,
                "external_id": f"u{person.id:07}",
                "name": f"User {person.id}",
                "tier": person.tier,
                "acquisition_channel": rng.choice(CHANNELS),
                "region": rng.choice(REGIONS),
                "properties": {},
                "signed_up_at": _at(person.signup_day, rng.uniform(0, 86400), plan.tz),
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def _at(day: date, second: float, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(), tzinfo=tz) + timedelta(seconds=second)
    return local.astimezone(UTC)


def _day_events(rng: random.Random, user_id: int, day: date, tz: ZoneInfo) -> list[dict[str, Any]]:
    second = rng.uniform(6 * 3600, 22 * 3600)
    events = [
        {"user_id": user_id, "name": "login", "occurred_at": _at(day, second, tz)},
        {
            "user_id": user_id,
            "name": "session",
            "duration_seconds": rng.randint(60, 3600),
            "occurred_at": _at(day, second + 5, tz),
        },
    ]
    for k in range(rng.choice((0, 1, 1, 2, 3, 4))):
        events.append(
            {
                "user_id": user_id,
                "name": "feature_used",
                "feature": rng.choice(FEATURES),
                "occurred_at": _at(day, second + 60 * (k + 1), tz),
            }
        )
    if rng.random() < 0.1:
        events.append(
            {"user_id": user_id, "name": "article_viewed", "occurred_at": _at(day, second + 30, tz)}
        )
    if rng.random() < 0.01:
        events.append(
            {
                "user_id": user_id,
                "name": "payment",
                "revenue": Decimal(rng.choice((99, 199, 499))),
                "occurred_at": _at(day, second + 40, tz),
            }
        )
    return events


EVENTS_PER_ACTIVE_DAY = 2 + 11 / 6 + 0.1 + 0.01  # the mean length of _day_events


def _expected_active(plan: Plan, everyone: list[Person]) -> list[float]:
    """Per day of the history, the expected number of active users at scale 1."""
    return [
        sum(_p(person, plan.first_day + timedelta(days=n), 1.0) for person in everyone)
        for n in range(plan.days)
    ]


def _p(person: Person, day: date, scale: float) -> float:
    age = (day - person.signup_day).days
    if age < 0:
        return 0.0
    fading = 0.15 if age > person.fades_after else 1.0
    return min(1.0, person.p_active * fading * scale)


def batches(plan: Plan) -> Iterator[list[dict[str, Any]]]:
    """The events in trackEvents batches, in the order they are delivered: day by day, with a
    few held back and delivered with a later day's batches. Exactly plan.events in all: each
    day's events are trimmed, or topped up with more events of that day's active users, to
    keep the running total on its expected course."""
    rng = random.Random(plan.seed)
    everyone = people(plan, rng)
    expected = _expected_active(plan, everyone)
    scale = plan.events / (sum(expected) * EVENTS_PER_ACTIVE_DAY)
    rng = random.Random(plan.seed + 1)
    pending: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    made, expected_so_far = 0, 0.0
    for n in range(plan.days):
        day = plan.first_day + timedelta(days=n)
        expected_so_far += expected[n]
        quota = round(plan.events * expected_so_far / sum(expected)) - made
        active = [p.id for p in everyone if rng.random() < _p(p, day, scale)]
        events = [e for user_id in active for e in _day_events(rng, user_id, day, plan.tz)]
        while active and len(events) < quota:
            events.append(_day_events(rng, rng.choice(active), day, plan.tz)[-1])
        events = events[:quota]
        made += len(events)
        for event in events:
            (held if rng.random() < LATE_SHARE else pending).append(event)
        if rng.random() < 0.2 or n == plan.days - 1:  # late events arrive with this day's
            pending += held
            held = []
        while len(pending) >= BATCH or (pending and n == plan.days - 1):
            yield pending[:BATCH]
            pending = pending[BATCH:]
