"""Campaign evaluation (效果评估), each figure an SQL aggregate: the audience, participation,
conversion by variant with its significance, registrations brought in, activity of the
audience before vs during the campaign, cost per participant, and the feedback received
while it ran (the campaign report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import service as campaigns
from app.campaigns.models import (
    Campaign,
    CampaignConversion,
    CampaignParticipation,
    CampaignVariant,
)
from app.events.models import Event
from app.feedback.models import Feedback, FeedbackTag
from app.metrics.customers import count_if, only
from app.metrics.periods import day_start, day_table, instants, local_day, today
from app.metrics.scope import scoped_users
from app.metrics.stats import ZTest, change_percent, percent, two_proportion_z_test
from app.money import to_cents
from app.segments import service as segments
from app.segments.models import Segment, SegmentSnapshot
from app.sqltypes import utcnow
from app.users.models import User

TOP_TAGS = 5


class AudienceSource(StrEnum):
    SNAPSHOT = "snapshot"  # the target segment's members when the campaign was launched
    SEGMENT = "segment"  # the target segment's members now (no snapshot was taken)
    ALL_USERS = "all_users"  # no target segment: the campaign is open to everyone


@dataclass(frozen=True)
class Audience:
    source: AudienceSource
    size: int
    segment: Segment | None
    snapshot: SegmentSnapshot | None
    members: Select[Any] | None  # the members' user ids; None: every user


@dataclass(frozen=True)
class VariantResult:
    variant: CampaignVariant
    participants: int
    conversions: int
    revenue: Decimal
    test: ZTest | None  # against the control; None for the control itself, or undefined
    lift: float | None  # relative to the control's conversion rate, in percent

    @property
    def conversion_rate(self) -> float | None:
        return percent(self.conversions, self.participants)


@dataclass(frozen=True)
class Activity:
    """Mean daily active users of the audience over the days the campaign ran on (see
    campaign_days) and over as many days just before it."""

    days: int  # 0 until the campaign has a day that is over
    during_from: date | None
    during_to: date | None
    mean_dau_before: float | None
    mean_dau_during: float | None

    @property
    def before_from(self) -> date | None:
        return None if self.during_from is None else self.during_from - timedelta(self.days)

    @property
    def before_to(self) -> date | None:
        return None if self.during_from is None else self.during_from - timedelta(1)

    @property
    def change_percent(self) -> float | None:
        if self.mean_dau_before is None or self.mean_dau_during is None:
            return None
        return change_percent(self.mean_dau_during, self.mean_dau_before)


@dataclass(frozen=True)
class CampaignEvaluation:
    campaign: Campaign
    audience: Audience
    participants: int
    conversions: int
    revenue: Decimal
    registrations: int
    variants: list[VariantResult]
    activity: Activity

    @property
    def participation_rate(self) -> float | None:
        return percent(self.participants, self.audience.size)

    @property
    def conversion_rate(self) -> float | None:
        return percent(self.conversions, self.participants)

    @property
    def cost_per_participant(self) -> Decimal | None:
        if self.participants == 0:
            return None
        return to_cents(self.campaign.budget / self.participants)


@dataclass(frozen=True)
class FeedbackReceived:
    total: int
    by_type: list[tuple[str, int]]  # most first
    top_tags: list[tuple[str, int]]  # at most TOP_TAGS, most first


@dataclass(frozen=True)
class CampaignReport:
    evaluation: CampaignEvaluation
    feedback: FeedbackReceived
    generated_at: datetime


# --- the audience -------------------------------------------------------------------
async def launch_snapshot(session: AsyncSession, campaign: Campaign) -> SegmentSnapshot | None:
    """The snapshot of the target segment that stands for the campaign's audience.

    launchCampaign takes one; this also finds one taken by hand. Only snapshots taken
    while the campaign existed (from its creation to its end) count: the last one taken
    by the start, else the first one after it (a launch after startsAt).
    """
    if campaign.target_segment_id is None or campaign.starts_at is None:
        return None
    started = SegmentSnapshot.taken_at <= campaign.starts_at
    return await session.scalar(
        select(SegmentSnapshot)
        .where(
            SegmentSnapshot.segment_id == campaign.target_segment_id,
            SegmentSnapshot.taken_at >= campaign.created_at,
            SegmentSnapshot.taken_at <= (campaign.ends_at or campaign.starts_at),
        )
        .order_by(
            case((started, 0), else_=1),
            case((started, SegmentSnapshot.taken_at)).desc(),
            SegmentSnapshot.taken_at,
            SegmentSnapshot.id,
        )
        .limit(1)
    )


async def audience(session: AsyncSession, campaign: Campaign) -> Audience:
    """Who the campaign was for: the launch snapshot of its target segment, the segment's
    members now when no snapshot was taken, or every user when it has no target."""
    if campaign.target_segment_id is None:
        size = await session.scalar(select(func.count()).select_from(User))
        return Audience(AudienceSource.ALL_USERS, int(size or 0), None, None, None)
    segment = await session.get(Segment, campaign.target_segment_id)
    assert segment is not None  # the foreign key keeps a targeted segment
    snapshot = await launch_snapshot(session, campaign)
    if snapshot is not None:
        assert snapshot.id is not None
        members = segments.snapshot_member_ids(snapshot.id)
        return Audience(AudienceSource.SNAPSHOT, snapshot.size, segment, snapshot, members)
    # The system's view (no actor): an evaluation counts users, it lists none.
    members = await scoped_users(session, None, segment_id=campaign.target_segment_id)
    assert members is not None
    size = await session.scalar(select(func.count()).select_from(members.subquery()))
    return Audience(AudienceSource.SEGMENT, int(size or 0), segment, None, members)


# --- participation and conversion ---------------------------------------------------
async def _totals(session: AsyncSession, campaign: Campaign) -> Any:
    """Participants, conversions, revenue and registrations, in one statement.

    A registration brought in is a participant who signed up during the campaign: the
    campaign can claim them, unlike users who merely arrived through the `campaign`
    channel meanwhile, which another campaign may have brought.
    """

    def scalar(stmt: Select[Any]) -> Any:
        return stmt.scalar_subquery()

    of_campaign = CampaignParticipation.campaign_id == campaign.id
    registrations: Any = literal(0)
    if campaign.starts_at is not None and campaign.ends_at is not None:
        registrations = scalar(
            select(func.count())
            .select_from(CampaignParticipation)
            .join(User, User.id == CampaignParticipation.user_id)
            .where(
                of_campaign,
                User.signed_up_at >= campaign.starts_at,
                User.signed_up_at <= campaign.ends_at,
            )
        )
    converted = CampaignConversion.campaign_id == campaign.id
    return (
        await session.execute(
            select(
                scalar(select(func.count()).where(of_campaign)).label("participants"),
                scalar(select(func.count()).where(converted)).label("conversions"),
                scalar(select(func.sum(CampaignConversion.revenue)).where(converted)).label(
                    "revenue"
                ),
                registrations.label("registrations"),
            )
        )
    ).one()


async def _variant_rows(session: AsyncSession, campaign_id: int) -> list[Any]:
    """Each variant with its participants, conversions and revenue, in creation order."""
    joined = (
        select(CampaignParticipation.variant_id, func.count().label("n"))
        .where(CampaignParticipation.campaign_id == campaign_id)
        .group_by(CampaignParticipation.variant_id)
        .subquery()
    )
    converted = (
        select(
            CampaignConversion.variant_id,
            func.count().label("n"),
            func.sum(CampaignConversion.revenue).label("revenue"),
        )
        .where(CampaignConversion.campaign_id == campaign_id)
        .group_by(CampaignConversion.variant_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            CampaignVariant,
            func.coalesce(joined.c.n, 0).label("participants"),
            func.coalesce(converted.c.n, 0).label("conversions"),
            converted.c.revenue,
        )
        .outerjoin(joined, joined.c.variant_id == CampaignVariant.id)
        .outerjoin(converted, converted.c.variant_id == CampaignVariant.id)
        .where(CampaignVariant.campaign_id == campaign_id)
        .order_by(CampaignVariant.id)
    )
    return list(rows)


def _variant_results(rows: list[Any]) -> list[VariantResult]:
    """Each variant against the control: lift of the conversion rate, and a two-sided
    two-proportion z-test of the difference."""
    control = next((row for row in rows if row.CampaignVariant.is_control), None)
    results = []
    for row in rows:
        test = lift = None
        if control is not None and row is not control:
            test = two_proportion_z_test(
                row.conversions, row.participants, control.conversions, control.participants
            )
            rate, base = (
                percent(row.conversions, row.participants),
                percent(control.conversions, control.participants),
            )
            lift = None if rate is None or base is None else change_percent(rate, base)
        results.append(
            VariantResult(
                variant=row.CampaignVariant,
                participants=row.participants,
                conversions=row.conversions,
                revenue=to_cents(row.revenue),
                test=test,
                lift=lift,
            )
        )
    return results


# --- activity ---------------------------------------------------------------------
def campaign_days(campaign: Campaign, tz: ZoneInfo, now: datetime) -> tuple[date, date] | None:
    """The local days the campaign ran on: from its start's day to the day of its last
    instant, but only up to yesterday, since today is not over; None before it has one."""
    if campaign.starts_at is None or campaign.ends_at is None:
        return None
    end = min(campaign.ends_at, day_start(today(tz, now), tz))
    first, last = local_day(campaign.starts_at, tz), local_day(end - timedelta(microseconds=1), tz)
    return (first, last) if end > campaign.starts_at and first <= last else None


async def active_user_days(
    session: AsyncSession,
    members: Select[Any] | None,
    *,
    first: date,
    last: date,
    split: date,
    tz: ZoneInfo,
) -> tuple[int, int]:
    """Σ DAU over the days first..split−1 and over split..last (each a count of distinct
    (user, local day) pairs) for the users in `members` (None: everyone), from the events.

    Kept to this signature so it can move onto app.metrics' activity rollup."""
    days = day_table(first, last, tz)
    start, end = instants(first, last, tz)
    pairs = (
        select(days.c.day, Event.user_id)
        .select_from(days)
        .join(
            Event, and_(Event.occurred_at >= days.c.starts_at, Event.occurred_at < days.c.ends_at)
        )
        .where(Event.occurred_at >= start, Event.occurred_at < end, *only(members, Event.user_id))
        .distinct()
        .subquery()
    )
    before, during = (
        await session.execute(
            select(count_if(pairs.c.day < split), count_if(pairs.c.day >= split)).select_from(pairs)
        )
    ).one()
    return int(before), int(during)


async def _activity(
    session: AsyncSession,
    campaign: Campaign,
    members: Select[Any] | None,
    tz: ZoneInfo,
    now: datetime,
) -> Activity:
    window = campaign_days(campaign, tz, now)
    if window is None:
        return Activity(0, None, None, None, None)
    first, last = window
    days = (last - first).days + 1
    before, during = await active_user_days(
        session, members, first=first - timedelta(days), last=last, split=first, tz=tz
    )
    return Activity(days, first, last, before / days, during / days)


# --- the evaluation and the report --------------------------------------------------
async def evaluate_campaign(
    session: AsyncSession, *, campaign: Campaign, tz: ZoneInfo, now: datetime | None = None
) -> CampaignEvaluation:
    assert campaign.id is not None
    now = now or utcnow()
    target = await audience(session, campaign)
    totals = await _totals(session, campaign)
    return CampaignEvaluation(
        campaign=campaign,
        audience=target,
        participants=totals.participants,
        conversions=totals.conversions,
        revenue=to_cents(totals.revenue),
        registrations=totals.registrations,
        variants=_variant_results(await _variant_rows(session, campaign.id)),
        activity=await _activity(session, campaign, target.members, tz, now),
    )


async def feedback_received(
    session: AsyncSession, campaign: Campaign, members: Select[Any] | None, now: datetime
) -> FeedbackReceived:
    """Feedback the audience gave from the start to the end (or now): counts by type and
    the most frequent tags."""
    if campaign.starts_at is None:
        return FeedbackReceived(0, [], [])
    end = min(campaign.ends_at or now, now)
    scope = [
        Feedback.created_at >= campaign.starts_at,
        Feedback.created_at <= end,
        *only(members, Feedback.user_id),
    ]
    by_type = [
        (kind, count)
        for kind, count in await session.execute(
            select(Feedback.type, func.count())
            .where(*scope)
            .group_by(Feedback.type)
            .order_by(func.count().desc(), Feedback.type)
        )
    ]
    top_tags = [
        (tag, count)
        for tag, count in await session.execute(
            select(FeedbackTag.tag, func.count())
            .join(Feedback, Feedback.id == FeedbackTag.feedback_id)
            .where(*scope)
            .group_by(FeedbackTag.tag)
            .order_by(func.count().desc(), FeedbackTag.tag)
            .limit(TOP_TAGS)
        )
    ]
    return FeedbackReceived(sum(count for _, count in by_type), by_type, top_tags)


async def campaign_report(
    session: AsyncSession, *, campaign_id: int, tz: ZoneInfo, now: datetime | None = None
) -> CampaignReport:
    now = now or utcnow()
    campaign = await campaigns.get_campaign(session, campaign_id=campaign_id)
    evaluation = await evaluate_campaign(session, campaign=campaign, tz=tz, now=now)
    feedback = await feedback_received(session, campaign, evaluation.audience.members, now)
    return CampaignReport(evaluation=evaluation, feedback=feedback, generated_at=now)
