"""Limiting integration keys to segments: setting the limit, reading it, and loading it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth import service
from app.auth.models import ApiKey, ApiKeySegment
from app.db import Database
from app.errors import Conflict
from app.segments import service as segments
from tests.conftest import GraphQLClient, StatementCounter
from tests.segments.helpers import add_segment

CORE = {"attr": "tier", "op": "eq", "value": "core"}
EDGE = {"attr": "tier", "op": "eq", "value": "edge"}

KEY = "apiKey { id name segments { key } } secret userErrors { field message code }"
CREATE = f"""
mutation($name: String!, $role: Role!, $keys: [String!]) {{
  createApiKey(name: $name, role: $role, segmentKeys: $keys) {{ {KEY} }}
}}"""
SET = f"""
mutation($id: ID!, $keys: [String!]) {{
  setApiKeySegments(id: $id, segmentKeys: $keys) {{ {KEY} }}
}}"""


async def create(gql: GraphQLClient, keys: list[str] | None, role: str = "INTEGRATION") -> Any:
    return (await gql.data(CREATE, {"name": "crm", "role": role, "keys": keys}))["createApiKey"]


async def key_count(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        keys = await session.scalar(select(func.count()).select_from(ApiKey))
        limits = await session.scalar(select(func.count()).select_from(ApiKeySegment))
    return int(keys or 0), int(limits or 0)


@pytest.fixture
async def two_segments(db: Database) -> None:
    await add_segment(db, "core", CORE)
    await add_segment(db, "edge", EDGE)


async def test_a_key_created_with_segment_keys_is_limited_to_them(
    gql: GraphQLClient, two_segments: None
) -> None:
    created = await create(gql, ["edge", "core", "edge"])
    assert created["userErrors"] == [] and created["secret"]
    assert created["apiKey"]["segments"] == [{"key": "core"}, {"key": "edge"}]
    listed = await gql.data("query { apiKeys { name segments { key } } }")
    by_name = {k["name"]: k["segments"] for k in listed["apiKeys"]}
    assert by_name["crm"] == [{"key": "core"}, {"key": "edge"}]
    assert by_name["integration key"] is None  # not limited


async def test_bad_segment_limits_are_rejected_and_write_nothing(
    gql: GraphQLClient, db: Database, two_segments: None
) -> None:
    before = await key_count(db)
    cases = [
        (["core", "nope"], "INTEGRATION", ("segmentKeys.1", "NOT_FOUND")),
        ([], "INTEGRATION", ("segmentKeys", "VALIDATION")),
        (["core"], "OPERATOR", ("segmentKeys", "VALIDATION")),
    ]
    for keys, role, error in cases:
        created = await create(gql, keys, role)
        assert (created["apiKey"], created["secret"]) == (None, None)
        assert [(e["field"], e["code"]) for e in created["userErrors"]] == [error]
    assert await key_count(db) == before


async def test_set_api_key_segments_changes_and_lifts_the_limit(
    gql: GraphQLClient, db: Database, two_segments: None
) -> None:
    key_id = (await create(gql, None))["apiKey"]["id"]
    changed = (await gql.data(SET, {"id": key_id, "keys": ["edge"]}))["setApiKeySegments"]
    assert changed["apiKey"]["segments"] == [{"key": "edge"}]
    changed = (await gql.data(SET, {"id": key_id, "keys": ["core"]}))["setApiKeySegments"]
    assert changed["apiKey"]["segments"] == [{"key": "core"}]
    lifted = (await gql.data(SET, {"id": key_id, "keys": None}))["setApiKeySegments"]
    assert lifted["apiKey"]["segments"] is None
    assert (await key_count(db))[1] == 0


async def test_set_api_key_segments_reports_unknown_keys_and_segments(
    gql: GraphQLClient, db: Database, two_segments: None
) -> None:
    key_id = (await create(gql, ["core"]))["apiKey"]["id"]
    failed = (await gql.data(SET, {"id": key_id, "keys": ["edge", "nope"]}))["setApiKeySegments"]
    assert [(e["field"], e["code"]) for e in failed["userErrors"]] == [
        ("segmentKeys.1", "NOT_FOUND")
    ]
    unknown = (await gql.data(SET, {"id": "99999", "keys": ["core"]}))["setApiKeySegments"]
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [("id", "NOT_FOUND")]
    listed = await gql.data("query { apiKeys { id segments { key } } }")
    assert {"id": key_id, "segments": [{"key": "core"}]} in listed["apiKeys"]


async def test_the_limit_applies_from_the_keys_next_request(
    gql: GraphQLClient, two_segments: None
) -> None:
    created = await create(gql, None)
    gql.keys["crm"] = created["secret"]
    query = "query { segments { edges { node { key } } } }"
    assert len((await gql.data(query, role="crm"))["segments"]["edges"]) == 2
    await gql.data(SET, {"id": created["apiKey"]["id"], "keys": ["edge"]})
    assert (await gql.data(query, role="crm"))["segments"]["edges"] == [{"node": {"key": "edge"}}]


async def test_managing_limits_needs_keys_manage(gql: GraphQLClient, two_segments: None) -> None:
    body = await gql(SET, {"id": "1", "keys": ["core"]}, role="operator")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_authentication_loads_the_limit_in_its_one_statement(
    db: Database, two_segments: None, count_statements: StatementCounter
) -> None:
    async with db.unit_of_work() as session:
        _key, limited = await service.create_api_key(
            session, name="crm", role="integration", segment_keys=["core", "edge"]
        )
        _key, unlimited = await service.create_api_key(session, name="bi", role="integration")
    async with db.read() as session:
        core = await segments.get_segment(session, key="core")
        edge = await segments.get_segment(session, key="edge")
        for secret, expected in ((limited, frozenset({core.id, edge.id})), (unlimited, None)):
            before = len(count_statements.statements)
            actor = await service.authenticate(session, secret)
            assert actor is not None and actor.segment_ids == expected
            assert len(count_statements.statements) - before == 1


async def test_a_segment_a_live_key_is_limited_to_cannot_be_deleted(
    db: Database, two_segments: None
) -> None:
    async with db.unit_of_work() as session:
        key, _secret = await service.create_api_key(
            session, name="crm", role="integration", segment_keys=["core"]
        )
    with pytest.raises(Conflict, match="crm"):
        async with db.unit_of_work() as session:
            await segments.delete_segment(session, key="core")
    assert key.id is not None
    async with db.unit_of_work() as session:
        await service.revoke_api_key(session, key_id=key.id)
    async with db.unit_of_work() as session:
        await segments.delete_segment(session, key="core")


async def test_nul_in_a_name_or_segment_key_is_a_validation_error(
    gql: GraphQLClient, db: Database, two_segments: None
) -> None:
    before = await key_count(db)
    for name, keys, field in (
        ("crm", ["core", "x\u0000"], "segmentKeys"),
        ("x\u0000", None, "name"),
    ):
        created = (await gql.data(CREATE, {"name": name, "role": "INTEGRATION", "keys": keys}))[
            "createApiKey"
        ]
        assert [(e["field"], e["code"]) for e in created["userErrors"]] == [(field, "VALIDATION")]
    assert await key_count(db) == before
