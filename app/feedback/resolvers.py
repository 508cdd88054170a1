"""GraphQL fields for feedback: thin, each one calls one service function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Info

from app.api.connection import Connection
from app.api.mutations import mutate, provided
from app.api.payloads import DeletePayload, parse_id
from app.api.permissions import requires
from app.auth.roles import Permission
from app.errors import NotFound
from app.feedback import models, service, trends
from app.feedback.types import (
    CreateFeedbackInput,
    FeedbackFilter,
    FeedbackKind,
    FeedbackOrderBy,
    FeedbackPayload,
    FeedbackTrendsType,
    FeedbackType,
    UpdateFeedbackInput,
)
from app.knowledge.types import ArticlePayload, ArticleType


def _actor(info: Info) -> str:
    """Who is recorded in history and replies: the API key's name (the permission check
    has already ensured there is one)."""
    return str(info.context.actor.name)


async def _ticket(
    info: Info, work: Callable[[AsyncSession], Awaitable[models.Feedback]]
) -> FeedbackPayload:
    return await mutate(
        info,
        work,
        ok=lambda row: FeedbackPayload(feedback=FeedbackType.of(row)),
        failed=FeedbackPayload,
    )


@strawberry.type
class Query:
    @strawberry.field(extensions=requires(Permission.FEEDBACK_READ))
    async def feedback_items(
        self,
        info: Info,
        filter: FeedbackFilter | None = None,
        order_by: FeedbackOrderBy | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[FeedbackType]:
        order_by = order_by or FeedbackOrderBy()
        db = info.context.db
        async with db.read() as session:
            page = await service.list_feedback(
                session,
                filter=provided(filter) if filter else {},
                order=service.FeedbackOrder(order_by.field),
                descending=order_by.descending,
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
                sla_hours=info.context.settings.sla_hours,
            )
        return Connection.of(page, FeedbackType.of)

    @strawberry.field(
        extensions=requires(Permission.FEEDBACK_READ),
        description="One ticket by id; null when there is none.",
    )
    async def feedback(self, info: Info, id: strawberry.ID) -> FeedbackType | None:
        try:
            async with info.context.db.read() as session:
                row = await service.get_feedback(session, feedback_id=parse_id(id))
        except NotFound:
            return None
        return FeedbackType.of(row)

    @strawberry.field(
        extensions=requires(Permission.FEEDBACK_READ),
        description="Recurring demands and problems: the feedback created in [from, to) "
        "grouped by tag (by normalised title when untagged), largest first, each compared "
        "with the period of equal length before. `first` groups, at most 100.",
    )
    async def feedback_trends(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        type: FeedbackKind | None = None,  # type: ignore[valid-type]
        first: int = 20,
    ) -> FeedbackTrendsType:
        data = {"from": from_, "to": to, "type": type.value if type else None, "first": first}
        async with info.context.db.read() as session:
            result = await trends.feedback_trends(session, data=data)
        return FeedbackTrendsType.of(result)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE),
        description="Opens a ticket; the history records its creation by the caller.",
    )
    async def create_feedback(self, info: Info, input: CreateFeedbackInput) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.create_feedback(session, _actor(info), data=provided(input)),
        )

    @strawberry.mutation(extensions=requires(Permission.FEEDBACK_WRITE))
    async def update_feedback(
        self, info: Info, id: strawberry.ID, input: UpdateFeedbackInput
    ) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.update_feedback(
                session, feedback_id=parse_id(id), data=provided(input)
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE),
        description="Deletes the ticket with its tags, replies and history.",
    )
    async def delete_feedback(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await mutate(
            info,
            lambda session: service.delete_feedback(session, feedback_id=parse_id(id)),
            ok=DeletePayload.of,
            failed=DeletePayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE),
        description="Sets the responsible agent, or clears it with null. With "
        "expectedVersion, only if the ticket is still at that version (a conflict "
        "otherwise): of two agents taking the same ticket, one wins.",
    )
    async def assign_feedback(
        self,
        info: Info,
        id: strawberry.ID,
        assignee: str | None = None,
        expected_version: int | None = None,
    ) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.assign_feedback(
                session,
                feedback_id=parse_id(id),
                assignee=assignee,
                expected_version=expected_version,
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE),
        description="An agent's reply. The first sets firstResponseAt; "
        "replying to an open ticket moves it to in_progress.",
    )
    async def reply_to_feedback(self, info: Info, id: strawberry.ID, body: str) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.reply_to_feedback(
                session, _actor(info), feedback_id=parse_id(id), body=body
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE),
        description="From open or in_progress; the note says how it was solved.",
    )
    async def resolve_feedback(self, info: Info, id: strawberry.ID, note: str) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.resolve_feedback(
                session, _actor(info), feedback_id=parse_id(id), note=note
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE), description="Only a resolved ticket."
    )
    async def close_feedback(self, info: Info, id: strawberry.ID) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.close_feedback(session, _actor(info), feedback_id=parse_id(id)),
        )

    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE),
        description="A resolved or closed ticket back to open; clears the resolution.",
    )
    async def reopen_feedback(
        self, info: Info, id: strawberry.ID, note: str | None = None
    ) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.reopen_feedback(
                session, _actor(info), feedback_id=parse_id(id), note=note
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.FEEDBACK_WRITE),
        description="The user's satisfaction, 1 to 5: once, after resolution.",
    )
    async def rate_feedback(self, info: Info, id: strawberry.ID, score: int) -> FeedbackPayload:
        return await _ticket(
            info,
            lambda session: service.rate_feedback(session, feedback_id=parse_id(id), score=score),
        )

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="Turns a resolved or closed ticket into an FAQ article draft (知识沉淀): "
        "its title, its body and resolution note as Markdown, its tags, linked both ways "
        "(Feedback.article, Article.sourceFeedback). Once per ticket. Without a category, "
        "the one most articles with the same tags are in, else `general`.",
    )
    async def convert_feedback_to_article(
        self, info: Info, feedback_id: strawberry.ID, category: str | None = None
    ) -> ArticlePayload:
        payload = await mutate(
            info,
            lambda session: service.convert_to_article(
                session,
                _actor(info),
                feedback_id=parse_id(feedback_id, field="feedbackId"),
                category=category,
            ),
            ok=lambda row: ArticlePayload(article=ArticleType.of(row)),
            failed=ArticlePayload,
        )
        if not payload.user_errors:  # the new draft goes to the search index, as any article
            await info.context.index.sync_after_commit(info.context.db)
        return payload
