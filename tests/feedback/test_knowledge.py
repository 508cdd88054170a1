"""Feedback meets the knowledge base: suggested articles while answering a ticket, and
solved tickets turned into article drafts linked both ways (知识沉淀)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import Database
from app.feedback.models import Feedback
from app.feedback.service import suggestion_query
from app.knowledge.models import Article
from app.search.engine import MAX_QUERY_CHARS
from app.search.sync import SearchIndex
from tests.conftest import GraphQLClient
from tests.feedback.helpers import create, done, ticket_in
from tests.knowledge.articles import create as create_article
from tests.knowledge.articles import published, search, titles

SUGGESTIONS = """
query($id: ID!, $first: Int) {
  feedback(id: $id) { title suggestedArticles(first: $first) { title status } }
}
"""
CONVERT = """
mutation($id: ID!, $category: String) {
  convertFeedbackToArticle(feedbackId: $id, category: $category) {
    article { id title body category language status tags author
              sourceFeedback { id title article { id } } }
    userErrors { field message code }
  }
}
"""
LINKED = "query($id: ID!) { feedback(id: $id) { version article { id title status } } }"


async def _suggested(gql: GraphQLClient, ticket_id: str, first: int = 3) -> list[str]:
    data = await gql.data(SUGGESTIONS, {"id": ticket_id, "first": first}, role="agent")
    return [article["title"] for article in data["feedback"]["suggestedArticles"]]


async def _faq(gql: GraphQLClient) -> None:
    await published(
        gql,
        title="批量导入任务的 Excel 模板如何填写",
        body="下载模板，按列填写任务名称、负责人和截止日期后上传。",
        category="import-export",
        tags=["批量导入", "Excel模板"],
    )
    await published(
        gql,
        title="忘记密码怎么办",
        body="在登录页点击忘记密码，通过邮箱重置。",
        category="account",
        tags=["忘记密码"],
    )
    await published(
        gql,
        title="甘特图中如何设置任务依赖",
        body="拖动任务条的连接点即可设置依赖。",
        category="gantt",
        tags=["甘特图"],
    )


async def test_suggestions_put_the_obviously_matching_article_first(gql: GraphQLClient) -> None:
    await _faq(gql)
    ticket = await create(
        gql,
        title="希望支持从 Excel 批量导入任务",
        body="每个项目有两三百条任务在 Excel 里，只能一条条手动建。",
        tags=["批量导入"],
        type="FEATURE_REQUEST",
    )
    suggested = await _suggested(gql, ticket["id"])
    assert suggested[0] == "批量导入任务的 Excel 模板如何填写"
    assert "忘记密码怎么办" not in suggested


async def test_suggestions_match_on_tags_when_the_title_says_little(gql: GraphQLClient) -> None:
    await _faq(gql)
    ticket = await create(gql, title="求助", tags=["甘特图"])
    assert (await _suggested(gql, ticket["id"]))[:1] == ["甘特图中如何设置任务依赖"]


async def test_suggestions_leave_out_drafts_and_respect_first(gql: GraphQLClient) -> None:
    await _faq(gql)
    await create_article(gql, title="Excel 批量导入的草稿", category="import-export")
    ticket = await create(gql, title="Excel 批量导入 甘特图 忘记密码")
    assert len(await _suggested(gql, ticket["id"], first=2)) == 2
    everything = await _suggested(gql, ticket["id"], first=10)
    assert "Excel 批量导入的草稿" not in everything
    assert len(everything) == 3


async def test_suggestions_first_is_bounded(gql: GraphQLClient) -> None:
    ticket = await create(gql)
    body = await gql(SUGGESTIONS, {"id": ticket["id"], "first": 11}, role="agent")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "first"}


async def test_an_unavailable_index_gives_no_suggestions_but_the_ticket_loads(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _faq(gql)
    ticket = await create(gql, title="Excel 批量导入")

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("index directory is gone")

    monkeypatch.setattr(SearchIndex, "search", broken)
    with caplog.at_level(logging.ERROR, logger="opsgraph.feedback"):
        data = await gql.data(SUGGESTIONS, {"id": ticket["id"]}, role="agent")
    assert data["feedback"] == {"title": "Excel 批量导入", "suggestedArticles": []}
    assert f"article suggestions for feedback {ticket['id']} failed" in caplog.text


def test_suggestion_query_leads_with_title_and_tags_and_bounds_the_body() -> None:
    ticket = Feedback(channel="email", type="bug", title="导出失败", body="很长的描述" * 500)
    query = suggestion_query(ticket, ["报表导出失败", "Excel"])
    assert query.startswith("导出失败 报表导出失败 Excel 很长的描述")
    assert len(query) <= MAX_QUERY_CHARS


# --- conversion ----------------------------------------------------------------------
async def _convert(gql: GraphQLClient, ticket_id: str, **variables: Any) -> dict[str, Any]:
    data = await gql.data(CONVERT, {"id": ticket_id, **variables}, role="agent")
    return dict(data["convertFeedbackToArticle"])


async def _articles(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Article)) or 0)


async def test_resolved_ticket_becomes_a_linked_markdown_draft(gql: GraphQLClient) -> None:
    ticket = await create(
        gql,
        title="报表导出 Excel 失败",
        body="点导出后一直转圈，最后提示失败。",
        tags=["报表导出失败", "Excel"],
    )
    await done(gql, "resolveFeedback", ticket["id"], note="数据超过 10 万行时请按月份分批导出。")
    payload = await _convert(gql, ticket["id"], category="reports")
    assert payload["userErrors"] == []
    article = payload["article"]
    assert article["title"] == "报表导出 Excel 失败"
    assert article["body"] == (
        "## 问题\n\n点导出后一直转圈，最后提示失败。\n\n"
        "## 解决方案\n\n数据超过 10 万行时请按月份分批导出。\n"
    )
    assert (article["status"], article["language"], article["category"]) == (
        "DRAFT",
        "ZH",
        "reports",
    )
    assert article["tags"] == ["Excel", "报表导出失败"]
    assert article["author"] == "agent key"
    assert article["sourceFeedback"]["id"] == ticket["id"]
    assert article["sourceFeedback"]["article"] == {"id": article["id"]}
    linked = (await gql.data(LINKED, {"id": ticket["id"]}, role="agent"))["feedback"]
    assert linked["article"] == {"id": article["id"], "title": article["title"], "status": "DRAFT"}


async def test_english_ticket_gets_english_headings_and_the_tags_usual_category(
    gql: GraphQLClient,
) -> None:
    await published(gql, title="Dark mode", category="appearance", tags=["theme"])
    ticket_id = await ticket_in(gql, "CLOSED")
    await gql.data(
        'mutation($id: ID!) { updateFeedback(id: $id, input: {tags: ["theme"]}) { feedback { id } } }',
        {"id": ticket_id},
    )
    article = (await _convert(gql, ticket_id))["article"]
    assert article["language"] == "EN"
    assert article["category"] == "appearance"
    # The ticket has no body: only the solution.
    assert article["body"] == "## Solution\n\nFixed the export\n"


async def test_without_a_tagged_neighbour_the_category_is_general(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    assert (await _convert(gql, ticket_id))["article"]["category"] == "general"


async def test_the_draft_is_in_the_search_index_for_editors(gql: GraphQLClient) -> None:
    ticket = await create(gql, title="Webhook retries explained")
    await done(gql, "resolveFeedback", ticket["id"], note="Webhooks retry five times.")
    await _convert(gql, ticket["id"])
    found = await search(gql, "webhook retries", includeUnpublished=True)
    assert titles(found) == ["Webhook retries explained"]


@pytest.mark.parametrize("status", ["OPEN", "IN_PROGRESS"])
async def test_converting_an_unresolved_ticket_is_a_conflict_and_writes_nothing(
    gql: GraphQLClient, db: Database, status: str
) -> None:
    ticket_id = await ticket_in(gql, status)
    payload = await _convert(gql, ticket_id)
    assert payload["article"] is None
    (error,) = payload["userErrors"]
    assert (error["field"], error["code"]) == ("feedbackId", "CONFLICT")
    assert "only a resolved or closed ticket" in error["message"]
    assert await _articles(db) == 0


async def test_a_ticket_converts_only_once(gql: GraphQLClient, db: Database) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    first = await _convert(gql, ticket_id)
    again = await _convert(gql, ticket_id)
    assert again["userErrors"] == [
        {
            "field": "feedbackId",
            "code": "CONFLICT",
            "message": f"feedback {ticket_id} is already article {first['article']['id']}",
        }
    ]
    assert await _articles(db) == 1


async def test_two_conversions_at_once_make_one_article(gql: GraphQLClient, db: Database) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    results = await asyncio.gather(_convert(gql, ticket_id), _convert(gql, ticket_id))
    assert sorted(bool(r["userErrors"]) for r in results) == [False, True]
    assert [e["code"] for r in results for e in r["userErrors"]] == ["CONFLICT"]
    assert await _articles(db) == 1


async def test_converting_an_unknown_ticket_is_not_found(gql: GraphQLClient) -> None:
    payload = await _convert(gql, "999999")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("feedbackId", "NOT_FOUND")]


async def test_a_blank_category_is_a_validation_error(gql: GraphQLClient, db: Database) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    payload = await _convert(gql, ticket_id, category="  ")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("category", "VALIDATION")]
    assert await _articles(db) == 0


async def test_conversion_needs_the_right_to_write_articles(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    body = await gql(CONVERT, {"id": ticket_id}, role="integration")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_ticket_without_an_article_links_to_none(gql: GraphQLClient) -> None:
    ticket_id = await ticket_in(gql, "RESOLVED")
    assert (await gql.data(LINKED, {"id": ticket_id}))["feedback"]["article"] is None
