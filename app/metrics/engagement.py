"""Engagement (用户参与度) with one event, feature or campaign, and feature penetration
(功能渗透) among active users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, StringConstraints
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.campaigns.models import Campaign, CampaignParticipation
from app.errors import NotFound, ValidationFailed
from app.events.models import Event
from app.events.service import EVENT_NAME
from app.metrics.activity import count_active
from app.metrics.customers import check_days, count_if, only
from app.metrics.models import ActivityDayEvent
from app.metrics.periods import instants
from app.metrics.scope import scoped_users
from app.metrics.stats import percent
from app.users.models import User
from app.validation import Input, parse

MAX_FEATURES = 50
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FEATURE_USED = "feature_used"  # the event that says a feature was used, and which
NAMED_DAYS = ActivityDayEvent.__table__


class Activity(Input):
    """What engagement counts: give exactly one."""

    event_name: Annotated[str, Field(pattern=EVENT_NAME)] | None = None
    feature: FeatureName | None = None
    campaign_id: int | None = None


class Features(Input):
    features: list[FeatureName] = Field(min_length=1, max_length=MAX_FEATURES)


@dataclass(frozen=True)
class Engagement:
    participants: int  # users who did it in the range
    users: int  # users registered by the end of the range

    @property
    def rate(self) -> float | None:
        return percent(self.participants, self.users)


@dataclass(frozen=True)
class FeatureUse:
    feature: str
    users: int
    active_users: int

    @property
    def penetration(self) -> float | None:
        return percent(self.users, self.active_users)


async def _participants(
    session: AsyncSession,
    first: date,
    last: date,
    tz: ZoneInfo,
    *,
    event_name: str | None,
    feature: str | None,
    campaign_id: int | None,
) -> Select[Any]:
    """The ids of the users who did the one thing asked on first..last."""
    asked = parse(
        Activity, {"event_name": event_name, "feature": feature, "campaign_id": campaign_id}
    )
    given = [
        name
        for name, value in (
            ("eventName", asked.event_name),
            ("feature", asked.feature),
            ("campaignId", asked.campaign_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise ValidationFailed(
            "give exactly one of eventName, feature and campaignId",
            field=given[1] if given else "eventName",
        )
    if event_name is not None:
        # The rollup's (name, day, user_id) index answers this alone.
        return select(NAMED_DAYS.c.user_id).where(
            NAMED_DAYS.c.name == event_name, NAMED_DAYS.c.day >= first, NAMED_DAYS.c.day <= last
        )
    start, end = instants(first, last, tz)
    if feature is not None:
        return select(Event.user_id).where(*feature_events(feature, start, end))
    if await session.get(Campaign, campaign_id) is None:
        raise NotFound(f"no campaign with id {campaign_id}", field="campaignId")
    return select(CampaignParticipation.user_id).where(
        CampaignParticipation.campaign_id == campaign_id,
        CampaignParticipation.participated_at >= start,
        CampaignParticipation.participated_at < end,
    )


def feature_events(
    features: str | list[str], start: datetime, end: datetime
) -> list[ColumnElement[bool]]:
    """`feature_used` events of the feature(s) in [start, end): the (name, feature,
    occurred_at) index finds them."""
    return [
        Event.name == FEATURE_USED,
        Event.feature.in_([features] if isinstance(features, str) else features),  # type: ignore[union-attr]
        Event.occurred_at >= start,
        Event.occurred_at < end,
    ]


async def engagement(
    session: AsyncSession,
    actor: Actor | None,
    *,
    tz: ZoneInfo,
    first: date,
    last: date,
    event_name: str | None = None,
    feature: str | None = None,
    campaign_id: int | None = None,
    segment_id: int | None = None,
) -> Engagement:
    """Users who had an `event_name` event, a `feature_used` event of `feature`, or
    took part in campaign `campaign_id` in first..last, over the users registered by `last`
    (both narrowed to the segment)."""
    check_days(first, last)
    did = await _participants(
        session, first, last, tz, event_name=event_name, feature=feature, campaign_id=campaign_id
    )
    _, end = instants(first, last, tz)
    members = await scoped_users(session, actor, segment_id=segment_id)
    users, participants = (
        await session.execute(
            select(func.count(), count_if(User.id.in_(did)))  # type: ignore[union-attr]
            .select_from(User)
            .where(User.signed_up_at < end, *only(members, User.id))
        )
    ).one()
    return Engagement(participants=participants, users=users)


@dataclass(frozen=True)
class Penetration:
    active_users: int
    features: list[FeatureUse]  # in the order asked


async def feature_penetration(
    session: AsyncSession,
    actor: Actor | None,
    *,
    tz: ZoneInfo,
    first: date,
    last: date,
    features: list[str],
    segment_id: int | None = None,
) -> Penetration:
    """Per feature, the users with a `feature_used` event of it in first..last, over the users
    active in first..last (any event)."""
    check_days(first, last)
    asked = list(dict.fromkeys(parse(Features, {"features": features}).features))
    start, end = instants(first, last, tz)
    members = await scoped_users(session, actor, segment_id=segment_id)
    active = await count_active(session, first, last, users=members)
    used: dict[str, int] = dict(
        (
            await session.execute(
                select(Event.feature, func.count(func.distinct(Event.user_id)))
                .where(*feature_events(asked, start, end), *only(members, Event.user_id))
                .group_by(Event.feature)
            )
        ).all()
    )
    return Penetration(
        active_users=active,
        features=[FeatureUse(f, used.get(f, 0), active) for f in asked],
    )
