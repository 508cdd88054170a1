"""A page of users with their nested lists runs a constant number of SQL statements."""

from __future__ import annotations

from sqlalchemy import insert

from app.db import Database
from app.feedback.models import Feedback, FeedbackReply, FeedbackTag
from app.segments.service import ensure_builtin_segments
from app.users.models import User, UserTag
from tests.conftest import GraphQLClient, StatementCounter, retire_cached_answers

PAGE = """
query($first: Int!) {
  users(first: $first) {
    edges { node { externalId tags lifecycleStage
      feedback { title tags replies { body } history { toStatus } }
      segments { key } } }
  }
}
"""


async def _population(db: Database, size: int) -> None:
    async with db.unit_of_work() as session:
        await ensure_builtin_segments(session)
        for n in range(size):
            user = User(
                external_id=f"u{n}", name=f"user {n}", tier=["core", "backbone", "edge"][n % 3]
            )
            session.add(user)
            await session.flush()
            await session.execute(insert(UserTag), [{"user_id": user.id, "tag": "t"}])
            for k in range(2):
                ticket = Feedback(user_id=user.id, channel="email", type="bug", title=f"t{n}.{k}")
                session.add(ticket)
                await session.flush()
                await session.execute(insert(FeedbackTag), [{"feedback_id": ticket.id, "tag": "x"}])
                await session.execute(
                    insert(FeedbackReply), [{"feedback_id": ticket.id, "author": "a", "body": "b"}]
                )


async def test_fifty_users_with_feedback_and_segments_cost_what_five_do(
    gql: GraphQLClient, db: Database, count_statements: StatementCounter
) -> None:
    await _population(db, 50)
    counts = []
    for first in (5, 50):
        await retire_cached_answers(db)
        count_statements.statements.clear()
        data = await gql.data(PAGE, {"first": first})
        assert len(data["users"]["edges"]) == first
        assert all(len(e["node"]["feedback"]) == 2 for e in data["users"]["edges"])
        counts.append(len(count_statements.statements))
    assert counts[0] == counts[1]
    # key lookup, write generation, page, tags, lifecycle, feedback, its tags, replies,
    # history, segments (2)
    assert counts[1] <= 11, count_statements.statements
