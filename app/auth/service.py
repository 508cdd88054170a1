"""API keys: issuing, authenticating and revoking. Only SHA-256 hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, ApiKeySegment, Role
from app.auth.roles import ROLE_PERMISSIONS, Permission
from app.errors import Forbidden, NotFound, ValidationFailed
from app.segments.models import Segment
from app.sqltypes import utcnow
from app.validation import Input, Key, parse

KEY_PREFIX = "og_"


class KeyLimit(Input):
    segment_keys: list[Key]


@dataclass(frozen=True)
class Actor:
    """Who is calling: the key's id, display name and role, and the segments it is limited
    to (None: not limited). Services filter what a limited key sees to those segments."""

    key_id: int
    name: str
    role: Role
    segment_ids: frozenset[int] | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def ensure_unlimited(actor: Actor | None, cannot: str, *, field: str | None = None) -> None:
    """Refuses what would read or write beyond a limited key's segments (`cannot` says what,
    e.g. "set channel exposures")."""
    if actor is not None and actor.segment_ids is not None:
        raise Forbidden(
            f"this API key is limited to some segments and cannot {cannot}", field=field
        )


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(
    session: AsyncSession, *, name: str, role: str, segment_keys: Sequence[str] | None = None
) -> tuple[ApiKey, str]:
    """Returns the stored key and its secret, which is shown once and never stored.
    `segment_keys` limits an integration key to those segments (None: not limited)."""
    name = name.strip()
    if not name:
        raise ValidationFailed("name must not be empty", field="name")
    if "\x00" in name:  # PostgreSQL rejects NUL in text
        raise ValidationFailed("name must not contain NUL", field="name")
    try:
        parsed_role = Role(role)
    except ValueError:
        raise ValidationFailed(
            f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}", field="role"
        ) from None
    segment_ids = await _limit(session, parsed_role, segment_keys)
    secret = _new_secret()
    key = ApiKey(name=name, role=parsed_role, key_hash=hash_key(secret), prefix=secret[:10])
    session.add(key)
    await session.flush()
    assert key.id is not None
    await _store_limit(session, key.id, segment_ids)
    return key, secret


async def set_api_key_segments(
    session: AsyncSession, *, key_id: int, segment_keys: Sequence[str] | None
) -> ApiKey:
    """Limits the key to these segments, or lifts its limit (None); from its next request on."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}", field="id")
    segment_ids = await _limit(session, Role(key.role), segment_keys)
    await session.execute(delete(ApiKeySegment).where(ApiKeySegment.api_key_id == key_id))
    await _store_limit(session, key_id, segment_ids)
    return key


async def _limit(
    session: AsyncSession, role: Role, segment_keys: Sequence[str] | None
) -> list[int] | None:
    """The ids of the segments a key is to be limited to, checked (None: no limit)."""
    if segment_keys is None:
        return None
    # A limit is kept as rows: no rows means no limit, so an empty list cannot be stored.
    if not segment_keys:
        raise ValidationFailed(
            "give at least one segment key, or null for a key that is not limited",
            field="segmentKeys",
        )
    # Other roles may write segments or manage keys, so they could widen their own limit.
    if role != Role.INTEGRATION:
        raise ValidationFailed(
            "only integration keys can be limited to segments", field="segmentKeys"
        )
    keys = parse(KeyLimit, {"segment_keys": segment_keys}).segment_keys
    wanted = list(dict.fromkeys(keys))
    rows = await session.execute(select(Segment.key, Segment.id).where(Segment.key.in_(wanted)))  # type: ignore[attr-defined]
    found = {key: segment_id for key, segment_id in rows}
    for i, key in enumerate(keys):
        if key not in found:
            raise NotFound(f"no segment with key {key!r}", field=f"segmentKeys.{i}")
    return [found[key] for key in wanted]


async def _store_limit(session: AsyncSession, key_id: int, segment_ids: list[int] | None) -> None:
    if segment_ids:
        await session.execute(
            insert(ApiKeySegment),
            [{"api_key_id": key_id, "segment_id": segment_id} for segment_id in segment_ids],
        )


# Built once: on every request, building the statement cost more than running it. The
# key's segment limit comes in the same statement: one row per segment, or one row with
# a NULL segment for a key that is not limited.
_KEY_BY_HASH = (
    select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKeySegment.segment_id)
    .outerjoin(ApiKeySegment, ApiKeySegment.api_key_id == ApiKey.id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


async def authenticate(session: AsyncSession, secret: str) -> Actor | None:
    """The actor for a presented secret, or None when unknown or revoked.

    The lookup is by hash: comparing digests of a secret the caller cannot choose
    leaks nothing through timing.
    """
    rows = (await session.execute(_KEY_BY_HASH, {"key_hash": hash_key(secret)})).all()
    if not rows:
        return None
    key_id, name, role, _ = rows[0]
    limit = frozenset(segment_id for *_, segment_id in rows if segment_id is not None)
    return Actor(key_id=key_id, name=name, role=Role(role), segment_ids=limit or None)


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())


async def revoke_api_key(session: AsyncSession, *, key_id: int) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}", field="id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


async def segments_by_api_key(
    session: AsyncSession, key_ids: Sequence[int]
) -> dict[int, list[Segment]]:
    """The segments each limited key is limited to, by key; unlimited keys are absent."""
    rows = await session.execute(
        select(ApiKeySegment.api_key_id, Segment)
        .join(Segment, Segment.id == ApiKeySegment.segment_id)
        .where(ApiKeySegment.api_key_id.in_(key_ids))  # type: ignore[attr-defined]
        .order_by(Segment.key)
    )
    found: dict[int, list[Segment]] = defaultdict(list)
    for key_id, segment in rows:
        found[key_id].append(segment)
    return found
