"""High-frequency demands (高频需求): feedback in a period grouped by tag, or by normalised
title when untagged, compared with the period of equal length just before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field
from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.feedback.models import Feedback, FeedbackTag, FeedbackType
from app.metrics.stats import change_percent, percent
from app.users.models import Tier, User
from app.validation import Input, parse

MAX_GROUPS = 100
# Replaced by spaces in titles: ASCII punctuation, the common CJK marks, and whitespace.
TITLE_PUNCTUATION = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\t\r\n，。！？、；：“”‘’（）【】《》〈〉「」『』〔〕…—～·"
)
# Each pass halves every run of spaces: five collapse runs of up to 32.
SPACE_COLLAPSE_PASSES = 5
REPLACES_PER_CTE = 12


class TrendKind(StrEnum):
    TAG = "tag"
    TITLE = "title"


class TrendQuery(Input):
    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime
    type: FeedbackType | None = None
    first: int = Field(default=20, ge=0, le=MAX_GROUPS)


@dataclass(frozen=True)
class Trend:
    kind: TrendKind
    key: str  # the tag, or the normalised title
    count: int  # tickets in the period
    previous_count: int  # tickets in the period of equal length before it
    users: int  # distinct users who gave them (anonymous tickets count for none)
    core_users: int

    @property
    def change(self) -> int:
        return self.count - self.previous_count

    @property
    def change_percent(self) -> float | None:
        return change_percent(self.count, self.previous_count)

    @property
    def core_user_share(self) -> float | None:
        return percent(self.core_users, self.users)


@dataclass(frozen=True)
class Trends:
    from_: datetime
    to: datetime
    previous_from: datetime
    groups: list[Trend]


def normalized_titles(source: Select[Any]) -> CTE:
    """(id, key) for the (id, title) rows of `source`: the title lowercased, punctuation and
    whitespace runs made one space, trimmed ("Excel 导入？" and "excel  导入" group
    together), in SQL both databases run alike. SQLite lowercases ASCII letters only; CJK
    has no case.

    SQLite has no regular expressions, so each mark is a replace(); its parser overflows
    past about 30 nested calls, so they are spread over a chain of CTEs.
    """
    steps = [(mark, " ") for mark in TITLE_PUNCTUATION]
    steps += [("  ", " ")] * SPACE_COLLAPSE_PASSES
    source = source.subquery()
    stage = select(source.c.id, func.lower(source.c.title).label("title")).cte("title_0")
    for number, start in enumerate(range(0, len(steps), REPLACES_PER_CTE), 1):
        text: ColumnElement[str] = stage.c.title
        for old, new in steps[start : start + REPLACES_PER_CTE]:
            text = func.replace(text, old, new)
        stage = select(stage.c.id, text.label("title")).cte(f"title_{number}")
    return select(stage.c.id, func.trim(stage.c.title).label("key")).cte("title_keys")


async def feedback_trends(session: AsyncSession, *, data: dict[str, Any]) -> Trends:
    """Groups feedback created in [from, to): a ticket counts once under each of its tags,
    an untagged one under its normalised title. Largest groups first.

    The previous period is [from − (to − from), from); a group's change compares its
    counts in the two. Core share is the percentage of its distinct users in the core tier.
    """
    query = parse(TrendQuery, data)
    if query.from_ >= query.to:
        raise ValidationFailed("from must be before to", field="to")
    try:
        previous_from = query.from_ - (query.to - query.from_)
    except OverflowError:
        raise ValidationFailed(
            "the period before from would start before the year 1", field="from"
        ) from None
    scope = [Feedback.created_at >= previous_from, Feedback.created_at < query.to]
    if query.type is not None:
        scope.append(Feedback.type == query.type)
    columns = (Feedback.id, Feedback.user_id, Feedback.created_at)
    tagged = (
        select(*columns, literal(TrendKind.TAG, String).label("kind"), FeedbackTag.tag.label("key"))
        .join(FeedbackTag, FeedbackTag.feedback_id == Feedback.id)  # type: ignore[arg-type]
        .where(*scope)
    )
    titles = normalized_titles(
        select(Feedback.id, Feedback.title).where(
            *scope, ~exists().where(FeedbackTag.feedback_id == Feedback.id)
        )
    )
    untagged = select(*columns, literal(TrendKind.TITLE, String).label("kind"), titles.c.key).join(
        titles, titles.c.id == Feedback.id
    )
    keyed = tagged.union_all(untagged).subquery("keyed")

    current = keyed.c.created_at >= query.from_
    count = func.count(case((current, 1)))
    users = func.count(distinct(case((current, keyed.c.user_id))))
    stmt = (
        select(
            keyed.c.kind,
            keyed.c.key,
            count.label("tickets"),
            func.count(case((~current, 1))).label("previous_tickets"),
            users.label("users"),
            func.count(
                distinct(case((and_(current, User.tier == Tier.CORE), keyed.c.user_id)))
            ).label("core_users"),
        )
        .select_from(keyed)
        .outerjoin(User, User.id == keyed.c.user_id)
        .group_by(keyed.c.kind, keyed.c.key)
        .having(count > 0)
        .order_by(count.desc(), users.desc(), keyed.c.kind, keyed.c.key)
        .limit(query.first)
    )
    rows = await session.execute(stmt)
    return Trends(
        from_=query.from_,
        to=query.to,
        previous_from=previous_from,
        groups=[
            Trend(
                kind=TrendKind(row.kind),
                key=row.key,
                count=row.tickets,
                previous_count=row.previous_tickets,
                users=row.users,
                core_users=row.core_users,
            )
            for row in rows
        ],
    )
