"""Deleting a user deletes their events, including a batch ingesting for them meanwhile:
events have no foreign key to users, so ingestion and deletion keep this between them."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.events.models import Event
from app.events.service import BatchResult, track_events
from app.metrics import rollup
from app.users.service import delete_user
from tests.conftest import GraphQLClient
from tests.metrics.helpers import Person, add_users, at, event, track

D = date(2026, 3, 1)


async def events_by_user(db: Database) -> dict[int, int]:
    async with db.read() as session:
        rows = await session.execute(
            select(Event.user_id, func.count()).group_by(Event.user_id).order_by(Event.user_id)
        )
        return {user_id: count for user_id, count in rows}


async def track_one(session: AsyncSession, user: str) -> BatchResult:
    """One event for `user`, in the caller's transaction."""
    return await track_events(
        session,
        events=[event(user, at(D, 8))],
        idempotency_key=None,
        api_key_id=None,
        max_batch=5000,
    )


async def test_deleting_a_user_deletes_their_events_and_only_theirs(
    db: Database, gql: GraphQLClient
) -> None:
    ids = await add_users(db, [Person("u1", at(D, 0)), Person("u2", at(D, 0))])
    await track(db, [event("u1", at(D, 8)), event("u1", at(D, 9)), event("u2", at(D, 8))])
    deleted = await gql.data(
        "mutation($id: ID!) { deleteUser(id: $id) { deletedId userErrors { code } } }",
        {"id": str(ids["u1"])},
    )
    assert deleted["deleteUser"] == {"deletedId": str(ids["u1"]), "userErrors": []}
    assert await events_by_user(db) == {ids["u2"]: 1}


async def test_a_deletion_waits_for_a_batch_ingesting_for_the_user(db: Database) -> None:
    ids = await add_users(db, [Person("u1", at(D, 0))])
    await rollup.ensure_rollup(db, "UTC")
    async with db.unit_of_work() as ingesting:
        assert (await track_one(ingesting, "u1")).accepted == 1

        async def delete() -> None:
            async with db.unit_of_work() as session:
                await delete_user(session, None, user_id=ids["u1"])

        deletion = asyncio.create_task(delete())
        await asyncio.sleep(0.3)
        assert not deletion.done()  # the batch holds its user until it commits
    await deletion
    assert await events_by_user(db) == {}


async def test_a_batch_waits_for_a_deletion_and_then_finds_no_user(db: Database) -> None:
    ids = await add_users(db, [Person("u1", at(D, 0))])
    await rollup.ensure_rollup(db, "UTC")
    async with db.unit_of_work() as deleting:
        await delete_user(deleting, None, user_id=ids["u1"])

        async def ingest() -> list[str]:
            async with db.unit_of_work() as session:
                result = await track_one(session, "u1")
            return [r.message for r in result.rejected]

        ingestion = asyncio.create_task(ingest())
        await asyncio.sleep(0.3)
        assert not ingestion.done()
    assert await ingestion == ["no user 'u1'"]
    assert await events_by_user(db) == {}
