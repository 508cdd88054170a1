"""Knowledge-base effectiveness: views and helpful votes per article, and the published
articles that many read but few find helpful (淘汰低效内容)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Select, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor, ensure_unlimited
from app.errors import ValidationFailed
from app.knowledge.models import Article, ArticleStatus, ArticleView, ArticleVote
from app.knowledge.service import Category
from app.metrics.customers import check_days, count_if
from app.metrics.periods import instants
from app.validation import Input, parse

MAX_ARTICLES = 100


@dataclass(frozen=True)
class ArticleFigures:
    article_id: int
    slug: str
    title: str
    category: str
    views: int
    helpful_votes: int
    unhelpful_votes: int

    @property
    def helpful_ratio(self) -> float | None:
        """Helpful votes over all votes, from 0 to 1; None without votes."""
        votes = self.helpful_votes + self.unhelpful_votes
        return None if votes == 0 else self.helpful_votes / votes


@dataclass(frozen=True)
class Content:
    views: int  # all articles', in the range
    helpful_votes: int
    unhelpful_votes: int
    articles: list[ArticleFigures]  # the most viewed first, at most `limit`

    @property
    def helpful_ratio(self) -> float | None:
        votes = self.helpful_votes + self.unhelpful_votes
        return None if votes == 0 else self.helpful_votes / votes


class ContentFilter(Input):
    category: Category | None = None


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_ARTICLES:
        raise ValidationFailed(f"limit must be between 1 and {MAX_ARTICLES}", field="limit")


def _figures(row: Any) -> ArticleFigures:
    return ArticleFigures(*row[:7])


def _published(*columns: Any) -> Select[Any]:
    return select(Article.id, Article.slug, Article.title, Article.category, *columns).where(
        Article.status == ArticleStatus.PUBLISHED
    )


# Views and votes are an article's, from anyone: no segment narrows them.
EVERYONES = "read content figures, which count everyone's views and votes"


async def content(
    session: AsyncSession,
    actor: Actor | None,
    *,
    tz: ZoneInfo,
    first: date,
    last: date,
    limit: int = 20,
    category: str | None = None,
) -> Content:
    """Published articles' views (opened in first..last) and votes (as they stand, last cast
    in first..last), the most viewed first; the totals cover every published article (of
    `category`), not only those listed."""
    ensure_unlimited(actor, EVERYONES)
    check_days(first, last)
    check_limit(limit)
    category = parse(ContentFilter, {"category": category}).category
    start, end = instants(first, last, tz)
    views = (
        select(ArticleView.article_id, func.count().label("n"))
        .where(ArticleView.viewed_at >= start, ArticleView.viewed_at < end)
        .group_by(ArticleView.article_id)
        .subquery()
    )
    votes = (
        select(
            ArticleVote.article_id,
            count_if(ArticleVote.helpful).label("helpful"),
            count_if(~ArticleVote.helpful).label("unhelpful"),
        )
        .where(ArticleVote.created_at >= start, ArticleVote.created_at < end)
        .group_by(ArticleVote.article_id)
        .subquery()
    )
    counts = [func.coalesce(c, 0) for c in (views.c.n, votes.c.helpful, votes.c.unhelpful)]
    stmt = (
        _published(*counts, *(func.sum(c).over() for c in counts))
        .outerjoin(views, views.c.article_id == Article.id)
        .outerjoin(votes, votes.c.article_id == Article.id)
        .order_by(counts[0].desc(), Article.id)
        .limit(limit)
    )
    if category is not None:
        stmt = stmt.where(Article.category == category)
    rows = (await session.execute(stmt)).all()
    # The totals ride on every row (window sums before LIMIT): no second statement.
    totals = [int(t or 0) for t in rows[0][7:]] if rows else [0, 0, 0]
    return Content(*totals, articles=[_figures(row) for row in rows])


async def low_performing_articles(
    session: AsyncSession,
    actor: Actor | None,
    *,
    min_views: int,
    max_helpful_ratio: float,
    limit: int = 20,
) -> list[ArticleFigures]:
    """Published articles viewed at least `min_views` times in all whose helpful ratio
    (of all votes ever) is at most `max_helpful_ratio`, the least helpful first. An article
    nobody voted on has no ratio and is not listed: unread is not unhelpful."""
    ensure_unlimited(actor, EVERYONES)
    if min_views < 0:
        raise ValidationFailed("minViews cannot be negative", field="minViews")
    if not 0 <= max_helpful_ratio <= 1:
        raise ValidationFailed("maxHelpfulRatio is from 0 to 1", field="maxHelpfulRatio")
    check_limit(limit)
    votes = Article.helpful_votes + Article.unhelpful_votes
    ratio = cast(Article.helpful_votes, Float) / votes
    rows = await session.execute(
        _published(Article.views, Article.helpful_votes, Article.unhelpful_votes)
        .where(Article.views >= min_views, votes > 0, ratio <= max_helpful_ratio)
        .order_by(ratio, Article.views.desc(), Article.id)  # type: ignore[attr-defined]
        .limit(limit)
    )
    return [_figures(row) for row in rows]
