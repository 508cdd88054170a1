"""Segments: saving rule-based segments and computing their members from the rule, in SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import Select, case, false, func, insert, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, ApiKeySegment
from app.auth.service import Actor, ensure_unlimited
from app.campaigns.models import Campaign
from app.errors import Conflict, NotFound, ValidationFailed
from app.pagination import Ordering, Page, paginate
from app.segments.models import Segment, SegmentSnapshot, SegmentSnapshotMember
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


def visible_segments(actor: Actor | None, stmt: Select[Any] | None = None) -> Select[Any]:
    """`stmt` (by default all segments) narrowed to the segments `actor` may see: a key
    limited to segments sees only those. Every query that hands segments to a caller is
    filtered here. `actor` None is the system itself (CLI, seeding), which sees all."""
    query = select(Segment) if stmt is None else stmt
    limit = None if actor is None else actor.segment_ids
    return query if limit is None else query.where(Segment.id.in_(limit))  # type: ignore[union-attr]


def ensure_segment_visible(actor: Actor | None, segment_id: int) -> None:
    """Refuses a segment the actor may not see, as if it did not exist, for fields that
    take a segment id (e.g. metrics by segment)."""
    if actor is not None and actor.segment_ids is not None and segment_id not in actor.segment_ids:
        raise NotFound(f"no segment with id {segment_id}", field="segmentId")


async def audience(
    session: AsyncSession,
    actor: Actor | None,
    *,
    scope: Select[Any] | None = None,
    now: datetime | None = None,
) -> Condition | None:
    """For a key limited to segments, the condition on users that they are members of one
    of those segments now; None when the actor may see every user. The users service
    filters with it (`visible_users`). `scope` as in `compile_rule`."""
    if actor is None or actor.segment_ids is None:
        return None
    segments = (await session.scalars(visible_segments(actor))).all()
    rules, now = await _rules_for(session, segments), now or utcnow()
    return or_(
        false(),  # a key whose segments are all gone sees nobody
        *(compile_rule(s.rule, now=now, segments=rules, key=s.key, scope=scope) for s in segments),
    )


async def _all_rules(session: AsyncSession) -> dict[str, Any]:
    rows = await session.execute(select(Segment.key, Segment.rule))
    return {key: rule for key, rule in rows}


async def _rules_for(session: AsyncSession, segments: Sequence[Segment]) -> dict[str, Any]:
    """The rules `inSegment` may name when compiling these segments: theirs, and everyone's
    (one more statement) only when they inline a segment that is not among them."""
    rules = {s.key: s.rule for s in segments}
    if any(referenced_segments(s.rule) - rules.keys() for s in segments):
        return await _all_rules(session)
    return rules


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


async def member_condition(
    session: AsyncSession,
    segment: Segment,
    *,
    now: datetime | None = None,
    scope: Select[Any] | None = None,
) -> Condition:
    """The condition on users that they are members of the segment now (`now` by default
    the current time; `scope` as in `compile_rule`), for queries elsewhere, e.g. metrics."""
    return await _condition(session, segment.rule, key=segment.key, now=now, scope=scope)


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
    session: AsyncSession,
    actor: Actor | None = None,
    *,
    segment_id: int | None = None,
    key: str | None = None,
) -> Segment:
    """One segment by id or key; a segment the actor may not see is not found."""
    if (segment_id is None) == (key is None):
        raise NotFound("give exactly one of id and key", field="id")
    found = Segment.id == segment_id if segment_id is not None else Segment.key == key
    # No key holds NUL, and PostgreSQL would reject it in a query.
    named = key is None or "\x00" not in key
    segment = await session.scalar(visible_segments(actor).where(found)) if named else None
    if segment is None:
        raise NotFound(
            f"no segment with {'id' if segment_id is not None else 'key'} "
            f"{segment_id if segment_id is not None else key!r}",
            field="id" if segment_id is not None else "key",
        )
    return segment


async def list_segments(
    session: AsyncSession,
    actor: Actor | None,
    *,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[Segment]:
    return await paginate(
        session,
        visible_segments(actor),
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
    # Deleting would drop the keys' limit rows with it and leave them seeing everything.
    limited = (
        await session.scalars(
            select(ApiKey.name)
            .join(ApiKeySegment, ApiKeySegment.api_key_id == ApiKey.id)
            .where(ApiKeySegment.segment_id == segment.id, ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
            .order_by(ApiKey.name)
        )
    ).all()
    if limited:
        raise Conflict(f"API keys are limited to {key!r}: {', '.join(limited)}", field="key")
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
    condition = await member_condition(session, segment, now=now)
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
    repeated while users are added between pages. (Members of a segment the actor can see
    are users it can see: no filter by actor is needed.)"""
    condition = await member_condition(session, segment, now=now)
    return await paginate(
        session,
        select(User).where(condition),
        ordering=Ordering((User.id,)),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


async def preview(
    session: AsyncSession, actor: Actor | None, *, rule: Any, now: datetime | None = None
) -> Preview:
    """The size and first members (by id) of an unsaved rule."""
    # Any rule would reach users outside the key's segments.
    ensure_unlimited(actor, "preview other rules", field="rule")
    condition = await _condition(session, rule, now=now)
    size = await session.scalar(select(func.count()).select_from(User).where(condition))
    sample = await session.scalars(
        select(User).where(condition).order_by(User.id).limit(SAMPLE_SIZE)
    )
    return Preview(size=int(size or 0), sample=list(sample.all()))


async def membership(
    session: AsyncSession,
    actor: Actor | None,
    *,
    segment_key: str,
    external_ids: Sequence[str],
    now: datetime | None = None,
) -> list[Membership]:
    """Whether each given user (each distinct external id once, in the order given) is a
    member; users the actor may not see are unknown to it."""
    if len(external_ids) > MAX_MEMBERSHIP_IDS:
        raise ValidationFailed(
            f"at most {MAX_MEMBERSHIP_IDS} external ids at a time", field="externalIds"
        )
    segment = await get_segment(session, actor, key=segment_key)
    wanted = list(dict.fromkeys(external_ids))
    storable = [e for e in wanted if "\x00" not in e]  # no user has NUL in an external id
    asked = select(User.id).where(User.external_id.in_(storable))  # type: ignore[attr-defined]
    condition = await member_condition(session, segment, now=now, scope=asked)
    stmt = select(User.external_id, condition).where(User.external_id.in_(storable))  # type: ignore[attr-defined]
    visible = await audience(session, actor, scope=asked, now=now)
    rows = await session.execute(stmt if visible is None else stmt.where(visible))
    found = {external_id: bool(is_member) for external_id, is_member in rows}
    return [
        Membership(external_id=e, is_member=found.get(e, False), known=e in found) for e in wanted
    ]


async def is_member(
    session: AsyncSession, segment: Segment, user_id: int, *, now: datetime | None = None
) -> bool:
    """Whether one user matches the segment's rule now (e.g. a campaign's target check)."""
    one = select(User.id).where(User.id == user_id)
    condition = await member_condition(session, segment, now=now, scope=one)
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
    session: AsyncSession,
    user_ids: Sequence[int],
    *,
    actor: Actor | None,
    now: datetime | None = None,
) -> dict[int, list[Segment]]:
    """The segments (that the actor may see) each user matches now, ordered by key, all
    evaluated for the whole batch in one statement: a UNION ALL of one SELECT per segment."""
    segments = (await session.scalars(visible_segments(actor).order_by(Segment.key))).all()
    if not segments or not user_ids:
        return {}
    now, rules = now or utcnow(), await _rules_for(session, segments)
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


async def segments_by_id(
    session: AsyncSession, segment_ids: Sequence[int], *, actor: Actor | None = None
) -> dict[int, Segment]:
    rows = await session.scalars(visible_segments(actor).where(Segment.id.in_(segment_ids)))  # type: ignore[union-attr]
    return {segment.id: segment for segment in rows}  # type: ignore[misc]


# Snapshots: a segment's membership frozen at a moment, e.g. the audience a campaign targeted.


async def snapshot_segment(
    session: AsyncSession, actor: Actor | None, *, key: str
) -> SegmentSnapshot:
    """Stores who matches the segment's rule now. The members are copied by one
    INSERT … SELECT inside the database, so the snapshot is one consistent moment and no
    member passes through Python, however large the segment."""
    segment = await get_segment(session, actor, key=key)
    taken_at = utcnow()
    snapshot = SegmentSnapshot(segment_id=segment.id, rule=segment.rule, size=0, taken_at=taken_at)
    session.add(snapshot)
    await session.flush()
    condition = await member_condition(session, segment, now=taken_at)
    copy = insert(SegmentSnapshotMember).from_select(
        ["snapshot_id", "user_id"], select(literal(snapshot.id), User.id).where(condition)
    )
    # SQLAlchemy reports an INSERT's row count only when asked to keep it.
    copied = await session.execute(copy, execution_options={"preserve_rowcount": True})
    snapshot.size = copied.rowcount  # type: ignore[attr-defined]
    return snapshot


def snapshot_member_ids(snapshot_id: int) -> Select[tuple[int]]:
    """The ids of a snapshot's members as a subquery, to evaluate something against the
    audience as it was: `User.id.in_(snapshot_member_ids(id))`, or join on its user_id."""
    return select(SegmentSnapshotMember.user_id).where(
        SegmentSnapshotMember.snapshot_id == snapshot_id
    )


async def snapshots(
    session: AsyncSession,
    *,
    segment: Segment,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[SegmentSnapshot]:
    """The segment's snapshots, newest first: its size over time."""
    return await paginate(
        session,
        select(SegmentSnapshot).where(SegmentSnapshot.segment_id == segment.id),
        ordering=Ordering((SegmentSnapshot.taken_at, SegmentSnapshot.id), descending=True),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


async def get_snapshot(
    session: AsyncSession, *, segment: Segment, snapshot_id: int
) -> SegmentSnapshot:
    snapshot = await session.scalar(
        select(SegmentSnapshot).where(
            SegmentSnapshot.id == snapshot_id, SegmentSnapshot.segment_id == segment.id
        )
    )
    if snapshot is None:
        raise NotFound(f"segment {segment.key!r} has no snapshot {snapshot_id}", field="id")
    return snapshot


async def snapshot_members(
    session: AsyncSession,
    actor: Actor | None,
    *,
    snapshot: SegmentSnapshot,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[User]:
    """The snapshot's members by user id (users deleted since are gone from it). A key
    limited to segments sees only those who are members of its segments now."""
    # Correlated, so a page probes the members' primary key per user and stops after
    # `first` of them instead of reading the whole snapshot for every page.
    was_member = (
        select(SegmentSnapshotMember.user_id)
        .where(
            SegmentSnapshotMember.snapshot_id == snapshot.id,
            SegmentSnapshotMember.user_id == User.id,
        )
        .correlate(User)
        .exists()
    )
    stmt = select(User).where(was_member)
    visible = await audience(session, actor)
    return await paginate(
        session,
        stmt if visible is None else stmt.where(visible),
        ordering=Ordering((User.id,)),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )
