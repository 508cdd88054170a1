"""GraphQL types for events, event batches and channel exposures."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from app.api.errors import UserError
from app.api.inputs import plain_input
from app.events import models


@strawberry.type(name="Event", description="One thing a user did in the product.")
class EventType:
    id: strawberry.ID
    user_id: strawberry.ID
    name: str
    feature: str | None
    occurred_at: datetime
    duration_seconds: int | None
    revenue: Decimal | None
    properties: JSON

    @classmethod
    def of(cls, row: models.Event) -> EventType:
        return cls(
            id=strawberry.ID(str(row.id)),
            user_id=strawberry.ID(str(row.user_id)),
            name=row.name,
            feature=row.feature,
            occurred_at=row.occurred_at,
            duration_seconds=row.duration_seconds,
            revenue=row.revenue,
            properties=row.properties,
        )


@plain_input
@strawberry.input(description="An event; name the user by `userId` or by `externalId`.")
class EventInput:
    user_id: strawberry.ID | None = strawberry.UNSET
    external_id: str | None = strawberry.UNSET
    name: str = strawberry.field(
        description="login, session, feature_used, article_viewed, payment, …"
    )
    feature: str | None = strawberry.UNSET
    occurred_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="With a timezone offset; defaults to now."
    )
    duration_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="For `session` events: how long it lasted."
    )
    revenue: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="For `payment` events."
    )
    properties: JSON | None = strawberry.UNSET


@strawberry.input
class EventFilter:
    user_id: strawberry.ID | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    feature: str | None = strawberry.UNSET
    occurred_from: datetime | None = strawberry.UNSET
    occurred_to: datetime | None = strawberry.UNSET


@strawberry.type(description="Why one event of a batch was not stored.")
class RejectedEvent:
    index: int = strawberry.field(description="Position of the event in the batch, from 0.")
    field: str | None
    message: str


@strawberry.type(
    description=(
        "Valid events are stored together in one transaction; invalid ones are listed in "
        "`rejected` and not stored. `userErrors` means the whole batch was refused."
    )
)
class TrackEventsPayload:
    accepted: int = 0
    rejected: list[RejectedEvent] = strawberry.field(default_factory=list)
    duplicate: bool = strawberry.field(
        default=False,
        description="True when this idempotency key was already used: nothing new was stored.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="ChannelExposure")
class ChannelExposureType:
    channel: str
    day: date
    impressions: int

    @classmethod
    def of(cls, row: models.ChannelExposure) -> ChannelExposureType:
        return cls(channel=row.channel, day=row.day, impressions=row.impressions)


@plain_input
@strawberry.input
class ChannelExposureInput:
    channel: str
    day: date
    impressions: int


@strawberry.type
class RecordExposuresPayload:
    recorded: int = 0
    user_errors: list[UserError] = strawberry.field(default_factory=list)
