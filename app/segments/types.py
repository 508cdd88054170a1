"""GraphQL types for segments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from app.api.connection import Connection
from app.api.errors import UserError
from app.api.payloads import parse_id
from app.errors import NotFound
from app.segments import models, service

if TYPE_CHECKING:
    from app.users.types import UserType

RULE_DOC = "The rule as JSON (see docs/segments.md); membership is computed from it, never stored."


@strawberry.type(name="Segment", description="Users who match a rule now (用户分群).")
class SegmentType:
    id: strawberry.ID
    key: str
    name: str
    description: str
    rule: JSON = strawberry.field(description=RULE_DOC)
    is_builtin: bool = strawberry.field(
        description="The tier and churn-warning segments: not deletable, rule fixed."
    )
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[models.Segment]

    @classmethod
    def of(cls, row: models.Segment) -> SegmentType:
        return cls(
            id=strawberry.ID(str(row.id)),
            key=row.key,
            name=row.name,
            description=row.description,
            rule=row.rule,
            is_builtin=row.is_builtin,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="How many users match the rule now.")
    async def size(self, info: Info) -> int:
        return await info.context.loaders.segment_sizes.load(self.row.id)

    @strawberry.field(
        description="Users matching the rule now, in id order: pages stay stable while users "
        "are added. Ask for one segment's members at a time; each list runs its own query."
    )
    async def members(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[Annotated[UserType, strawberry.lazy("app.users.types")]]:
        from app.users.types import UserType  # here: users' types refer back to segments'

        db = info.context.db
        async with db.read() as session:
            page = await service.members(
                session,
                segment=self.row,
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, UserType.of)

    @strawberry.field(
        description="The segment's snapshots, newest first: its size over time. Ask for one "
        "segment's history at a time; each list runs its own query."
    )
    async def history(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[SegmentSnapshotType]:
        db = info.context.db
        async with db.read() as session:
            page = await service.snapshots(
                session,
                segment=self.row,
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, SegmentSnapshotType.of)

    @strawberry.field(
        description="One of the segment's snapshots; null when it has none by this id."
    )
    async def snapshot(self, info: Info, id: strawberry.ID) -> SegmentSnapshotType | None:
        try:
            async with info.context.db.read() as session:
                row = await service.get_snapshot(
                    session, segment=self.row, snapshot_id=parse_id(id)
                )
        except NotFound:
            return None
        return SegmentSnapshotType.of(row)


@strawberry.type(
    name="SegmentSnapshot",
    description="A segment's membership frozen at a moment (snapshotSegment), e.g. the "
    "audience a campaign actually targeted.",
)
class SegmentSnapshotType:
    id: strawberry.ID
    taken_at: datetime
    size: int = strawberry.field(description="Members when taken.")
    rule: JSON = strawberry.field(description="The segment's rule when taken.")
    row: strawberry.Private[models.SegmentSnapshot]

    @classmethod
    def of(cls, row: models.SegmentSnapshot) -> SegmentSnapshotType:
        return cls(
            id=strawberry.ID(str(row.id)),
            taken_at=row.taken_at,
            size=row.size,
            rule=row.rule,
            row=row,
        )

    @strawberry.field(
        description="The members when taken, in id order (up to 1000 a page); users deleted "
        "since are gone from it."
    )
    async def members(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[Annotated[UserType, strawberry.lazy("app.users.types")]]:
        from app.users.types import UserType  # here: users' types refer back to segments'

        db = info.context.db
        async with db.read() as session:
            page = await service.snapshot_members(
                session,
                info.context.actor,
                snapshot=self.row,
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, UserType.of)


@strawberry.type(description="What an unsaved rule would match now.")
class SegmentPreview:
    size: int
    sample: list[Annotated[UserType, strawberry.lazy("app.users.types")]] = strawberry.field(
        description=f"Up to {service.SAMPLE_SIZE} matching users, in id order."
    )

    @classmethod
    def of(cls, preview: service.Preview) -> SegmentPreview:
        from app.users.types import UserType  # here: users' types refer back to segments'

        return cls(size=preview.size, sample=[UserType.of(row) for row in preview.sample])


@strawberry.type(description="A rule preview, or why the rule is invalid.")
class SegmentPreviewPayload:
    preview: SegmentPreview | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Whether one user, named by external id, is in a segment now.")
class SegmentMembership:
    external_id: str
    is_member: bool
    known: bool = strawberry.field(description="False when no user has this external id.")

    @classmethod
    def of(cls, membership: service.Membership) -> SegmentMembership:
        return cls(
            external_id=membership.external_id,
            is_member=membership.is_member,
            known=membership.known,
        )


@strawberry.input
class CreateSegmentInput:
    key: str = strawberry.field(description="Lowercase letters, digits, '-' and '_'; unique.")
    name: str
    rule: JSON = strawberry.field(description=RULE_DOC)
    description: str | None = strawberry.UNSET


@strawberry.input(description="Only the fields given are changed.")
class UpdateSegmentInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    rule: JSON | None = strawberry.field(default=strawberry.UNSET, description=RULE_DOC)


@strawberry.type
class SegmentPayload:
    segment: SegmentType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SegmentSnapshotPayload:
    snapshot: SegmentSnapshotType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
