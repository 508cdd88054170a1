"""GraphQL over HTTP: media types and status codes as the spec asks, GET rules, persisted
queries, production mode, CORS, cost and rate limits, body size, request ids, /metrics."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from app.api.ratelimit import RateLimiter
from app.settings import Settings
from tests.conftest import GraphQLClient, serving

GQL_JSON = "application/graphql-response+json"


def _auth(gql: GraphQLClient, role: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {gql.keys[role]}"}


async def _post(
    gql: GraphQLClient, body: Any, accept: str | None = GQL_JSON, **headers: str
) -> httpx.Response:
    sent = _auth(gql) | headers | ({"Accept": accept} if accept else {})
    return await gql.http.post("/graphql", json=body, headers=sent)


async def test_the_new_media_type_is_answered_in_kind(gql: GraphQLClient) -> None:
    response = await _post(gql, {"query": "{ viewer { role } }"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GQL_JSON)
    assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


async def test_request_errors_are_400_without_data_under_the_new_media_type(
    gql: GraphQLClient,
) -> None:
    for document in ("{ viewer { ", "{ viewer { nope } }"):
        response = await _post(gql, {"query": document})
        assert response.status_code == 400, document
        assert "data" not in response.json() and response.json()["errors"]


async def test_field_errors_stay_200_with_data_under_the_new_media_type(gql: GraphQLClient) -> None:
    response = await _post(
        gql, {"query": "{ apiKeys { id } }"}, Authorization=f"Bearer {gql.keys['agent']}"
    )
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_legacy_json_answers_request_errors_with_200(gql: GraphQLClient) -> None:
    response = await _post(gql, {"query": "{ viewer { "}, accept=None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "data" not in response.json() and response.json()["errors"]


MALFORMED = [
    {"notquery": "{ viewer { role } }"},
    *({"query": bad} for bad in ({"obj": "ect"}, 0, False, ["array"])),
    *(
        {"query": "{ viewer { role } }", parameter: bad}
        for parameter in ("operationName", "variables", "extensions")
        for bad in ("string" if parameter != "operationName" else {"o": 1}, 0, False, ["a"])
    ),
]


async def test_malformed_requests_get_a_graphql_response_in_either_media_type(
    gql: GraphQLClient,
) -> None:
    # As graphql-http's audit checks: errors and no data, 400 with the new media type and
    # 200 with legacy JSON; strawberry alone answers these in plain text.
    for body in MALFORMED:
        for accept, status in ((GQL_JSON, 400), ("application/json", 200)):
            response = await _post(gql, body, accept=accept)
            assert (response.status_code, response.headers["content-type"]) == (
                status,
                f"{accept}; charset=utf-8",
            ), (body, accept)
            assert "data" not in response.json(), (body, accept)
            assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_body_that_is_not_json_gets_a_graphql_response(gql: GraphQLClient) -> None:
    for accept, status in ((GQL_JSON, 400), ("application/json", 200)):
        for body in ('{ "not a JSON', ""):
            response = await gql.http.post(
                "/graphql",
                content=body,
                headers=_auth(gql) | {"Content-Type": "application/json", "Accept": accept},
            )
            assert response.status_code == status, (body, accept)
            assert response.json()["errors"], (body, accept)
            assert "data" not in response.json()


async def test_unacceptable_accept_is_406_and_unsupported_body_is_415(gql: GraphQLClient) -> None:
    assert (
        await _post(gql, {"query": "{ viewer { role } }"}, accept="text/csv")
    ).status_code == 406
    response = await gql.http.post(
        "/graphql",
        content="{ viewer { role } }",
        headers=_auth(gql) | {"Content-Type": "text/plain"},
    )
    assert response.status_code == 415


async def test_get_runs_queries_but_never_mutations(gql: GraphQLClient) -> None:
    query = await gql.http.get(
        "/graphql", params={"query": "{ viewer { role } }"}, headers=_auth(gql)
    )
    assert query.json() == {"data": {"viewer": {"role": "ADMIN"}}}
    mutation = 'mutation { createApiKey(name: "x", role: AGENT) { secret } }'
    refused = await gql.http.get("/graphql", params={"query": mutation}, headers=_auth(gql))
    assert refused.status_code == 405
    assert refused.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "use POST" in refused.json()["errors"][0]["message"]
    keys = await gql.data("{ apiKeys { name } }")
    assert "x" not in {k["name"] for k in keys["apiKeys"]}


async def test_persisted_queries_by_hash(gql: GraphQLClient) -> None:
    document = "{ viewer { name } }"
    digest = hashlib.sha256(document.encode()).hexdigest()
    extension = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    unknown = await _post(gql, {"extensions": extension})
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    registered = await _post(gql, {"query": document, "extensions": extension})
    assert registered.json() == {"data": {"viewer": {"name": "admin key"}}}
    by_hash = await gql.http.get(
        "/graphql", params={"extensions": json.dumps(extension)}, headers=_auth(gql)
    )
    assert by_hash.json() == {"data": {"viewer": {"name": "admin key"}}}
    forged = await _post(gql, {"query": "{ apiKeys { id } }", "extensions": extension})
    assert forged.status_code == 400


async def test_production_hides_the_schema(gql: GraphQLClient, settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production"})
    async with serving(production) as http:
        ide = await http.get("/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 404
        headers = _auth(gql)
        introspection = await http.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers
        )
        assert "introspection" in introspection.json()["errors"][0]["message"].lower()
        typo = await http.post("/graphql", json={"query": "{ viewr { role } }"}, headers=headers)
        assert "Did you mean" not in typo.text and "viewr" in typo.text
        plain_get = await http.get(
            "/graphql", params={"query": "{ viewer { role } }"}, headers=headers
        )
        assert plain_get.status_code == 405


async def test_cors_follows_the_settings(gql: GraphQLClient, settings: Settings) -> None:
    with_cors = settings.model_copy(update={"cors_origins": ["https://dash.example.com"]})
    async with serving(with_cors) as http:
        preflight = await http.options(
            "/graphql",
            headers={
                "Origin": "https://dash.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.headers["access-control-allow-origin"] == "https://dash.example.com"
        other = await http.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in other.headers


async def test_an_expensive_query_is_refused_naming_its_cost(gql: GraphQLClient) -> None:
    query = "{ users(first: 1000) { edges { node { feedback { replies { body } } } } } }"
    body = await gql(query)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "COST_LIMIT"
    # users 1 + 1000 × (edges 1 + node 1 + feedback 1 + 10 × (replies 1 + 10 × body 1))
    assert error["extensions"]["cost"] == 1 + 1000 * (1 + 1 + 1 + 10 * (1 + 10 * 1))
    assert str(error["extensions"]["cost"]) in error["message"]


async def test_rate_limits_answer_429_with_retry_after(
    gql: GraphQLClient, settings: Settings
) -> None:
    limited = settings.model_copy(update={"rate_limits": {"agent": (2, 1000), "admin": (100, 100)}})
    async with serving(limited) as http:
        headers = {"Authorization": f"Bearer {gql.keys['agent']}"}
        for _ in range(2):
            assert (
                await http.post("/graphql", json={"query": "{ viewer { role } }"}, headers=headers)
            ).status_code == 200
        refused = await http.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers=headers
        )
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        costly = await http.post(
            "/graphql", json={"query": "{ users(first: 200) { totalCount } }"}, headers=_auth(gql)
        )
        assert costly.status_code == 429  # 201 exceeds the admin's cost budget of 100


async def test_too_many_directives_are_refused(gql: GraphQLClient) -> None:
    fields = " ".join(f"a{i}: __typename @include(if: true)" for i in range(21))
    body = await gql("{ viewer { name } " + fields + " }")
    assert body["errors"][0]["message"] == "an operation may use at most 20 directives"


async def test_an_oversized_body_is_413(gql: GraphQLClient) -> None:
    huge = {"query": "{ viewer { role } }", "variables": {"pad": "x" * (4 * 1024 * 1024)}}
    response = await _post(gql, huge)
    assert response.status_code == 413


async def test_each_response_carries_a_request_id(gql: GraphQLClient) -> None:
    given = await _post(gql, {"query": "{ viewer { role } }"}, **{"X-Request-ID": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"
    made = await _post(
        gql, {"query": "{ viewer { role } }"}, **{"X-Request-ID": "bad id\nwith newline"}
    )
    assert len(made.headers["x-request-id"]) == 32


async def test_prometheus_metrics_count_operations(gql: GraphQLClient) -> None:
    await gql.data("{ users { totalCount } }")
    text = (await gql.http.get("/metrics")).text
    assert 'opsgraph_graphql_operation_seconds_count{operation="users",outcome="ok"}' in text
    assert "opsgraph_search_index_lag 0.0" in text
    assert "opsgraph_http_requests_total" in text


def test_rate_windows_reset_after_a_minute_and_unlisted_roles_are_free() -> None:
    now = [1000.0]
    limiter = RateLimiter({"agent": (2, 10)}, clock=lambda: now[0])
    assert limiter.admit(1, "agent", 4) is None
    assert limiter.admit(1, "agent", 4) is None
    assert limiter.admit(1, "agent", 1) == 60  # third request in the same minute
    assert limiter.admit(2, "agent", 11) == 60  # one request over the cost budget
    now[0] += 30
    assert limiter.admit(1, "agent", 1) == 30
    now[0] += 31
    assert limiter.admit(1, "agent", 1) is None
    assert all(limiter.admit(3, "operator", 10**9) is None for _ in range(100))
