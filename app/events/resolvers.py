"""GraphQL fields for events and channel exposures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry import Info

from app.api.connection import Connection
from app.api.mutations import mutate, provided
from app.api.permissions import requires
from app.api.response_cache import RECORDS_ACTIVITY
from app.auth.roles import Permission
from app.events import service
from app.events.types import (
    ChannelExposureInput,
    ChannelExposureType,
    EventFilter,
    EventInput,
    EventType,
    RecordExposuresPayload,
    RejectedEvent,
    TrackEventsPayload,
)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=requires(Permission.EVENTS_READ), description="Events, newest first."
    )
    async def events(
        self,
        info: Info,
        filter: EventFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[EventType]:
        db = info.context.db
        async with db.read() as session:
            page = await service.list_events(
                session,
                filter=provided(filter) if filter else {},
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, EventType.of)

    @strawberry.field(extensions=requires(Permission.EVENTS_READ))
    async def channel_exposures(
        self, info: Info, day_from: date, day_to: date, channel: str | None = None
    ) -> list[ChannelExposureType]:
        async with info.context.db.read() as session:
            rows = await service.list_channel_exposures(
                session, day_from=day_from, day_to=day_to, channel=channel
            )
        return [ChannelExposureType.of(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=requires(Permission.EVENTS_WRITE),
        metadata=RECORDS_ACTIVITY,
        description=(
            "Ingests up to 5,000 events in one transaction. Send an idempotency key to make "
            "retries safe: a batch whose key was used before stores nothing again."
        ),
    )
    async def track_events(
        self,
        info: Info,
        events: Annotated[list[dict[str, Any]], strawberry.argument(graphql_type=list[EventInput])],
        idempotency_key: str | None = None,
    ) -> TrackEventsPayload:
        context = info.context
        return await mutate(
            info,
            lambda session: service.track_events(
                session,
                events=events,
                idempotency_key=idempotency_key,
                api_key_id=context.actor.key_id,
                max_batch=context.settings.max_events_per_batch,
                actor=context.actor,
            ),
            ok=lambda result: TrackEventsPayload(
                accepted=result.accepted,
                duplicate=result.duplicate,
                rejected=[
                    RejectedEvent(index=r.index, field=r.field, message=r.message)
                    for r in result.rejected
                ],
            ),
            failed=TrackEventsPayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.EVENTS_WRITE),
        metadata=RECORDS_ACTIVITY,
        description="Sets impressions per channel and day (a later report replaces one before).",
    )
    async def record_channel_exposures(
        self,
        info: Info,
        exposures: Annotated[
            list[dict[str, Any]], strawberry.argument(graphql_type=list[ChannelExposureInput])
        ],
    ) -> RecordExposuresPayload:
        return await mutate(
            info,
            lambda session: service.record_channel_exposures(
                session, exposures=exposures, actor=info.context.actor
            ),
            ok=lambda recorded: RecordExposuresPayload(recorded=recorded),
            failed=RecordExposuresPayload,
        )
