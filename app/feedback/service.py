"""Feedback tickets: validation, the status workflow, replies, ratings, SLA and filtered
listing, article suggestions, and turning a solved ticket into an FAQ draft (知识沉淀)."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import Field, StringConstraints
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import replace_tags, tags_by_owner
from app.errors import Conflict, NotFound, ValidationFailed
from app.feedback.models import (
    Feedback,
    FeedbackChannel,
    FeedbackReply,
    FeedbackStatus,
    FeedbackStatusChange,
    FeedbackTag,
    FeedbackType,
    Priority,
)
from app.knowledge import service as knowledge
from app.knowledge.models import Article, ArticleTag, Language
from app.pagination import Ordering, Page, paginate
from app.search.engine import MAX_QUERY_CHARS
from app.search.sync import SearchIndex
from app.sqltypes import UTCDateTime, utcnow
from app.users import service as users
from app.validation import Input, Name, RowId, Tag, parse

logger = logging.getLogger("opsgraph.feedback")

MAX_TAGS = 20
MAX_SUGGESTIONS = 10
# The body's opening says what went wrong; more of it would outweigh title and tags.
SUGGESTION_BODY_CHARS = 200
DEFAULT_ARTICLE_CATEGORY = "general"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

Row = TypeVar("Row")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class FeedbackFields(Input):
    channel: FeedbackChannel
    type: FeedbackType
    title: Title
    body: str = Field(default="", max_length=20_000)
    priority: Priority = Priority.NORMAL
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)


class FeedbackCreate(FeedbackFields):
    user_id: RowId | None = None
    user_external_id: str | None = Field(default=None, min_length=1, max_length=128)


class FeedbackUpdate(FeedbackFields):
    channel: FeedbackChannel | None = None  # type: ignore[assignment]
    type: FeedbackType | None = None  # type: ignore[assignment]
    title: Title | None = None  # type: ignore[assignment]
    body: str | None = Field(default=None, max_length=20_000)  # type: ignore[assignment]
    priority: Priority | None = None  # type: ignore[assignment]
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)  # type: ignore[assignment]
    assignee: Name | None = None


class FeedbackFilter(Input):
    status: FeedbackStatus | None = None
    type: FeedbackType | None = None
    channel: FeedbackChannel | None = None
    priority: Priority | None = None
    tag: str | None = None
    assignee: str | None = None
    user_id: RowId | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = Field(default=None, max_length=300)
    overdue: bool | None = None


class Assignment(Input):
    assignee: Name | None
    expected_version: int | None = None


class Reply(Input):
    body: Text


class Resolution(Input):
    note: Text


class Reopening(Input):
    note: Text | None = None


class Rating(Input):
    score: int = Field(ge=1, le=5)


class FeedbackOrder(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    ID = "id"


ORDERINGS = {
    FeedbackOrder.CREATED_AT: (Feedback.created_at, Feedback.id),
    FeedbackOrder.UPDATED_AT: (Feedback.updated_at, Feedback.id),
    FeedbackOrder.ID: (Feedback.id,),
}

# Filter fields compared for equality with one column each.
EQUALITY_FILTERS = {
    "status": Feedback.status,
    "type": Feedback.type,
    "channel": Feedback.channel,
    "priority": Feedback.priority,
    "assignee": Feedback.assignee,
    "user_id": Feedback.user_id,
}

_S = FeedbackStatus
TRANSITIONS: dict[FeedbackStatus, frozenset[FeedbackStatus]] = {
    _S.OPEN: frozenset({_S.IN_PROGRESS, _S.RESOLVED}),
    _S.IN_PROGRESS: frozenset({_S.RESOLVED}),
    _S.RESOLVED: frozenset({_S.CLOSED, _S.OPEN}),
    _S.CLOSED: frozenset({_S.OPEN}),
}


# Work on these is over: they are never overdue, and they can become articles.
DONE = (FeedbackStatus.RESOLVED, FeedbackStatus.CLOSED)


def ensure_transition(current: FeedbackStatus, target: FeedbackStatus) -> None:
    """The workflow of the handbook's feedback loop (反馈闭环).

    open → in_progress (the first agent reply) → resolved → closed; a resolved or closed
    ticket may be reopened to open. An agent may also resolve an open ticket directly,
    since the handbook counts a question answered on first contact as solved. Nothing
    else moves: a ticket is closed only once resolved, and never goes back to open
    from in_progress.
    """
    if target not in TRANSITIONS[current]:
        raise Conflict(f"cannot move feedback from {current.value} to {target.value}")


async def get_feedback(session: AsyncSession, *, feedback_id: int) -> Feedback:
    ticket = await session.get(Feedback, feedback_id)
    if ticket is None:
        raise NotFound(f"no feedback with id {feedback_id}", field="id")
    return ticket


# --- SLA (服务时效) ---------------------------------------------------------------
def due_at(ticket: Feedback, sla_hours: Mapping[str, int]) -> datetime:
    """When the ticket should be resolved: its creation plus its priority's SLA."""
    return ticket.created_at + timedelta(hours=sla_hours[ticket.priority])


def is_overdue(ticket: Feedback, sla_hours: Mapping[str, int], now: datetime) -> bool:
    """Still being worked on and past its due time (a ticket due exactly now is not)."""
    return ticket.status not in DONE and now > due_at(ticket, sla_hours)


def overdue_condition(sla_hours: Mapping[str, int], now: datetime) -> ColumnElement[bool]:
    """is_overdue in SQL. now > created_at + SLA is created_at < now − SLA: the priority
    picks its cutoff in a CASE, and no database needs date arithmetic."""
    cutoff = case(
        {
            priority: literal(now - timedelta(hours=hours), UTCDateTime)
            for priority, hours in sla_hours.items()
        },
        value=Feedback.priority,
    )
    return and_(Feedback.status.not_in(DONE), Feedback.created_at < cutoff)  # type: ignore[attr-defined]


async def list_feedback(
    session: AsyncSession,
    *,
    filter: dict[str, Any],
    order: FeedbackOrder,
    descending: bool,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
    sla_hours: Mapping[str, int],
    now: datetime | None = None,
) -> Page[Feedback]:
    criteria = parse(FeedbackFilter, filter, prefix="filter")
    stmt = select(Feedback)
    for name, column in EQUALITY_FILTERS.items():
        value = getattr(criteria, name)
        if value is not None:
            stmt = stmt.where(column == value)
    if criteria.tag is not None:
        stmt = stmt.where(
            Feedback.id.in_(select(FeedbackTag.feedback_id).where(FeedbackTag.tag == criteria.tag))  # type: ignore[union-attr]
        )
    if criteria.created_from is not None:
        stmt = stmt.where(Feedback.created_at >= criteria.created_from)
    if criteria.created_to is not None:
        stmt = stmt.where(Feedback.created_at <= criteria.created_to)
    if criteria.search:
        stmt = stmt.where(
            func.lower(Feedback.title).contains(criteria.search.strip().lower(), autoescape=True)
        )
    if criteria.overdue is not None:
        overdue = overdue_condition(sla_hours, now or utcnow())
        stmt = stmt.where(overdue if criteria.overdue else not_(overdue))
    return await paginate(
        session,
        stmt,
        ordering=Ordering(ORDERINGS[order], descending=descending),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


async def _reporter_id(session: AsyncSession, fields: FeedbackCreate) -> int | None:
    if fields.user_id is not None and fields.user_external_id is not None:
        raise ValidationFailed(
            "give at most one of userId and userExternalId", field="input.userExternalId"
        )
    if fields.user_id is None and fields.user_external_id is None:
        return None
    try:
        user = await users.get_user(
            session, user_id=fields.user_id, external_id=fields.user_external_id
        )
    except NotFound as error:
        field = "input.userId" if fields.user_id is not None else "input.userExternalId"
        raise NotFound(str(error), field=field) from None
    return user.id


def _record(
    session: AsyncSession,
    ticket: Feedback,
    actor: str,
    *,
    from_status: FeedbackStatus | None,
    note: str | None = None,
) -> None:
    session.add(
        FeedbackStatusChange(
            feedback_id=ticket.id,
            from_status=from_status,
            to_status=ticket.status,
            actor=actor,
            note=note,
        )
    )


async def create_feedback(session: AsyncSession, actor: str, *, data: dict[str, Any]) -> Feedback:
    fields = parse(FeedbackCreate, data, prefix="input")
    ticket = Feedback(
        **fields.model_dump(exclude={"tags", "user_id", "user_external_id"}),
        user_id=await _reporter_id(session, fields),
    )
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None
    await replace_tags(session, FeedbackTag.feedback_id, ticket.id, fields.tags)
    _record(session, ticket, actor, from_status=None)
    return ticket


async def _save(session: AsyncSession, ticket: Feedback, **values: Any) -> Feedback:
    """Write `values` only if the ticket is still at the version this transaction read.

    The conditional UPDATE makes concurrent writers safe without row locks: of two agents
    acting on the same version, the second updates no row and gets a Conflict.
    """
    saved = await session.scalar(
        update(Feedback)
        .where(Feedback.id == ticket.id, Feedback.version == ticket.version)  # type: ignore[arg-type]
        .values(**values, updated_at=utcnow(), version=Feedback.version + 1)
        .returning(Feedback)
        .execution_options(populate_existing=True)
    )
    if saved is None:
        raise Conflict("the ticket changed meanwhile; reload and retry")
    return saved


async def _move(
    session: AsyncSession,
    actor: str,
    ticket: Feedback,
    target: FeedbackStatus,
    *,
    note: str | None = None,
    **values: Any,
) -> Feedback:
    """Change the status (with `values`) and append the change to the ticket's history."""
    current = FeedbackStatus(ticket.status)
    ensure_transition(current, target)
    saved = await _save(session, ticket, status=target, **values)
    _record(session, saved, actor, from_status=current, note=note)
    return saved


async def update_feedback(
    session: AsyncSession, *, feedback_id: int, data: dict[str, Any]
) -> Feedback:
    changes = parse(FeedbackUpdate, data, prefix="input").model_dump(exclude_unset=True)
    for required in ("channel", "type", "title", "body", "priority", "tags"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null", field=f"input.{required}")
    ticket = await get_feedback(session, feedback_id=feedback_id)
    tags = changes.pop("tags", None)
    if tags is not None:
        await replace_tags(session, FeedbackTag.feedback_id, feedback_id, tags)
    return await _save(session, ticket, **changes)


async def delete_feedback(session: AsyncSession, *, feedback_id: int) -> int:
    ticket = await get_feedback(session, feedback_id=feedback_id)
    await session.delete(ticket)
    return feedback_id


async def assign_feedback(
    session: AsyncSession,
    *,
    feedback_id: int,
    assignee: str | None,
    expected_version: int | None = None,
) -> Feedback:
    """Sets or (with None) clears the agent responsible; the status is unchanged.

    With `expected_version` (the version the agent's screen shows) the assignment applies
    only to that version: of two agents claiming the same ticket, one wins and the other
    gets a Conflict, however the two requests interleave.
    """
    fields = parse(Assignment, {"assignee": assignee, "expected_version": expected_version})
    ticket = await get_feedback(session, feedback_id=feedback_id)
    if fields.expected_version is not None and fields.expected_version != ticket.version:
        raise Conflict(
            f"the ticket is at version {ticket.version}, not {fields.expected_version}; "
            "reload and retry",
            field="expectedVersion",
        )
    return await _save(session, ticket, assignee=fields.assignee)


async def reply_to_feedback(
    session: AsyncSession, actor: str, *, feedback_id: int, body: str
) -> Feedback:
    """An agent's reply, taken in any status. The first one ever sets the first-response
    time (kept through reopenings); a reply to an open ticket starts work on it
    (→ in_progress), any other reply moves nothing."""
    fields = parse(Reply, {"body": body})
    ticket = await get_feedback(session, feedback_id=feedback_id)
    session.add(FeedbackReply(feedback_id=feedback_id, author=actor, body=fields.body))
    first_response = {"first_response_at": utcnow()} if ticket.first_response_at is None else {}
    if ticket.status == FeedbackStatus.OPEN:
        return await _move(session, actor, ticket, FeedbackStatus.IN_PROGRESS, **first_response)
    return await _save(session, ticket, **first_response)


async def resolve_feedback(
    session: AsyncSession, actor: str, *, feedback_id: int, note: str
) -> Feedback:
    fields = parse(Resolution, {"note": note})
    ticket = await get_feedback(session, feedback_id=feedback_id)
    return await _move(
        session,
        actor,
        ticket,
        FeedbackStatus.RESOLVED,
        note=fields.note,
        resolution_note=fields.note,
        resolved_at=utcnow(),
    )


async def close_feedback(session: AsyncSession, actor: str, *, feedback_id: int) -> Feedback:
    ticket = await get_feedback(session, feedback_id=feedback_id)
    return await _move(session, actor, ticket, FeedbackStatus.CLOSED)


async def reopen_feedback(
    session: AsyncSession, actor: str, *, feedback_id: int, note: str | None
) -> Feedback:
    """Back to open. The resolution did not hold, so its note and time are cleared; the
    history keeps them. A satisfaction score already given stays."""
    fields = parse(Reopening, {"note": note})
    ticket = await get_feedback(session, feedback_id=feedback_id)
    return await _move(
        session,
        actor,
        ticket,
        FeedbackStatus.OPEN,
        note=fields.note,
        resolution_note=None,
        resolved_at=None,
    )


async def rate_feedback(session: AsyncSession, *, feedback_id: int, score: int) -> Feedback:
    """The user's satisfaction (1–5), once per ticket, only after it was resolved."""
    fields = parse(Rating, {"score": score})
    ticket = await get_feedback(session, feedback_id=feedback_id)
    if ticket.status not in (FeedbackStatus.RESOLVED, FeedbackStatus.CLOSED):
        raise Conflict(f"feedback {feedback_id} is {ticket.status}; rate it once resolved")
    if ticket.satisfaction is not None:
        raise Conflict(f"feedback {feedback_id} was already rated {ticket.satisfaction}")
    return await _save(session, ticket, satisfaction=fields.score)


# --- knowledge: suggestions while answering, and articles from solved tickets -------
def suggestion_query(ticket: Feedback, tags: Sequence[str]) -> str:
    """Search text for a ticket: title and tags say what it is about, the body's opening
    adds detail. Cut to what the search engine reads (it keeps the first terms)."""
    text = " ".join([ticket.title, *tags, ticket.body[:SUGGESTION_BODY_CHARS]])
    return text[:MAX_QUERY_CHARS]


async def suggested_articles(
    session: AsyncSession,
    index: SearchIndex,
    *,
    ticket: Feedback,
    tags: Sequence[str],
    first: int,
) -> list[Article]:
    """The published articles that best match the ticket, best first. An agent can answer
    without suggestions: when the search fails the ticket still loads, with none."""
    if not 0 <= first <= MAX_SUGGESTIONS:
        raise ValidationFailed(f"first must be between 0 and {MAX_SUGGESTIONS}", field="first")
    if first == 0:
        return []
    try:
        page = await knowledge.search_articles(
            session,
            index,
            data={"query": suggestion_query(ticket, tags), "first": first},
            include_unpublished=False,
            after=None,
        )
    except Exception:
        logger.exception("article suggestions for feedback %s failed", ticket.id)
        return []
    return [item.article for item in page.items]


class Conversion(Input):
    category: knowledge.Category | None = None


def _language(text: str) -> Language:
    return Language.ZH if _CJK.search(text) else Language.EN


def article_body(ticket: Feedback, language: Language) -> str:
    """Markdown: the problem as the user told it (when they wrote more than a title), then
    how it was solved."""
    problem, solution = ("问题", "解决方案") if language == Language.ZH else ("Problem", "Solution")
    sections = [(problem, ticket.body.strip()), (solution, (ticket.resolution_note or "").strip())]
    return "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections if text) + "\n"


async def _likely_category(session: AsyncSession, tags: Sequence[str]) -> str:
    """The category most articles with the same tags are in, so the draft lands among its
    kind; DEFAULT_ARTICLE_CATEGORY when no article shares a tag."""
    if not tags:
        return DEFAULT_ARTICLE_CATEGORY
    category = await session.scalar(
        select(Article.category)
        .join(ArticleTag, ArticleTag.article_id == Article.id)  # type: ignore[arg-type]
        .where(ArticleTag.tag.in_(tags))  # type: ignore[attr-defined]
        .group_by(Article.category)
        .order_by(func.count().desc(), Article.category)
        .limit(1)
    )
    return category or DEFAULT_ARTICLE_CATEGORY


async def convert_to_article(
    session: AsyncSession, actor: str, *, feedback_id: int, category: str | None = None
) -> Article:
    """An FAQ draft from a resolved or closed ticket: its title, its body and resolution
    note as Markdown, its tags, linked back to it. Once per ticket."""
    fields = parse(Conversion, {"category": category})
    try:
        ticket = await get_feedback(session, feedback_id=feedback_id)
    except NotFound as error:
        raise NotFound(str(error), field="feedbackId") from None
    if ticket.status not in DONE:
        raise Conflict(
            f"feedback {feedback_id} is {ticket.status}; only a resolved or closed ticket "
            "becomes an article",
            field="feedbackId",
        )
    existing = await session.scalar(
        select(Article.id).where(Article.source_feedback_id == feedback_id).limit(1)
    )
    if existing is not None:
        raise Conflict(f"feedback {feedback_id} is already article {existing}", field="feedbackId")
    # A version bump serialises conversions of one ticket: the second of two concurrent
    # ones finds the version moved and gets a Conflict instead of making a second draft.
    ticket = await _save(session, ticket)
    tags = (await tags_by_feedback(session, [feedback_id])).get(feedback_id, [])
    language = _language(f"{ticket.title} {ticket.body}")
    article = await knowledge.create_article(
        session,
        actor,
        data={
            "title": ticket.title,
            "body": article_body(ticket, language),
            "category": fields.category or await _likely_category(session, tags),
            "language": language,
            "tags": tags,
        },
    )
    article.source_feedback_id = feedback_id
    await session.flush()
    return article


# --- batch loads for the API -----------------------------------------------------
async def feedback_by_id(session: AsyncSession, feedback_ids: Sequence[int]) -> dict[int, Feedback]:
    rows = await session.scalars(select(Feedback).where(Feedback.id.in_(feedback_ids)))  # type: ignore[union-attr]
    return {ticket.id: ticket for ticket in rows}  # type: ignore[misc]


async def _grouped(
    session: AsyncSession, stmt: Select[tuple[Row]], key: Callable[[Row], int]
) -> dict[int, list[Row]]:
    groups: dict[int, list[Row]] = defaultdict(list)
    for row in await session.scalars(stmt):
        groups[key(row)].append(row)
    return groups


async def feedback_by_user(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, list[Feedback]]:
    """Each user's tickets, newest first."""
    return await _grouped(
        session,
        select(Feedback)
        .where(Feedback.user_id.in_(user_ids))  # type: ignore[union-attr]
        .order_by(Feedback.created_at.desc(), Feedback.id.desc()),  # type: ignore[attr-defined,union-attr]
        lambda ticket: ticket.user_id,  # type: ignore[arg-type,return-value]
    )


async def tags_by_feedback(
    session: AsyncSession, feedback_ids: Sequence[int]
) -> dict[int, list[str]]:
    return await tags_by_owner(session, FeedbackTag.feedback_id, feedback_ids)


async def replies_by_feedback(
    session: AsyncSession, feedback_ids: Sequence[int]
) -> dict[int, list[FeedbackReply]]:
    """Each ticket's replies, oldest first."""
    return await _grouped(
        session,
        select(FeedbackReply)
        .where(FeedbackReply.feedback_id.in_(feedback_ids))  # type: ignore[attr-defined]
        .order_by(FeedbackReply.created_at, FeedbackReply.id),
        lambda reply: reply.feedback_id,
    )


async def history_by_feedback(
    session: AsyncSession, feedback_ids: Sequence[int]
) -> dict[int, list[FeedbackStatusChange]]:
    """Each ticket's status changes, oldest first."""
    return await _grouped(
        session,
        select(FeedbackStatusChange)
        .where(FeedbackStatusChange.feedback_id.in_(feedback_ids))  # type: ignore[attr-defined]
        .order_by(FeedbackStatusChange.changed_at, FeedbackStatusChange.id),
        lambda change: change.feedback_id,
    )
