"""The voice of the customer: NPS and CSAT from survey responses over a range of days, and
the SQL pieces the customer metrics share (segment filter, counts, splitting by a group)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, Subquery, case, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.errors import ValidationFailed
from app.metrics.periods import check_range, instants
from app.metrics.scope import scoped_users
from app.metrics.stats import percent
from app.segments.rules import NPS_SCORES
from app.surveys.models import SurveyKind, SurveyResponse
from app.validation import EARLIEST, LATEST

SATISFIED = 4  # CSAT: 4 and 5 are satisfied answers


@dataclass(frozen=True)
class Nps:
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def promoter_rate(self) -> float | None:
        return percent(self.promoters, self.responses)

    @property
    def passive_rate(self) -> float | None:
        return percent(self.passives, self.responses)

    @property
    def detractor_rate(self) -> float | None:
        return percent(self.detractors, self.responses)

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, from −100 to 100; None without responses."""
        return percent(self.promoters - self.detractors, self.responses)


@dataclass(frozen=True)
class Csat:
    responses: int
    satisfied: int
    mean: float | None

    @property
    def score(self) -> float | None:
        """The share of 4 and 5 answers, in percent."""
        return percent(self.satisfied, self.responses)


# --- shared pieces ----------------------------------------------------------------
def check_days(
    first: date,
    last: date,
    *,
    names: tuple[str, str] = ("from", "to"),
    max_days: int | None = None,
) -> None:
    """`check_range`, and both days within EARLIEST..LATEST (app/validation.py): beyond,
    the date arithmetic of day bounds overflows."""
    for name, day in zip(names, (first, last), strict=True):
        if not EARLIEST <= day <= LATEST:
            raise ValidationFailed(f"dates must lie between {EARLIEST} and {LATEST}", field=name)
    check_range(first, last, names=names, max_days=max_days)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows where `condition` holds: 0, never NULL, on an empty set."""
    return func.count(case((condition, 1)))


def mean(value: Any) -> float | None:
    """An AVG as a float: PostgreSQL returns numeric (Decimal) where SQLite returns REAL."""
    return None if value is None else float(value)


def only(members: Select[Any] | None, user_id: Any) -> list[ColumnElement[bool]]:
    """The condition that `user_id` is a member (none when `members` is everyone)."""
    return [] if members is None else [user_id.in_(members)]


def group_key(by: Subquery | None, rows: Any = None) -> ColumnElement[Any]:
    """The group of a row when a metric is split `by` a (key, user_id) subquery, else NULL.
    Above a subquery `rows` that carries the key along, its `key` column."""
    if by is None:
        return null()  # a constant: valid beside aggregates without GROUP BY
    return by.c.key if rows is None else rows.c.key


def split(stmt: Select[Any], user_id: Any, by: Subquery | None) -> Select[Any]:
    """`stmt` with each row joined to its user's groups: a user in two groups counts in both.
    `stmt` names its table with select_from, as the group key makes `by` a FROM too."""
    return stmt if by is None else stmt.join(by, by.c.user_id == user_id)


def per_group(stmt: Select[Any], key: Any, by: Subquery | None) -> Select[Any]:
    """An aggregate `stmt` per group; without `by`, its single row (even over no rows)."""
    return stmt if by is None else stmt.group_by(key)


# --- NPS and CSAT ---------------------------------------------------------------
def _answers(
    kind: SurveyKind, start: datetime, end: datetime, members: Select[Any] | None
) -> list[ColumnElement[bool]]:
    return [
        SurveyResponse.kind == kind,
        SurveyResponse.responded_at >= start,
        SurveyResponse.responded_at < end,
        *only(members, SurveyResponse.user_id),
    ]


def nps_counts(
    start: datetime, end: datetime, members: Select[Any] | None, by: Subquery | None = None
) -> Select[Any]:
    """(key, promoters, passives, detractors) per group, counting each user's latest NPS
    answer in [start, end) once."""
    key = group_key(by).label("key")
    ranked = (
        split(
            select(
                key,
                SurveyResponse.score,
                func.row_number()
                .over(
                    partition_by=(key, SurveyResponse.user_id)
                    if by is not None
                    else SurveyResponse.user_id,
                    order_by=(SurveyResponse.responded_at.desc(), SurveyResponse.id.desc()),  # type: ignore[attr-defined,union-attr]
                )
                .label("latest"),
            )
            .select_from(SurveyResponse)
            .where(*_answers(SurveyKind.NPS, start, end, members)),
            SurveyResponse.user_id,
            by,
        )
    ).subquery()
    counts = [
        count_if(ranked.c.score.between(*NPS_SCORES[category]))
        for category in ("promoter", "passive", "detractor")
    ]
    key = group_key(by, ranked)
    return per_group(select(key, *counts).where(ranked.c.latest == 1), key, by)


async def nps(
    session: AsyncSession,
    actor: Actor | None,
    *,
    tz: ZoneInfo,
    first: date,
    last: date,
    segment_id: int | None = None,
) -> Nps:
    """Each user's latest NPS answer in first..last counts once: a later answer replaces an
    earlier one."""
    check_days(first, last)
    start, end = instants(first, last, tz)
    members = await scoped_users(session, actor, segment_id=segment_id)
    _, promoters, passives, detractors = (
        await session.execute(nps_counts(start, end, members))
    ).one()
    return Nps(promoters=promoters, passives=passives, detractors=detractors)


async def csat(
    session: AsyncSession,
    actor: Actor | None,
    *,
    tz: ZoneInfo,
    first: date,
    last: date,
    segment_id: int | None = None,
) -> Csat:
    """Every CSAT answer in first..last counts: a user answers once per ticket or article."""
    check_days(first, last)
    start, end = instants(first, last, tz)
    members = await scoped_users(session, actor, segment_id=segment_id)
    responses, satisfied, average = (
        await session.execute(
            select(
                func.count(),
                count_if(SurveyResponse.score >= SATISFIED),
                func.avg(SurveyResponse.score),
            ).where(*_answers(SurveyKind.CSAT, start, end, members))
        )
    ).one()
    return Csat(responses=responses, satisfied=satisfied, mean=mean(average))
