"""GraphQL fields for survey responses: thin, each one calls one service function."""

from __future__ import annotations

import strawberry
from strawberry import Info

from app.api.connection import Connection
from app.api.mutations import mutate, provided
from app.api.permissions import requires
from app.api.response_cache import RECORDS_ACTIVITY
from app.auth.roles import Permission
from app.surveys import service
from app.surveys.types import (
    SubmitSurveyResponseInput,
    SurveyResponseFilter,
    SurveyResponsePayload,
    SurveyResponseType,
)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=requires(Permission.SURVEYS_READ), description="Newest response first."
    )
    async def survey_responses(
        self,
        info: Info,
        filter: SurveyResponseFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[SurveyResponseType]:
        db = info.context.db
        async with db.read() as session:
            page = await service.list_responses(
                session,
                filter=provided(filter) if filter else {},
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, SurveyResponseType.of)


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=requires(Permission.SURVEYS_WRITE), metadata=RECORDS_ACTIVITY)
    async def submit_survey_response(
        self, info: Info, input: SubmitSurveyResponseInput
    ) -> SurveyResponsePayload:
        return await mutate(
            info,
            lambda session: service.submit_response(
                session, data=provided(input), actor=info.context.actor
            ),
            ok=lambda row: SurveyResponsePayload(response=SurveyResponseType.of(row)),
            failed=SurveyResponsePayload,
        )
