"""Users: validation, lookups, filtered listing and the derived lifecycle stage."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import EmailStr, Field, field_validator
from sqlalchemy import Select, bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.service import Actor
from app.db import replace_tags, tags_by_owner
from app.errors import Conflict, NotFound, ValidationFailed
from app.events.models import Event
from app.pagination import Ordering, Page, paginate
from app.segments import service as segments
from app.sqltypes import utcnow
from app.users.models import Tier, User, UserTag
from app.validation import Input, Name, RowId, Tag, parse

MAX_TAGS = 50


class UserFields(Input):
    name: Name
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    tier: Tier = Tier.EDGE
    acquisition_channel: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    plan: str | None = Field(default=None, max_length=64)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("properties")
    @classmethod
    def _flat_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not key or len(key) > 64:
                raise ValueError("property names must be 1 to 64 characters")
        return value


class UserCreate(UserFields):
    external_id: str = Field(min_length=1, max_length=128)
    signed_up_at: datetime | None = None


class UserUpdate(UserFields):
    name: Name | None = None  # type: ignore[assignment]
    tier: Tier | None = None  # type: ignore[assignment]


class UserFilter(Input):
    tier: Tier | None = None
    channel: str | None = None
    region: str | None = None
    tag: str | None = None
    signed_up_from: datetime | None = None
    signed_up_to: datetime | None = None
    search: str | None = Field(default=None, max_length=200)


class UserOrder(StrEnum):
    SIGNED_UP_AT = "signed_up_at"
    NAME = "name"
    ID = "id"


ORDERINGS = {
    UserOrder.SIGNED_UP_AT: (User.signed_up_at, User.id),
    UserOrder.NAME: (User.name, User.id),
    UserOrder.ID: (User.id,),
}


async def visible_users(
    session: AsyncSession,
    actor: Actor | None,
    stmt: Select[Any],
    *,
    scope: Select[Any] | None = None,
) -> Select[Any]:
    """`stmt` (a select over users) narrowed to the users `actor` may see: a key limited to
    segments sees only their members now. Every query that hands users to a caller is
    filtered here; `actor` None is the system itself (other services, CLI), which sees
    all. `scope`, a select of the user ids `stmt` can return, makes the filter cheaper."""
    condition = await segments.audience(session, actor, scope=scope)
    return stmt if condition is None else stmt.where(condition)


async def get_user(
    session: AsyncSession,
    actor: Actor | None = None,
    *,
    user_id: int | None = None,
    external_id: str | None = None,
) -> User:
    """One user by id or external id; a user the actor may not see is not found."""
    if (user_id is None) == (external_id is None):
        raise NotFound("give exactly one of id and externalId", field="id")
    found = User.id == user_id if user_id is not None else User.external_id == external_id
    one = select(User.id).where(found)
    # No external id holds NUL, and PostgreSQL would reject it in a query.
    named = external_id is None or "\x00" not in external_id
    query = await visible_users(session, actor, select(User).where(found), scope=one)
    user = await session.scalar(query) if named else None
    if user is None:
        raise NotFound(
            f"no user with {'id' if user_id is not None else 'externalId'} "
            f"{user_id if user_id is not None else external_id!r}"
        )
    return user


async def list_users(
    session: AsyncSession,
    actor: Actor | None,
    *,
    filter: dict[str, Any],
    order: UserOrder,
    descending: bool,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[User]:
    criteria = parse(UserFilter, filter, prefix="filter")
    stmt = select(User)
    if criteria.tier is not None:
        stmt = stmt.where(User.tier == criteria.tier)
    if criteria.channel is not None:
        stmt = stmt.where(User.acquisition_channel == criteria.channel)
    if criteria.region is not None:
        stmt = stmt.where(User.region == criteria.region)
    if criteria.tag is not None:
        stmt = stmt.where(
            User.id.in_(select(UserTag.user_id).where(UserTag.tag == criteria.tag))  # type: ignore[union-attr]
        )
    if criteria.signed_up_from is not None:
        stmt = stmt.where(User.signed_up_at >= criteria.signed_up_from)
    if criteria.signed_up_to is not None:
        stmt = stmt.where(User.signed_up_at <= criteria.signed_up_to)
    if criteria.search:
        needle = criteria.search.strip().lower()
        stmt = stmt.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (User.name, User.email, User.external_id)
                )
            )
        )
    return await paginate(
        session,
        await visible_users(session, actor, stmt),
        ordering=Ordering(ORDERINGS[order], descending=descending),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


async def create_user(session: AsyncSession, *, data: dict[str, Any]) -> User:
    fields = parse(UserCreate, data, prefix="input")
    if await session.scalar(select(User.id).where(User.external_id == fields.external_id)):
        raise Conflict(
            f"a user with externalId {fields.external_id!r} exists", field="input.externalId"
        )
    values = fields.model_dump(exclude={"tags", "signed_up_at"})
    user = User(**values, signed_up_at=fields.signed_up_at or utcnow())
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent create won the race for the external id
        raise Conflict(
            f"a user with externalId {fields.external_id!r} exists", field="input.externalId"
        ) from None
    assert user.id is not None
    await replace_tags(session, UserTag.user_id, user.id, fields.tags)
    return user


async def update_user(
    session: AsyncSession, actor: Actor | None, *, user_id: int, data: dict[str, Any]
) -> User:
    user = await get_user(session, actor, user_id=user_id)
    changes = parse(UserUpdate, data, prefix="input").model_dump(exclude_unset=True)
    for required in ("name", "tier"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null", field=f"input.{required}")
    tags = changes.pop("tags", None)
    for key, value in changes.items():
        setattr(user, key, value)
    user.updated_at = utcnow()
    if tags is not None:
        await replace_tags(session, UserTag.user_id, user_id, tags)
    return user


async def delete_user(session: AsyncSession, actor: Actor | None, *, user_id: int) -> int:
    """Deletes the user and all that is theirs. Events have no foreign key to cascade
    from (see app/events/models.py): the user's row goes first, which waits for a batch
    still ingesting for them, so the events deleted after it include that batch's."""
    user = await get_user(session, actor, user_id=user_id)
    await session.delete(user)
    await session.flush()
    await session.execute(delete(Event).where(Event.user_id == user_id))
    return user_id


async def tags_by_user(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[str]]:
    return await tags_by_owner(session, UserTag.user_id, user_ids)


class LifecycleStage(StrEnum):
    NEW = "new"  # no key action (feature_used) yet
    ACTIVATED = "activated"  # key action done, signed up less than 30 days ago
    RETAINED = "retained"  # key action done, older than 30 days, still active
    AT_RISK = "at_risk"  # 14 to 29 days without an event
    CHURNED = "churned"  # 30 days or more without an event
    RECALLED = "recalled"  # came back in the last 14 days after 30+ idle days


AT_RISK_DAYS = 14
CHURNED_DAYS = 30
ACTIVATION_EVENT = "feature_used"


def _lifecycle_query() -> Select[Any]:
    returning, earlier = aliased(Event), aliased(Event)
    first_recent = (
        select(func.min(returning.occurred_at))
        .where(returning.user_id == User.id, returning.occurred_at >= bindparam("recent"))
        .correlate(User)
        .scalar_subquery()
    )
    before_return = (
        select(func.max(earlier.occurred_at))
        .where(earlier.user_id == User.id, earlier.occurred_at < first_recent)
        .correlate(User)
        .scalar_subquery()
    )
    activated = (
        select(Event.id).where(Event.user_id == User.id, Event.name == ACTIVATION_EVENT).exists()
    )
    return select(
        User.id,
        User.signed_up_at,
        User.last_active_at,
        activated.label("activated"),
        first_recent.label("first_recent"),
        before_return.label("before_return"),
    ).where(User.id.in_(bindparam("user_ids", expanding=True)))  # type: ignore[union-attr]


# Built once: constructing its aliased subqueries cost more than running it.
LIFECYCLE = _lifecycle_query()


async def lifecycle_by_user(
    session: AsyncSession, user_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, LifecycleStage]:
    """Derive each user's stage from their events in one query (stored nowhere)."""
    now = now or utcnow()
    recent = now - timedelta(days=AT_RISK_DAYS)
    rows = await session.execute(LIFECYCLE, {"recent": recent, "user_ids": list(user_ids)})
    return {row.id: _stage(row, now) for row in rows}


def _stage(row: Any, now: datetime) -> LifecycleStage:
    last_seen = row.last_active_at or row.signed_up_at
    idle = now - last_seen
    if idle >= timedelta(days=CHURNED_DAYS):
        return LifecycleStage.CHURNED
    if idle >= timedelta(days=AT_RISK_DAYS):
        return LifecycleStage.AT_RISK
    first_recent, before = row.first_recent, row.before_return
    if first_recent and before and first_recent - before >= timedelta(days=CHURNED_DAYS):
        return LifecycleStage.RECALLED
    if not row.activated:
        return LifecycleStage.NEW
    if now - row.signed_up_at < timedelta(days=CHURNED_DAYS):
        return LifecycleStage.ACTIVATED
    return LifecycleStage.RETAINED


async def users_by_id(
    session: AsyncSession, user_ids: Sequence[int], *, actor: Actor | None = None
) -> dict[int, User]:
    """The users with these ids that the actor may see."""
    batch = select(User).where(User.id.in_(user_ids))  # type: ignore[union-attr]
    scope = select(User.id).where(User.id.in_(user_ids))  # type: ignore[union-attr]
    rows = await session.scalars(await visible_users(session, actor, batch, scope=scope))
    return {user.id: user for user in rows}  # type: ignore[misc]


class UserReference(Input):
    user_id: RowId | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=128)


async def find_user_id(
    session: AsyncSession,
    reference: UserReference,
    *,
    actor: Actor | None = None,
    prefix: str = "input",
) -> int:
    """The id of the user an input names by `userId` or `externalId` (exactly one). As in
    `get_user`, a user the actor may not see is not found: a key limited to segments
    writes only for their members, and cannot tell other users from unknown ones."""
    if (reference.user_id is None) == (reference.external_id is None):
        raise ValidationFailed(
            "give exactly one of userId and externalId", field=f"{prefix}.userId"
        )
    if reference.user_id is not None:
        named, field, value = User.id == reference.user_id, "userId", reference.user_id
    else:
        named, field, value = (
            User.external_id == reference.external_id,
            "externalId",
            reference.external_id,
        )
    one = select(User.id).where(named)
    found = await session.scalar(await visible_users(session, actor, one, scope=one))
    if found is None:
        raise NotFound(f"no user with {field} {value!r}", field=f"{prefix}.{field}")
    return found
