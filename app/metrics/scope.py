"""Which users a metric counts: the members of the asked segment (now), within what the
calling key may see. Every metric with a `segmentId` narrows its users through here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.db import can_name_a_row
from app.errors import NotFound
from app.segments import service as segments
from app.segments.models import Segment
from app.users.models import User


async def scoped_users(
    session: AsyncSession, actor: Actor | None, *, segment_id: int | None
) -> Select[Any] | None:
    """A select of the ids of the users to count; None when every user counts."""
    conditions = []
    if segment_id is not None:
        segments.ensure_segment_visible(actor, segment_id)
        segment = await session.get(Segment, segment_id) if can_name_a_row(segment_id) else None
        if segment is None:
            raise NotFound(f"no segment with id {segment_id}", field="segmentId")
        conditions.append(await segments._condition(session, segment.rule, key=segment.key))
    audience = await segments.audience(session, actor)
    if audience is not None:
        conditions.append(audience)
    return select(User.id).where(*conditions) if conditions else None
