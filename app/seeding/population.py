"""A deterministic demo population: users and their behaviour, from seeds/population.json.

The same seed file gives the same users and the same events relative to the seeding day,
so the dashboards always show the last 90 days with activity decay and retention.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class DemoUser:
    external_id: str
    fields: dict[str, Any]
    lifetime_days: float
    activity: float


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def make_users(spec: dict[str, Any], today: date) -> list[DemoUser]:
    rng = random.Random(spec["random_seed"])
    users = []
    for n in range(spec["users"]):
        tier = _pick(rng, spec["tiers"])
        days_ago = rng.uniform(0, spec["signup_window_days"])
        signed_up = datetime.combine(today, datetime.min.time(), UTC) - timedelta(days=days_ago)
        name = rng.choice(spec["surnames"]) + rng.choice(spec["given_names"])
        users.append(
            DemoUser(
                external_id=f"demo-{n:04d}",
                fields={
                    "external_id": f"demo-{n:04d}",
                    "name": name,
                    "email": f"user{n:04d}@example.com",
                    "tier": tier,
                    "acquisition_channel": _pick(rng, spec["channels"]),
                    "region": _pick(rng, spec["regions"]),
                    "plan": _pick(rng, spec["plans"]),
                    "tags": rng.sample(
                        ["早期用户", "付费意向", "培训过", "KA客户", "移动端"], k=rng.randint(0, 2)
                    ),
                    "properties": {
                        "department": rng.choice(spec["departments"]),
                        "seats": rng.randint(1, 200),
                    },
                    "signed_up_at": signed_up,
                },
                # Lifetimes are exponential around the tier's median: most edge users leave early.
                lifetime_days=rng.expovariate(math.log(2) / spec["median_lifetime_days"][tier]),
                activity=spec["daily_activity"][tier] * rng.uniform(0.6, 1.3),
            )
        )
    return users


def make_events(
    spec: dict[str, Any], users: list[DemoUser], today: date
) -> Iterator[dict[str, Any]]:
    """Events day by day for each user, from sign-up until the user's lifetime ends."""
    rng = random.Random(spec["random_seed"] + 1)
    window_start = datetime.combine(today, datetime.min.time(), UTC) - timedelta(
        days=spec["event_window_days"]
    )
    now = datetime.combine(today, datetime.min.time(), UTC)
    for user in users:
        signed_up: datetime = user.fields["signed_up_at"]
        start = max(signed_up, window_start)
        price = spec["monthly_price"][user.fields["plan"]]
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < now:
            age = (day - signed_up).days
            # Activity fades as a user nears the end of their lifetime.
            chance = user.activity * (1.0 if age < user.lifetime_days else 0.03)
            if rng.random() < chance:
                yield from _active_day(rng, spec, user, max(day, signed_up), age, price)
            day += timedelta(days=1)


def _active_day(
    rng: random.Random, spec: dict[str, Any], user: DemoUser, day: datetime, age: int, price: int
) -> Iterator[dict[str, Any]]:
    moment = day + timedelta(hours=rng.uniform(0.5, 10), minutes=rng.uniform(0, 59))
    base = {"external_id": user.external_id}
    yield base | {"name": "login", "occurred_at": moment}
    yield base | {
        "name": "session",
        "occurred_at": moment + timedelta(seconds=5),
        "duration_seconds": int(rng.lognormvariate(6.5, 0.8)),
    }
    for _ in range(rng.randint(0, 4)):
        yield base | {
            "name": "feature_used",
            "feature": _pick(rng, spec["features"]),
            "occurred_at": moment + timedelta(minutes=rng.uniform(1, 50)),
        }
    if rng.random() < 0.08:
        yield base | {"name": "article_viewed", "occurred_at": moment + timedelta(minutes=3)}
    if price and age % 30 == 0:
        yield base | {
            "name": "payment",
            "revenue": price,
            "occurred_at": moment + timedelta(minutes=1),
        }


def make_exposures(
    spec: dict[str, Any], users: list[DemoUser], today: date
) -> list[dict[str, Any]]:
    rng = random.Random(spec["random_seed"] + 2)
    signups: dict[tuple[str, date], int] = {}
    for user in users:
        key = (user.fields["acquisition_channel"], user.fields["signed_up_at"].date())
        signups[key] = signups.get(key, 0) + 1
    exposures = []
    for offset in range(spec["signup_window_days"]):
        day = today - timedelta(days=offset)
        for channel, per_signup in spec["channel_exposure_per_signup"].items():
            base = signups.get((channel, day), 0) + rng.uniform(0.2, 1.2)
            exposures.append(
                {"channel": channel, "day": day, "impressions": int(base * per_signup)}
            )
    return exposures


def make_survey_answers(
    spec: dict[str, Any], comments: dict[str, Any], users: list[DemoUser], today: date
) -> list[dict[str, Any]]:
    rng = random.Random(spec["random_seed"] + 3)
    answers = []
    for user in users:
        loyal = user.fields["tier"] != "edge" and user.lifetime_days > 60
        if rng.random() < spec["nps_share"]:
            score = rng.choice([9, 10, 10, 8, 7] if loyal else [2, 5, 6, 7, 8, 9, 10])
            kind = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            answers.append(
                {
                    "external_id": user.external_id,
                    "kind": "nps",
                    "score": score,
                    "comment": rng.choice(comments["nps_comments"][kind]),
                    "responded_at": datetime.combine(today, datetime.min.time(), UTC)
                    - timedelta(days=rng.uniform(0, 60)),
                }
            )
        if rng.random() < spec["csat_share"]:
            score = rng.choice([4, 5, 5, 3] if loyal else [1, 2, 3, 4, 5])
            answers.append(
                {
                    "external_id": user.external_id,
                    "kind": "csat",
                    "score": score,
                    "comment": rng.choice(
                        comments["csat_comments"]["high" if score >= 4 else "low"]
                    ),
                    "responded_at": datetime.combine(today, datetime.min.time(), UTC)
                    - timedelta(days=rng.uniform(0, 60)),
                }
            )
    return answers
