"""GraphQL fields for API keys and the caller's identity."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from app.api.errors import ClientError
from app.api.mutations import mutate
from app.api.payloads import parse_id
from app.api.permissions import requires
from app.auth import service
from app.auth.roles import ROLE_PERMISSIONS, Permission
from app.auth.types import ApiKeyPayload, ApiKeyType, Role, Viewer

SegmentKeys = Annotated[
    list[str] | None,
    strawberry.argument(
        description="Integration keys only: the segments the key may see (it then sees only "
        "them and their members). Null: not limited."
    ),
]


@strawberry.type
class Query:
    @strawberry.field(description="The caller, as identified by its API key.")
    def viewer(self, info: Info) -> Viewer:
        actor = info.context.actor
        if actor is None:
            raise ClientError(info.context.auth_problem, "UNAUTHENTICATED")
        return Viewer(
            name=actor.name,
            role=actor.role,
            permissions=sorted(p.value for p in ROLE_PERMISSIONS[actor.role]),
        )

    @strawberry.field(extensions=requires(Permission.KEYS_MANAGE))
    async def api_keys(self, info: Info) -> list[ApiKeyType]:
        async with info.context.db.read() as session:
            return [ApiKeyType.of(row) for row in await service.list_api_keys(session)]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=requires(Permission.KEYS_MANAGE))
    async def create_api_key(
        self,
        info: Info,
        name: str,
        role: Role,  # type: ignore[valid-type]
        segment_keys: SegmentKeys = None,
    ) -> ApiKeyPayload:
        return await mutate(
            info,
            lambda session: service.create_api_key(
                session, name=name, role=role.value, segment_keys=segment_keys
            ),
            ok=lambda created: ApiKeyPayload(api_key=ApiKeyType.of(created[0]), secret=created[1]),
            failed=ApiKeyPayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.KEYS_MANAGE),
        description="Limits an integration key to some segments, or lifts its limit (null); "
        "it applies from the key's next request.",
    )
    async def set_api_key_segments(
        self,
        info: Info,
        id: strawberry.ID,
        segment_keys: SegmentKeys = None,
    ) -> ApiKeyPayload:
        return await mutate(
            info,
            lambda session: service.set_api_key_segments(
                session, key_id=parse_id(id), segment_keys=segment_keys
            ),
            ok=lambda row: ApiKeyPayload(api_key=ApiKeyType.of(row)),
            failed=ApiKeyPayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.KEYS_MANAGE),
        description="Revokes a key; requests with it fail from the next one on.",
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyPayload:
        return await mutate(
            info,
            lambda session: service.revoke_api_key(session, key_id=parse_id(id)),
            ok=lambda row: ApiKeyPayload(api_key=ApiKeyType.of(row)),
            failed=ApiKeyPayload,
        )
