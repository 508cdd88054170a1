"""Survey responses: NPS and CSAT answers, checked against their scales, and their listing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.auth.service import Actor
from app.campaigns.models import Campaign
from app.errors import NotFound, ValidationFailed
from app.feedback.models import Feedback
from app.knowledge.models import Article
from app.pagination import Ordering, Page, paginate
from app.sqltypes import utcnow
from app.surveys.models import SurveyKind, SurveyResponse, SurveySubject
from app.users.service import UserReference, find_user_id
from app.validation import Input, RowId, parse

SCALES = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5)}
# A response about anything but the product names the row it is about.
SUBJECT_TABLES: dict[SurveySubject, type[SQLModel]] = {
    SurveySubject.FEEDBACK: Feedback,
    SurveySubject.ARTICLE: Article,
    SurveySubject.CAMPAIGN: Campaign,
}


class NpsCategory(StrEnum):
    PROMOTER = "promoter"  # 9–10
    PASSIVE = "passive"  # 7–8
    DETRACTOR = "detractor"  # 0–6


def nps_category(kind: str, score: int) -> NpsCategory | None:
    """Where an NPS answer falls (NPS = % promoters − % detractors); None for CSAT."""
    if kind != SurveyKind.NPS:
        return None
    if score >= 9:
        return NpsCategory.PROMOTER
    return NpsCategory.PASSIVE if score >= 7 else NpsCategory.DETRACTOR


class ResponseCreate(UserReference):
    kind: SurveyKind
    score: int
    comment: str | None = Field(default=None, max_length=5000)
    subject_type: SurveySubject = SurveySubject.PRODUCT
    subject_id: RowId | None = None
    responded_at: datetime | None = None


class ResponseFilter(Input):
    kind: SurveyKind | None = None
    user_id: RowId | None = None
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None


async def _check_subject(
    session: AsyncSession, subject_type: SurveySubject, subject_id: int | None
) -> None:
    table = SUBJECT_TABLES.get(subject_type)
    if table is None:
        if subject_id is not None:
            raise ValidationFailed(
                "a response about the product has no subjectId", field="input.subjectId"
            )
        return
    if subject_id is None:
        raise ValidationFailed(
            f"a response about a {subject_type} needs its subjectId", field="input.subjectId"
        )
    if await session.get(table, subject_id) is None:
        raise NotFound(f"no {subject_type} with id {subject_id}", field="input.subjectId")


async def submit_response(
    session: AsyncSession, *, data: dict[str, Any], actor: Actor | None = None
) -> SurveyResponse:
    fields = parse(ResponseCreate, data, prefix="input")
    low, high = SCALES[fields.kind]
    if not low <= fields.score <= high:
        raise ValidationFailed(
            f"{fields.kind.name} scores are from {low} to {high}", field="input.score"
        )
    user_id = await find_user_id(session, fields, actor=actor)
    await _check_subject(session, fields.subject_type, fields.subject_id)
    response = SurveyResponse(
        user_id=user_id,
        kind=fields.kind,
        score=fields.score,
        comment=fields.comment,
        subject_type=fields.subject_type,
        subject_id=fields.subject_id,
        responded_at=fields.responded_at or utcnow(),
    )
    session.add(response)
    await session.flush()
    return response


async def list_responses(
    session: AsyncSession,
    *,
    filter: dict[str, Any],
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[SurveyResponse]:
    criteria = parse(ResponseFilter, filter, prefix="filter")
    stmt = select(SurveyResponse)
    if criteria.kind is not None:
        stmt = stmt.where(SurveyResponse.kind == criteria.kind)
    if criteria.user_id is not None:
        stmt = stmt.where(SurveyResponse.user_id == criteria.user_id)
    if criteria.from_ is not None:
        stmt = stmt.where(SurveyResponse.responded_at >= criteria.from_)
    if criteria.to is not None:
        stmt = stmt.where(SurveyResponse.responded_at <= criteria.to)
    return await paginate(
        session,
        stmt,
        ordering=Ordering((SurveyResponse.responded_at, SurveyResponse.id), descending=True),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )
