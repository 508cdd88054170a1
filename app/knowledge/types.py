"""GraphQL types for FAQ articles, their search results and synonym groups."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from app.api.connection import PageInfo
from app.api.errors import UserError
from app.knowledge import models, service

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
        )


@strawberry.type(description="Groups of terms that find each other in searchArticles.")
class SearchSynonyms:
    groups: list[list[str]]


@strawberry.type
class SearchSynonymsPayload:
    synonyms: SearchSynonyms | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
