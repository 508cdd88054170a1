"""A campaign run through the API from plan to evaluation: launched on a segment (which
snapshots its audience), participations and conversions retried, then Campaign.evaluation
and campaignReport. The arithmetic itself is tested in tests/metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.db import Database
from app.feedback.models import Feedback
from app.metrics.stats import two_proportion_z_test
from app.segments.models import Segment
from app.users.models import User
from tests.campaigns.helpers import running, transition, users
from tests.campaigns.test_participation import AB, convert, participate
from tests.conftest import GraphQLClient

EVALUATION = """
query($id: ID!) {
  campaign(id: $id) {
    evaluation {
      audience { source size snapshotTakenAt }
      participants participationRate conversions conversionRate revenue registrations
      variants { variant { key isControl } participants conversions conversionRate revenue
                 lift zScore pValue significant }
      activity { days meanDauBefore meanDauDuring changePercent }
      budget costPerParticipant
    }
  }
}
"""
REPORT = """
query($id: ID!) {
  campaignReport(id: $id) {
    campaign { key }
    evaluation { participants }
    feedback { total byType { type count } topTags { tag count } }
    markdown
  }
}
"""


async def _segment(db: Database) -> None:
    async with db.unit_of_work() as session:
        session.add(
            Segment(
                key="edge", name="Edge users", rule={"attr": "tier", "op": "eq", "value": "edge"}
            )
        )


async def _run(gql: GraphQLClient, db: Database) -> str:
    """12 edge users in the target segment; 4 join the control and 4 variant `drag`,
    every call made twice; 1 control and 3 drag participants convert."""
    await users(db, 12)
    await _segment(db)
    campaign = await running(
        gql, targetSegmentKey="edge", variants=AB, budget="100.00", theme="Drag & drop"
    )
    campaign_id = campaign["id"]
    for n in range(8):
        for _attempt in range(2):
            payload = await participate(
                gql, campaign_id, externalId=f"u{n}", variantKey="control" if n < 4 else "drag"
            )
            assert payload["userErrors"] == [], payload
    for n in (0, 4, 5, 6):
        for _attempt in range(2):
            payload = await convert(gql, campaign_id, externalId=f"u{n}", revenue="5.00")
            assert payload["userErrors"] == [], payload
    return str(campaign_id)


async def _evaluation(gql: GraphQLClient, campaign_id: str) -> dict[str, Any]:
    data = await gql.data(EVALUATION, {"id": campaign_id}, role="operator")
    return dict(data["campaign"]["evaluation"])


async def test_retries_count_once_in_the_evaluation(gql: GraphQLClient, db: Database) -> None:
    result = await _evaluation(gql, await _run(gql, db))
    assert (result["participants"], result["conversions"]) == (8, 4)
    assert result["participationRate"] == pytest.approx(8 / 12 * 100)
    assert result["conversionRate"] == pytest.approx(50.0)
    assert (result["revenue"], result["budget"], result["costPerParticipant"]) == (
        "20.00",
        "100.00",
        "12.50",
    )


async def test_variants_are_compared_with_the_control(gql: GraphQLClient, db: Database) -> None:
    control, drag = (await _evaluation(gql, await _run(gql, db)))["variants"]
    assert control == {
        "variant": {"key": "control", "isControl": True},
        "participants": 4,
        "conversions": 1,
        "conversionRate": 25.0,
        "revenue": "5.00",
        "lift": None,
        "zScore": None,
        "pValue": None,
        "significant": None,
    }
    expected = two_proportion_z_test(3, 4, 1, 4)
    assert expected is not None
    assert (drag["conversionRate"], drag["lift"]) == (75.0, pytest.approx(200.0))
    assert drag["zScore"] == pytest.approx(expected.z)
    assert drag["pValue"] == pytest.approx(expected.p_value)
    assert drag["significant"] is False  # 4 users per arm prove nothing


async def test_the_audience_is_the_segment_as_launched(gql: GraphQLClient, db: Database) -> None:
    campaign_id = await _run(gql, db)
    async with db.unit_of_work() as session:  # edge users, who join the segment after launch
        session.add_all(User(external_id=f"late{n}", name="late") for n in range(3))
    audience = (await _evaluation(gql, campaign_id))["audience"]
    assert (audience["source"], audience["size"]) == ("SNAPSHOT", 12)
    assert audience["snapshotTakenAt"] is not None


async def test_registrations_are_participants_who_signed_up_during_it(
    gql: GraphQLClient, db: Database
) -> None:
    campaign_id = await _run(gql, db)
    async with db.unit_of_work() as session:
        # u0 and u1 signed up before the campaign; the others (now) during it.
        await session.execute(
            update(User)
            .where(User.external_id.in_(["u0", "u1"]))  # type: ignore[attr-defined]
            .values(signed_up_at=datetime.now(UTC) - timedelta(days=30))
        )
    assert (await _evaluation(gql, campaign_id))["registrations"] == 6


async def test_report_reads_as_a_summary(gql: GraphQLClient, db: Database) -> None:
    campaign_id = await _run(gql, db)
    async with db.unit_of_work() as session:
        user_id = await session.scalar(select(User.id).where(User.external_id == "u0"))
        session.add(
            Feedback(user_id=user_id, channel="in_app", type="bug", title="Popup hides the button")
        )
    await transition(gql, "endCampaign", campaign_id)
    report = (await gql.data(REPORT, {"id": campaign_id}, role="operator"))["campaignReport"]
    assert report["campaign"] == {"key": "spring"}
    assert report["evaluation"] == {"participants": 8}
    assert report["feedback"] == {
        "total": 1,
        "byType": [{"type": "BUG", "count": 1}],
        "topTags": [],
    }
    markdown = report["markdown"]
    for line in [
        "# Campaign report: Spring (`spring`)",
        "- Status: ended;",
        "- Goal: registrations; form: lottery; channels: —",
        "- Theme: Drag & drop",
        "Target segment Edge users (`edge`): 12 users, as snapshotted at",
        "- Participants: 8 (66.7% of the audience)",
        "- Conversions: 4 (50.0% of participants); revenue 20.00",
        "| Reminder popup + email (`control`) · control | 4 | 1 | 25.0% | — | — | — |",
        f"| Drag-and-drop assignment (`drag`) | 4 | 3 | 75.0% | +200.0% | "
        f"{two_proportion_z_test(3, 4, 1, 4).p_value:.4f} | no |",  # type: ignore[union-attr]
        "## Activity before vs during",
        "Budget 100.00; cost per participant 12.50.",
        "- Tickets from the audience: 1",
        "- By type: bug (1)",
    ]:
        assert line in markdown, (line, markdown)


async def test_report_of_an_unknown_campaign_is_null(gql: GraphQLClient) -> None:
    data = await gql.data(REPORT, {"id": "424242"}, role="operator")
    assert data["campaignReport"] is None


async def test_agents_cannot_read_reports(gql: GraphQLClient) -> None:
    body = await gql(REPORT, {"id": "1"}, role="agent")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
