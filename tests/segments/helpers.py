"""A small population with known answers: users, events, NPS answers and feedback, written
as rows, plus the same facts as plain Python so tests can compute membership on their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.campaigns.models import Campaign
from app.db import Database
from app.events.models import Event
from app.feedback.models import Feedback
from app.segments import service
from app.segments.models import Segment
from app.segments.rules import compile_rule
from app.surveys.models import SurveyResponse
from app.users.models import User, UserTag

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@dataclass
class Person:
    external_id: str
    tier: str
    channel: str | None
    region: str | None
    plan: str | None
    properties: dict[str, Any]
    signed_up_days_ago: float
    last_active_days_ago: float | None
    tags: list[str] = field(default_factory=list)
    events: list[tuple[str, str | None, float]] = field(
        default_factory=list
    )  # name, feature, days ago
    nps: list[tuple[int, float]] = field(default_factory=list)  # score, days ago
    feedback: list[str] = field(default_factory=list)  # statuses

    def gantt_within(self, days: float) -> int:
        return sum(
            1 for n, f, d in self.events if (n, f) == ("feature_used", "gantt_view") and d <= days
        )

    def latest_nps(self) -> int | None:
        return min(self.nps, key=lambda answer: answer[1])[0] if self.nps else None

    def idle_days(self) -> int | None:
        last = self.last_active_days_ago
        return None if last is None else int(last)


GANTT = ("feature_used", "gantt_view")
PEOPLE = [
    Person(
        "ann",
        "core",
        "search",
        "East",
        "pro",
        {"department": "PMO", "seats": 12, "beta": True},
        400,
        2,
        ["vip", "pm"],
        events=[(*GANTT, 1), (*GANTT, 3), (*GANTT, 13), ("login", None, 2)],
        nps=[(3, 90), (9, 10)],
        feedback=["open"],
    ),
    Person(
        "bob",
        "core",
        "social",
        "West",
        None,
        {"department": "R&D", "seats": "12"},
        20,
        15,
        ["pm"],
        events=[(*GANTT, 15), (*GANTT, 16), (*GANTT, 17), ("login", None, 15)],
        nps=[(7, 5)],
        feedback=["resolved"],
    ),
    Person(
        "cai",
        "backbone",
        "partner",
        "east",
        "free",
        {"department": "pmo office", "seats": 3.5},
        5,
        None,
        [],
        events=[(*GANTT, 1), (*GANTT, 2), (*GANTT, 3), (*GANTT, 4), (*GANTT, 5)],
        nps=[(10, 4), (2, 1)],
        feedback=["in_progress", "closed"],
    ),
    Person(
        "dan",
        "edge",
        None,
        None,
        None,
        {},
        100,
        40,
        ["trial"],
        events=[("login", None, 40)],
        feedback=["closed"],
    ),
    Person(
        "eve",
        "backbone",
        "referral",
        "East",
        "pro",
        {"seats": 40, "beta": False, "department": 7},
        60,
        14.5,
        ["vip"],
        events=[("feature_used", "kanban", 14.5), (*GANTT, 30)],
        nps=[(6, 20)],
    ),
    Person(
        "fay",
        "edge",
        "campaign",
        "North",
        "pro",
        {"department": "Sales"},
        2,
        0.5,
        [],
        events=[(*GANTT, 0.5)],
    ),
]
EVERYONE = {p.external_id for p in PEOPLE}


async def populate(db: Database) -> dict[str, int]:
    """Writes PEOPLE (and one anonymous open ticket); returns user ids by external id."""
    ids: dict[str, int] = {}
    async with db.unit_of_work() as session:
        for p in PEOPLE:
            user = User(
                external_id=p.external_id,
                name=p.external_id.title(),
                tier=p.tier,
                acquisition_channel=p.channel,
                region=p.region,
                plan=p.plan,
                properties=p.properties,
                signed_up_at=ago(p.signed_up_days_ago),
                last_active_at=None
                if p.last_active_days_ago is None
                else ago(p.last_active_days_ago),
            )
            session.add(user)
            await session.flush()
            assert user.id is not None
            ids[p.external_id] = user.id
            session.add_all(UserTag(user_id=user.id, tag=t) for t in p.tags)
            session.add_all(
                Event(user_id=user.id, name=n, feature=f, occurred_at=ago(d))
                for n, f, d in p.events
            )
            session.add_all(
                SurveyResponse(user_id=user.id, kind="nps", score=s, responded_at=ago(d))
                for s, d in p.nps
            )
            session.add_all(
                Feedback(user_id=user.id, channel="email", type="bug", title="t", status=s)
                for s in p.feedback
            )
        # A CSAT answer is not an NPS answer; anonymous feedback belongs to nobody.
        session.add(SurveyResponse(user_id=ids["dan"], kind="csat", score=5, responded_at=NOW))
        session.add(
            Feedback(user_id=None, channel="email", type="bug", title="anon", status="open")
        )
    return ids


async def matching(db: Database, rule: Any, segments: dict[str, Any] | None = None) -> set[str]:
    """External ids of the users a rule matches at NOW."""
    async with db.read() as session:
        condition = compile_rule(rule, now=NOW, segments=segments)
        return set((await session.scalars(select(User.external_id).where(condition))).all())


async def add_segment(db: Database, key: str, rule: dict[str, Any], **extra: Any) -> Segment:
    async with db.unit_of_work() as session:
        return await service.create_segment(
            session, data={"key": key, "name": key.title(), "rule": rule, **extra}
        )


async def add_campaign(db: Database, key: str, segment_id: int) -> None:
    async with db.unit_of_work() as session:
        session.add(
            Campaign(
                key=key, name=key, goal="activity", form="lottery", target_segment_id=segment_id
            )
        )
