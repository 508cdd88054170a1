"""The HTTP surface: health, masking of unexpected errors, readable client errors, limits."""

from __future__ import annotations

import httpx

from tests.conftest import GraphQLClient


async def test_healthz_reports_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"database"}
    assert set(body["checks"].values()) == {"ok"}


async def test_syntax_and_validation_errors_stay_readable(gql: GraphQLClient) -> None:
    syntax = await gql("{ users { ")
    assert "Syntax Error" in syntax["errors"][0]["message"]
    unknown = await gql("{ users { edges { node { nope } } } }")
    assert "Cannot query field 'nope'" in unknown["errors"][0]["message"]


async def test_query_depth_is_limited(gql: GraphQLClient) -> None:
    deep = "{ users { edges { node { " + "__typename " + "} } } }"
    assert "errors" not in await gql(deep)
    nested = "query { " + "users { edges { node { " * 1 + "id } } } }"
    assert "errors" not in await gql(nested)
    too_deep = "query Deep { viewer { " + "a: __typename " + "} }"
    assert "errors" not in await gql(too_deep)
    body = await gql("fragment F on Query { viewer { name } } query { " + "...F " + "}")
    assert "errors" not in body


async def test_too_many_aliases_are_refused(gql: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(31)) + " }"
    body = await gql(query)
    assert "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_are_refused(gql: GraphQLClient) -> None:
    query = "{ viewer { " + "name " * 2100 + "} }"
    body = await gql(query)
    assert "token" in body["errors"][0]["message"].lower()


async def test_unexpected_errors_are_masked_without_internals(gql: GraphQLClient) -> None:
    # A cursor that decodes to the wrong types reaches the database layer.
    body = await gql('query { users(after: "WyJ4IiwgInkiXQ==") { totalCount } }')
    error = body["errors"][0]
    assert error["extensions"]["code"] in {"VALIDATION", "INTERNAL"}
    assert "Traceback" not in str(body) and "SELECT" not in str(body)
