"""GraphQL documents and helpers shared by the knowledge tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient

ARTICLE_FIELDS = """
  id slug title body category language status tags author reviewer
  views helpfulVotes unhelpfulVotes publishedAt createdAt updatedAt
"""

CREATE = f"""
mutation($input: CreateArticleInput!) {{
  createArticle(input: $input) {{
    article {{ {ARTICLE_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

UPDATE = f"""
mutation($id: ID!, $input: UpdateArticleInput!) {{
  updateArticle(id: $id, input: $input) {{
    article {{ {ARTICLE_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

DELETE = """
mutation($id: ID!) { deleteArticle(id: $id) { deletedId userErrors { field message code } } }
"""

TRANSITIONS = {
    "submit": "submitArticleForReview",
    "publish": "publishArticle",
    "archive": "archiveArticle",
    "draft": "returnArticleToDraft",
}

SEARCH = """
query($query: String!, $tags: [String!], $category: String, $language: ArticleLanguage,
      $includeUnpublished: Boolean = false, $first: Int = 10, $after: String) {
  searchArticles(query: $query, tags: $tags, category: $category, language: $language,
                 includeUnpublished: $includeUnpublished, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor score highlights { field fragment } node { id title tags status } }
    facets { tags { value count } categories { value count } }
    suggestion
    indexBehind
  }
}
"""


async def create(gql: GraphQLClient, *, role: str = "agent", **fields: Any) -> dict[str, Any]:
    fields = {"title": "How to export reports", "category": "reports", **fields}
    payload = (await gql.data(CREATE, {"input": fields}, role=role))["createArticle"]
    assert payload["userErrors"] == [], payload
    return dict(payload["article"])


async def transition(
    gql: GraphQLClient, article_id: str, step: str, *, role: str = "operator"
) -> dict[str, Any]:
    field = TRANSITIONS[step]
    query = f"""mutation($id: ID!) {{ {field}(id: $id) {{
        article {{ {ARTICLE_FIELDS} }} userErrors {{ field message code }} }} }}"""
    return dict((await gql.data(query, {"id": article_id}, role=role))[field])


async def published(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    """A new article taken through review to published."""
    article = await create(gql, **fields)
    await transition(gql, article["id"], "submit")
    payload = await transition(gql, article["id"], "publish")
    assert payload["userErrors"] == [], payload
    return dict(payload["article"])


async def search(
    gql: GraphQLClient, query: str, *, role: str = "agent", **variables: Any
) -> dict[str, Any]:
    data = await gql.data(SEARCH, {"query": query, **variables}, role=role)
    return dict(data["searchArticles"])


def titles(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in result["edges"]]
