"""Campaign evaluation on a hand-made campaign where every figure is known.

The A/B counts are those of R's worked example (see tests/metrics/test_stats.py):
`prop.test(matrix(c(94, 39, 120, 89), ncol = 2), correct = FALSE)` prints
X-squared = 6.1026, p-value = 0.01350, computed by R, not by this code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from app.campaigns.models import (
    Campaign,
    CampaignConversion,
    CampaignParticipation,
    CampaignVariant,
)
from app.db import Database
from app.events.models import Event
from app.feedback.models import Feedback, FeedbackTag
from app.metrics import campaigns as evaluation
from app.metrics.campaigns import AudienceSource, campaign_days
from app.segments.models import Segment, SegmentSnapshot, SegmentSnapshotMember
from app.users.models import User

UTC_TZ = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CREATED = datetime(2026, 3, 1, tzinfo=UTC)
STARTS = datetime(2026, 3, 10, tzinfo=UTC)
ENDS = datetime(2026, 3, 13, tzinfo=UTC)  # three whole days: the 10th, 11th and 12th
AFTER = datetime(2026, 3, 20, tzinfo=UTC)
CORE_USERS = 400
CONTROL = (128, 39)  # participants, conversions
VARIANT = (214, 94)
REVENUE_EACH = Decimal("1.50")
BUDGET = Decimal("684.00")  # 2.00 per participant


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


async def _build(db: Database, **campaign_fields: Any) -> int:
    """400 core users (the target segment) and 5 edge users; 342 participants in two
    variants; events, sign-ups and feedback placed around the campaign's three days."""
    async with db.unit_of_work() as session:
        signed_up = {n: CREATED - timedelta(days=30) for n in range(CORE_USERS)}
        # Participants who signed up during the campaign (one on its first instant) and
        # core users who signed up then but did not take part.
        signed_up.update({0: STARTS, 1: _at(11), 2: _at(12), 3: ENDS, 400 - 1: _at(11)})
        await session.execute(
            insert(User),
            [
                {"external_id": f"c{n}", "name": f"c{n}", "tier": "core", "signed_up_at": at}
                for n, at in signed_up.items()
            ]
            + [
                {"external_id": f"e{n}", "name": f"e{n}", "tier": "edge", "signed_up_at": _at(11)}
                for n in range(5)
            ],
        )
        ids = dict((await session.execute(select(User.external_id, User.id))).all())
        segment = Segment(
            key="core", name="Core users", rule={"attr": "tier", "op": "eq", "value": "core"}
        )
        campaign = Campaign(
            key="spring",
            name="Spring import drive",
            goal="activity",
            form="limited_offer",
            channels=["in_app_popup", "email"],
            budget=BUDGET,
            starts_at=STARTS,
            ends_at=ENDS,
            status="ended",
            created_at=CREATED,
            **campaign_fields,
        )
        session.add_all([segment, campaign])
        await session.flush()
        campaign.target_segment_id = segment.id
        control = CampaignVariant(
            campaign_id=campaign.id, key="control", name="Email only", is_control=True
        )
        variant = CampaignVariant(campaign_id=campaign.id, key="a", name="Popup + email")
        session.add_all([control, variant])
        await session.flush()
        participations, conversions = [], []
        users = iter(range(CORE_USERS))
        for arm, (joined, converted) in ((control, CONTROL), (variant, VARIANT)):
            for k in range(joined):
                user_id = ids[f"c{next(users)}"]
                row = {"campaign_id": campaign.id, "variant_id": arm.id, "user_id": user_id}
                participations.append({**row, "participated_at": _at(10)})
                if k < converted:
                    conversions.append({**row, "revenue": REVENUE_EACH, "converted_at": _at(11)})
        await session.execute(insert(CampaignParticipation), participations)
        await session.execute(insert(CampaignConversion), conversions)
        # Active core users per day: 7th {0, 1}, 8th {0}, 9th none; 10th {0, 1, 2},
        # 11th {0..5}, 12th {0}. Edge users, the 6th and the 13th do not count.
        activity = {
            6: [7],
            7: [0, 1],
            8: [0],
            10: [0, 0, 1, 2],
            11: list(range(6)),
            12: [0],
            13: [9],
        }
        events = [
            {"user_id": ids[f"c{n}"], "name": "login", "occurred_at": _at(day)}
            for day, users_active in activity.items()
            for n in users_active
        ]
        events += [{"user_id": ids["e0"], "name": "login", "occurred_at": _at(d)} for d in (9, 12)]
        await session.execute(insert(Event), events)
        tickets = [
            (ids["c1"], "bug", _at(10), ["导出"]),
            (ids["c2"], "bug", _at(11), ["导出", "性能"]),
            (ids["c3"], "feature_request", _at(12), ["导出"]),
            (ids["e0"], "complaint", _at(11), ["活动"]),  # not in the audience
            (ids["c4"], "bug", _at(9), ["导出"]),  # before the campaign
            (None, "bug", _at(11), []),  # anonymous: no audience member
        ]
        for user_id, kind, created_at, tags in tickets:
            ticket = Feedback(
                user_id=user_id, channel="in_app", type=kind, title="t", created_at=created_at
            )
            session.add(ticket)
            await session.flush()
            for tag in tags:
                session.add(FeedbackTag(feedback_id=ticket.id, tag=tag))
        assert campaign.id is not None
        return campaign.id


async def _evaluate(
    db: Database, campaign_id: int, *, tz: ZoneInfo = UTC_TZ, now: datetime = AFTER
) -> evaluation.CampaignEvaluation:
    async with db.read() as session:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        return await evaluation.evaluate_campaign(session, campaign=campaign, tz=tz, now=now)


async def _snapshot(db: Database, campaign_id: int, *, taken_at: datetime, size: int) -> None:
    """A snapshot of the target segment holding its first `size` core users."""
    async with db.unit_of_work() as session:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        snapshot = SegmentSnapshot(
            segment_id=campaign.target_segment_id, rule={}, size=size, taken_at=taken_at
        )
        session.add(snapshot)
        await session.flush()
        users = select(User.id).where(User.tier == "core").order_by(User.id).limit(size)
        await session.execute(
            insert(SegmentSnapshotMember),
            [{"snapshot_id": snapshot.id, "user_id": u} for u in await session.scalars(users)],
        )


async def test_participation_over_the_current_segment_without_a_snapshot(db: Database) -> None:
    result = await _evaluate(db, await _build(db))
    assert (result.audience.source, result.audience.size) == (AudienceSource.SEGMENT, 400)
    assert result.participants == 342
    assert result.participation_rate == pytest.approx(85.5)
    assert result.conversions == 133
    assert result.conversion_rate == pytest.approx(133 / 342 * 100)


async def test_conversion_by_variant_with_lift_and_the_z_test(db: Database) -> None:
    control, variant = (await _evaluate(db, await _build(db))).variants
    assert (control.variant.key, control.participants, control.conversions) == ("control", 128, 39)
    assert (variant.variant.key, variant.participants, variant.conversions) == ("a", 214, 94)
    assert control.conversion_rate == pytest.approx(30.46875)
    assert variant.conversion_rate == pytest.approx(94 / 214 * 100)
    assert control.test is None and control.lift is None
    assert variant.lift == pytest.approx((94 * 128 / (214 * 39) - 1) * 100)  # +44.16 %
    assert variant.test is not None
    assert variant.test.z > 0  # the variant converts better
    assert variant.test.z**2 == pytest.approx(6.1026, abs=5e-5)  # R's X-squared
    assert variant.test.p_value == pytest.approx(0.01350, abs=5e-6)  # R's p-value
    assert variant.test.significant


async def test_revenue_budget_and_cost_per_participant(db: Database) -> None:
    result = await _evaluate(db, await _build(db))
    assert result.revenue == Decimal("199.50")
    assert [v.revenue for v in result.variants] == [Decimal("58.50"), Decimal("141.00")]
    assert result.cost_per_participant == Decimal("2.00")


async def test_registrations_are_participants_who_signed_up_during_the_campaign(
    db: Database,
) -> None:
    # c0 (at the start), c1, c2, c3 (at the end) took part and signed up during it; c399
    # signed up during it but did not take part, and edge users are no participants.
    assert (await _evaluate(db, await _build(db))).registrations == 4


async def test_activity_compares_mean_dau_before_and_during(db: Database) -> None:
    activity = (await _evaluate(db, await _build(db))).activity
    assert activity.days == 3
    assert (activity.before_from, activity.before_to) == (date(2026, 3, 7), date(2026, 3, 9))
    assert (activity.during_from, activity.during_to) == (date(2026, 3, 10), date(2026, 3, 12))
    assert activity.mean_dau_before == pytest.approx(3 / 3)
    assert activity.mean_dau_during == pytest.approx(10 / 3)
    assert activity.change_percent == pytest.approx(700 / 3)


async def test_activity_days_follow_the_reporting_timezone(db: Database) -> None:
    campaign_id = await _build(db)
    # In Shanghai (UTC+8) the campaign runs from 08:00 on the 10th to 08:00 on the 13th:
    # it touches four local days, the 10th to the 13th, compared with the 6th to the 9th.
    # Each event at 12:00 UTC is at 20:00 the same day there.
    activity = (await _evaluate(db, campaign_id, tz=SHANGHAI)).activity
    assert (activity.during_from, activity.during_to) == (date(2026, 3, 10), date(2026, 3, 13))
    assert (activity.before_from, activity.before_to) == (date(2026, 3, 6), date(2026, 3, 9))
    assert activity.mean_dau_before == pytest.approx(4 / 4)
    assert activity.mean_dau_during == pytest.approx(11 / 4)
    async with db.unit_of_work() as session:
        user_id = await session.scalar(select(User.id).where(User.external_id == "c7"))
        # 23:30 UTC on the 9th is 07:30 on the 10th in Shanghai: a campaign day there.
        late = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
        session.add(Event(user_id=user_id, name="login", occurred_at=late))
    shanghai = (await _evaluate(db, campaign_id, tz=SHANGHAI)).activity
    assert shanghai.mean_dau_during == pytest.approx(12 / 4)
    utc = (await _evaluate(db, campaign_id)).activity
    assert utc.mean_dau_before == pytest.approx(4 / 3)
    assert utc.mean_dau_during == pytest.approx(10 / 3)


def test_a_running_campaign_counts_days_up_to_yesterday() -> None:
    campaign = Campaign(starts_at=STARTS, ends_at=AFTER)
    assert campaign_days(campaign, UTC_TZ, _at(12, 9)) == (date(2026, 3, 10), date(2026, 3, 11))
    assert campaign_days(campaign, UTC_TZ, _at(10, 23)) is None  # its first day is today
    assert campaign_days(Campaign(starts_at=None, ends_at=None), UTC_TZ, AFTER) is None


async def test_a_campaign_in_its_first_day_has_no_activity_figures(db: Database) -> None:
    activity = (await _evaluate(db, await _build(db), now=_at(10, 18))).activity
    assert (activity.days, activity.mean_dau_before, activity.change_percent) == (0, None, None)


async def test_the_launch_snapshot_is_the_audience(db: Database) -> None:
    campaign_id = await _build(db)
    await _snapshot(db, campaign_id, taken_at=CREATED - timedelta(days=1), size=100)  # too old
    await _snapshot(db, campaign_id, taken_at=STARTS - timedelta(hours=1), size=380)
    await _snapshot(db, campaign_id, taken_at=_at(11), size=390)  # mid-campaign
    result = await _evaluate(db, campaign_id)
    assert result.audience.source is AudienceSource.SNAPSHOT
    assert result.audience.size == 380
    assert result.audience.snapshot is not None
    assert result.audience.snapshot.taken_at == STARTS - timedelta(hours=1)
    assert result.participation_rate == pytest.approx(342 / 380 * 100)
    # The snapshot's members are its first 380 core users: all the active ones.
    assert result.activity.mean_dau_during == pytest.approx(10 / 3)


async def test_a_snapshot_taken_after_a_late_launch_is_the_audience(db: Database) -> None:
    campaign_id = await _build(db)
    await _snapshot(db, campaign_id, taken_at=_at(10, 9), size=300)
    await _snapshot(db, campaign_id, taken_at=_at(11), size=390)
    assert (await _evaluate(db, campaign_id)).audience.size == 300


async def test_a_campaign_open_to_all_counts_every_user(db: Database) -> None:
    campaign_id = await _build(db)
    async with db.unit_of_work() as session:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.target_segment_id = None
    result = await _evaluate(db, campaign_id)
    assert (result.audience.source, result.audience.size) == (AudienceSource.ALL_USERS, 405)
    # The edge user active on the 12th now counts.
    assert result.activity.mean_dau_during == pytest.approx(11 / 3)


async def test_a_campaign_without_participants_has_no_rates(db: Database) -> None:
    async with db.unit_of_work() as session:
        campaign = Campaign(key="empty", name="Empty", goal="activity", form="webinar")
        session.add(campaign)
    result = await _evaluate(db, campaign.id)  # type: ignore[arg-type]
    assert (result.participants, result.participation_rate) == (0, None)
    assert (result.conversion_rate, result.cost_per_participant) == (None, None)
    assert (result.registrations, result.variants, result.activity.days) == (0, [], 0)


async def test_feedback_received_counts_the_audiences_tickets_during_the_campaign(
    db: Database,
) -> None:
    campaign_id = await _build(db)
    async with db.read() as session:
        report = await evaluation.campaign_report(
            session, campaign_id=campaign_id, tz=UTC_TZ, now=AFTER
        )
    assert report.feedback.total == 3
    assert report.feedback.by_type == [("bug", 2), ("feature_request", 1)]
    assert report.feedback.top_tags == [("导出", 3), ("性能", 1)]
