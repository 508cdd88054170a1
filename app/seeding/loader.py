"""Loads seeds/ through the domain services, so the demo data obeys the same rules as the API.

Idempotent: what exists (by external id, slug or key) is left alone; events and survey
answers are generated only for users this run created.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from tqdm import tqdm

import app.models  # noqa: F401  (every table, for foreign keys across domains)
from app.db import Database
from app.events import service as events
from app.feedback import service as feedback
from app.feedback.models import Feedback
from app.knowledge import service as knowledge
from app.knowledge.models import Article
from app.knowledge.service import ArticleAction
from app.seeding import population
from app.seeding.campaigns import seed_campaigns
from app.segments import service as segments
from app.segments.models import Segment
from app.settings import Settings
from app.surveys import service as surveys
from app.users import service as users
from app.users.models import User

SEEDS = Path(__file__).resolve().parent.parent.parent / "seeds"
EVENT_BATCH = 5000
Item = TypeVar("Item")


def _load(name: str) -> Any:
    return json.loads((SEEDS / name).read_text(encoding="utf-8"))


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _bar(total: int, label: str) -> tqdm:  # type: ignore[type-arg]
    return tqdm(total=total, desc=f"{label:<10}", unit="", leave=True, dynamic_ncols=True)


SEED_ACTOR = "demo seed"
AGENT = "客服小王"


async def _seed_feedback(db: Database, demo: list[population.DemoUser]) -> int:
    """Tickets walk the real workflow: created, answered, resolved, closed, rated."""
    tickets = _load("feedback.json")
    async with db.read() as session:
        if await session.scalar(select(Feedback.id).where(Feedback.title == tickets[0]["title"])):
            return 0
    with _bar(len(tickets), "feedback") as bar:
        for n, ticket in enumerate(tickets):
            async with db.unit_of_work() as session:
                row = await feedback.create_feedback(
                    session,
                    SEED_ACTOR,
                    data={
                        "user_external_id": demo[(n * 37) % len(demo)].external_id,
                        **{
                            k: ticket[k]
                            for k in ("title", "body", "type", "channel", "priority", "tags")
                        },
                    },
                )
                assert row.id is not None
                for reply in ticket["replies"]:
                    await feedback.reply_to_feedback(session, AGENT, feedback_id=row.id, body=reply)
                if ticket["status"] in ("resolved", "closed"):
                    await feedback.resolve_feedback(
                        session, AGENT, feedback_id=row.id, note=ticket["resolution_note"]
                    )
                if ticket["status"] == "closed":
                    await feedback.close_feedback(session, AGENT, feedback_id=row.id)
                if ticket["satisfaction"]:
                    await feedback.rate_feedback(
                        session, feedback_id=row.id, score=ticket["satisfaction"]
                    )
            bar.update()
    return len(tickets)


async def _seed_segments(db: Database) -> int:
    async with db.unit_of_work() as session:
        before = set((await session.scalars(select(Segment.key))).all())
        await segments.ensure_builtin_segments(session)
        for segment in _load("segments.json"):
            if segment["key"] not in before:
                await segments.create_segment(session, data=segment)
        after = set((await session.scalars(select(Segment.key))).all())
    return len(after - before)


# The review steps that take a new draft to each status the seed file asks for.
STEPS_TO = {
    "draft": [],
    "in_review": [ArticleAction.SUBMIT],
    "published": [ArticleAction.SUBMIT, ArticleAction.PUBLISH],
    "archived": [ArticleAction.SUBMIT, ArticleAction.PUBLISH, ArticleAction.ARCHIVE],
}
AUTHOR, REVIEWER = "知识库编辑 Lin", "运营主管 Zhou"


async def _seed_articles(db: Database) -> int:
    articles = _load("articles.json")
    async with db.read() as session:
        existing = set((await session.scalars(select(Article.slug))).all())
    new = [a for a in articles if a["slug"] not in existing]
    with _bar(len(new), "articles") as bar:
        for article in new:
            async with db.unit_of_work() as session:
                row = await knowledge.create_article(
                    session, AUTHOR, data={k: v for k, v in article.items() if k != "status"}
                )
                assert row.id is not None
                for step in STEPS_TO[article["status"]]:
                    await knowledge.change_status(session, REVIEWER, article_id=row.id, action=step)
            bar.update()
    return len(new)


async def _seed_surveys(
    db: Database, spec: dict[str, Any], new_users: list[population.DemoUser], today: date
) -> int:
    answers = population.make_survey_answers(spec, _load("surveys.json"), new_users, today)
    with _bar(len(answers), "surveys") as bar:
        for chunk in _chunks(answers, 100):
            async with db.unit_of_work() as session:
                for answer in chunk:
                    await surveys.submit_response(session, data=answer)
            bar.update(len(chunk))
    return len(answers)


async def seed(settings: Settings) -> dict[str, int]:
    """Seeds the database; returns how many rows of each kind were created."""
    db = Database(settings.database_url)
    today = datetime.now(settings.tz).date()
    spec = _load("population.json")
    created: dict[str, int] = {}
    try:
        demo = population.make_users(spec, today)
        async with db.read() as session:
            existing = set(
                (
                    await session.scalars(
                        select(User.external_id).where(
                            User.external_id.in_([u.external_id for u in demo])
                        )
                    )
                ).all()
            )
        new_users = [u for u in demo if u.external_id not in existing]
        with _bar(len(new_users), "users") as bar:
            for chunk in _chunks(new_users, 100):
                async with db.unit_of_work() as session:
                    for user in chunk:
                        await users.create_user(session, data=user.fields)
                bar.update(len(chunk))
        created["users"] = len(new_users)

        all_events = list(population.make_events(spec, new_users, today))
        with _bar(len(all_events), "events") as bar:
            for chunk in _chunks(all_events, EVENT_BATCH):
                async with db.unit_of_work() as session:
                    result = await events.track_events(
                        session,
                        events=chunk,
                        idempotency_key=None,
                        api_key_id=None,
                        max_batch=EVENT_BATCH,
                    )
                if result.rejected:
                    raise RuntimeError(f"seed events rejected: {result.rejected[:3]}")
                bar.update(len(chunk))
        created["events"] = len(all_events)

        created["segments"] = await _seed_segments(db)
        created["articles"] = await _seed_articles(db)
        created["feedback"] = await _seed_feedback(db, demo)
        created["campaigns"] = await seed_campaigns(db, demo, _load("campaigns.json"), today)
        created["survey answers"] = await _seed_surveys(db, spec, new_users, today)

        exposures = population.make_exposures(spec, demo, today) if new_users else []
        async with db.unit_of_work() as session:
            created["channel exposures"] = await events.record_channel_exposures(
                session, exposures=exposures
            )
    finally:
        await db.dispose()
    return created
