"""Segment snapshots: membership frozen at a moment, the size history, paging a snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.db import Database
from app.segments import service
from app.segments.models import SegmentSnapshot, SegmentSnapshotMember
from app.users.models import User
from tests.conftest import GraphQLClient, StatementCounter
from tests.segments.helpers import add_segment

CORE = {"attr": "tier", "op": "eq", "value": "core"}

SNAPSHOT = """
mutation($key: String!) {
  snapshotSegment(key: $key) {
    snapshot { id takenAt size rule } userErrors { field message code }
  }
}"""
HISTORY = """
query($key: String!, $first: Int!, $after: String) {
  segment(key: $key) {
    history(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id size takenAt } }
    }
  }
}"""
SNAPSHOT_MEMBERS = """
query($key: String!, $id: ID!, $first: Int!, $after: String) {
  segment(key: $key) {
    snapshot(id: $id) {
      size
      members(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { externalId } }
      }
    }
  }
}"""


async def add_users(db: Database, names: list[str], tier: str = "core") -> None:
    async with db.unit_of_work() as session:
        session.add_all(User(external_id=name, name=name, tier=tier) for name in names)


async def set_tier(db: Database, name: str, tier: str) -> None:
    async with db.unit_of_work() as session:
        user = await session.scalar(select(User).where(User.external_id == name))
        assert user is not None
        user.tier = tier


async def snapshot(gql: GraphQLClient, key: str) -> dict[str, Any]:
    payload = (await gql.data(SNAPSHOT, {"key": key}))["snapshotSegment"]
    assert payload["userErrors"] == [], payload
    return dict(payload["snapshot"])


async def snapshot_members(gql: GraphQLClient, key: str, snapshot_id: str, first: int) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        variables = {"key": key, "id": snapshot_id, "first": first, "after": after}
        page = (await gql.data(SNAPSHOT_MEMBERS, variables))["segment"]["snapshot"]["members"]
        seen += [edge["node"]["externalId"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


async def test_snapshot_stores_the_members_of_the_moment_and_returns_its_size_and_rule(
    gql: GraphQLClient, db: Database
) -> None:
    await add_users(db, ["a", "b", "c"])
    await add_users(db, ["x"], tier="edge")
    await add_segment(db, "core", CORE)
    taken = await snapshot(gql, "core")
    assert (taken["size"], taken["rule"]) == (3, CORE)
    assert taken["takenAt"].endswith("+00:00")
    # Membership moves on; the snapshot does not.
    await set_tier(db, "a", "edge")
    await add_users(db, ["d"])
    assert await snapshot_members(gql, "core", taken["id"], first=2) == ["a", "b", "c"]
    now = await gql.data('query { segment(key: "core") { size } }')
    assert now["segment"]["size"] == 3  # b, c, d


async def test_history_lists_snapshots_newest_first_with_their_sizes(
    gql: GraphQLClient, db: Database
) -> None:
    await add_segment(db, "core", CORE)
    sizes = []
    for name in ("a", "b", "c"):
        await add_users(db, [name])
        sizes.append((await snapshot(gql, "core"))["size"])
    assert sizes == [1, 2, 3]
    seen, after = [], None
    while True:
        variables = {"key": "core", "first": 2, "after": after}
        page = (await gql.data(HISTORY, variables))["segment"]["history"]
        assert page["totalCount"] == 3
        seen += [edge["node"]["size"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [3, 2, 1]


async def test_a_snapshot_of_another_segment_or_an_unknown_id_is_null(
    gql: GraphQLClient, db: Database
) -> None:
    await add_users(db, ["a"])
    await add_segment(db, "core", CORE)
    await add_segment(db, "edge", {"attr": "tier", "op": "eq", "value": "edge"})
    of_edge = await snapshot(gql, "edge")
    query = 'query($id: ID!) { segment(key: "core") { snapshot(id: $id) { id } } }'
    for snapshot_id in (of_edge["id"], "999999", "nope"):
        assert (await gql.data(query, {"id": snapshot_id}))["segment"]["snapshot"] is None


async def test_snapshot_of_an_unknown_segment_is_not_found_and_writes_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    payload = (await gql.data(SNAPSHOT, {"key": "nope"}))["snapshotSegment"]
    assert payload == {
        "snapshot": None,
        "userErrors": [
            {"field": "key", "message": "no segment with key 'nope'", "code": "NOT_FOUND"}
        ],
    }
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(SegmentSnapshot)) == 0


async def test_snapshot_needs_segments_write(gql: GraphQLClient, db: Database) -> None:
    await add_segment(db, "core", CORE)
    body = await gql(SNAPSHOT, {"key": "core"}, role="integration")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_snapshot_copies_members_in_one_insert_select_whatever_their_number(
    db: Database, count_statements: StatementCounter
) -> None:
    await add_segment(db, "core", CORE)

    async def statements_for(members: int) -> tuple[int, list[str]]:
        await add_users(db, [f"u{members}-{i}" for i in range(members)])
        before = len(count_statements.statements)
        async with db.unit_of_work() as session:
            taken = await service.snapshot_segment(session, None, key="core")
        return taken.size, count_statements.statements[before:]

    (three, few), (sixty, more) = await statements_for(3), await statements_for(57)
    assert (three, sixty) == (3, 60)
    assert len(few) == len(more)
    copies = [s for s in more if "INSERT INTO segment_snapshot_members" in s]
    assert len(copies) == 1 and "SELECT" in copies[0]


async def test_snapshot_member_ids_selects_the_audience_as_it_was(db: Database) -> None:
    await add_users(db, ["a", "b"])
    await add_users(db, ["x"], tier="edge")
    await add_segment(db, "core", CORE)
    async with db.unit_of_work() as session:
        taken = await service.snapshot_segment(session, None, key="core")
    await set_tier(db, "a", "edge")
    assert taken.id is not None
    async with db.read() as session:
        names = await session.scalars(
            select(User.external_id)
            .where(User.id.in_(service.snapshot_member_ids(taken.id)))  # type: ignore[union-attr]
            .order_by(User.external_id)
        )
        assert list(names) == ["a", "b"]
        rows = await session.scalar(select(func.count()).select_from(SegmentSnapshotMember))
        assert rows == 2
