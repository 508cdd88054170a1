"""Injection attempts through filters, search strings, segment rules and property names
are inert: they match literally or are refused, and nothing else happens."""

from __future__ import annotations

import pytest

from tests.conftest import GraphQLClient

ATTEMPTS = [
    "' OR 1=1 --",
    "%' OR '1'='1",
    "x'); DROP TABLE users; --",
    "_%",
    "\\",
    '"; SELECT pg_sleep(5); --',
]


async def _users(gql: GraphQLClient) -> int:
    return int((await gql.data("{ users { totalCount } }"))["users"]["totalCount"])


async def _seed(gql: GraphQLClient) -> None:
    for n in range(3):
        await gql.data(
            'mutation($e: String!) { createUser(input: {externalId: $e, name: "Wang", properties: {department: "PMO"}}) { userErrors { message } } }',
            {"e": f"u{n}"},
        )


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_list_filters_match_injection_text_literally(
    gql: GraphQLClient, attempt: str
) -> None:
    await _seed(gql)
    users = await gql.data(
        "query($s: String) { users(filter: {search: $s}) { totalCount } }", {"s": attempt}
    )
    tickets = await gql.data(
        "query($s: String) { feedbackItems(filter: {search: $s}) { totalCount } }", {"s": attempt}
    )
    articles = await gql.data(
        "query($s: String) { articles(filter: {search: $s}) { totalCount } }", {"s": attempt}
    )
    assert users["users"]["totalCount"] == 0
    assert tickets["feedbackItems"]["totalCount"] == 0
    assert articles["articles"]["totalCount"] == 0
    assert await _users(gql) == 3


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_search_strings_are_plain_text(gql: GraphQLClient, attempt: str) -> None:
    body = await gql(
        "query($q: String!) { searchArticles(query: $q) { totalCount } }", {"q": attempt}
    )
    codes = {e["extensions"]["code"] for e in body.get("errors", [])}
    assert codes <= {"VALIDATION", "BAD_USER_INPUT"}  # e.g. nothing searchable is left
    assert "INTERNAL" not in str(body)


async def test_property_names_in_segment_rules_cannot_carry_sql(gql: GraphQLClient) -> None:
    await _seed(gql)
    for attr in (
        "properties.x') OR 1=1 --",
        'properties.department"; DROP TABLE users; --',
        "name; DROP TABLE users",
    ):
        rule = {"attr": attr, "op": "eq", "value": "PMO"}
        preview = await gql.data(
            "query($r: JSON!) { previewSegment(rule: $r) { preview { size } userErrors { field code } } }",
            {"r": rule},
        )
        assert preview["previewSegment"]["userErrors"][0]["code"] == "VALIDATION"
    values = await gql.data(
        "query($r: JSON!) { previewSegment(rule: $r) { preview { size } } }",
        {"r": {"attr": "properties.department", "op": "eq", "value": "PMO' OR '1'='1"}},
    )
    assert values["previewSegment"]["preview"]["size"] == 0
    assert await _users(gql) == 3
