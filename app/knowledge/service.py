"""FAQ articles (知识库): validation, the review workflow, votes and views, listing, and
full-text search through the index kept in step by app.search.sync."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import Select, case, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import replace_tags, tags_by_owner, upsert
from app.errors import Conflict, NotFound, ValidationFailed
from app.knowledge.models import (
    Article,
    ArticleStatus,
    ArticleTag,
    ArticleView,
    ArticleVote,
    Language,
    SearchLogEntry,
    SearchSynonymGroup,
)
from app.pagination import Ordering, Page, paginate
from app.search.engine import MAX_PAGE_SIZE, MAX_QUERY_CHARS, SearchHit, query_key
from app.search.sync import SearchIndex, record_change
from app.sqltypes import utcnow
from app.validation import Input, Tag, parse

MAX_TAGS = 20
MAX_BODY_CHARS = 100_000
MAX_SYNONYM_GROUPS = 500
MAX_SYNONYMS_PER_GROUP = 20

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Generated slugs end in the article id; keeping `article-<n>` out of clients' hands
# means a generated slug can never collide with a chosen one.
_RESERVED_SLUG = re.compile(r"^article-\d+$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_GENERATED_SLUG = 80

Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=SLUG_PATTERN)
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Synonym = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ArticleFields(Input):
    slug: Slug | None = None
    title: Title
    body: str = Field(default="", max_length=MAX_BODY_CHARS)
    category: Category
    language: Language = Language.ZH
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value is not None and _RESERVED_SLUG.match(value):
            raise ValueError("slugs of the form article-<number> are reserved for generated ones")
        return value


class ArticleUpdate(ArticleFields):
    title: Title | None = None  # type: ignore[assignment]
    body: str | None = Field(default=None, max_length=MAX_BODY_CHARS)  # type: ignore[assignment]
    category: Category | None = None  # type: ignore[assignment]
    language: Language | None = None  # type: ignore[assignment]
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)  # type: ignore[assignment]


class ArticleFilter(Input):
    status: ArticleStatus | None = None
    category: str | None = None
    tag: str | None = None
    language: Language | None = None
    search: str | None = Field(default=None, max_length=300)


class ArticleOrder(StrEnum):
    UPDATED_AT = "updated_at"
    CREATED_AT = "created_at"
    TITLE = "title"
    VIEWS = "views"
    HELPFUL_VOTES = "helpful_votes"
    ID = "id"


ORDERINGS = {
    ArticleOrder.UPDATED_AT: (Article.updated_at, Article.id),
    ArticleOrder.CREATED_AT: (Article.created_at, Article.id),
    ArticleOrder.TITLE: (Article.title, Article.id),
    ArticleOrder.VIEWS: (Article.views, Article.id),
    ArticleOrder.HELPFUL_VOTES: (Article.helpful_votes, Article.id),
    ArticleOrder.ID: (Article.id,),
}

EQUALITY_FILTERS = {
    "status": Article.status,
    "category": Article.category,
    "language": Article.language,
}


class ArticleAction(StrEnum):
    SUBMIT = "submit for review"
    PUBLISH = "publish"
    ARCHIVE = "archive"
    RETURN_TO_DRAFT = "return to draft"


_S = ArticleStatus
TRANSITIONS: dict[ArticleAction, tuple[frozenset[ArticleStatus], ArticleStatus]] = {
    ArticleAction.SUBMIT: (frozenset({_S.DRAFT}), _S.IN_REVIEW),
    ArticleAction.PUBLISH: (frozenset({_S.IN_REVIEW}), _S.PUBLISHED),
    ArticleAction.ARCHIVE: (frozenset({_S.PUBLISHED}), _S.ARCHIVED),
    ArticleAction.RETURN_TO_DRAFT: (frozenset({_S.IN_REVIEW, _S.ARCHIVED}), _S.DRAFT),
}
"""The review workflow (内容审核): draft → in_review → published → archived.

A reviewer sends an article in review back to draft; an archived article returns to
draft to be revised and reviewed again. A published article never goes back to review:
small fixes are edits in place (it stays published and searchable), and a rework is
archive → return to draft → submit, so readers never see a half-revised text.
"""


def visible(stmt: Select[Any], *, include_unpublished: bool) -> Select[Any]:
    """The one place that hides unpublished articles from callers who may not see them."""
    return stmt if include_unpublished else stmt.where(Article.status == ArticleStatus.PUBLISHED)


# --- reads --------------------------------------------------------------------
async def get_article(
    session: AsyncSession,
    *,
    article_id: int | None = None,
    slug: str | None = None,
    include_unpublished: bool,
) -> Article:
    if (article_id is None) == (slug is None):
        raise NotFound("give exactly one of id and slug", field="id")
    key = Article.id == article_id if article_id is not None else Article.slug == slug
    article = await session.scalar(
        visible(select(Article).where(key), include_unpublished=include_unpublished)
    )
    if article is None:
        raise NotFound(
            f"no article with {'id' if article_id is not None else 'slug'} "
            f"{article_id if article_id is not None else slug!r}"
        )
    return article


async def list_articles(
    session: AsyncSession,
    *,
    filter: dict[str, Any],
    order: ArticleOrder,
    descending: bool,
    include_unpublished: bool,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[Article]:
    criteria = parse(ArticleFilter, filter, prefix="filter")
    stmt = visible(select(Article), include_unpublished=include_unpublished)
    for name, column in EQUALITY_FILTERS.items():
        value = getattr(criteria, name)
        if value is not None:
            stmt = stmt.where(column == value)
    if criteria.tag is not None:
        stmt = stmt.where(
            Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.tag == criteria.tag))  # type: ignore[union-attr]
        )
    if criteria.search:
        stmt = stmt.where(
            func.lower(Article.title).contains(criteria.search.strip().lower(), autoescape=True)
        )
    return await paginate(
        session,
        stmt,
        ordering=Ordering(ORDERINGS[order], descending=descending),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


async def tags_by_article(
    session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, list[str]]:
    return await tags_by_owner(session, ArticleTag.article_id, article_ids)


async def articles_by_source_feedback(
    session: AsyncSession, feedback_ids: Sequence[int]
) -> dict[int, Article]:
    """The article each feedback ticket was turned into (the first, should there be two)."""
    rows = await session.scalars(
        select(Article)
        .where(Article.source_feedback_id.in_(feedback_ids))  # type: ignore[union-attr]
        .order_by(Article.id.desc())  # type: ignore[union-attr]
    )
    return {article.source_feedback_id: article for article in rows}  # type: ignore[misc]


# --- writes -------------------------------------------------------------------
# Every write ends with record_change(): the outbox row commits with the change itself.
async def _for_write(session: AsyncSession, article_id: int) -> Article:
    """The article, row-locked until commit so concurrent writes to it queue up."""
    article = await session.scalar(
        select(Article).where(Article.id == article_id).with_for_update()
    )
    if article is None:
        raise NotFound(f"no article with id {article_id}", field="id")
    return article


async def _published_for_write(session: AsyncSession, article_id: int) -> Article:
    try:
        article = await _for_write(session, article_id)
    except NotFound as error:
        raise NotFound(str(error), field="articleId") from None
    if article.status != ArticleStatus.PUBLISHED:
        raise Conflict(
            f"article {article_id} is {article.status}: only published articles take "
            "votes and views",
            field="articleId",
        )
    return article


def ascii_slug(title: str) -> str:
    """A slug from a title written in latin letters; "" when it has other scripts (CJK…),
    which would lose their meaning in ASCII."""
    decomposed = unicodedata.normalize("NFKD", title)
    if any(c.isalnum() and not c.isascii() for c in decomposed):
        return ""
    slug = _NOT_SLUG.sub("-", decomposed.lower()).strip("-")
    if len(slug) > MAX_GENERATED_SLUG:
        slug = slug[:MAX_GENERATED_SLUG].rsplit("-", 1)[0]
    return slug


async def _slug_taken(session: AsyncSession, slug: str, *, other_than: int | None = None) -> bool:
    stmt = select(Article.id).where(Article.slug == slug)
    if other_than is not None:
        stmt = stmt.where(Article.id != other_than)
    return await session.scalar(stmt) is not None


def _slug_conflict(slug: str) -> Conflict:
    return Conflict(f"an article with slug {slug!r} exists", field="input.slug")


async def _flush_slug(session: AsyncSession, slug: str) -> None:
    try:
        await session.flush()
    except IntegrityError:  # a concurrent write took the slug first
        raise _slug_conflict(slug) from None


async def create_article(session: AsyncSession, author: str, *, data: dict[str, Any]) -> Article:
    """A new draft by `author`. Without a slug, one is made from a latin title, or
    `article-<id>` (also when the title's slug is taken: `<slug>-<id>`)."""
    fields = parse(ArticleFields, data, prefix="input")
    if fields.slug is not None and await _slug_taken(session, fields.slug):
        raise _slug_conflict(fields.slug)
    slug = fields.slug
    generated = "" if slug is not None else ascii_slug(fields.title)
    if generated and not await _slug_taken(session, generated):
        slug = generated
    article = Article(
        **fields.model_dump(exclude={"slug", "tags"}),
        # A unique placeholder until the id is known; '~' is never in a real slug.
        slug=slug or f"~{uuid.uuid4().hex}",
        author=author,
    )
    session.add(article)
    await _flush_slug(session, article.slug)
    assert article.id is not None
    if slug is None:
        article.slug = f"{generated or 'article'}-{article.id}"
        await _flush_slug(session, article.slug)
    await replace_tags(session, ArticleTag.article_id, article.id, fields.tags)
    await record_change(session, article.id)
    return article


async def update_article(
    session: AsyncSession, *, article_id: int, data: dict[str, Any]
) -> Article:
    """Edits in place; a published article stays published. Archived articles are
    read-only until returned to draft."""
    article = await _for_write(session, article_id)
    changes = parse(ArticleUpdate, data, prefix="input").model_dump(exclude_unset=True)
    for required in ("title", "category", "language", "body", "slug"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null", field=f"input.{required}")
    if article.status == ArticleStatus.ARCHIVED:
        raise Conflict(
            f"article {article_id} is archived: return it to draft to edit it", field="id"
        )
    slug = changes.get("slug")
    if slug is not None and await _slug_taken(session, slug, other_than=article_id):
        raise _slug_conflict(slug)
    tags = changes.pop("tags", None)
    for key, value in changes.items():
        setattr(article, key, value)
    article.updated_at = utcnow()
    await _flush_slug(session, article.slug)
    if tags is not None:
        await replace_tags(session, ArticleTag.article_id, article_id, tags)
    await record_change(session, article_id)
    return article


async def delete_article(session: AsyncSession, *, article_id: int) -> int:
    article = await _for_write(session, article_id)
    await session.delete(article)
    await record_change(session, article_id)
    return article_id


async def change_status(
    session: AsyncSession, actor: str, *, article_id: int, action: ArticleAction
) -> Article:
    """One step of TRANSITIONS; publishing records `actor` as the reviewer."""
    article = await _for_write(session, article_id)
    allowed, target = TRANSITIONS[action]
    if article.status not in allowed:
        raise Conflict(
            f"cannot {action} article {article_id}: it is {article.status}, and only "
            f"{' or '.join(sorted(allowed))} articles can be",
            field="id",
        )
    article.status = target
    if target == ArticleStatus.PUBLISHED:
        article.reviewer = actor
        article.published_at = utcnow()
    elif target == ArticleStatus.DRAFT:
        # The next version is reviewed and published anew.
        article.reviewer = None
        article.published_at = None
    article.updated_at = utcnow()
    await record_change(session, article_id)
    return article


async def vote_article(
    session: AsyncSession, voter: str, *, article_id: int, helpful: bool
) -> Article:
    """One vote per voter and article: voting again replaces the vote. The counts are
    recounted from the votes in the same transaction, under the article's row lock, so
    concurrent votes cannot leave them out of step."""
    await _published_for_write(session, article_id)
    await upsert(
        session,
        ArticleVote.__table__,
        [{"article_id": article_id, "voter": voter, "helpful": helpful, "created_at": utcnow()}],
        keys=["article_id", "voter"],
        update=["helpful", "created_at"],
    )

    def count(helpful: bool) -> Any:
        return (
            select(func.count())
            .where(ArticleVote.article_id == article_id, ArticleVote.helpful.is_(helpful))  # type: ignore[attr-defined]
            .scalar_subquery()
        )

    article = await session.scalar(
        update(Article)
        .where(Article.id == article_id)
        .values(helpful_votes=count(True), unhelpful_votes=count(False))
        .returning(Article)
        .execution_options(populate_existing=True)
    )
    assert article is not None
    await record_change(session, article_id)
    return article


class ViewInput(Input):
    search_query: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)


async def record_article_view(
    session: AsyncSession, actor: str, *, article_id: int, search_query: str | None
) -> Article:
    """Counts a view of a published article by `actor`, with the search that led to it if
    any (for click-through). Views do not touch the search index."""
    view = parse(ViewInput, {"search_query": search_query})
    await _published_for_write(session, article_id)
    searched = query_key(view.search_query) if view.search_query else ""
    await session.execute(
        insert(ArticleView).values(
            article_id=article_id,
            normalized_query=searched or None,
            actor=actor,
            viewed_at=utcnow(),
        )
    )
    article = await session.scalar(
        update(Article)
        .where(Article.id == article_id)
        .values(views=Article.views + 1)
        .returning(Article)
        .execution_options(populate_existing=True)
    )
    assert article is not None
    return article


# --- search -------------------------------------------------------------------
@dataclass(frozen=True)
class SearchItem:
    article: Article
    hit: SearchHit
    cursor: str


@dataclass(frozen=True)
class SearchPage:
    total: int
    items: list[SearchItem]
    has_next_page: bool
    has_previous_page: bool
    tag_counts: dict[str, int] = field(default_factory=dict)
    category_counts: dict[str, int] = field(default_factory=dict)
    suggestion: str | None = None
    index_behind: int = 0  # changes the search index could not apply (see SearchIndex.search)


class SearchInput(Input):
    query: str = Field(max_length=MAX_QUERY_CHARS)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    category: str | None = None
    language: Language | None = None
    first: int = Field(ge=0, le=MAX_PAGE_SIZE)

    @field_validator("query")
    @classmethod
    def _says_something(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be empty")
        return value


_CURSOR_PREFIX = "search:"


def _search_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode()


def _offset_after(cursor: str | None) -> int:
    """Search cursors are opaque offsets: the position of the edge, plus one."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(_CURSOR_PREFIX):
            position = int(text.removeprefix(_CURSOR_PREFIX))
            if position >= 0:
                return position + 1
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ValidationFailed("invalid cursor", field="after")


async def search_articles(
    session: AsyncSession,
    index: SearchIndex,
    *,
    data: dict[str, Any],
    include_unpublished: bool,
    after: str | None,
) -> SearchPage:
    """Full-text search (title, body, tags, category), best match first. Only published
    articles unless include_unpublished; rows are re-checked against the database."""
    criteria = parse(SearchInput, data)
    offset = _offset_after(after)
    results = await index.search(
        session,
        criteria.query,
        statuses=None if include_unpublished else (ArticleStatus.PUBLISHED,),
        tags=criteria.tags,
        category=criteria.category,
        language=criteria.language,
        # At least one hit: its absence or presence also says whether there is a next page.
        limit=max(1, criteria.first),
        offset=offset,
        synonyms=await synonym_map(session),
    )
    hits = results.hits[: criteria.first]
    rows = await session.scalars(
        visible(
            select(Article).where(Article.id.in_([hit.id for hit in hits])),  # type: ignore[union-attr]
            include_unpublished=include_unpublished,
        )
    )
    by_id = {row.id: row for row in rows}
    items = [
        SearchItem(article=by_id[hit.id], hit=hit, cursor=_search_cursor(offset + position))
        for position, hit in enumerate(hits)
        if hit.id in by_id  # gone or unpublished since the index last saw it
    ]
    return SearchPage(
        total=results.total,
        items=items,
        has_next_page=offset + len(hits) < results.total,
        has_previous_page=offset > 0,
        tag_counts=results.tag_counts,
        category_counts=results.category_counts,
        suggestion=results.suggestion,
        index_behind=results.behind,
    )


# --- search analytics -----------------------------------------------------------
def search_log_row(actor: str, *, query: str, result_count: int) -> dict[str, Any]:
    """The log row of a search a client ran now: what top queries and content gaps are
    made of."""
    return {
        "query": query[:MAX_QUERY_CHARS],
        "normalized_query": query_key(query),
        "result_count": result_count,
        "actor": actor,
        "searched_at": utcnow(),
    }


async def log_searches(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Stores search log rows (`search_log_row`), in one statement."""
    await session.execute(insert(SearchLogEntry), rows)


MAX_INSIGHT_ROWS = 100


class InsightsPeriod(Input):
    # Aliased: errors name the GraphQL arguments.
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")
    first: int = Field(ge=1, le=MAX_INSIGHT_ROWS)

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: datetime, info: Any) -> datetime:
        since = info.data.get("since")
        if since is not None and value <= since:
            raise ValueError("to must be after from")
        return value


@dataclass(frozen=True)
class QueryStats:
    query: str  # normalised
    searches: int
    mean_result_count: float
    zero_result_searches: int
    searches_with_view: int


@dataclass(frozen=True)
class ZeroResultQuery:
    query: str
    searches: int
    last_searched_at: datetime


@dataclass(frozen=True)
class SearchInsights:
    searches: int
    zero_result_searches: int
    searches_with_view: int
    top_queries: list[QueryStats]
    zero_result_queries: list[ZeroResultQuery]


async def search_insights(
    session: AsyncSession, *, since: datetime, until: datetime, first: int
) -> SearchInsights:
    """Searches in [since, until): totals, the `first` most frequent queries with their
    click-through, and the most frequent queries that found nothing (content gaps).

    A search led to a view when the same actor recorded a view with the same query after
    it and before their next search (or the end of the period): clients report the query
    with recordArticleView, not which search it came from.
    """
    period = parse(InsightsPeriod, {"from": since, "to": until, "first": first})
    log = SearchLogEntry
    searches = (
        select(
            log.normalized_query,
            log.result_count,
            log.actor,
            log.searched_at,
            func.lead(log.searched_at)
            .over(partition_by=log.actor, order_by=(log.searched_at, log.id))
            .label("next_at"),
        )
        .where(log.searched_at >= period.since, log.searched_at < period.until)
        .subquery()
    )
    # Bounded by viewed_at on both sides, so the index on it keeps this a short range scan.
    led_to_view = exists().where(
        ArticleView.actor == searches.c.actor,
        ArticleView.normalized_query == searches.c.normalized_query,
        ArticleView.viewed_at >= searches.c.searched_at,
        ArticleView.viewed_at < func.coalesce(searches.c.next_at, period.until),
    )
    found_nothing = searches.c.result_count == 0
    counts = (
        func.count().label("searches"),
        func.coalesce(func.sum(case((found_nothing, 1), else_=0)), 0).label("zero"),
        func.coalesce(func.sum(case((led_to_view, 1), else_=0)), 0).label("with_view"),
    )
    totals = (await session.execute(select(*counts))).one()
    top = await session.execute(
        select(searches.c.normalized_query, func.avg(searches.c.result_count), *counts)
        .group_by(searches.c.normalized_query)
        .order_by(func.count().desc(), searches.c.normalized_query)
        .limit(period.first)
    )
    gaps = await session.execute(
        select(searches.c.normalized_query, func.count(), func.max(searches.c.searched_at))
        .where(found_nothing)
        .group_by(searches.c.normalized_query)
        .order_by(func.count().desc(), searches.c.normalized_query)
        .limit(period.first)
    )
    return SearchInsights(
        searches=totals.searches,
        zero_result_searches=int(totals.zero),
        searches_with_view=int(totals.with_view),
        top_queries=[
            QueryStats(query, row_count, float(mean), int(zero), int(with_view))
            for query, mean, row_count, zero, with_view in top
        ],
        zero_result_queries=[ZeroResultQuery(query, count, last) for query, count, last in gaps],
    )


# --- synonyms -----------------------------------------------------------------
class SynonymGroups(Input):
    groups: list[
        Annotated[list[Synonym], Field(min_length=2, max_length=MAX_SYNONYMS_PER_GROUP)]
    ] = Field(max_length=MAX_SYNONYM_GROUPS)


async def synonym_groups(session: AsyncSession) -> list[list[str]]:
    rows = await session.scalars(select(SearchSynonymGroup).order_by(SearchSynonymGroup.id))
    return [list(row.terms) for row in rows]


async def set_synonym_groups(session: AsyncSession, *, groups: list[list[str]]) -> list[list[str]]:
    """Replaces every group. Each term of a group also finds the others, at query time."""
    parsed = parse(SynonymGroups, {"groups": groups}).groups
    unique = [list(dict.fromkeys(group)) for group in parsed]
    await session.execute(delete(SearchSynonymGroup))
    if unique:
        await session.execute(insert(SearchSynonymGroup), [{"terms": g} for g in unique])
    return unique


async def synonym_map(session: AsyncSession) -> dict[str, list[str]]:
    """Each term → the other terms of its groups, the form the index takes."""
    mapping: dict[str, list[str]] = defaultdict(list)
    for group in await synonym_groups(session):
        for term in group:
            mapping[term] += [other for other in group if other != term]
    return dict(mapping)
