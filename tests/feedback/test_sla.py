"""SLA by priority: dueAt, overdue, and the overdue queue filter run in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import update

from app.db import Database
from app.feedback import service
from app.feedback.models import Feedback
from app.settings import DEFAULT_SLA_HOURS, Settings
from tests.conftest import GraphQLClient
from tests.feedback.helpers import create, done

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TINY = timedelta(microseconds=1)

QUEUE = """
query($overdue: Boolean!) {
  feedbackItems(filter: {overdue: $overdue}, orderBy: {field: ID, descending: false}) {
    totalCount edges { node { title overdue dueAt createdAt } }
  }
}
"""


def _ticket(priority: str, age: timedelta, status: str = "open") -> Feedback:
    return Feedback(
        channel="email",
        type="bug",
        title=f"{priority} {age}",
        priority=priority,
        status=status,
        created_at=NOW - age,
    )


@pytest.mark.parametrize(
    ("priority", "hours"), [("urgent", 24), ("high", 72), ("normal", 168), ("low", 336)]
)
def test_due_time_is_creation_plus_the_priority_sla(priority: str, hours: int) -> None:
    ticket = _ticket(priority, timedelta(0))
    assert service.due_at(ticket, DEFAULT_SLA_HOURS) == NOW + timedelta(hours=hours)


def test_a_ticket_due_exactly_now_is_not_yet_overdue() -> None:
    assert not service.is_overdue(_ticket("urgent", 24 * HOUR), DEFAULT_SLA_HOURS, NOW)
    assert service.is_overdue(_ticket("urgent", 24 * HOUR + TINY), DEFAULT_SLA_HOURS, NOW)


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_finished_tickets_are_never_overdue(status: str) -> None:
    ticket = _ticket("urgent", 1000 * HOUR, status=status)
    assert not service.is_overdue(ticket, DEFAULT_SLA_HOURS, NOW)


def test_in_progress_tickets_can_be_overdue() -> None:
    ticket = _ticket("high", 73 * HOUR, status="in_progress")
    assert service.is_overdue(ticket, DEFAULT_SLA_HOURS, NOW)


def test_sla_setting_overrides_some_priorities_and_keeps_the_rest() -> None:
    settings = Settings(sla_hours={"urgent": 4})
    assert settings.sla_hours == {"urgent": 4, "high": 72, "normal": 168, "low": 336}


@pytest.mark.parametrize(
    ("hours", "message"),
    [({"critical": 2}, r"unknown priorities \['critical'\]"), ({"low": 0}, "at least 1")],
)
def test_sla_setting_rejects_unknown_priorities_and_nonpositive_hours(
    hours: dict[str, int], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(sla_hours=hours)


# Each ticket's priority, age at NOW, status, and whether the queue counts it overdue.
CASES = [
    ("urgent", 24 * HOUR, "open", False),  # due exactly now
    ("urgent", 24 * HOUR + TINY, "open", True),
    ("high", 71 * HOUR, "in_progress", False),
    ("high", 73 * HOUR, "in_progress", True),
    ("normal", 6 * 24 * HOUR, "open", False),
    ("normal", 8 * 24 * HOUR, "open", True),
    ("low", 13 * 24 * HOUR, "open", False),
    ("low", 15 * 24 * HOUR, "open", True),
    ("urgent", 100 * HOUR, "resolved", False),
    ("low", 100 * 24 * HOUR, "closed", False),
]


async def _queue(db: Database, *, overdue: bool, sla_hours: dict[str, int]) -> set[str]:
    async with db.read() as session:
        page = await service.list_feedback(
            session,
            filter={"overdue": overdue},
            order=service.FeedbackOrder.ID,
            descending=False,
            first=100,
            after=None,
            count_session=db.read,
            sla_hours=sla_hours,
            now=NOW,
        )
    return {row.title for row, _cursor in page.items}


async def _store_cases(db: Database) -> dict[str, bool]:
    async with db.unit_of_work() as session:
        tickets = [_ticket(p, age, status) for p, age, status, _ in CASES]
        session.add_all(tickets)
    return {ticket.title: overdue for ticket, (*_, overdue) in zip(tickets, CASES, strict=True)}


async def test_overdue_filter_in_sql_agrees_with_the_rule_at_every_edge(db: Database) -> None:
    expected = await _store_cases(db)
    overdue = await _queue(db, overdue=True, sla_hours=DEFAULT_SLA_HOURS)
    assert overdue == {title for title, late in expected.items() if late}
    assert len(overdue) == 4


async def test_not_overdue_filter_is_the_complement(db: Database) -> None:
    expected = await _store_cases(db)
    on_time = await _queue(db, overdue=False, sla_hours=DEFAULT_SLA_HOURS)
    assert on_time == {title for title, late in expected.items() if not late}


async def test_overdue_filter_follows_the_configured_sla(db: Database) -> None:
    await _store_cases(db)
    # Urgent within 2 h: the urgent ticket due "exactly now" by default is now late.
    overdue = await _queue(db, overdue=True, sla_hours={**DEFAULT_SLA_HOURS, "urgent": 2})
    assert f"urgent {24 * HOUR}" in overdue
    assert len(overdue) == 5


async def _age(db: Database, ticket_id: str, age: timedelta) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(Feedback)
            .where(Feedback.id == int(ticket_id))
            .values(created_at=datetime.now(UTC) - age)
        )


async def test_agents_queue_lists_overdue_tickets_with_their_due_time(
    gql: GraphQLClient, db: Database
) -> None:
    late = await create(gql, title="Late", priority="URGENT")
    await create(gql, title="Fresh", priority="URGENT")
    solved = await create(gql, title="Late but solved", priority="URGENT")
    await _age(db, late["id"], 25 * HOUR)
    await _age(db, solved["id"], 25 * HOUR)
    await done(gql, "resolveFeedback", solved["id"], note="Done")
    queue = (await gql.data(QUEUE, {"overdue": True}, role="agent"))["feedbackItems"]
    assert queue["totalCount"] == 1
    (node,) = [edge["node"] for edge in queue["edges"]]
    assert (node["title"], node["overdue"]) == ("Late", True)
    created = datetime.fromisoformat(node["createdAt"])
    assert datetime.fromisoformat(node["dueAt"]) == created + 24 * HOUR
    rest = (await gql.data(QUEUE, {"overdue": False}, role="agent"))["feedbackItems"]
    assert [(e["node"]["title"], e["node"]["overdue"]) for e in rest["edges"]] == [
        ("Fresh", False),
        ("Late but solved", False),
    ]


async def test_a_finished_ticket_leaves_the_queue(gql: GraphQLClient, db: Database) -> None:
    ticket = await create(gql, title="Late", priority="HIGH")
    await _age(db, ticket["id"], 80 * HOUR)
    assert (await gql.data(QUEUE, {"overdue": True}))["feedbackItems"]["totalCount"] == 1
    await done(gql, "resolveFeedback", ticket["id"], note="Done")
    assert (await gql.data(QUEUE, {"overdue": True}))["feedbackItems"]["totalCount"] == 0
