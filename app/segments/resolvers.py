"""GraphQL fields for segments: thin, each one calls one service function."""

from __future__ import annotations

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from app.api.connection import Connection
from app.api.errors import user_errors
from app.api.mutations import mutate, provided
from app.api.payloads import DeletePayload, parse_optional_id
from app.api.permissions import requires
from app.auth.roles import Permission
from app.errors import DomainError, NotFound
from app.segments import service
from app.segments.types import (
    CreateSegmentInput,
    SegmentMembership,
    SegmentPayload,
    SegmentPreview,
    SegmentPreviewPayload,
    SegmentSnapshotPayload,
    SegmentSnapshotType,
    SegmentType,
    UpdateSegmentInput,
)


@strawberry.type
class Query:
    @strawberry.field(extensions=requires(Permission.SEGMENTS_READ))
    async def segments(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[SegmentType]:
        db = info.context.db
        async with db.read() as session:
            page = await service.list_segments(
                session,
                info.context.actor,
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, SegmentType.of)

    @strawberry.field(
        extensions=requires(Permission.SEGMENTS_READ),
        description="One segment by key or by id; null when there is none.",
    )
    async def segment(
        self, info: Info, key: str | None = None, id: strawberry.ID | None = None
    ) -> SegmentType | None:
        try:
            async with info.context.db.read() as session:
                row = await service.get_segment(
                    session,
                    info.context.actor,
                    segment_id=parse_optional_id(id),
                    key=key,
                )
        except NotFound:
            return None
        return SegmentType.of(row)

    @strawberry.field(
        extensions=requires(Permission.SEGMENTS_READ),
        description="What a rule would match now, without saving it; an invalid rule comes "
        "back as userErrors with the path of each faulty node, e.g. `rule.all[1].op`.",
    )
    async def preview_segment(self, info: Info, rule: JSON) -> SegmentPreviewPayload:
        try:
            async with info.context.db.read() as session:
                preview = await service.preview(session, info.context.actor, rule=rule)
        except DomainError as error:
            return SegmentPreviewPayload(user_errors=user_errors(error))
        return SegmentPreviewPayload(preview=SegmentPreview.of(preview))

    @strawberry.field(
        extensions=requires(Permission.SEGMENTS_READ),
        description=f"Which of up to {service.MAX_MEMBERSHIP_IDS} users (by external id) are in "
        "the segment now; each distinct id once, in the order given.",
    )
    async def segment_membership(
        self, info: Info, segment_key: str, external_ids: list[str]
    ) -> list[SegmentMembership]:
        async with info.context.db.read() as session:
            rows = await service.membership(
                session, info.context.actor, segment_key=segment_key, external_ids=external_ids
            )
        return [SegmentMembership.of(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=requires(Permission.SEGMENTS_WRITE))
    async def create_segment(self, info: Info, input: CreateSegmentInput) -> SegmentPayload:
        return await mutate(
            info,
            lambda session: service.create_segment(session, data=provided(input)),
            ok=lambda row: SegmentPayload(segment=SegmentType.of(row)),
            failed=SegmentPayload,
        )

    @strawberry.mutation(extensions=requires(Permission.SEGMENTS_WRITE))
    async def update_segment(
        self, info: Info, key: str, input: UpdateSegmentInput
    ) -> SegmentPayload:
        return await mutate(
            info,
            lambda session: service.update_segment(session, key=key, data=provided(input)),
            ok=lambda row: SegmentPayload(segment=SegmentType.of(row)),
            failed=SegmentPayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.SEGMENTS_WRITE),
        description="Deletes a segment unless it is built in, used by another segment's rule "
        "or targeted by a campaign.",
    )
    async def delete_segment(self, info: Info, key: str) -> DeletePayload:
        return await mutate(
            info,
            lambda session: service.delete_segment(session, key=key),
            ok=DeletePayload.of,
            failed=DeletePayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.SEGMENTS_WRITE),
        description="Stores who is in the segment now (see Segment.history), e.g. the "
        "audience a campaign is about to target.",
    )
    async def snapshot_segment(self, info: Info, key: str) -> SegmentSnapshotPayload:
        return await mutate(
            info,
            lambda session: service.snapshot_segment(session, info.context.actor, key=key),
            ok=lambda row: SegmentSnapshotPayload(snapshot=SegmentSnapshotType.of(row)),
            failed=SegmentSnapshotPayload,
        )
