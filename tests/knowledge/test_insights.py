"""Search analytics: every search is logged, views carry the query that led to them, and
searchInsights turns both into top queries, content gaps and click-through; helpful votes
feed ranking."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from app.db import Database
from app.knowledge import service
from app.knowledge.models import ArticleView, SearchLogEntry
from app.knowledge.search_log import SearchLogWriter
from app.main import create_app
from app.search.engine import helpful_factor
from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.knowledge.articles import published, search

VIEW = """
mutation($id: ID!, $query: String) {
  recordArticleView(articleId: $id, searchQuery: $query) {
    article { views } userErrors { field message code }
  }
}
"""

VOTE = """
mutation($id: ID!) { voteArticle(articleId: $id, helpful: true) { userErrors { message } } }
"""

INSIGHTS = """
query($from: DateTime!, $to: DateTime!, $first: Int = 20) {
  searchInsights(from: $from, to: $to, first: $first) {
    searches zeroResultSearches searchesWithView clickThroughRate
    topQueries {
      query searches meanResultCount zeroResultSearches searchesWithView clickThroughRate
    }
    zeroResultQueries { query searches lastSearchedAt }
  }
}
"""


def period(**shift: float) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1, **shift)).isoformat(),
    }


async def insights(gql: GraphQLClient, role: str = "operator", **variables: Any) -> Any:
    data = await gql.data(INSIGHTS, {**period(), **variables}, role=role)
    return data["searchInsights"]


async def log_rows(db: Database) -> list[tuple[str, str, int, str]]:
    async with db.read() as session:
        rows = await session.execute(
            select(
                SearchLogEntry.query,
                SearchLogEntry.normalized_query,
                SearchLogEntry.result_count,
                SearchLogEntry.actor,
            ).order_by(SearchLogEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def view(gql: GraphQLClient, article_id: str, query: str | None, role: str = "agent") -> Any:
    data = await gql.data(VIEW, {"id": article_id, "query": query}, role=role)
    return data["recordArticleView"]


# --- the search log -------------------------------------------------------------
async def test_a_search_is_logged_with_its_normalised_query_count_and_caller(
    gql: GraphQLClient, db: Database
) -> None:
    await published(gql, title="報表導出失敗", category="reports")
    await search(gql, "  報表導出  ")
    assert await log_rows(db) == [("  報表導出  ", "报表导出", 1, "agent key")]


async def test_later_pages_of_a_search_are_not_logged_again(
    gql: GraphQLClient, db: Database
) -> None:
    for i in range(3):
        await published(gql, title=f"Refund rule {i}")
    first = await search(gql, "refund", first=2)
    await search(gql, "refund", first=2, after=first["pageInfo"]["endCursor"])
    assert await log_rows(db) == [("refund", "refund", 3, "agent key")]


async def test_logging_a_search_is_one_insert(gql: GraphQLClient, count_statements: Any) -> None:
    await published(gql, title="Invoice download")
    count_statements.statements.clear()
    await search(gql, "invoice")
    writes = [s for s in count_statements.statements if not s.lstrip().upper().startswith("SELECT")]
    inserts = [s for s in writes if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "search_log" in inserts[0]


async def test_a_failed_log_write_does_not_fail_the_search(
    gql: GraphQLClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await published(gql, title="Webhook retries")

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "log_searches", broken)
    result = await search(gql, "webhook")
    assert result["totalCount"] == 1
    assert await log_rows(db) == []


async def test_the_log_row_is_written_after_the_answer_is_sent(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    # The agent's answer does not wait for the log write (on SQLite, for the one writer).
    await published(gql, title="Webhook retries")
    body = json.dumps({"query": '{ searchArticles(query: "webhook") { totalCount } }'})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {gql.keys['agent']}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    requests = [{"type": "http.request", "body": body.encode(), "more_body": False}]
    sent: list[bytes] = []
    rows_when_answered: list[Any] = []

    async def receive() -> dict[str, Any]:
        return requests.pop() if requests else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))
            if not message.get("more_body", False):
                rows_when_answered.extend(await log_rows(db))

    async with LifespanManager(create_app(settings)) as manager:
        await manager.app(scope, receive, send)
    assert json.loads(b"".join(sent)) == {"data": {"searchArticles": {"totalCount": 1}}}
    assert rows_when_answered == []
    assert await log_rows(db) == [("webhook", "webhook", 1, "agent key")]


async def test_rows_that_arrive_while_a_batch_is_written_go_in_the_next_one(
    db: Database, count_statements: Any
) -> None:
    writer = SearchLogWriter(db)
    rows = [service.search_log_row("crm", query=q, result_count=n) for n, q in enumerate("abc")]
    count_statements.statements.clear()
    # The first takes its row alone; the two that queue behind it share one INSERT.
    await asyncio.gather(*(writer.record(row) for row in rows))
    inserts = [s for s in count_statements.statements if "search_log" in s]
    assert [s.lstrip().split()[0].upper() for s in inserts] == ["INSERT", "INSERT"]
    assert await log_rows(db) == [("a", "a", 0, "crm"), ("b", "b", 1, "crm"), ("c", "c", 2, "crm")]


# --- views ----------------------------------------------------------------------
async def test_a_view_stores_the_normalised_query_and_counts_the_view(
    gql: GraphQLClient, db: Database
) -> None:
    article = await published(gql, title="导出报表")
    assert await view(gql, article["id"], " 導出 ") == {"article": {"views": 1}, "userErrors": []}
    assert await view(gql, article["id"], None) == {"article": {"views": 2}, "userErrors": []}
    async with db.read() as session:
        rows = await session.execute(
            select(ArticleView.normalized_query, ArticleView.actor).order_by(ArticleView.id)
        )
        assert [tuple(row) for row in rows] == [("导出", "agent key"), (None, "agent key")]


async def test_a_view_with_an_overlong_search_query_is_rejected_and_not_counted(
    gql: GraphQLClient, db: Database
) -> None:
    article = await published(gql)
    payload = await view(gql, article["id"], "x" * 257)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("searchQuery", "VALIDATION")
    ]
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ArticleView)) == 0


# --- insights -------------------------------------------------------------------
async def test_top_queries_count_searches_with_mean_results_and_click_through(
    gql: GraphQLClient,
) -> None:
    refund = await published(gql, title="Refund policy", body="Refund within 30 days.")
    await published(gql, title="Refund to a card")
    await search(gql, "Refund")
    await view(gql, refund["id"], "refund")  # the agent's refund search led to a view
    await search(gql, "refund", role="operator")  # the operator opened nothing
    await search(gql, "退款")
    result = await insights(gql)
    assert result["topQueries"] == [
        {
            "query": "refund",
            "searches": 2,
            "meanResultCount": 2.0,
            "zeroResultSearches": 0,
            "searchesWithView": 1,
            "clickThroughRate": 0.5,
        },
        {
            "query": "退款",
            "searches": 1,
            "meanResultCount": 0.0,
            "zeroResultSearches": 1,
            "searchesWithView": 0,
            "clickThroughRate": 0.0,
        },
    ]
    assert (result["searches"], result["zeroResultSearches"], result["searchesWithView"]) == (
        3,
        1,
        1,
    )
    assert result["clickThroughRate"] == pytest.approx(1 / 3)


async def test_queries_that_found_nothing_are_listed_as_content_gaps(gql: GraphQLClient) -> None:
    await published(gql, title="Invoice download")
    for query in ("發票抬頭", "发票抬头", "invoice", "gantt baseline"):
        await search(gql, query)
    gaps = (await insights(gql))["zeroResultQueries"]
    assert [(gap["query"], gap["searches"]) for gap in gaps] == [
        ("发票抬头", 2),
        ("gantt baseline", 1),
    ]


async def test_a_view_after_the_callers_next_search_is_not_click_through(
    gql: GraphQLClient,
) -> None:
    article = await published(gql, title="Refund policy")
    await search(gql, "refund")
    await search(gql, "invoice")
    await view(gql, article["id"], "refund")  # opened from an older result list
    by_query = {q["query"]: q for q in (await insights(gql))["topQueries"]}
    assert by_query["refund"]["searchesWithView"] == 0


async def test_searches_outside_the_period_are_left_out(gql: GraphQLClient) -> None:
    await search(gql, "refund")
    earlier = {"to": (datetime.now(UTC) - timedelta(minutes=30)).isoformat()}
    result = await gql.data(INSIGHTS, {**period(), **earlier}, role="operator")
    assert result["searchInsights"]["searches"] == 0
    assert result["searchInsights"]["clickThroughRate"] is None


async def test_a_period_that_ends_before_it_starts_is_a_validation_error(
    gql: GraphQLClient,
) -> None:
    backwards = {"from": period()["to"], "to": period()["from"]}
    body = await gql(INSIGHTS, backwards, role="operator")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "to"}


async def test_more_than_a_hundred_rows_is_a_validation_error(gql: GraphQLClient) -> None:
    body = await gql(INSIGHTS, {**period(), "first": 101}, role="operator")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "first"}


async def test_integration_keys_cannot_read_insights(gql: GraphQLClient) -> None:
    body = await gql(INSIGHTS, period(), role="integration")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- votes in ranking -----------------------------------------------------------
async def test_a_helpful_vote_lifts_an_article_above_an_equal_match(gql: GraphQLClient) -> None:
    for _ in range(2):
        await published(gql, title="Reset a password", body="Open the settings.")
    before = [e["node"]["id"] for e in (await search(gql, "password reset"))["edges"]]
    await gql.data(VOTE, {"id": before[1]})  # the index is updated on the vote
    after = (await search(gql, "password reset"))["edges"]
    assert [e["node"]["id"] for e in after] == before[::-1]
    assert after[0]["score"] / after[1]["score"] == pytest.approx(helpful_factor(1))
