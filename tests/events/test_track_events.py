"""trackEvents: batches are one transaction; bad events are named; retries are idempotent."""

from __future__ import annotations

from typing import Any

from app.db import Database
from tests.conftest import GraphQLClient, retire_cached_answers

TRACK = """
mutation($events: [EventInput!]!, $key: String) {
  trackEvents(events: $events, idempotencyKey: $key) {
    accepted duplicate rejected { index field message } userErrors { field message code }
  }
}
"""
EVENTS = "query($f: EventFilter) { events(filter: $f, first: 100) { totalCount edges { node { name feature occurredAt userId } } } }"


async def make_user(gql: GraphQLClient, external_id: str) -> str:
    data = await gql.data(
        'mutation($e: String!) { createUser(input: {externalId: $e, name: "n", signedUpAt: "2026-01-01T00:00:00Z"}) { user { id } } }',
        {"e": external_id},
    )
    return str(data["createUser"]["user"]["id"])


async def track(
    gql: GraphQLClient,
    events: list[dict[str, Any]],
    key: str | None = None,
    role: str = "integration",
) -> dict[str, Any]:
    return dict((await gql.data(TRACK, {"events": events, "key": key}, role=role))["trackEvents"])


async def test_a_valid_batch_is_stored_and_updates_last_active(gql: GraphQLClient) -> None:
    await make_user(gql, "u1")
    result = await track(
        gql,
        [
            {"externalId": "u1", "name": "login", "occurredAt": "2026-03-01T09:00:00+08:00"},
            {
                "externalId": "u1",
                "name": "feature_used",
                "feature": "gantt_view",
                "occurredAt": "2026-03-02T10:00:00Z",
            },
            {
                "externalId": "u1",
                "name": "session",
                "durationSeconds": 600,
                "occurredAt": "2026-02-01T10:00:00Z",
            },
        ],
    )
    assert result == {"accepted": 3, "duplicate": False, "rejected": [], "userErrors": []}
    user = await gql.data('query { user(externalId: "u1") { lastActiveAt } }')
    assert user["user"]["lastActiveAt"] == "2026-03-02T10:00:00+00:00"
    stored = await gql.data(EVENTS, {"f": {"name": "login"}})
    assert stored["events"]["edges"][0]["node"]["occurredAt"] == "2026-03-01T01:00:00+00:00"


async def test_last_active_is_the_latest_event_whatever_order_batches_arrive_in(
    gql: GraphQLClient, db: Database
) -> None:
    await make_user(gql, "u1")
    await make_user(gql, "u2")

    async def last_active() -> dict[str, str | None]:
        await retire_cached_answers(db)  # batches show in cached answers within seconds
        data = await gql.data(
            'query { a: user(externalId: "u1") { lastActiveAt } b: user(externalId: "u2") { lastActiveAt } }'
        )
        return {"u1": data["a"]["lastActiveAt"], "u2": data["b"]["lastActiveAt"]}

    await track(gql, [{"externalId": "u1", "name": "login", "occurredAt": "2026-03-05T00:00:00Z"}])
    # A late event for u1 leaves it alone; u2's first event sets it, the latest of two.
    await track(
        gql,
        [
            {"externalId": "u1", "name": "login", "occurredAt": "2026-03-01T00:00:00Z"},
            {"externalId": "u2", "name": "login", "occurredAt": "2026-03-03T00:00:00Z"},
            {"externalId": "u2", "name": "login", "occurredAt": "2026-03-02T00:00:00Z"},
        ],
    )
    assert await last_active() == {
        "u1": "2026-03-05T00:00:00+00:00",
        "u2": "2026-03-03T00:00:00+00:00",
    }
    await track(gql, [{"externalId": "u1", "name": "login", "occurredAt": "2026-03-06T12:00:00Z"}])
    assert (await last_active())["u1"] == "2026-03-06T12:00:00+00:00"


async def test_bad_events_are_named_by_index_and_the_good_ones_stored(gql: GraphQLClient) -> None:
    user_id = await make_user(gql, "u1")
    result = await track(
        gql,
        [
            {"externalId": "u1", "name": "login", "occurredAt": "2026-03-01T00:00:00Z"},
            {"externalId": "ghost", "name": "login", "occurredAt": "2026-03-01T00:00:00Z"},
            {"externalId": "u1", "name": "Bad Name!"},
            {
                "userId": user_id,
                "name": "payment",
                "revenue": "-5",
                "occurredAt": "2026-03-01T00:00:00Z",
            },
            {"name": "login"},
            {"externalId": "u1", "name": "login", "occurredAt": "2099-01-01T00:00:00Z"},
            {
                "userId": user_id,
                "name": "payment",
                "revenue": "19.90",
                "occurredAt": "2026-03-01T00:00:00Z",
            },
        ],
    )
    assert result["accepted"] == 2
    assert [(r["index"], r["field"]) for r in result["rejected"]] == [
        (1, "externalId"),
        (2, "name"),
        (3, "revenue"),
        (4, None),
        (5, "occurredAt"),
    ]
    assert "ghost" in result["rejected"][0]["message"]
    assert (await gql.data(EVENTS))["events"]["totalCount"] == 2


async def test_an_oversized_batch_is_refused_whole(gql: GraphQLClient) -> None:
    await make_user(gql, "u1")
    events = [{"externalId": "u1", "name": "login", "occurredAt": "2026-03-01T00:00:00Z"}] * 5001
    result = await track(gql, events)
    assert result["accepted"] == 0
    assert result["userErrors"][0]["field"] == "events"
    assert "at most 5000" in result["userErrors"][0]["message"]
    assert (await gql.data(EVENTS))["events"]["totalCount"] == 0


async def test_a_full_batch_of_5000_is_accepted(gql: GraphQLClient) -> None:
    await make_user(gql, "u1")
    events = [
        {
            "externalId": "u1",
            "name": "login",
            "occurredAt": f"2026-03-01T00:{i // 100 % 60:02d}:{i % 60:02d}Z",
        }
        for i in range(5000)
    ]
    assert (await track(gql, events))["accepted"] == 5000


async def test_a_retried_batch_with_the_same_key_is_stored_once(gql: GraphQLClient) -> None:
    await make_user(gql, "u1")
    batch = [{"externalId": "u1", "name": "login", "occurredAt": "2026-03-01T00:00:00Z"}] * 3
    first = await track(gql, batch, key="batch-42")
    again = await track(gql, batch, key="batch-42")
    assert (first["accepted"], first["duplicate"]) == (3, False)
    assert (again["accepted"], again["duplicate"]) == (3, True)
    assert (await gql.data(EVENTS))["events"]["totalCount"] == 3


async def test_agents_cannot_track_events(gql: GraphQLClient) -> None:
    body = await gql(TRACK, {"events": [{"externalId": "u1", "name": "login"}]}, role="agent")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_channel_exposures_are_set_per_channel_and_day(gql: GraphQLClient) -> None:
    record = """mutation($x: [ChannelExposureInput!]!) { recordChannelExposures(exposures: $x) { recorded userErrors { field } } }"""
    await gql.data(record, {"x": [{"channel": "search", "day": "2026-03-01", "impressions": 100}]})
    result = await gql.data(
        record,
        {
            "x": [
                {"channel": "search", "day": "2026-03-01", "impressions": 150},
                {"channel": "social", "day": "2026-03-02", "impressions": 80},
            ]
        },
    )
    assert result["recordChannelExposures"]["recorded"] == 2
    bad = await gql.data(record, {"x": [{"channel": "", "day": "2026-03-01", "impressions": -1}]})
    assert sorted(e["field"] for e in bad["recordChannelExposures"]["userErrors"]) == [
        "exposures.0.channel",
        "exposures.0.impressions",
    ]
    listed = await gql.data(
        'query { channelExposures(dayFrom: "2026-03-01", dayTo: "2026-03-31") { channel day impressions } }'
    )
    assert listed["channelExposures"] == [
        {"channel": "search", "day": "2026-03-01", "impressions": 150},
        {"channel": "social", "day": "2026-03-02", "impressions": 80},
    ]
