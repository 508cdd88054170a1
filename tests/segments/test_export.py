"""Exporting a segment of thousands of members in 1,000-member pages while users and events
keep arriving: every original member comes back exactly once, in id order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import insert, select

from app.db import Database
from app.events.models import Event
from app.sqltypes import utcnow
from app.users.models import User
from tests.conftest import GraphQLClient
from tests.segments.helpers import add_segment

USERS = 4000  # every fourth never logged in: 3,000 members
RULE = {"event": "login", "withinDays": 30}
MEMBERS = """
query($after: String) {
  segment(key: "recent-login") {
    members(first: 1000, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { id } }
    }
  }
}"""


async def add_people(db: Database, start: int, count: int) -> list[int]:
    """Users `start`… with one login each, except every fourth; returns the members' ids."""
    now = utcnow()
    async with db.unit_of_work() as session:
        rows = [
            {"external_id": f"p{i:05}", "name": f"P {i}", "tier": "edge", "properties": {}}
            for i in range(start, start + count)
        ]
        for row in rows:
            row |= {"signed_up_at": now, "created_at": now, "updated_at": now}
        await session.execute(insert(User), rows)
        ids = (
            await session.scalars(
                select(User.id).where(User.external_id >= f"p{start:05}").order_by(User.id)
            )
        ).all()
        logins = [user_id for n, user_id in enumerate(ids) if (start + n) % 4 != 3]
        await session.execute(
            insert(Event),
            [
                {"user_id": u, "name": "login", "occurred_at": now - timedelta(hours=1)}
                for u in logins
            ],
        )
    return logins


class Writer:
    """Keeps adding users (members and not) and events for existing users until stopped."""

    def __init__(self, db: Database, first_id: int) -> None:
        self.db, self.batches, self.stopped = db, 0, False
        self.next, self.first_id = USERS, first_id
        self.wrote = asyncio.Event()

    async def run(self) -> None:
        while not self.stopped:
            await add_people(self.db, self.next, 7)
            async with self.db.unit_of_work() as session:  # more behaviour for old members
                session.add(
                    Event(user_id=self.first_id + self.batches, name="login", occurred_at=utcnow())
                )
            self.next += 7
            self.batches += 1
            self.wrote.set()
            await asyncio.sleep(0)

    async def next_batch(self) -> None:
        """Returns once a whole batch has been written after this call."""
        self.wrote.clear()
        await self.wrote.wait()


async def test_a_walk_returns_every_original_member_once_while_writes_continue(
    gql: GraphQLClient, db: Database
) -> None:
    original = await add_people(db, 0, USERS)
    assert len(original) == 3000
    await add_segment(db, "recent-login", RULE)
    writer = Writer(db, original[0])
    task = asyncio.create_task(writer.run())
    returned: list[int] = []
    after, pages = None, 0
    try:
        while True:
            body = await gql.data(MEMBERS, {"after": after}, role="integration")
            page = body["segment"]["members"]
            returned += [int(edge["node"]["id"]) for edge in page["edges"]]
            pages += 1
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
            await writer.next_batch()  # new rows between page requests
    finally:
        writer.stopped = True
        await task
    assert pages >= 3 and writer.batches >= pages - 1
    assert returned == sorted(set(returned))  # in id order, nobody twice
    kept = set(original)
    assert [user_id for user_id in returned if user_id in kept] == original
