"""GraphQL fields for FAQ articles: thin, each one calls one service function; every
committed write is then applied to the search index."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Info

from app.api.connection import Connection
from app.api.context import Context
from app.api.errors import ClientError
from app.api.mutations import mutate, provided
from app.api.payloads import DeletePayload, parse_id, parse_optional_id
from app.api.permissions import requires
from app.api.response_cache import RECORDS_ACTIVITY
from app.auth.roles import Permission
from app.errors import NotFound
from app.knowledge import models, service
from app.knowledge.types import (
    ArticleFilter,
    ArticleOrderBy,
    ArticlePayload,
    ArticleSearchConnection,
    ArticleType,
    CreateArticleInput,
    Language,
    SearchInsightsType,
    SearchSynonyms,
    SearchSynonymsPayload,
    UpdateArticleInput,
)

Result = TypeVar("Result")
Payload = TypeVar("Payload", ArticlePayload, DeletePayload)

IncludeUnpublished = Annotated[
    bool,
    strawberry.argument(
        description="Also drafts, articles in review and archived ones: editors only."
    ),
]


def _include_unpublished(info: Info, asked: bool) -> bool:
    """Unpublished articles are for editors; asking for them without the right is an error,
    not a silently published-only answer."""
    if asked and not info.context.actor.can(Permission.ARTICLES_WRITE):
        raise ClientError(
            "only editors (articles:write) may see unpublished articles",
            "FORBIDDEN",
            permission=Permission.ARTICLES_WRITE.value,
        )
    return asked


Since = Annotated[datetime, strawberry.argument(name="from", description="Included.")]
Until = Annotated[datetime, strawberry.argument(name="to", description="Excluded.")]


async def _write(
    info: Info,
    work: Callable[[AsyncSession], Awaitable[Result]],
    ok: Callable[[Result], Payload],
    failed: Callable[..., Payload],
) -> Payload:
    """mutate(), then the committed change goes to the search index before the answer."""
    payload = await mutate(info, work, ok=ok, failed=failed)
    if not payload.user_errors:
        await info.context.index.sync_after_commit(info.context.db)
    return payload


async def _article_write(
    info: Info, work: Callable[[AsyncSession], Awaitable[models.Article]]
) -> ArticlePayload:
    return await _write(
        info, work, lambda row: ArticlePayload(article=ArticleType.of(row)), ArticlePayload
    )


async def _transition(
    info: Info, id: strawberry.ID, action: service.ArticleAction
) -> ArticlePayload:
    return await _article_write(
        info,
        lambda session: service.change_status(
            session, info.context.actor.name, article_id=parse_id(id), action=action
        ),
    )


async def _log_search(context: Context, *, query: str, result_count: int) -> None:
    """Each search answered, cached answers included, is a row of search analytics."""
    row = service.search_log_row(context.actor.name, query=query, result_count=result_count)
    await context.runtime.search_log.record(row)


@strawberry.type
class Query:
    @strawberry.field(extensions=requires(Permission.ARTICLES_READ))
    async def articles(
        self,
        info: Info,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrderBy | None = None,
        include_unpublished: IncludeUnpublished = False,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ArticleType]:
        order_by = order_by or ArticleOrderBy()
        db = info.context.db
        async with db.read() as session:
            page = await service.list_articles(
                session,
                filter=provided(filter) if filter else {},
                order=service.ArticleOrder(order_by.field),
                descending=order_by.descending,
                include_unpublished=_include_unpublished(info, include_unpublished),
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, ArticleType.of)

    @strawberry.field(
        extensions=requires(Permission.ARTICLES_READ),
        description="One article by id or slug; null when there is none, or when it is "
        "unpublished and the caller is not an editor.",
    )
    async def article(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> ArticleType | None:
        try:
            async with info.context.db.read() as session:
                row = await service.get_article(
                    session,
                    article_id=parse_optional_id(id),
                    slug=slug,
                    include_unpublished=info.context.actor.can(Permission.ARTICLES_WRITE),
                )
        except NotFound:
            return None
        return ArticleType.of(row)

    @strawberry.field(
        extensions=requires(Permission.ARTICLES_READ),
        description="Full-text search over title, body, tags and category, in Chinese and "
        "English, best match first. Sees every committed change. `first` is at most 100.",
    )
    async def search_articles(
        self,
        info: Info,
        query: str,
        tags: Annotated[
            list[str] | None, strawberry.argument(description="Articles with all of these tags.")
        ] = None,
        category: str | None = None,
        language: Language | None = None,  # type: ignore[valid-type]
        include_unpublished: IncludeUnpublished = False,
        first: int = 10,
        after: str | None = None,
    ) -> ArticleSearchConnection:
        include = _include_unpublished(info, include_unpublished)
        async with info.context.db.read() as session:
            page = await service.search_articles(
                session,
                info.context.index,
                data={
                    "query": query,
                    "tags": tags or [],
                    "category": category,
                    "language": language.value if language else None,
                    "first": first,
                },
                include_unpublished=include,
                after=after,
            )
        if page.index_behind:  # catching up is the next search's job, not the cache's
            info.context.cacheable = False
        if after is None:  # later pages continue the same search
            # Written after the answer, in batches (app/knowledge/search_log.py): on SQLite
            # the agent would otherwise wait for the one writer (search p50 2.3 s).
            info.context.after_answer(partial(_log_search, query=query, result_count=page.total))
        return ArticleSearchConnection.of(page)

    @strawberry.field(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="Search analytics for the people who write articles (articles:write): "
        "top queries with click-through, and queries that found nothing. At most 100 rows "
        "per list.",
    )
    async def search_insights(
        self, info: Info, since: Since, until: Until, first: int = 20
    ) -> SearchInsightsType:
        async with info.context.db.read() as session:
            insights = await service.search_insights(session, since=since, until=until, first=first)
        return SearchInsightsType.of(insights)

    @strawberry.field(extensions=requires(Permission.ARTICLES_READ))
    async def search_synonyms(self, info: Info) -> SearchSynonyms:
        async with info.context.db.read() as session:
            return SearchSynonyms(groups=await service.synonym_groups(session))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="A new draft; the caller is its author.",
    )
    async def create_article(self, info: Info, input: CreateArticleInput) -> ArticlePayload:
        return await _article_write(
            info,
            lambda session: service.create_article(
                session, info.context.actor.name, data=provided(input)
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="Edits in place: a published article stays published. An archived "
        "article must be returned to draft first.",
    )
    async def update_article(
        self, info: Info, id: strawberry.ID, input: UpdateArticleInput
    ) -> ArticlePayload:
        return await _article_write(
            info,
            lambda session: service.update_article(
                session, article_id=parse_id(id), data=provided(input)
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="Deletes the article with its tags and votes.",
    )
    async def delete_article(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _write(
            info,
            lambda session: service.delete_article(session, article_id=parse_id(id)),
            DeletePayload.of,
            DeletePayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE), description="draft → in_review."
    )
    async def submit_article_for_review(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        return await _transition(info, id, service.ArticleAction.SUBMIT)

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="in_review → published; the caller becomes the reviewer.",
    )
    async def publish_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        return await _transition(info, id, service.ArticleAction.PUBLISH)

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="published → archived: retired, no longer found by readers.",
    )
    async def archive_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        return await _transition(info, id, service.ArticleAction.ARCHIVE)

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="in_review or archived → draft, to be revised and reviewed again; "
        "clears the reviewer and publishedAt.",
    )
    async def return_article_to_draft(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        return await _transition(info, id, service.ArticleAction.RETURN_TO_DRAFT)

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_READ),
        description="Helpful or not (点赞), on a published article: one vote per API key; "
        "voting again replaces the earlier vote.",
    )
    async def vote_article(
        self, info: Info, article_id: strawberry.ID, helpful: bool
    ) -> ArticlePayload:
        voter = f"key:{info.context.actor.key_id}"
        return await _article_write(
            info,
            lambda session: service.vote_article(
                session, voter, article_id=parse_id(article_id, field="articleId"), helpful=helpful
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_READ),
        metadata=RECORDS_ACTIVITY,
        description="Counts a view of a published article.",
    )
    async def record_article_view(
        self,
        info: Info,
        article_id: strawberry.ID,
        search_query: Annotated[
            str | None,
            strawberry.argument(
                description="The query of the search that led to the article, for "
                "click-through in searchInsights; at most 256 characters."
            ),
        ] = None,
    ) -> ArticlePayload:
        return await mutate(
            info,
            lambda session: service.record_article_view(
                session,
                info.context.actor.name,
                article_id=parse_id(article_id, field="articleId"),
                search_query=search_query,
            ),
            ok=lambda row: ArticlePayload(article=ArticleType.of(row)),
            failed=ArticlePayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.ARTICLES_WRITE),
        description="Replaces every synonym group; each group has 2 to 20 terms. Applied "
        "to searches at once, without reindexing.",
    )
    async def set_search_synonyms(
        self, info: Info, groups: list[list[str]]
    ) -> SearchSynonymsPayload:
        return await mutate(
            info,
            lambda session: service.set_synonym_groups(session, groups=groups),
            ok=lambda saved: SearchSynonymsPayload(synonyms=SearchSynonyms(groups=saved)),
            failed=SearchSynonymsPayload,
        )
