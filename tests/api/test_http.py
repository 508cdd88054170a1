"""The HTTP surface: health, masking of unexpected errors, readable client errors, limits."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from graphql import GraphQLError

from app.api.errors import ShapeErrors
from app.errors import NotFound
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
    def nested(levels: int) -> str:
        # users > edges > node, then feedback > user pairs, each pair two levels deeper
        inner = "name"
        for _ in range(levels):
            inner = f"feedback {{ user {{ {inner} }} }}"
        return f"query Deep {{ users(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"

    assert "errors" not in await gql(nested(4))  # depth 11: within the limit of 12
    body = await gql(nested(5))  # depth 13
    assert body["errors"][0]["message"] == "'Deep' exceeds maximum operation depth of 12"


async def test_too_many_aliases_are_refused(gql: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(31)) + " }"
    body = await gql(query)
    assert "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_are_refused(gql: GraphQLClient) -> None:
    query = "{ viewer { " + "name " * 2100 + "} }"
    body = await gql(query)
    assert "token" in body["errors"][0]["message"].lower()


async def test_a_forged_cursor_is_a_client_error_on_every_database(gql: GraphQLClient) -> None:
    forged = base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00", "1 OR 1=1"]).encode())
    body = await gql(
        "query($after: String) { users(after: $after) { totalCount } }", {"after": forged.decode()}
    )
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "after"}


def _located(original: Exception) -> GraphQLError:
    return GraphQLError("boom", path=["users"], original_error=original)


def test_unexpected_errors_are_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    shaped = ShapeErrors()
    error = _located(RuntimeError("connection to 10.0.0.5 failed: SELECT secret FROM users"))
    assert shaped.should_mask_error(error)
    masked = shaped.anonymise_error(error)
    assert masked.message.startswith("Unexpected error.")
    assert masked.extensions == {"code": "INTERNAL"}
    assert "SELECT" not in masked.message
    assert "SELECT secret" in caplog.text  # the operators still see what happened


def test_expected_service_errors_stay_readable_with_their_code() -> None:
    shaped = ShapeErrors()
    error = _located(NotFound("no user with id 7", field="id"))
    assert shaped.should_mask_error(error)
    readable = shaped.anonymise_error(error)
    assert readable.message == "no user with id 7"
    assert readable.extensions == {"code": "NOT_FOUND", "field": "id"}
    assert not shaped.should_mask_error(GraphQLError("Syntax Error: Expected Name"))
