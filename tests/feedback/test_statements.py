"""Nested feedback under a page of users costs the same SQL statements at any page size."""

from __future__ import annotations

from app.db import Database
from app.feedback import service as feedback
from app.users import service as users
from tests.conftest import GraphQLClient, StatementCounter, retire_cached_answers

QUERY = """
query($first: Int!) {
  users(first: $first) {
    edges { node { tags feedback { title tags replies { body } } } }
  }
}"""


async def seed(db: Database, count: int) -> None:
    async with db.unit_of_work() as session:
        for i in range(count):
            user = await users.create_user(
                session, data={"external_id": f"u{i}", "name": f"User {i}", "tags": ["core"]}
            )
            for j in range(2):
                ticket = await feedback.create_feedback(
                    session,
                    "seed",
                    data={
                        "user_id": user.id,
                        "channel": "in_app",
                        "type": "bug",
                        "title": f"Ticket {i}.{j}",
                        "tags": ["export", f"t{j}"],
                    },
                )
                assert ticket.id is not None
                await feedback.reply_to_feedback(
                    session, "seed", feedback_id=ticket.id, body="On it"
                )


async def test_users_with_feedback_cost_the_same_statements_for_5_or_50(
    gql: GraphQLClient, db: Database, count_statements: StatementCounter
) -> None:
    await seed(db, 50)

    async def statements_for(first: int) -> int:
        await retire_cached_answers(db)
        before = len(count_statements.statements)
        data = await gql.data(QUERY, {"first": first}, role="agent")
        nodes = [edge["node"] for edge in data["users"]["edges"]]
        assert len(nodes) == first
        assert all(len(node["feedback"]) == 2 for node in nodes)
        assert nodes[0]["feedback"][0]["tags"] == ["export", "t1"]
        assert nodes[0]["feedback"][0]["replies"] == [{"body": "On it"}]
        return len(count_statements.statements) - before

    await statements_for(5)  # warm up: a fresh engine may ask the server about itself
    small, large = await statements_for(5), await statements_for(50)
    assert small == large
    assert large <= 11, count_statements.statements[-large:]
