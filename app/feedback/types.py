"""GraphQL types for feedback tickets, their replies and their status history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info

from app.api.errors import UserError
from app.auth.roles import Permission
from app.feedback import models, service, trends
from app.knowledge.models import ArticleStatus
from app.sqltypes import utcnow

if TYPE_CHECKING:
    from app.knowledge.types import ArticleType
    from app.users.types import UserType

FeedbackStatus = strawberry.enum(
    models.FeedbackStatus,
    description="open → in_progress → resolved → closed; resolved or closed can be reopened.",
)
# Named Kind in Python: `FeedbackType` is the object type below, as in every domain.
FeedbackKind = strawberry.enum(models.FeedbackType, name="FeedbackType")
FeedbackChannel = strawberry.enum(models.FeedbackChannel)
FeedbackPriority = strawberry.enum(
    models.Priority, name="FeedbackPriority", description="Urgent bugs are fixed within 24 h."
)
FeedbackOrder = strawberry.enum(service.FeedbackOrder, name="FeedbackOrderField")
FeedbackTrendKind = strawberry.enum(
    trends.TrendKind,
    name="FeedbackTrendKind",
    description="tag: tickets carrying the tag; title: untagged tickets with the same "
    "normalised title.",
)


@strawberry.type(name="FeedbackReply", description="A reply on a ticket.")
class FeedbackReplyType:
    id: strawberry.ID
    author: str = strawberry.field(description="The API key's name for agent replies.")
    from_agent: bool
    body: str
    created_at: datetime

    @classmethod
    def of(cls, row: models.FeedbackReply) -> FeedbackReplyType:
        return cls(
            id=strawberry.ID(str(row.id)),
            author=row.author,
            from_agent=row.from_agent,
            body=row.body,
            created_at=row.created_at,
        )


@strawberry.type(name="FeedbackStatusChange", description="One step of a ticket's workflow.")
class FeedbackStatusChangeType:
    from_status: FeedbackStatus | None = strawberry.field(  # type: ignore[valid-type]
        description="Null for the creation of the ticket."
    )
    to_status: FeedbackStatus  # type: ignore[valid-type]
    actor: str = strawberry.field(description="The name of the API key that made the change.")
    note: str | None
    changed_at: datetime

    @classmethod
    def of(cls, row: models.FeedbackStatusChange) -> FeedbackStatusChangeType:
        return cls(
            from_status=models.FeedbackStatus(row.from_status) if row.from_status else None,
            to_status=models.FeedbackStatus(row.to_status),
            actor=row.actor,
            note=row.note,
            changed_at=row.changed_at,
        )


@strawberry.type(name="Feedback", description="A feedback ticket (用户反馈 / 工单).")
class FeedbackType:
    id: strawberry.ID
    channel: FeedbackChannel  # type: ignore[valid-type]
    type: FeedbackKind  # type: ignore[valid-type]
    priority: FeedbackPriority  # type: ignore[valid-type]
    status: FeedbackStatus  # type: ignore[valid-type]
    title: str
    body: str
    assignee: str | None
    resolution_note: str | None = strawberry.field(
        description="Set when resolved; cleared when the ticket is reopened."
    )
    satisfaction: int | None = strawberry.field(
        description="The user's rating, 1 to 5, given once after resolution."
    )
    first_response_at: datetime | None = strawberry.field(
        description="When an agent first replied; set once, kept through reopenings."
    )
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(
        description="Bumped by every change. Pass it to assignFeedback as expectedVersion "
        "to assign the ticket only as you saw it."
    )
    row: strawberry.Private[models.Feedback]

    @classmethod
    def of(cls, row: models.Feedback) -> FeedbackType:
        return cls(
            id=strawberry.ID(str(row.id)),
            channel=models.FeedbackChannel(row.channel),
            type=models.FeedbackType(row.type),
            priority=models.Priority(row.priority),
            status=models.FeedbackStatus(row.status),
            title=row.title,
            body=row.body,
            assignee=row.assignee,
            resolution_note=row.resolution_note,
            satisfaction=row.satisfaction,
            first_response_at=row.first_response_at,
            resolved_at=row.resolved_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            row=row,
        )

    @strawberry.field(
        description="When the ticket is due: createdAt plus the SLA of its priority "
        "(by default urgent 24 h, high 72 h, normal 7 days, low 14 days)."
    )
    def due_at(self, info: Info) -> datetime:
        return service.due_at(self.row, info.context.settings.sla_hours)

    @strawberry.field(description="Neither resolved nor closed, and past dueAt.")
    def overdue(self, info: Info) -> bool:
        return service.is_overdue(self.row, info.context.settings.sla_hours, utcnow())

    @strawberry.field(
        description="Published FAQ articles that best match the ticket's title, tags and "
        "body, best first: answers to offer while handling it. `first` is at most 10. "
        "Empty, not an error, when the search index is unavailable."
    )
    async def suggested_articles(
        self, info: Info, first: int = 3
    ) -> list[Annotated[ArticleType, strawberry.lazy("app.knowledge.types")]]:
        # Imported here as the annotation is lazy: articles' types refer back to this module.
        from app.knowledge.types import ArticleType

        tags = await info.context.loaders.feedback_tags.load(self.row.id)
        async with info.context.db.read() as session:
            rows = await service.suggested_articles(
                session, info.context.index, ticket=self.row, tags=tags, first=first
            )
        return [ArticleType.of(row) for row in rows]

    @strawberry.field(
        description="The FAQ article made from this ticket by convertFeedbackToArticle; "
        "null when there is none, or when it is unpublished and the caller is no editor."
    )
    async def article(
        self, info: Info
    ) -> Annotated[ArticleType, strawberry.lazy("app.knowledge.types")] | None:
        from app.knowledge.types import ArticleType

        row = await info.context.loaders.article_by_feedback.load(self.row.id)
        if row is None:
            return None
        # The rule of knowledge.service.visible: drafts are for editors only.
        if row.status != ArticleStatus.PUBLISHED and not info.context.actor.can(
            Permission.ARTICLES_WRITE
        ):
            return None
        return ArticleType.of(row)

    @strawberry.field(description="The user who gave the feedback, when known.")
    async def user(
        self, info: Info
    ) -> Annotated[UserType, strawberry.lazy("app.users.types")] | None:
        # Imported here as the annotation is lazy: users' types refer back to this module.
        from app.users.types import UserType

        if self.row.user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.row.user_id)
        return UserType.of(row) if row is not None else None

    @strawberry.field
    async def tags(self, info: Info) -> list[str]:
        return await info.context.loaders.feedback_tags.load(self.row.id)

    @strawberry.field(description="Oldest first.")
    async def replies(self, info: Info) -> list[FeedbackReplyType]:
        rows = await info.context.loaders.feedback_replies.load(self.row.id)
        return [FeedbackReplyType.of(row) for row in rows]

    @strawberry.field(description="Every status change with who made it, oldest first.")
    async def history(self, info: Info) -> list[FeedbackStatusChangeType]:
        rows = await info.context.loaders.feedback_history.load(self.row.id)
        return [FeedbackStatusChangeType.of(row) for row in rows]


@strawberry.input
class FeedbackFilter:
    status: FeedbackStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    type: FeedbackKind | None = strawberry.UNSET  # type: ignore[valid-type]
    channel: FeedbackChannel | None = strawberry.UNSET  # type: ignore[valid-type]
    priority: FeedbackPriority | None = strawberry.UNSET  # type: ignore[valid-type]
    tag: str | None = strawberry.UNSET
    assignee: str | None = strawberry.UNSET
    user_id: strawberry.ID | None = strawberry.UNSET
    created_from: datetime | None = strawberry.UNSET
    created_to: datetime | None = strawberry.UNSET
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Substring of the title, any case."
    )
    overdue: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="true: the overdue tickets (an agent's queue of what is late); "
        "false: all others.",
    )


@strawberry.input
class FeedbackOrderBy:
    field: FeedbackOrder = service.FeedbackOrder.CREATED_AT  # type: ignore[valid-type]
    descending: bool = strawberry.field(default=True, description="Newest first by default.")


@strawberry.input
class CreateFeedbackInput:
    user_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The user, by id; or give userExternalId."
    )
    user_external_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="The user, by their id in the product."
    )
    channel: FeedbackChannel  # type: ignore[valid-type]
    type: FeedbackKind  # type: ignore[valid-type]
    title: str = strawberry.field(description="1 to 300 characters.")
    body: str = ""
    priority: FeedbackPriority = models.Priority.NORMAL  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="At most 20.")


@strawberry.input(
    description="Only the fields given are changed; null clears the assignee. "
    "The status changes only through the workflow mutations."
)
class UpdateFeedbackInput:
    channel: FeedbackChannel | None = strawberry.UNSET  # type: ignore[valid-type]
    type: FeedbackKind | None = strawberry.UNSET  # type: ignore[valid-type]
    title: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    priority: FeedbackPriority | None = strawberry.UNSET  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.UNSET
    assignee: str | None = strawberry.UNSET


@strawberry.type
class FeedbackPayload:
    feedback: FeedbackType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="FeedbackTrend", description="One recurring demand or problem.")
class FeedbackTrendType:
    kind: FeedbackTrendKind  # type: ignore[valid-type]
    key: str = strawberry.field(description="The tag, or the normalised title.")
    count: int = strawberry.field(description="Tickets in the period.")
    previous_count: int = strawberry.field(
        description="Tickets in the period of equal length just before."
    )
    change: int = strawberry.field(description="count − previousCount.")
    change_percent: float | None = strawberry.field(
        description="change / previousCount × 100; null when previousCount is 0."
    )
    distinct_users: int = strawberry.field(
        description="Users who gave these tickets in the period, each once; anonymous "
        "tickets count for none."
    )
    core_users: int = strawberry.field(description="Of distinctUsers, those in the core tier.")
    core_user_share: float | None = strawberry.field(
        description="coreUsers / distinctUsers × 100; null when distinctUsers is 0."
    )

    @classmethod
    def of(cls, trend: trends.Trend) -> FeedbackTrendType:
        return cls(
            kind=trend.kind,
            key=trend.key,
            count=trend.count,
            previous_count=trend.previous_count,
            change=trend.change,
            change_percent=trend.change_percent,
            distinct_users=trend.users,
            core_users=trend.core_users,
            core_user_share=trend.core_user_share,
        )


@strawberry.type(
    name="FeedbackTrends",
    description="Feedback of a period grouped by tag (by normalised title when untagged), "
    "largest first (高频需求).",
)
class FeedbackTrendsType:
    from_: datetime = strawberry.field(name="from", description="Start of the period, included.")
    to: datetime = strawberry.field(description="End of the period, excluded.")
    previous_from: datetime = strawberry.field(
        description="Start of the previous period, which ends at `from`."
    )
    groups: list[FeedbackTrendType]

    @classmethod
    def of(cls, result: trends.Trends) -> FeedbackTrendsType:
        return cls(
            from_=result.from_,
            to=result.to,
            previous_from=result.previous_from,
            groups=[FeedbackTrendType.of(trend) for trend in result.groups],
        )
