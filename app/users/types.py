"""GraphQL types for users."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from app.api.errors import UserError
from app.api.permissions import requires
from app.auth.roles import Permission
from app.users import models, service

if TYPE_CHECKING:
    from app.feedback.types import FeedbackType
    from app.segments.types import SegmentType

Tier = strawberry.enum(models.Tier, description="core 核心 / backbone 中间 / edge 边缘 users.")
LifecycleStage = strawberry.enum(
    service.LifecycleStage, description="Derived from events when asked; see docs/metrics.md."
)
UserOrder = strawberry.enum(service.UserOrder, name="UserOrderField")


@strawberry.type(name="User", description="An end user of the operated product.")
class UserType:
    id: strawberry.ID
    external_id: str = strawberry.field(description="The user's id in the product itself.")
    name: str
    email: str | None
    phone: str | None
    tier: Tier  # type: ignore[valid-type]
    acquisition_channel: str | None
    region: str | None
    plan: str | None
    properties: JSON
    signed_up_at: datetime
    last_active_at: datetime | None
    row: strawberry.Private[models.User]

    @classmethod
    def of(cls, row: models.User) -> UserType:
        return cls(
            id=strawberry.ID(str(row.id)),
            external_id=row.external_id,
            name=row.name,
            email=row.email,
            phone=row.phone,
            tier=models.Tier(row.tier),
            acquisition_channel=row.acquisition_channel,
            region=row.region,
            plan=row.plan,
            properties=row.properties,
            signed_up_at=row.signed_up_at,
            last_active_at=row.last_active_at,
            row=row,
        )

    @strawberry.field
    async def tags(self, info: Info) -> list[str]:
        return await info.context.loaders.user_tags.load(self.row.id)

    @strawberry.field
    async def lifecycle_stage(self, info: Info) -> LifecycleStage:  # type: ignore[valid-type]
        return await info.context.loaders.user_lifecycle.load(self.row.id)

    @strawberry.field(
        extensions=requires(Permission.FEEDBACK_READ),
        description="The user's feedback tickets, newest first.",
    )
    async def feedback(
        self, info: Info
    ) -> list[Annotated[FeedbackType, strawberry.lazy("app.feedback.types")]]:
        # Imported here as the annotation is lazy: feedback's types refer back to this module.
        from app.feedback.types import FeedbackType

        rows = await info.context.loaders.feedback_by_user.load(self.row.id)
        return [FeedbackType.of(row) for row in rows]

    @strawberry.field(
        extensions=requires(Permission.SEGMENTS_READ),
        description="The segments whose rule the user matches now.",
    )
    async def segments(
        self, info: Info
    ) -> list[Annotated[SegmentType, strawberry.lazy("app.segments.types")]]:
        # Imported here as the annotation is lazy: segments' types refer back to this module.
        from app.segments.types import SegmentType

        rows = await info.context.loaders.segments_by_user.load(self.row.id)
        return [SegmentType.of(row) for row in rows]


@strawberry.input
class UserFilter:
    tier: Tier | None = strawberry.UNSET  # type: ignore[valid-type]
    channel: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    tag: str | None = strawberry.UNSET
    signed_up_from: datetime | None = strawberry.UNSET
    signed_up_to: datetime | None = strawberry.UNSET
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Substring of name, email or external id."
    )


@strawberry.input
class UserOrderBy:
    field: UserOrder = service.UserOrder.SIGNED_UP_AT  # type: ignore[valid-type]
    descending: bool = False


@strawberry.input
class CreateUserInput:
    external_id: str
    name: str
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    tier: Tier = models.Tier.EDGE  # type: ignore[valid-type]
    acquisition_channel: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    plan: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    properties: JSON | None = strawberry.UNSET
    signed_up_at: datetime | None = strawberry.UNSET


@strawberry.input(description="Only the fields given are changed; null clears an optional one.")
class UpdateUserInput:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    tier: Tier | None = strawberry.UNSET  # type: ignore[valid-type]
    acquisition_channel: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    plan: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    properties: JSON | None = strawberry.UNSET


@strawberry.type
class UserPayload:
    user: UserType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
