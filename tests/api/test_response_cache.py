"""The response cache: repeated queries are answered without running them, every write
but recorded activity retires the answers on every replica, keys never share answers,
and what answering records (the search log) is recorded for cached answers too."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import select

from app.api.models import WriteGeneration
from app.api.response_cache import ResponseCache
from app.db import Database
from app.observability import Metrics
from app.settings import Settings
from app.users.models import User
from tests.conftest import GraphQLClient, StatementCounter, serving
from tests.knowledge.articles import published, search
from tests.knowledge.test_insights import log_rows
from tests.segments.helpers import add_segment

COUNT = "{ users(first: 5) { totalCount } }"
CREATE = """
mutation($e: String!) {
  createUser(input: {externalId: $e, name: "n", signedUpAt: "2026-01-01T00:00:00Z"}) {
    user { id }
  }
}"""
TRACK = """
mutation($events: [EventInput!]!) { trackEvents(events: $events) { accepted } }
"""
LAST_ACTIVE = '{ user(externalId: "u1") { lastActiveAt } }'


async def post(http: httpx.AsyncClient, secret: str | None, query: str, **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def generation(db: Database) -> int | None:
    async with db.read() as session:
        return await session.scalar(select(WriteGeneration.value))


async def total(gql: GraphQLClient, role: str = "admin") -> int:
    return int((await gql.data(COUNT, role=role))["users"]["totalCount"])


async def test_a_repeated_query_is_answered_without_running_it(
    gql: GraphQLClient, count_statements: StatementCounter
) -> None:
    await gql.data(CREATE, {"e": "u1"})
    assert await total(gql) == 1
    count_statements.statements.clear()
    assert await total(gql) == 1
    # the key lookup and the write generation; no count of users
    assert len(count_statements.statements) == 2, count_statements.statements
    assert "write_generation" in count_statements.statements[1]
    metrics = (await gql.http.get("/metrics")).text
    assert 'opsgraph_response_cache_lookups_total{outcome="hit"}' in metrics


async def test_a_write_retires_the_answers_of_every_replica(
    settings: Settings, keys: dict[str, str], db: Database
) -> None:
    async with serving(settings) as first, serving(settings) as second:
        for replica in (first, second):
            assert (await post(replica, keys["admin"], COUNT))["data"]["users"]["totalCount"] == 0
        before = await generation(db)
        await post(first, keys["admin"], CREATE, e="u1")
        assert await generation(db) == (before or 0) + 1
        for replica in (first, second):
            assert (await post(replica, keys["admin"], COUNT))["data"]["users"]["totalCount"] == 1


async def test_recorded_activity_shows_within_the_cache_seconds(
    settings: Settings, keys: dict[str, str], db: Database
) -> None:
    short = settings.model_copy(update={"response_cache_seconds": 0.5})
    async with serving(short) as http:
        await post(http, keys["admin"], CREATE, e="u1")
        assert (await post(http, keys["admin"], LAST_ACTIVE))["data"]["user"][
            "lastActiveAt"
        ] is None
        before = await generation(db)
        event = {"externalId": "u1", "name": "login", "occurredAt": "2026-03-05T00:00:00Z"}
        assert (await post(http, keys["integration"], TRACK, events=[event]))["data"]
        # Integrations send activity continuously: it leaves the generation, and so the
        # answers, alone until they expire.
        assert await generation(db) == before
        assert (await post(http, keys["admin"], LAST_ACTIVE))["data"]["user"][
            "lastActiveAt"
        ] is None
        await asyncio.sleep(0.6)
        answered = await post(http, keys["admin"], LAST_ACTIVE)
        assert answered["data"]["user"]["lastActiveAt"] == "2026-03-05T00:00:00+00:00"


async def test_keys_never_share_answers(gql: GraphQLClient, db: Database) -> None:
    for external_id in ("u1", "u2"):
        await gql.data(CREATE, {"e": external_id})
    created = await gql.data(
        'mutation { createApiKey(name: "second admin", role: ADMIN) { secret } }'
    )
    gql.keys["second"] = created["createApiKey"]["secret"]
    assert await total(gql) == 2
    async with db.unit_of_work() as session:  # by hand: the generation stays
        session.add(User(external_id="u3", name="n"))
    # The first key's cached answer is its own; the second key's query runs.
    assert await total(gql) == 2
    assert await total(gql, role="second") == 3


async def test_answers_with_errors_are_not_kept(gql: GraphQLClient, db: Database) -> None:
    query = '{ segmentMembership(segmentKey: "core", externalIds: ["u1"]) { known } }'
    missing = await gql(query)
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await add_segment(db, "core", {"attr": "tier", "op": "eq", "value": "core"})  # by hand
    assert (await gql.data(query))["segmentMembership"] == [{"known": False}]


async def test_refused_mutations_write_nothing_not_even_the_generation(
    gql: GraphQLClient, db: Database
) -> None:
    before = await generation(db)
    unauthenticated = await gql(CREATE, {"e": "u1"}, role=None)
    assert unauthenticated["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    forbidden = await gql(CREATE, {"e": "u1"}, role="agent")
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await generation(db) == before


async def test_every_search_answered_from_the_cache_is_logged(
    gql: GraphQLClient, db: Database, count_statements: StatementCounter
) -> None:
    await published(gql, title="Export to Excel")
    assert (await search(gql, "excel"))["totalCount"] == 1
    count_statements.statements.clear()
    assert (await search(gql, "excel"))["totalCount"] == 1
    assert not any("articles" in s for s in count_statements.statements)  # cached
    assert await log_rows(db) == [("excel", "excel", 1, "agent key")] * 2


async def test_queries_missing_the_same_answer_at_once_compute_it_once(
    gql: GraphQLClient, count_statements: StatementCounter
) -> None:
    await gql.data(CREATE, {"e": "u1"})  # retires the answers
    count_statements.statements.clear()
    answers = await asyncio.gather(*(total(gql) for _ in range(5)))
    assert answers == [1] * 5
    counts = [s for s in count_statements.statements if "count(" in s.lower()]
    assert len(counts) == 1, counts


async def test_waiters_compute_their_own_answer_when_the_first_request_is_cancelled() -> None:
    cache = ResponseCache(seconds=10, max_bytes=2**20, metrics=Metrics())
    computing = asyncio.Event()

    async def cancelled_request() -> None:
        assert await cache.get("key", 1) is None  # computes, and never finishes
        computing.set()
        await asyncio.sleep(10)

    first = asyncio.create_task(cancelled_request())
    await computing.wait()
    waiter = asyncio.create_task(cache.get("key", 1))
    await asyncio.sleep(0)
    assert not waiter.done()  # waits for the first request's answer
    first.cancel()
    started = time.monotonic()
    assert await waiter is None  # released: it computes its own
    assert time.monotonic() - started < 1


def rows(n: int) -> dict[str, Any]:
    return {"edges": [{"node": {"externalId": f"demo-{i:04d}"}} for i in range(n)]}


async def test_a_kept_answer_is_served_to_waiters_and_later_requests() -> None:
    cache = ResponseCache(seconds=10, max_bytes=2**20, metrics=Metrics())
    assert await cache.get("key", 1) is None
    waiter = asyncio.create_task(cache.get("key", 1))
    await asyncio.sleep(0)
    cache.finish("key", 1, rows(3))
    assert (await waiter).data == rows(3)  # type: ignore[union-attr]
    assert (await cache.get("key", 1)).data == rows(3)  # type: ignore[union-attr]
    assert await cache.get("key", 2) is None  # another generation: computed again


async def test_kept_answers_stay_within_their_memory() -> None:
    # 1,000 rows take about 420 kB as Python objects (and 36 kB as JSON).
    cache = ResponseCache(seconds=10, max_bytes=600_000, metrics=Metrics())
    for key in ("first", "second"):
        assert await cache.get(key, 1) is None
        cache.finish(key, 1, rows(1000))
    assert await cache.get("first", 1) is None  # dropped to make room for the second
    assert (await cache.get("second", 1)).data == rows(1000)  # type: ignore[union-attr]
    assert await cache.get("large", 1) is None
    waiter = asyncio.create_task(cache.get("large", 1))
    await asyncio.sleep(0)
    cache.finish("large", 1, rows(2000))  # larger than all: handed over, not kept
    assert (await waiter).data == rows(2000)  # type: ignore[union-attr]
    assert await cache.get("large", 1) is None
    assert (await cache.get("second", 1)).data == rows(1000)  # type: ignore[union-attr]
