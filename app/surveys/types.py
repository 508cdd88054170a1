"""GraphQL types for NPS and CSAT survey responses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info

from app.api.errors import UserError
from app.surveys import models, service

if TYPE_CHECKING:
    from app.users.types import UserType

SurveyKind = strawberry.enum(models.SurveyKind, description="NPS: 0–10. CSAT: 1–5.")
SurveySubject = strawberry.enum(models.SurveySubject, description="What a response is about.")
NpsCategory = strawberry.enum(
    service.NpsCategory, description="promoter 9–10, passive 7–8, detractor 0–6."
)


@strawberry.type(name="SurveyResponse", description="One NPS or CSAT answer from a user.")
class SurveyResponseType:
    id: strawberry.ID
    kind: SurveyKind  # type: ignore[valid-type]
    score: int
    comment: str | None
    subject_type: SurveySubject  # type: ignore[valid-type]
    subject_id: strawberry.ID | None = strawberry.field(
        description="The feedback, article or campaign answered about; null for the product."
    )
    responded_at: datetime
    category: NpsCategory | None = strawberry.field(  # type: ignore[valid-type]
        description="The NPS category of the score; null for CSAT."
    )
    row: strawberry.Private[models.SurveyResponse]

    @classmethod
    def of(cls, row: models.SurveyResponse) -> SurveyResponseType:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=models.SurveyKind(row.kind),
            score=row.score,
            comment=row.comment,
            subject_type=models.SurveySubject(row.subject_type),
            subject_id=strawberry.ID(str(row.subject_id)) if row.subject_id is not None else None,
            responded_at=row.responded_at,
            category=service.nps_category(row.kind, row.score),
            row=row,
        )

    @strawberry.field
    async def user(
        self, info: Info
    ) -> Annotated[UserType, strawberry.lazy("app.users.types")] | None:
        # Imported here as the annotation is lazy: users' types may refer to surveys.
        from app.users.types import UserType

        row = await info.context.loaders.user_by_id.load(self.row.user_id)
        return UserType.of(row) if row is not None else None


@strawberry.input
class SurveyResponseFilter:
    kind: SurveyKind | None = strawberry.UNSET  # type: ignore[valid-type]
    user_id: strawberry.ID | None = strawberry.UNSET
    from_: datetime | None = strawberry.field(
        name="from", default=strawberry.UNSET, description="respondedAt on or after this time."
    )
    to: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="respondedAt on or before this time."
    )


@strawberry.input
class SubmitSurveyResponseInput:
    kind: SurveyKind  # type: ignore[valid-type]
    score: int
    user_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Give exactly one of userId and externalId."
    )
    external_id: str | None = strawberry.UNSET
    comment: str | None = strawberry.UNSET
    subject_type: SurveySubject = models.SurveySubject.PRODUCT  # type: ignore[valid-type]
    subject_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Required unless subjectType is PRODUCT."
    )
    responded_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Absent: now."
    )


@strawberry.type
class SurveyResponsePayload:
    response: SurveyResponseType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
