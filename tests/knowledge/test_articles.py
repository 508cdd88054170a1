"""FAQ articles through the GraphQL API: create, read, list, edit, delete, the review
workflow, roles, votes and views."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.roles import ROLE_PERMISSIONS, Permission
from app.db import Database
from app.knowledge.models import ArticleVote, SearchOutbox
from tests.conftest import GraphQLClient
from tests.knowledge.articles import (
    ARTICLE_FIELDS,
    CREATE,
    DELETE,
    UPDATE,
    create,
    published,
    transition,
)

VOTE = """
mutation($id: ID!, $helpful: Boolean!) {
  voteArticle(articleId: $id, helpful: $helpful) {
    article { helpfulVotes unhelpfulVotes } userErrors { field message code }
  }
}
"""

VIEW = """
mutation($id: ID!) {
  recordArticleView(articleId: $id, searchQuery: "导出") {
    article { views } userErrors { field message code }
  }
}
"""

LIST = """
query($filter: ArticleFilter, $orderBy: ArticleOrderBy, $first: Int = 50, $after: String,
      $includeUnpublished: Boolean = false) {
  articles(filter: $filter, orderBy: $orderBy, first: $first, after: $after,
           includeUnpublished: $includeUnpublished) {
    totalCount
    edges { node { title status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def outbox_rows(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(SearchOutbox)) or 0)


async def list_titles(gql: GraphQLClient, role: str = "agent", **variables: Any) -> list[str]:
    data = (await gql.data(LIST, variables, role=role))["articles"]
    return [edge["node"]["title"] for edge in data["edges"]]


@pytest.fixture
def reader_role(monkeypatch: pytest.MonkeyPatch) -> str:
    """The agent role stripped to reading articles, as a client-facing role would be."""
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.AGENT, frozenset({Permission.ARTICLES_READ}))
    return "agent"


async def test_created_article_is_a_draft_by_the_caller(gql: GraphQLClient) -> None:
    article = await create(
        gql, title="Export reports", body="# Steps", tags=["报表", "export", "报表"], language="EN"
    )
    assert {k: article[k] for k in ("slug", "status", "author", "reviewer", "language")} == {
        "slug": "export-reports",
        "status": "DRAFT",
        "author": "agent key",
        "reviewer": None,
        "language": "EN",
    }
    assert article["tags"] == ["export", "报表"]
    assert article["publishedAt"] is None


async def test_generated_slug_is_ascii_or_article_and_id(gql: GraphQLClient) -> None:
    chinese = await create(gql, title="报表导出失败怎么办")
    assert chinese["slug"] == f"article-{chinese['id']}"
    accented = await create(gql, title="  Café: menu & prices!  ")
    assert accented["slug"] == "cafe-menu-prices"
    again = await create(gql, title="Café menu prices")
    assert again["slug"] == f"cafe-menu-prices-{again['id']}"


async def test_article_is_read_by_id_and_by_slug(gql: GraphQLClient) -> None:
    article = await create(gql, slug="reset-password", title="Reset your password")
    data = await gql.data(
        'query($id: ID!) { a: article(id: $id) { title } b: article(slug: "reset-password") { id } '
        'c: article(slug: "nope") { id } d: article(id: "x") { id } }',
        {"id": article["id"]},
    )
    assert data == {
        "a": {"title": "Reset your password"},
        "b": {"id": article["id"]},
        "c": None,
        "d": None,
    }


async def test_duplicate_slug_is_a_conflict_and_writes_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    await create(gql, slug="export", title="Export")
    before = await outbox_rows(db)
    payload = (
        await gql.data(CREATE, {"input": {"slug": "export", "title": "Other", "category": "c"}})
    )["createArticle"]
    assert payload["article"] is None
    assert payload["userErrors"] == [
        {
            "field": "input.slug",
            "message": "an article with slug 'export' exists",
            "code": "CONFLICT",
        }
    ]
    total = await gql.data("query { articles(includeUnpublished: true) { totalCount } }")
    assert total["articles"]["totalCount"] == 1
    assert await outbox_rows(db) == before


async def test_invalid_fields_are_all_reported_with_their_paths(gql: GraphQLClient) -> None:
    payload = (
        await gql.data(
            CREATE,
            {
                "input": {
                    "title": "  ",
                    "category": "",
                    "slug": "Not A Slug",
                    "tags": [f"t{i}" for i in range(21)],
                }
            },
        )
    )["createArticle"]
    fields = sorted(e["field"] for e in payload["userErrors"])
    assert fields == ["input.category", "input.slug", "input.tags", "input.title"]
    assert {e["code"] for e in payload["userErrors"]} == {"VALIDATION"}


async def test_generated_slug_form_is_reserved(gql: GraphQLClient) -> None:
    payload = (
        await gql.data(CREATE, {"input": {"title": "T", "category": "c", "slug": "article-7"}})
    )["createArticle"]
    assert [e["field"] for e in payload["userErrors"]] == ["input.slug"]


async def test_update_changes_only_the_fields_given(gql: GraphQLClient) -> None:
    article = await create(gql, title="Old title", body="old body", tags=["a"])
    payload = (
        await gql.data(
            UPDATE, {"id": article["id"], "input": {"title": "New title", "tags": ["b"]}}
        )
    )["updateArticle"]
    assert payload["userErrors"] == []
    updated = payload["article"]
    assert (updated["title"], updated["body"], updated["tags"]) == ("New title", "old body", ["b"])
    assert updated["slug"] == article["slug"]
    assert updated["updatedAt"] > article["updatedAt"]


async def test_update_to_a_taken_slug_is_a_conflict(gql: GraphQLClient) -> None:
    await create(gql, slug="taken", title="A")
    other = await create(gql, title="B")
    payload = (await gql.data(UPDATE, {"id": other["id"], "input": {"slug": "taken"}}))[
        "updateArticle"
    ]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("input.slug", "CONFLICT")]


async def test_null_title_is_a_validation_error(gql: GraphQLClient) -> None:
    article = await create(gql)
    payload = (await gql.data(UPDATE, {"id": article["id"], "input": {"title": None}}))[
        "updateArticle"
    ]
    assert payload["userErrors"] == [
        {"field": "input.title", "message": "title cannot be null", "code": "VALIDATION"}
    ]


async def test_unknown_article_is_not_found(gql: GraphQLClient) -> None:
    payload = (await gql.data(UPDATE, {"id": "999", "input": {"title": "x"}}))["updateArticle"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("id", "NOT_FOUND")]


async def test_review_workflow_records_reviewer_and_publication(gql: GraphQLClient) -> None:
    article = await create(gql)
    submitted = await transition(gql, article["id"], "submit", role="agent")
    assert submitted["article"]["status"] == "IN_REVIEW"
    done = await transition(gql, article["id"], "publish", role="operator")
    assert done["userErrors"] == []
    assert done["article"]["status"] == "PUBLISHED"
    assert done["article"]["reviewer"] == "operator key"
    assert done["article"]["publishedAt"] is not None
    archived = await transition(gql, article["id"], "archive")
    assert archived["article"]["status"] == "ARCHIVED"
    revised = await transition(gql, article["id"], "draft")
    assert revised["article"]["status"] == "DRAFT"
    assert (revised["article"]["reviewer"], revised["article"]["publishedAt"]) == (None, None)


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], "publish"),  # a draft skips review
        ([], "archive"),
        (["submit"], "submit"),
        (["submit", "publish"], "submit"),  # published never goes back to review
        (["submit", "publish"], "draft"),
        (["submit", "publish", "archive"], "publish"),
    ],
)
async def test_illegal_transition_is_a_conflict_and_writes_nothing(
    gql: GraphQLClient, db: Database, steps: list[str], illegal: str
) -> None:
    article = await create(gql)
    for step in steps:
        status = (await transition(gql, article["id"], step))["article"]["status"]
    before = await outbox_rows(db)
    payload = await transition(gql, article["id"], illegal)
    assert payload["article"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("id", "CONFLICT")]
    now = await gql.data("query($id: ID!) { article(id: $id) { status } }", {"id": article["id"]})
    assert now["article"]["status"] == (status if steps else "DRAFT")
    assert await outbox_rows(db) == before


async def test_archived_article_must_return_to_draft_before_editing(gql: GraphQLClient) -> None:
    article = await published(gql)
    await transition(gql, article["id"], "archive")
    payload = (await gql.data(UPDATE, {"id": article["id"], "input": {"title": "x"}}))[
        "updateArticle"
    ]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("id", "CONFLICT")]


async def test_editing_a_published_article_keeps_it_published(gql: GraphQLClient) -> None:
    article = await published(gql)
    payload = (await gql.data(UPDATE, {"id": article["id"], "input": {"body": "fixed typo"}}))[
        "updateArticle"
    ]
    assert payload["article"]["status"] == "PUBLISHED"


async def test_deleted_article_is_gone(gql: GraphQLClient) -> None:
    article = await create(gql, tags=["x"])
    payload = (await gql.data(DELETE, {"id": article["id"]}))["deleteArticle"]
    assert payload == {"deletedId": article["id"], "userErrors": []}
    data = await gql.data("query($id: ID!) { article(id: $id) { id } }", {"id": article["id"]})
    assert data["article"] is None
    again = (await gql.data(DELETE, {"id": article["id"]}))["deleteArticle"]
    assert [e["code"] for e in again["userErrors"]] == ["NOT_FOUND"]


async def test_list_shows_only_published_unless_an_editor_asks(gql: GraphQLClient) -> None:
    await published(gql, title="Live")
    await create(gql, title="Draft")
    assert await list_titles(gql) == ["Live"]
    assert sorted(await list_titles(gql, includeUnpublished=True)) == ["Draft", "Live"]
    assert await list_titles(gql, includeUnpublished=True, filter={"status": "DRAFT"}) == ["Draft"]


async def test_list_filters_and_keyset_pages_cover_every_article_once(gql: GraphQLClient) -> None:
    for i in range(5):
        await published(
            gql,
            title=f"Export guide {i}",
            category="reports" if i % 2 else "account",
            tags=["excel"] if i < 3 else [],
            language="EN" if i == 4 else "ZH",
        )
    order = {"field": "TITLE", "descending": False}
    seen: list[str] = []
    after = None
    while True:
        data = (await gql.data(LIST, {"first": 2, "after": after, "orderBy": order}))["articles"]
        seen += [edge["node"]["title"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == [f"Export guide {i}" for i in range(5)]
    assert await list_titles(gql, filter={"category": "reports"}, orderBy=order) == [
        "Export guide 1",
        "Export guide 3",
    ]
    assert await list_titles(gql, filter={"tag": "excel", "language": "ZH"}, orderBy=order) == [
        "Export guide 0",
        "Export guide 1",
        "Export guide 2",
    ]
    assert await list_titles(gql, filter={"search": "GUIDE 4"}) == ["Export guide 4"]


async def test_reader_never_sees_unpublished_articles(gql: GraphQLClient, reader_role: str) -> None:
    draft = await create(gql, role="operator", title="Draft")
    await published(gql, role="operator", title="Live")
    assert await list_titles(gql, role=reader_role) == ["Live"]
    data = await gql.data(
        "query($id: ID!) { article(id: $id) { id } }", {"id": draft["id"]}, role=reader_role
    )
    assert data["article"] is None
    body = await gql(LIST, {"includeUnpublished": True}, role=reader_role)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_reader_may_not_edit(gql: GraphQLClient, reader_role: str) -> None:
    body = await gql(CREATE, {"input": {"title": "T", "category": "c"}}, role=reader_role)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_integration_has_no_access_to_articles(gql: GraphQLClient) -> None:
    body = await gql("query { articles { totalCount } }", role="integration")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_each_voter_counts_once_and_a_second_vote_replaces_the_first(
    gql: GraphQLClient, db: Database
) -> None:
    article = await published(gql)
    for role, helpful in [("agent", True), ("operator", True), ("agent", False), ("agent", False)]:
        payload = (await gql.data(VOTE, {"id": article["id"], "helpful": helpful}, role=role))[
            "voteArticle"
        ]
        assert payload["userErrors"] == []
    assert payload["article"] == {"helpfulVotes": 1, "unhelpfulVotes": 1}
    async with db.read() as session:
        votes = (await session.execute(select(ArticleVote.voter, ArticleVote.helpful))).all()
    assert sorted(helpful for _, helpful in votes) == [False, True]
    assert all(voter.startswith("key:") for voter, _ in votes)


async def test_votes_and_views_need_a_published_article(gql: GraphQLClient) -> None:
    draft = await create(gql)
    vote = (await gql.data(VOTE, {"id": draft["id"], "helpful": True}))["voteArticle"]
    view = (await gql.data(VIEW, {"id": draft["id"]}))["recordArticleView"]
    missing = (await gql.data(VIEW, {"id": "999"}))["recordArticleView"]
    assert [(e["field"], e["code"]) for e in vote["userErrors"]] == [("articleId", "CONFLICT")]
    assert [(e["field"], e["code"]) for e in view["userErrors"]] == [("articleId", "CONFLICT")]
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [("articleId", "NOT_FOUND")]


async def test_views_are_counted_without_touching_the_search_outbox(
    gql: GraphQLClient, db: Database
) -> None:
    article = await published(gql)
    before = await outbox_rows(db)
    for _ in range(3):
        payload = (await gql.data(VIEW, {"id": article["id"]}, role="agent"))["recordArticleView"]
    assert payload == {"article": {"views": 3}, "userErrors": []}
    assert await outbox_rows(db) == before


async def test_every_article_write_records_one_outbox_row(gql: GraphQLClient, db: Database) -> None:
    article = await create(gql)
    await gql.data(UPDATE, {"id": article["id"], "input": {"body": "b"}})
    await transition(gql, article["id"], "submit")
    await transition(gql, article["id"], "publish")
    await gql.data(VOTE, {"id": article["id"], "helpful": True})
    await gql.data(DELETE, {"id": article["id"]})
    async with db.read() as session:
        ids = list(
            await session.scalars(select(SearchOutbox.article_id).order_by(SearchOutbox.seq))
        )
    assert ids == [int(article["id"])] * 6


async def test_nested_tags_load_in_a_constant_number_of_statements(
    gql: GraphQLClient, count_statements: Any
) -> None:
    for i in range(6):
        await published(gql, title=f"T{i}", tags=[f"tag{i}", "common"])
    query = f"query {{ articles(first: 50) {{ edges {{ node {{ {ARTICLE_FIELDS} }} }} }} }}"
    count_statements.statements.clear()
    data = await gql.data(query)
    assert len(data["articles"]["edges"]) == 6
    assert all("common" in e["node"]["tags"] for e in data["articles"]["edges"])
    # authentication, the write generation, the page, the tags batch
    assert len(count_statements.statements) <= 4, count_statements.statements
