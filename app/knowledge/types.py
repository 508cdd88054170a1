"""GraphQL types for FAQ articles, their search results and synonym groups."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info

from app.api.connection import PageInfo
from app.api.errors import UserError
from app.auth.roles import Permission
from app.knowledge import models, service

if TYPE_CHECKING:
    from app.feedback.types import FeedbackType

ArticleStatus = strawberry.enum(
    models.ArticleStatus,
    description="draft → in_review → published → archived; in_review or archived can "
    "return to draft. Only published articles are visible to readers.",
)
Language = strawberry.enum(models.Language, name="ArticleLanguage")
ArticleOrder = strawberry.enum(service.ArticleOrder, name="ArticleOrderField")


@strawberry.type(name="Article", description="An FAQ article of the knowledge base (知识库).")
class ArticleType:
    id: strawberry.ID
    slug: str
    title: str
    body: str = strawberry.field(description="Markdown.")
    category: str
    language: Language  # type: ignore[valid-type]
    status: ArticleStatus  # type: ignore[valid-type]
    author: str = strawberry.field(description="The name of the API key that created it.")
    reviewer: str | None = strawberry.field(
        description="The name of the API key that published it; null until published."
    )
    views: int
    helpful_votes: int
    unhelpful_votes: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[models.Article]

    @classmethod
    def of(cls, row: models.Article) -> ArticleType:
        return cls(
            id=strawberry.ID(str(row.id)),
            slug=row.slug,
            title=row.title,
            body=row.body,
            category=row.category,
            language=models.Language(row.language),
            status=models.ArticleStatus(row.status),
            author=row.author,
            reviewer=row.reviewer,
            views=row.views,
            helpful_votes=row.helpful_votes,
            unhelpful_votes=row.unhelpful_votes,
            published_at=row.published_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field
    async def tags(self, info: Info) -> list[str]:
        return await info.context.loaders.article_tags.load(self.row.id)

    @strawberry.field(
        description="The feedback ticket this article was written from; null when none, "
        "or when the caller may not read feedback."
    )
    async def source_feedback(
        self, info: Info
    ) -> Annotated[FeedbackType, strawberry.lazy("app.feedback.types")] | None:
        # Imported here as the annotation is lazy: feedback's types refer back to this module.
        from app.feedback.types import FeedbackType

        feedback_id = self.row.source_feedback_id
        if feedback_id is None or not info.context.actor.can(Permission.FEEDBACK_READ):
            return None
        row = await info.context.loaders.feedback_by_id.load(feedback_id)
        return FeedbackType.of(row) if row is not None else None


@strawberry.input
class ArticleFilter:
    status: ArticleStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    category: str | None = strawberry.UNSET
    tag: str | None = strawberry.UNSET
    language: Language | None = strawberry.UNSET  # type: ignore[valid-type]
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Substring of the title, any case."
    )


@strawberry.input
class ArticleOrderBy:
    field: ArticleOrder = service.ArticleOrder.UPDATED_AT  # type: ignore[valid-type]
    descending: bool = True


@strawberry.input
class CreateArticleInput:
    title: str
    category: str
    body: str | None = strawberry.UNSET
    language: Language | None = strawberry.UNSET  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="At most 20.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Lowercase letters, digits and hyphens; unique. Made from the title "
        "when absent, or `article-<id>` for a title in Chinese.",
    )


@strawberry.input(description="Only the fields given are changed.")
class UpdateArticleInput:
    title: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    language: Language | None = strawberry.UNSET  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.UNSET
    slug: str | None = strawberry.UNSET


@strawberry.type
class ArticlePayload:
    article: ArticleType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="A matched passage: HTML-escaped text, matches in <mark>.")
class SearchHighlight:
    field: str = strawberry.field(description="`title` or `body`.")
    fragment: str


@strawberry.type
class ArticleSearchEdge:
    cursor: str
    score: float = strawberry.field(description="Relevance; only comparable within one search.")
    highlights: list[SearchHighlight]
    node: ArticleType


@strawberry.type
class FacetCount:
    value: str
    count: int


@strawberry.type(description="Counts over every match, not only the page returned.")
class ArticleSearchFacets:
    tags: list[FacetCount] = strawberry.field(description="Tags in their normalised form.")
    categories: list[FacetCount]


def _facet(counts: dict[str, int]) -> list[FacetCount]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [FacetCount(value=value, count=count) for value, count in ordered]


@strawberry.type
class ArticleSearchConnection:
    total_count: int = strawberry.field(description="Matches over all pages.")
    page_info: PageInfo
    edges: list[ArticleSearchEdge]
    facets: ArticleSearchFacets
    suggestion: str | None = strawberry.field(
        description="The query with misspelt English words corrected, when that may "
        "find more; null otherwise."
    )
    index_behind: int = strawberry.field(
        description="Changes to articles this answer could not see: 0 normally. Above 0 "
        "while the server cannot write its search index; it answers from the index as it "
        "is meanwhile and catches up as soon as it can write again."
    )

    @classmethod
    def of(cls, page: service.SearchPage) -> ArticleSearchConnection:
        edges = [
            ArticleSearchEdge(
                cursor=item.cursor,
                score=item.hit.score,
                highlights=[
                    SearchHighlight(field=f, fragment=text) for f, text in item.hit.highlights
                ],
                node=ArticleType.of(item.article),
            )
            for item in page.items
        ]
        return cls(
            total_count=page.total,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            edges=edges,
            facets=ArticleSearchFacets(
                tags=_facet(page.tag_counts), categories=_facet(page.category_counts)
            ),
            suggestion=page.suggestion,
            index_behind=page.index_behind,
        )


@strawberry.type(description="Groups of terms that find each other in searchArticles.")
class SearchSynonyms:
    groups: list[list[str]]


@strawberry.type
class SearchSynonymsPayload:
    synonyms: SearchSynonyms | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(
    description="One query over the period, normalised (NFKC, Simplified script, lowercase)."
)
class SearchQueryStats:
    query: str
    searches: int
    mean_result_count: float = strawberry.field(description="Mean totalCount of its searches.")
    zero_result_searches: int
    searches_with_view: int = strawberry.field(
        description="Searches after which the same caller opened an article, reporting this "
        "query to recordArticleView, before searching again."
    )
    click_through_rate: float = strawberry.field(description="searchesWithView / searches.")

    @classmethod
    def of(cls, stats: service.QueryStats) -> SearchQueryStats:
        return cls(
            query=stats.query,
            searches=stats.searches,
            mean_result_count=stats.mean_result_count,
            zero_result_searches=stats.zero_result_searches,
            searches_with_view=stats.searches_with_view,
            click_through_rate=stats.searches_with_view / stats.searches,
        )


@strawberry.type(description="A query that found nothing: a content gap (知识缺口).")
class ZeroResultQuery:
    query: str
    searches: int = strawberry.field(description="Its searches that found nothing.")
    last_searched_at: datetime


@strawberry.type(
    name="SearchInsights",
    description="What searchArticles was asked over a period: the first page of each search "
    "counts once.",
)
class SearchInsightsType:
    searches: int
    zero_result_searches: int
    searches_with_view: int
    click_through_rate: float | None = strawberry.field(
        description="searchesWithView / searches; null without searches."
    )
    top_queries: list[SearchQueryStats] = strawberry.field(
        description="Most searched first, with their click-through."
    )
    zero_result_queries: list[ZeroResultQuery] = strawberry.field(
        description="Most searched first."
    )

    @classmethod
    def of(cls, insights: service.SearchInsights) -> SearchInsightsType:
        return cls(
            searches=insights.searches,
            zero_result_searches=insights.zero_result_searches,
            searches_with_view=insights.searches_with_view,
            click_through_rate=(
                insights.searches_with_view / insights.searches if insights.searches else None
            ),
            top_queries=[SearchQueryStats.of(stats) for stats in insights.top_queries],
            zero_result_queries=[
                ZeroResultQuery(
                    query=gap.query, searches=gap.searches, last_searched_at=gap.last_searched_at
                )
                for gap in insights.zero_result_queries
            ],
        )
