"""GraphQL fields for campaigns: thin, each one calls one service function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Info

from app.api.connection import Connection
from app.api.mutations import mutate, provided
from app.api.payloads import DeletePayload, parse_id, parse_optional_id
from app.api.permissions import requires
from app.api.response_cache import RECORDS_ACTIVITY
from app.auth.roles import Permission
from app.campaigns import models, service
from app.campaigns.types import (
    CampaignConversionPayload,
    CampaignFilter,
    CampaignParticipationPayload,
    CampaignPayload,
    CampaignReportType,
    CampaignType,
    ConversionType,
    CreateCampaignInput,
    ParticipationType,
    RecordConversionInput,
    RecordParticipationInput,
    UpdateCampaignInput,
)
from app.errors import NotFound
from app.metrics import campaigns as evaluation


@strawberry.type
class Query:
    @strawberry.field(extensions=requires(Permission.CAMPAIGNS_READ), description="Newest first.")
    async def campaigns(
        self,
        info: Info,
        filter: CampaignFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[CampaignType]:
        db = info.context.db
        async with db.read() as session:
            page = await service.list_campaigns(
                session,
                filter=provided(filter) if filter else {},
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, CampaignType.of)

    @strawberry.field(
        extensions=requires(Permission.CAMPAIGNS_READ),
        description="One campaign by id or by key; null when there is none.",
    )
    async def campaign(
        self, info: Info, id: strawberry.ID | None = None, key: str | None = None
    ) -> CampaignType | None:
        try:
            async with info.context.db.read() as session:
                row = await service.get_campaign(
                    session, campaign_id=parse_optional_id(id), key=key
                )
        except NotFound:
            return None
        return CampaignType.of(row)

    @strawberry.field(
        extensions=requires(Permission.CAMPAIGNS_READ),
        description="A campaign's summary: goal, audience, participation, variant results "
        "with significance, activity before vs during, budget and cost per participant, and "
        "the feedback received while it ran; also as Markdown. Null when there is no such "
        "campaign.",
    )
    async def campaign_report(self, info: Info, id: strawberry.ID) -> CampaignReportType | None:
        try:
            async with info.context.db.read() as session:
                result = await evaluation.campaign_report(
                    session, campaign_id=parse_id(id), tz=info.context.settings.tz
                )
        except NotFound:
            return None
        return CampaignReportType.of(result)


async def _change(
    info: Info, work: Callable[[AsyncSession], Awaitable[models.Campaign]]
) -> CampaignPayload:
    return await mutate(
        info,
        work,
        ok=lambda row: CampaignPayload(campaign=CampaignType.of(row)),
        failed=CampaignPayload,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=requires(Permission.CAMPAIGNS_WRITE))
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> CampaignPayload:
        return await _change(
            info, lambda session: service.create_campaign(session, data=provided(input))
        )

    @strawberry.mutation(extensions=requires(Permission.CAMPAIGNS_WRITE))
    async def update_campaign(
        self, info: Info, id: strawberry.ID, input: UpdateCampaignInput
    ) -> CampaignPayload:
        return await _change(
            info,
            lambda session: service.update_campaign(
                session, campaign_id=parse_id(id), data=provided(input)
            ),
        )

    @strawberry.mutation(
        extensions=requires(Permission.CAMPAIGNS_WRITE),
        description="Only planned or cancelled campaigns can be deleted.",
    )
    async def delete_campaign(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await mutate(
            info,
            lambda session: service.delete_campaign(session, campaign_id=parse_id(id)),
            ok=DeletePayload.of,
            failed=DeletePayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.CAMPAIGNS_WRITE),
        description="planned → running. Needs startsAt and a future endsAt; an A/B test "
        "(more than one variant) needs a control. Without a target segment the campaign "
        "is open to all users.",
    )
    async def launch_campaign(self, info: Info, id: strawberry.ID) -> CampaignPayload:
        return await _change(
            info, lambda session: service.launch_campaign(session, campaign_id=parse_id(id))
        )

    @strawberry.mutation(
        extensions=requires(Permission.CAMPAIGNS_WRITE),
        description="running → ended; the campaign becomes read-only.",
    )
    async def end_campaign(self, info: Info, id: strawberry.ID) -> CampaignPayload:
        return await _change(
            info, lambda session: service.end_campaign(session, campaign_id=parse_id(id))
        )

    @strawberry.mutation(
        extensions=requires(Permission.CAMPAIGNS_WRITE),
        description="planned or running → cancelled; the campaign becomes read-only.",
    )
    async def cancel_campaign(self, info: Info, id: strawberry.ID) -> CampaignPayload:
        return await _change(
            info, lambda session: service.cancel_campaign(session, campaign_id=parse_id(id))
        )

    @strawberry.mutation(
        extensions=requires(Permission.CAMPAIGNS_RECORD),
        metadata=RECORDS_ACTIVITY,
        description="Records that a user took part in a running campaign, within its dates "
        "and target segment. Safe to retry: a user is recorded once.",
    )
    async def record_participation(
        self, info: Info, input: RecordParticipationInput
    ) -> CampaignParticipationPayload:
        return await mutate(
            info,
            lambda session: service.record_participation(
                session, data=provided(input), actor=info.context.actor
            ),
            ok=lambda recorded: CampaignParticipationPayload(
                participation=ParticipationType.of(recorded)
            ),
            failed=CampaignParticipationPayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.CAMPAIGNS_RECORD),
        metadata=RECORDS_ACTIVITY,
        description="Records a participant's conversion, credited to their variant. Safe to "
        "retry: a user converts once per campaign.",
    )
    async def record_conversion(
        self, info: Info, input: RecordConversionInput
    ) -> CampaignConversionPayload:
        return await mutate(
            info,
            lambda session: service.record_conversion(
                session, data=provided(input), actor=info.context.actor
            ),
            ok=lambda recorded: CampaignConversionPayload(conversion=ConversionType.of(recorded)),
            failed=CampaignConversionPayload,
        )
