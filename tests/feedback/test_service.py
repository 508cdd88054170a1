"""Feedback service rules tested directly: the transition table and the version check."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select, update

from app.db import Database
from app.errors import Conflict
from app.feedback import service
from app.feedback.models import Feedback, FeedbackStatus, FeedbackStatusChange

S = FeedbackStatus
# The handbook's loop, with resolving an open ticket directly allowed.
LEGAL = {
    (S.OPEN, S.IN_PROGRESS),
    (S.OPEN, S.RESOLVED),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.OPEN),
    (S.CLOSED, S.OPEN),
}


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_a_legal_transition_passes(current: FeedbackStatus, target: FeedbackStatus) -> None:
    service.ensure_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(FeedbackStatus, repeat=2)) - LEGAL),
)
def test_every_other_transition_is_a_conflict_naming_both_states(
    current: FeedbackStatus, target: FeedbackStatus
) -> None:
    with pytest.raises(Conflict, match=f"^cannot move feedback from {current} to {target}$"):
        service.ensure_transition(current, target)


async def test_a_stale_version_is_a_conflict_and_changes_nothing(db: Database) -> None:
    async with db.unit_of_work() as session:
        ticket = await service.create_feedback(
            session, "agent", data={"channel": "email", "type": "bug", "title": "Login fails"}
        )
    with pytest.raises(Conflict, match=r"^the ticket changed meanwhile; reload and retry$"):
        async with db.unit_of_work() as session:
            seen = await service.get_feedback(session, feedback_id=ticket.id)  # type: ignore[arg-type]
            # Another writer bumps the version after this session read the ticket; the
            # session keeps its stale copy, as a concurrent transaction would.
            await session.execute(
                update(Feedback)
                .where(Feedback.id == seen.id)  # type: ignore[arg-type]
                .values(version=Feedback.version + 1)
                .execution_options(synchronize_session=False)
            )
            assert seen.version == 1
            await service.resolve_feedback(
                session,
                "agent",
                feedback_id=seen.id,
                note="Fixed",  # type: ignore[arg-type]
            )
    async with db.read() as session:
        stored = await service.get_feedback(session, feedback_id=ticket.id)  # type: ignore[arg-type]
        changes = await session.scalar(select(func.count()).select_from(FeedbackStatusChange))
    assert (stored.status, stored.version, stored.resolution_note) == (S.OPEN, 1, None)
    assert changes == 1


async def test_every_change_bumps_the_version(db: Database) -> None:
    async with db.unit_of_work() as session:
        ticket = await service.create_feedback(
            session, "agent", data={"channel": "email", "type": "bug", "title": "Login fails"}
        )
        assert ticket.id is not None
        await service.assign_feedback(session, feedback_id=ticket.id, assignee="Li")
        await service.reply_to_feedback(session, "agent", feedback_id=ticket.id, body="On it")
        await service.update_feedback(session, feedback_id=ticket.id, data={"priority": "high"})
        resolved = await service.resolve_feedback(
            session, "agent", feedback_id=ticket.id, note="Fixed"
        )
    assert resolved.version == 5
