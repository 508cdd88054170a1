"""Demo campaigns. Planned and running ones go through the live workflow; ended ones are
history, imported with their participations, since the workflow rightly refuses to record
anything outside a campaign's dates."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from app.campaigns import service as campaigns
from app.campaigns.models import (
    Campaign,
    CampaignConversion,
    CampaignParticipation,
    CampaignVariant,
)
from app.db import Database
from app.seeding.population import DemoUser
from app.users.models import User

# Share of participants who convert, per variant key: the drag-and-drop guide wins.
CONVERSION_RATE = {"control": 0.18, "a": 0.27, "b": 0.22}
PARTICIPATION_RATE = 0.35


def _at(today: date, offset_days: int) -> datetime:
    return datetime.combine(today, datetime.min.time(), UTC) + timedelta(days=offset_days)


async def seed_campaigns(
    db: Database, demo: list[DemoUser], specs: list[dict[str, Any]], today: date
) -> int:
    rng = random.Random(20261123)
    created = 0
    for spec in specs:
        async with db.unit_of_work() as session:
            if await session.scalar(select(Campaign.id).where(Campaign.key == spec["key"])):
                continue
            campaign = await campaigns.create_campaign(
                session,
                data={
                    **{
                        k: spec[k]
                        for k in ("key", "name", "goal", "theme", "form", "channels", "budget")
                    },
                    "target_segment_key": spec["target_segment"],
                    "starts_at": _at(today, spec["start_offset_days"]),
                    "ends_at": _at(today, spec["end_offset_days"]),
                    "variants": spec["variants"],
                },
            )
            assert campaign.id is not None
            if spec["status"] == "running":
                await campaigns.launch_campaign(session, campaign_id=campaign.id)
            elif spec["status"] == "ended":
                await _import_history(session, campaign, demo, rng)
        if spec["status"] == "running":
            await _record_live(db, campaign.id, demo, rng)
        created += 1
    return created


async def _import_history(
    session: Any, campaign: Campaign, demo: list[DemoUser], rng: random.Random
) -> None:
    assert campaign.id is not None and campaign.starts_at and campaign.ends_at
    await session.execute(update(Campaign).where(Campaign.id == campaign.id).values(status="ended"))
    variants = list(
        (
            await session.scalars(
                select(CampaignVariant)
                .where(CampaignVariant.campaign_id == campaign.id)
                .order_by(CampaignVariant.id)
            )
        ).all()
    )
    ids = dict(
        (
            await session.execute(
                select(User.external_id, User.id).where(
                    User.external_id.in_([u.external_id for u in demo])
                )
            )
        ).all()
    )
    span = (campaign.ends_at - campaign.starts_at).total_seconds()
    participations, conversions = [], []
    for user in demo:
        user_id = ids[user.external_id]
        if rng.random() > PARTICIPATION_RATE or user.fields["signed_up_at"] > campaign.ends_at:
            continue
        variant = variants[
            campaigns.assign_variant(campaign.id, user_id, [v.weight for v in variants])
        ]
        joined = max(campaign.starts_at, user.fields["signed_up_at"]) + timedelta(
            seconds=rng.uniform(0, span / 2)
        )
        participations.append(
            {
                "campaign_id": campaign.id,
                "variant_id": variant.id,
                "user_id": user_id,
                "participated_at": joined,
            }
        )
        if rng.random() < CONVERSION_RATE.get(variant.key, 0.2):
            conversions.append(
                {
                    "campaign_id": campaign.id,
                    "variant_id": variant.id,
                    "user_id": user_id,
                    "converted_at": joined + timedelta(days=2),
                }
            )
    await session.execute(insert(CampaignParticipation.__table__), participations)
    if conversions:
        await session.execute(insert(CampaignConversion.__table__), conversions)


async def _record_live(
    db: Database, campaign_id: int, demo: list[DemoUser], rng: random.Random
) -> None:
    """Participations in a running campaign go through the same rules as the API's."""
    for user in demo:
        if rng.random() > PARTICIPATION_RATE:
            continue
        async with db.unit_of_work() as session:
            campaign = await session.get(Campaign, campaign_id)
            user_id = await session.scalar(
                select(User.id).where(User.external_id == user.external_id)
            )
            if (
                campaign is None
                or user_id is None
                or not await campaigns.user_in_target(session, campaign, user_id)
            ):
                continue
            await campaigns.record_participation(
                session, data={"campaign_id": campaign_id, "external_id": user.external_id}
            )
