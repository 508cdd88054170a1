"""Knowledge-base metrics on hand-made articles, views and votes: per-article figures in a
range with totals over all articles, and the low performers by lifetime counters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.errors import ValidationFailed
from app.knowledge.models import Article, ArticleView, ArticleVote
from app.metrics import content as metrics
from tests.conftest import GraphQLClient

MARCH = {"first": date(2026, 3, 1), "last": date(2026, 3, 31)}


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 8, tzinfo=UTC)


# slug, category, status, lifetime views, helpful, unhelpful
ARTICLES = [
    ("export", "reports", "published", 100, 2, 8),  # ratio 0.2
    ("gantt", "planning", "published", 50, 9, 1),  # 0.9
    ("import", "reports", "published", 5, 0, 3),  # 0.0, but few views
    ("draft", "reports", "draft", 500, 0, 10),  # not published
    ("kanban", "planning", "published", 30, 0, 0),  # nobody voted
    ("roles", "admin", "published", 40, 1, 2),  # 1/3
]
# slug, when
VIEWS = [
    *(("export", at(3, d)) for d in (1, 2, 31)),
    ("export", at(2, 28)),
    *(("gantt", at(3, d)) for d in range(1, 6)),
    ("kanban", at(3, 9)),
    *(("draft", at(3, d)) for d in (3, 4)),
]
# slug, voter, helpful, when
VOTES = [
    ("export", "v1", True, at(3, 2)),
    ("export", "v2", False, at(3, 3)),
    ("export", "v3", False, at(3, 4)),
    ("gantt", "v1", True, at(2, 10)),
]


async def add_articles(db: Database) -> None:
    async with db.unit_of_work() as session:
        rows = {
            slug: Article(
                slug=slug,
                title=slug.title(),
                category=category,
                status=status,
                author="writer",
                views=views,
                helpful_votes=helpful,
                unhelpful_votes=unhelpful,
            )
            for slug, category, status, views, helpful, unhelpful in ARTICLES
        }
        session.add_all(rows.values())
        await session.flush()
        session.add_all(
            ArticleView(article_id=rows[slug].id, actor="reader", viewed_at=when)
            for slug, when in VIEWS
        )
        session.add_all(
            ArticleVote(article_id=rows[slug].id, voter=voter, helpful=helpful, created_at=when)
            for slug, voter, helpful, when in VOTES
        )


async def content(db: Database, **arguments: Any) -> metrics.Content:
    async with db.read() as session:
        return await metrics.content(session, None, **{"tz": ZoneInfo("UTC"), **MARCH, **arguments})


async def low(db: Database, **arguments: Any) -> list[str]:
    async with db.read() as session:
        rows = await metrics.low_performing_articles(session, None, **arguments)
    return [row.slug for row in rows]


async def test_content_lists_the_most_viewed_published_articles_in_the_range(
    db: Database,
) -> None:
    await add_articles(db)
    result = await content(db, limit=2)
    assert [(a.slug, a.views, a.helpful_votes, a.unhelpful_votes) for a in result.articles] == [
        ("gantt", 5, 0, 0),
        ("export", 3, 1, 2),
    ]
    assert result.articles[0].helpful_ratio is None  # its vote was cast in February
    assert result.articles[1].helpful_ratio == pytest.approx(1 / 3)


async def test_content_totals_cover_every_published_article_not_only_those_listed(
    db: Database,
) -> None:
    await add_articles(db)
    result = await content(db, limit=1)
    assert (result.views, result.helpful_votes, result.unhelpful_votes) == (9, 1, 2)
    assert result.helpful_ratio == pytest.approx(1 / 3)
    assert len(result.articles) == 1


async def test_content_of_one_category_lists_unviewed_articles_too(db: Database) -> None:
    await add_articles(db)
    result = await content(db, category="reports")
    assert [(a.slug, a.views) for a in result.articles] == [("export", 3), ("import", 0)]
    assert result.views == 3


async def test_content_without_articles_is_empty(db: Database) -> None:
    result = await content(db)
    assert (result.views, result.helpful_ratio, result.articles) == (0, None, [])


async def test_content_limit_out_of_bounds_is_a_validation_error(db: Database) -> None:
    with pytest.raises(ValidationFailed) as error:
        await content(db, limit=0)
    assert error.value.problems[0].field == "limit"


async def test_low_performers_are_much_viewed_rarely_helpful_published_articles(
    db: Database,
) -> None:
    await add_articles(db)
    # Not listed: import (5 views), draft (not published), kanban (no votes), gantt (0.9).
    assert await low(db, min_views=10, max_helpful_ratio=0.4) == ["export", "roles"]


async def test_low_performer_bounds_are_inclusive(db: Database) -> None:
    await add_articles(db)
    assert await low(db, min_views=100, max_helpful_ratio=0.2) == ["export"]
    assert await low(db, min_views=0, max_helpful_ratio=0.0) == ["import"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"min_views": -1, "max_helpful_ratio": 0.5}, "minViews"),
        ({"min_views": 1, "max_helpful_ratio": 1.5}, "maxHelpfulRatio"),
        ({"min_views": 1, "max_helpful_ratio": 0.5, "limit": 101}, "limit"),
    ],
)
async def test_low_performer_arguments_are_checked(
    db: Database, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await low(db, **arguments)
    assert error.value.problems[0].field == field


CONTENT = """
query {
  metrics {
    content(from: "2026-03-01", to: "2026-03-31", limit: 2) {
      views helpfulVotes unhelpfulVotes helpfulRatio
      articles { slug title category views helpfulVotes unhelpfulVotes helpfulRatio }
    }
  }
}
"""
LOW = """
query {
  metrics {
    lowPerformingArticles(minViews: 10, maxHelpfulRatio: 0.4) { slug views helpfulRatio }
  }
}
"""


async def test_content_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await add_articles(db)
    result = (await gql.data(CONTENT))["metrics"]["content"]
    assert result == {
        "views": 9,
        "helpfulVotes": 1,
        "unhelpfulVotes": 2,
        "helpfulRatio": pytest.approx(1 / 3),
        "articles": [
            {
                "slug": "gantt",
                "title": "Gantt",
                "category": "planning",
                "views": 5,
                "helpfulVotes": 0,
                "unhelpfulVotes": 0,
                "helpfulRatio": None,
            },
            {
                "slug": "export",
                "title": "Export",
                "category": "reports",
                "views": 3,
                "helpfulVotes": 1,
                "unhelpfulVotes": 2,
                "helpfulRatio": pytest.approx(1 / 3),
            },
        ],
    }


async def test_low_performing_articles_through_the_api(gql: GraphQLClient, db: Database) -> None:
    await add_articles(db)
    rows = (await gql.data(LOW))["metrics"]["lowPerformingArticles"]
    assert rows == [
        {"slug": "export", "views": 100, "helpfulRatio": 0.2},
        {"slug": "roles", "views": 40, "helpfulRatio": pytest.approx(1 / 3)},
    ]
