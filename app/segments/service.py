"""Segments: saving rule-based segments and computing their members from the rule, in SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import Select, case, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.models import Campaign
from app.errors import Conflict, NotFound, ValidationFailed
from app.pagination import Ordering, Page, paginate
from app.segments.models import Segment
from app.segments.rules import Condition, compile_rule, referenced_segments
from app.sqltypes import utcnow
from app.users.models import User
from app.validation import Input, Key, Name, parse

SAMPLE_SIZE = 10
MAX_MEMBERSHIP_IDS = 1000


class SegmentCreate(Input):
    key: Key
    name: Name
    description: str = Field(default="", max_length=2000)
    rule: Any  # checked by app.segments.rules, which knows the paths inside it


class SegmentUpdate(Input):
    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    rule: Any = None


@dataclass(frozen=True)
class Preview:
    size: int
    sample: list[User]


@dataclass(frozen=True)
class Membership:
    external_id: str
    is_member: bool
    known: bool  # false when no user has this external id


@dataclass(frozen=True)
class Builtin:
    key: str
    name: str
    description: str
    rule: dict[str, Any]


BUILTINS = (
    Builtin(
        "tier-core",
        "核心用户 Core users",
        "分层：核心用户（总监、部门负责人、关键决策者）。Tier core: directors, department heads, key decision makers.",
        {"attr": "tier", "op": "eq", "value": "core"},
    ),
    Builtin(
        "tier-backbone",
        "中间用户 Backbone users",
        "分层：中间用户（项目经理、团队负责人）。Tier backbone: project managers, team leads.",
        {"attr": "tier", "op": "eq", "value": "backbone"},
    ),
    Builtin(
        "tier-edge",
        "边缘用户 Edge users",
        "分层：边缘用户（新员工、偶尔使用者）。Tier edge: new staff, occasional users.",
        {"attr": "tier", "op": "eq", "value": "edge"},
    ),
    Builtin(
        "at-risk",
        "流失预警 At risk",
        "流失预警：曾经活跃，但已 14 天或更久没有任何行为。"
        "Churn warning: active before, no event for 14 days or more.",
        {"inactiveDays": {"gte": 14}},
    ),
)


async def _all_rules(session: AsyncSession) -> dict[str, Any]:
    rows = await session.execute(select(Segment.key, Segment.rule))
    return {key: rule for key, rule in rows}


async def _condition(
    session: AsyncSession,
    rule: Any,
    *,
    key: str | None = None,
    now: datetime | None = None,
    scope: Select[Any] | None = None,
) -> Condition:
    # Other segments' rules are loaded only for a rule that inlines one.
    segments = await _all_rules(session) if referenced_segments(rule) else {}
    return compile_rule(rule, now=now or utcnow(), segments=segments, key=key, scope=scope)


async def _check_rule(session: AsyncSession, *, key: str, rule: Any) -> None:
    """Rejects an invalid rule, and a rule that would break a segment inlining this one."""
    rules = await _all_rules(session)
    rules[key] = rule
    now = utcnow()
    compile_rule(rule, now=now, segments=rules, key=key, path="input.rule")
    for other, other_rule in sorted(rules.items()):
        if other == key or not referenced_segments(other_rule):
            continue
        try:
            compile_rule(other_rule, now=now, segments=rules, key=other)
        except ValidationFailed as error:
            raise ValidationFailed(
                f"segment {other!r} uses this one and would become invalid: {error}",
                field="input.rule",
            ) from None


async def get_segment(
    session: AsyncSession, *, segment_id: int | None = None, key: str | None = None
) -> Segment:
    if (segment_id is None) == (key is None):
        raise NotFound("give exactly one of id and key", field="id")
    if segment_id is not None:
        segment = await session.get(Segment, segment_id)
    else:
        segment = await session.scalar(select(Segment).where(Segment.key == key))
    if segment is None:
        raise NotFound(
            f"no segment with {'id' if segment_id is not None else 'key'} "
            f"{segment_id if segment_id is not None else key!r}",
            field="id" if segment_id is not None else "key",
        )
    return segment


async def list_segments(
    session: AsyncSession, *, first: int, after: str | None, count_session: Callable[[], Any]
) -> Page[Segment]:
    return await paginate(
        session,
        select(Segment),
        ordering=Ordering((Segment.key, Segment.id)),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


async def create_segment(session: AsyncSession, *, data: dict[str, Any]) -> Segment:
    fields = parse(SegmentCreate, data, prefix="input")
    conflict = Conflict(f"a segment with key {fields.key!r} exists", field="input.key")
    if await session.scalar(select(Segment.id).where(Segment.key == fields.key)):
        raise conflict
    await _check_rule(session, key=fields.key, rule=fields.rule)
    segment = Segment(**fields.model_dump())
    session.add(segment)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent create won the race for the key
        raise conflict from None
    return segment


async def update_segment(session: AsyncSession, *, key: str, data: dict[str, Any]) -> Segment:
    segment = await get_segment(session, key=key)
    changes = parse(SegmentUpdate, data, prefix="input").model_dump(exclude_unset=True)
    for required in ("name", "description", "rule"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null", field=f"input.{required}")
    if "rule" in changes:
        # Built-ins mirror the tiers and the churn warning: their meaning is fixed.
        if segment.is_builtin and changes["rule"] != segment.rule:
            raise Conflict("the rule of a built-in segment cannot change", field="input.rule")
        await _check_rule(session, key=segment.key, rule=changes["rule"])
    for name, value in changes.items():
        setattr(segment, name, value)
    segment.updated_at = utcnow()
    return segment


async def delete_segment(session: AsyncSession, *, key: str) -> int:
    segment = await get_segment(session, key=key)
    if segment.is_builtin:
        raise Conflict(f"the built-in segment {key!r} cannot be deleted", field="key")
    # References live inside other segments' JSON rules, which only Python can read portably.
    users_of = sorted(
        other
        for other, rule in (await _all_rules(session)).items()
        if other != key and key in referenced_segments(rule)
    )
    if users_of:
        raise Conflict(f"segments use {key!r} in their rules: {', '.join(users_of)}", field="key")
    targeting = (
        await session.scalars(
            select(Campaign.key)
            .where(Campaign.target_segment_id == segment.id)
            .order_by(Campaign.key)
        )
    ).all()
    if targeting:
        raise Conflict(f"campaigns target {key!r}: {', '.join(targeting)}", field="key")
    await session.delete(segment)
    try:
        await session.flush()
    except IntegrityError:  # a campaign targeting it was created meanwhile
        raise Conflict(f"a campaign targets {key!r}", field="key") from None
    assert segment.id is not None
    return segment.id


async def count_members(
    session: AsyncSession, segment: Segment, *, now: datetime | None = None
) -> int:
    condition = await _condition(session, segment.rule, key=segment.key, now=now)
    return int(await session.scalar(select(func.count()).select_from(User).where(condition)) or 0)


async def members(
    session: AsyncSession,
    *,
    segment: Segment,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
    now: datetime | None = None,
) -> Page[User]:
    """Members by user id: new users come after every cursor, so no member is skipped or
    repeated while users are added between pages."""
    condition = await _condition(session, segment.rule, key=segment.key, now=now)
    return await paginate(
        session,
        select(User).where(condition),
        ordering=Ordering((User.id,)),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


async def preview(session: AsyncSession, *, rule: Any, now: datetime | None = None) -> Preview:
    """The size and first members (by id) of an unsaved rule."""
    condition = await _condition(session, rule, now=now)
    size = await session.scalar(select(func.count()).select_from(User).where(condition))
    sample = await session.scalars(
        select(User).where(condition).order_by(User.id).limit(SAMPLE_SIZE)
    )
    return Preview(size=int(size or 0), sample=list(sample.all()))


async def membership(
    session: AsyncSession,
    *,
    segment_key: str,
    external_ids: Sequence[str],
    now: datetime | None = None,
) -> list[Membership]:
    """Whether each given user (each distinct external id once, in the order given) is a member."""
    if len(external_ids) > MAX_MEMBERSHIP_IDS:
        raise ValidationFailed(
            f"at most {MAX_MEMBERSHIP_IDS} external ids at a time", field="externalIds"
        )
    segment = await get_segment(session, key=segment_key)
    wanted = list(dict.fromkeys(external_ids))
    asked = select(User.id).where(User.external_id.in_(wanted))  # type: ignore[attr-defined]
    condition = await _condition(session, segment.rule, key=segment.key, now=now, scope=asked)
    rows = await session.execute(
        select(User.external_id, condition).where(User.external_id.in_(wanted))  # type: ignore[attr-defined]
    )
    found = {external_id: bool(is_member) for external_id, is_member in rows}
    return [
        Membership(external_id=e, is_member=found.get(e, False), known=e in found) for e in wanted
    ]


async def is_member(
    session: AsyncSession, segment: Segment, user_id: int, *, now: datetime | None = None
) -> bool:
    """Whether one user matches the segment's rule now (e.g. a campaign's target check)."""
    one = select(User.id).where(User.id == user_id)
    condition = await _condition(session, segment.rule, key=segment.key, now=now, scope=one)
    return await session.scalar(one.where(condition)) is not None


async def sizes_by_segment(
    session: AsyncSession, segment_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, int]:
    """Each segment's size, counted for all of them in one pass over users."""
    segments, asked = (await session.scalars(select(Segment))).all(), set(segment_ids)
    wanted = [s for s in segments if s.id in asked]
    if not wanted:
        return {}
    now, rules = now or utcnow(), {s.key: s.rule for s in segments}
    counts = [
        func.count(case((compile_rule(s.rule, now=now, segments=rules, key=s.key), 1)))
        for s in wanted
    ]
    row = (await session.execute(select(*counts).select_from(User))).one()
    return {s.id: int(n) for s, n in zip(wanted, row, strict=True)}  # type: ignore[misc]


async def segments_by_user(
    session: AsyncSession, user_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, list[Segment]]:
    """The segments each user matches now (ordered by key), all segments evaluated for the
    whole batch in one statement: a UNION ALL of one SELECT per segment."""
    segments = (await session.scalars(select(Segment).order_by(Segment.key))).all()
    if not segments or not user_ids:
        return {}
    now, rules = now or utcnow(), {s.key: s.rule for s in segments}
    # The ids are bound once, in a CTE, however many segments there are.
    batch = select(User.id).where(User.id.in_(user_ids)).cte("batch")  # type: ignore[union-attr]
    scope = select(batch.c.id)
    branches = [
        select(literal(s.id).label("segment_id"), User.id.label("user_id")).where(  # type: ignore[union-attr]
            User.id.in_(scope),  # type: ignore[union-attr]
            compile_rule(s.rule, now=now, segments=rules, key=s.key, scope=scope),
        )
        for s in segments
    ]
    matches = {(row.segment_id, row.user_id) for row in await session.execute(union_all(*branches))}
    found: dict[int, list[Segment]] = defaultdict(list)
    for segment in segments:
        for user_id in user_ids:
            if (segment.id, user_id) in matches:
                found[user_id].append(segment)
    return found


async def ensure_builtin_segments(session: AsyncSession) -> list[Segment]:
    """Creates the built-in segments that are missing; safe to run at every start."""
    keys = [b.key for b in BUILTINS]
    existing = set((await session.scalars(select(Segment.key).where(Segment.key.in_(keys)))).all())  # type: ignore[attr-defined]
    session.add_all(
        Segment(key=b.key, name=b.name, description=b.description, rule=b.rule, is_builtin=True)
        for b in BUILTINS
        if b.key not in existing
    )
    await session.flush()
    rows = await session.scalars(select(Segment).where(Segment.key.in_(keys)).order_by(Segment.key))  # type: ignore[attr-defined]
    return list(rows.all())


async def segments_by_id(session: AsyncSession, segment_ids: Sequence[int]) -> dict[int, Segment]:
    rows = await session.scalars(select(Segment).where(Segment.id.in_(segment_ids)))  # type: ignore[union-attr]
    return {segment.id: segment for segment in rows}  # type: ignore[misc]
