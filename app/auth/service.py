"""API keys: issuing, authenticating and revoking. Only SHA-256 hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.auth.roles import ROLE_PERMISSIONS, Permission
from app.errors import NotFound, ValidationFailed
from app.sqltypes import utcnow

KEY_PREFIX = "og_"


@dataclass(frozen=True)
class Actor:
    """Who is calling: the key's id, display name and role."""

    key_id: int
    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(session: AsyncSession, *, name: str, role: str) -> tuple[ApiKey, str]:
    """Returns the stored key and its secret, which is shown once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed("name must not be empty", field="name")
    try:
        parsed_role = Role(role)
    except ValueError:
        raise ValidationFailed(
            f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}", field="role"
        ) from None
    secret = _new_secret()
    key = ApiKey(name=name, role=parsed_role, key_hash=hash_key(secret), prefix=secret[:10])
    session.add(key)
    await session.flush()
    return key, secret


async def authenticate(session: AsyncSession, secret: str) -> Actor | None:
    """The actor for a presented secret, or None when unknown or revoked.

    The lookup is by hash: comparing digests of a secret the caller cannot choose
    leaks nothing through timing.
    """
    key = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
    )
    if key is None or key.id is None:
        return None
    return Actor(key_id=key.id, name=key.name, role=Role(key.role))


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())


async def revoke_api_key(session: AsyncSession, *, key_id: int) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}", field="id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
