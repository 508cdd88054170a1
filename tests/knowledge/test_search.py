"""searchArticles through the GraphQL API: freshness after every kind of write, who sees
what, paging, facets, highlights, errors and synonyms."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.auth.roles import ROLE_PERMISSIONS, Permission
from tests.conftest import GraphQLClient
from tests.knowledge.articles import (
    DELETE,
    SEARCH,
    UPDATE,
    create,
    published,
    search,
    titles,
    transition,
)

SET_SYNONYMS = """
mutation($groups: [[String!]!]!) {
  setSearchSynonyms(groups: $groups) { synonyms { groups } userErrors { field message code } }
}
"""


async def test_mixed_chinese_and_english_query_finds_the_right_article(gql: GraphQLClient) -> None:
    await published(gql, title="如何重置密码", body="在设置页面点击忘记密码。", category="account")
    await published(
        gql, title="Excel 批量导入用户", body="上传 Excel 模板即可导入。", category="users"
    )
    await published(gql, title="报表导出失败怎么办", body="如果报表导出 Excel 失败，请检查权限。")
    await published(gql, title="导出任务列表", body="在任务页面可以导出 CSV。")
    result = await search(gql, "报表导出 Excel")
    assert titles(result)[0] == "报表导出失败怎么办"
    assert "如何重置密码" not in titles(result)


async def test_draft_is_searchable_by_editors_only_until_published(gql: GraphQLClient) -> None:
    article = await create(gql, title="Gantt chart basics", body="Drag tasks on the timeline.")
    assert titles(await search(gql, "gantt")) == []
    editors = await search(gql, "gantt", includeUnpublished=True)
    assert [e["node"]["status"] for e in editors["edges"]] == ["DRAFT"]
    await transition(gql, article["id"], "submit")
    await transition(gql, article["id"], "publish")
    assert titles(await search(gql, "gantt")) == ["Gantt chart basics"]


async def test_edit_is_searchable_on_the_next_request(gql: GraphQLClient) -> None:
    article = await published(gql, title="Kanban columns", body="Columns hold cards.")
    await gql.data(
        UPDATE, {"id": article["id"], "input": {"title": "Swimlane setup", "tags": ["泳道"]}}
    )
    assert titles(await search(gql, "swimlane")) == ["Swimlane setup"]
    assert titles(await search(gql, "泳道")) == ["Swimlane setup"]
    assert titles(await search(gql, "kanban")) == []


async def test_archived_article_is_gone_from_search(gql: GraphQLClient) -> None:
    article = await published(gql, title="Legacy invoice export")
    await transition(gql, article["id"], "archive")
    assert titles(await search(gql, "invoice")) == []
    archived = await search(gql, "invoice", role="operator", includeUnpublished=True)
    assert [e["node"]["status"] for e in archived["edges"]] == ["ARCHIVED"]


async def test_deleted_article_is_gone_from_search(gql: GraphQLClient) -> None:
    article = await published(gql, title="Webhook retries")
    await gql.data(DELETE, {"id": article["id"]})
    assert (await search(gql, "webhook", includeUnpublished=True))["totalCount"] == 0


async def test_blank_query_is_a_validation_error(gql: GraphQLClient) -> None:
    body = await gql(SEARCH, {"query": "  \t "}, role="agent")
    assert body["data"] is None
    error = body["errors"][0]
    assert error["message"] == "query must not be empty"
    assert error["extensions"] == {"code": "VALIDATION", "field": "query"}


async def test_page_size_above_the_limit_is_a_validation_error(gql: GraphQLClient) -> None:
    body = await gql(SEARCH, {"query": "x", "first": 101}, role="agent")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "first"}


async def test_invalid_cursor_is_a_validation_error(gql: GraphQLClient) -> None:
    body = await gql(SEARCH, {"query": "x", "after": "bm9wZQ=="}, role="agent")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "after"}


async def test_reader_asking_for_unpublished_results_is_forbidden(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.AGENT, frozenset({Permission.ARTICLES_READ}))
    body = await gql(SEARCH, {"query": "x", "includeUnpublished": True}, role="agent")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    allowed = await gql(SEARCH, {"query": "x"}, role="agent")
    assert "errors" not in allowed


async def test_integration_cannot_search(gql: GraphQLClient) -> None:
    body = await gql(SEARCH, {"query": "x"}, role="integration")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_offset_cursors_page_through_every_match_once(gql: GraphQLClient) -> None:
    for i in range(5):
        await published(gql, title=f"Reminder rule {i}")
    seen: list[str] = []
    after = None
    for page in range(3):
        result = await search(gql, "reminder", first=2, after=after)
        assert result["totalCount"] == 5
        assert result["pageInfo"]["hasPreviousPage"] is (page > 0)
        seen += titles(result)
        after = result["pageInfo"]["endCursor"]
    assert result["pageInfo"]["hasNextPage"] is False
    assert sorted(seen) == [f"Reminder rule {i}" for i in range(5)]


async def test_facets_count_every_match_not_only_the_page(gql: GraphQLClient) -> None:
    await published(gql, title="Export A", tags=["Excel", "报表"], category="reports")
    await published(gql, title="Export B", tags=["excel"], category="reports")
    await published(gql, title="Export C", category="account")
    result = await search(gql, "export", first=1)
    assert len(result["edges"]) == 1
    assert result["facets"] == {
        "tags": [{"value": "excel", "count": 2}, {"value": "报表", "count": 1}],
        "categories": [{"value": "reports", "count": 2}, {"value": "account", "count": 1}],
    }


async def test_filters_narrow_by_tag_category_and_language(gql: GraphQLClient) -> None:
    await published(gql, title="Export to Excel", tags=["excel"], category="reports", language="EN")
    await published(gql, title="Export to CSV", category="reports", language="EN")
    await published(gql, title="Export 导出", tags=["excel"], category="account")
    assert titles(await search(gql, "export", tags=["Excel"], category="reports")) == [
        "Export to Excel"
    ]
    assert titles(await search(gql, "export", language="ZH")) == ["Export 导出"]


async def test_highlights_mark_the_matched_words(gql: GraphQLClient) -> None:
    await published(gql, title="Reset a password", body="Open <settings> to reset your password.")
    edge = (await search(gql, "password"))["edges"][0]
    assert {h["field"]: h["fragment"] for h in edge["highlights"]} == {
        "title": "Reset a <mark>password</mark>",
        "body": "Open &lt;settings&gt; to reset your <mark>password</mark>.",
    }


async def test_synonyms_apply_to_the_next_search(gql: GraphQLClient) -> None:
    await published(gql, title="报表下载说明", body="在报表页面点击下载。")
    assert titles(await search(gql, "导出")) == []
    payload = (
        await gql.data(SET_SYNONYMS, {"groups": [["导出", "下载", "导出"], ["PR", "pull request"]]})
    )["setSearchSynonyms"]
    assert payload == {
        "synonyms": {"groups": [["导出", "下载"], ["PR", "pull request"]]},
        "userErrors": [],
    }
    assert titles(await search(gql, "导出")) == ["报表下载说明"]
    read = await gql.data("query { searchSynonyms { groups } }", role="agent")
    assert read["searchSynonyms"]["groups"] == [["导出", "下载"], ["PR", "pull request"]]


async def test_synonym_group_of_one_term_is_rejected_and_keeps_the_old_list(
    gql: GraphQLClient,
) -> None:
    await gql.data(SET_SYNONYMS, {"groups": [["导出", "下载"]]})
    payload = (await gql.data(SET_SYNONYMS, {"groups": [["a", "b"], ["alone"]]}))[
        "setSearchSynonyms"
    ]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("groups.1", "VALIDATION")]
    synonyms = (await gql.data("query { searchSynonyms { groups } }"))["searchSynonyms"]
    assert synonyms["groups"] == [["导出", "下载"]]
