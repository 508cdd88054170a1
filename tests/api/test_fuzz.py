"""Generated operations thrown at the schema: nothing crashes, leaks internals or hangs."""

from __future__ import annotations

import time

import hypothesis_graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from app.api.sdl import schema
from tests.conftest import GraphQLClient

SDL = schema.as_str()
SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
        lambda d: nodes.String(d.isoformat())
    ),
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
        lambda d: nodes.String(str(d))
    ),
    "JSON": st.one_of(st.text(max_size=20), st.just("{}")).map(nodes.String),
}
STATEMENT_TIMEOUT_SECONDS = 15  # no answer may take longer than one statement may
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _assert_handled(gql: GraphQLClient, document: str) -> None:
    started = time.monotonic()
    response = await gql.http.post(
        "/graphql",
        json={"query": document},
        headers={"Authorization": f"Bearer {gql.keys['admin']}"},
    )
    assert time.monotonic() - started < STATEMENT_TIMEOUT_SECONDS
    assert response.status_code == 200, response.text
    body = response.json()
    codes = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
    assert "INTERNAL" not in codes, (document, body)
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()


@FUZZ
@given(document=hypothesis_graphql.queries(SDL, custom_scalars=SCALARS))
async def test_generated_queries_are_answered_without_internal_errors(
    gql: GraphQLClient, document: str
) -> None:
    await _assert_handled(gql, document)


@FUZZ
@given(document=hypothesis_graphql.mutations(SDL, custom_scalars=SCALARS))
async def test_generated_mutations_are_answered_without_internal_errors(
    gql: GraphQLClient, document: str
) -> None:
    await _assert_handled(gql, document)


# Ids are strings on the wire: numbers no 32-bit key can hold once reached the driver and
# failed there (SQLite overflows; asyncpg refuses an int4), which the fuzzer found.
BEYOND_KEYS = ["99999999999999999999", "2147483648", "0", "-1"]


async def test_ids_beyond_the_keys_name_nothing(gql: GraphQLClient) -> None:
    for row_id in BEYOND_KEYS:
        found = await gql.data(
            "query($id: ID!) { feedback(id: $id) { id } user(id: $id) { id } "
            "article(id: $id) { id } campaign(id: $id) { id } }",
            {"id": row_id},
        )
        assert found == {"feedback": None, "user": None, "article": None, "campaign": None}
        survey = await gql.data(
            "mutation($id: ID!) { submitSurveyResponse(input: {kind: NPS, score: 9, userId: $id})"
            " { response { id } userErrors { field code } } }",
            {"id": row_id},
        )
        assert survey["submitSurveyResponse"] == {
            "response": None,
            "userErrors": [{"field": "input.userId", "code": "VALIDATION"}],
        }
        joined = await gql.data(
            "mutation($id: ID!) { recordParticipation(input: {campaignId: $id, userId: $id})"
            " { participation { id } userErrors { field code } } }",
            {"id": row_id},
        )
        errors = joined["recordParticipation"]["userErrors"]
        assert {e["code"] for e in errors} == {"VALIDATION"}, (row_id, errors)
        assert {e["field"] for e in errors} == {"input.campaignId", "input.userId"}
