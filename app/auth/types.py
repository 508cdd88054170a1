"""GraphQL types for API keys and the caller's identity."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info

from app.api.errors import UserError
from app.auth import models

if TYPE_CHECKING:
    from app.segments.types import SegmentType

Role = strawberry.enum(models.Role)


@strawberry.type(name="ApiKey", description="An API key; its secret is shown only once.")
class ApiKeyType:
    id: strawberry.ID
    name: str
    role: Role  # type: ignore[valid-type]
    prefix: str = strawberry.field(description="The secret's first characters, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None
    row: strawberry.Private[models.ApiKey]

    @classmethod
    def of(cls, row: models.ApiKey) -> ApiKeyType:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            role=models.Role(row.role),
            prefix=row.prefix,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            row=row,
        )

    @strawberry.field(
        description="The segments this key is limited to, by key: it sees only them and "
        "their members. Null: the key is not limited."
    )
    async def segments(
        self, info: Info
    ) -> list[Annotated[SegmentType, strawberry.lazy("app.segments.types")]] | None:
        # Imported here as the annotation is lazy (the segments domain imports auth).
        from app.segments.types import SegmentType

        rows = await info.context.loaders.api_key_segments.load(self.row.id)
        return None if rows is None else [SegmentType.of(row) for row in rows]


@strawberry.type(description="Who the presented API key belongs to.")
class Viewer:
    name: str
    role: Role  # type: ignore[valid-type]
    permissions: list[str]


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKeyType | None = None
    secret: str | None = strawberry.field(
        default=None, description="The key to send as 'Authorization: Bearer …'; shown once."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)
