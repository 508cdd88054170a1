"""Campaigns through the GraphQL API: create, validate, page, update, lifecycle, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.campaigns.models import Campaign, CampaignVariant
from app.db import Database
from app.segments.models import Segment
from tests.campaigns.helpers import (
    create,
    create_raw,
    iso,
    running,
    transition,
    update,
)
from tests.conftest import GraphQLClient


async def _rows(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_created_campaign_has_its_fields_variants_and_zero_counts(
    gql: GraphQLClient,
) -> None:
    campaign = await create(
        gql,
        key="spring-lottery",
        theme="春季抽奖",
        channels=["EMAIL", "IN_APP_POPUP", "EMAIL"],
        budget="1200.50",
        startsAt="2030-03-01T00:00:00Z",
        endsAt="2030-03-15T00:00:00Z",
        variants=[
            {"key": "control", "name": "Reminder popup + email", "isControl": True},
            {"key": "drag", "name": "Drag-and-drop assignment", "weight": 3},
        ],
    )
    assert campaign["status"] == "PLANNED"
    assert campaign["channels"] == ["EMAIL", "IN_APP_POPUP"]
    assert campaign["budget"] == "1200.50"
    assert campaign["startsAt"] == "2030-03-01T00:00:00+00:00"
    assert [(v["key"], v["weight"], v["isControl"]) for v in campaign["variants"]] == [
        ("control", 1, True),
        ("drag", 3, False),
    ]
    assert (campaign["participantCount"], campaign["conversionCount"]) == (0, 0)


async def test_campaign_is_readable_by_id_and_key_and_unknown_is_null(
    gql: GraphQLClient,
) -> None:
    campaign = await create(gql, key="by-key")
    query = "query($id: ID, $key: String) { campaign(id: $id, key: $key) { id key } }"
    assert (await gql.data(query, {"key": "by-key"}))["campaign"]["id"] == campaign["id"]
    assert (await gql.data(query, {"id": campaign["id"]}))["campaign"]["key"] == "by-key"
    assert (await gql.data(query, {"key": "nope"}))["campaign"] is None
    assert (await gql.data(query, {"id": "x"}))["campaign"] is None


async def test_duplicate_key_is_a_conflict_and_writes_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    await create(gql, key="dup")
    payload = await create_raw(gql, key="dup", variants=[{"key": "a", "name": "A"}])
    assert payload["campaign"] is None
    assert payload["userErrors"] == [
        {"field": "input.key", "message": "a campaign with key 'dup' exists", "code": "CONFLICT"}
    ]
    assert await _rows(db, Campaign) == 1
    assert await _rows(db, CampaignVariant) == 0


async def test_invalid_fields_are_all_reported_with_their_paths(
    gql: GraphQLClient, db: Database
) -> None:
    payload = await create_raw(gql, key="Not A Key", name="  ", budget="-1")
    assert sorted(e["field"] for e in payload["userErrors"]) == [
        "input.budget",
        "input.key",
        "input.name",
    ]
    assert {e["code"] for e in payload["userErrors"]} == {"VALIDATION"}
    assert await _rows(db, Campaign) == 0


async def test_variant_rules_are_reported_and_nothing_is_written(
    gql: GraphQLClient, db: Database
) -> None:
    payload = await create_raw(
        gql,
        variants=[
            {"key": "a", "name": "A", "weight": 0, "isControl": True},
            {"key": "a", "name": "Again", "weight": 0, "isControl": True},
        ],
    )
    assert [(e["field"], e["message"]) for e in payload["userErrors"]] == [
        ("input.variants.1.key", "duplicate variant key 'a'"),
        ("input.variants", "at most one variant can be the control"),
        ("input.variants", "variant weights must sum to more than 0"),
    ]
    assert await _rows(db, Campaign) == 0
    assert await _rows(db, CampaignVariant) == 0


async def test_start_after_end_is_rejected_on_ends_at(gql: GraphQLClient) -> None:
    payload = await create_raw(gql, startsAt="2030-03-02T00:00:00Z", endsAt="2030-03-01T00:00:00Z")
    assert payload["userErrors"] == [
        {"field": "input.endsAt", "message": "startsAt must be before endsAt", "code": "VALIDATION"}
    ]


async def test_unknown_target_segment_is_a_validation_error(
    gql: GraphQLClient, db: Database
) -> None:
    payload = await create_raw(gql, targetSegmentKey="nobody")
    assert payload["userErrors"] == [
        {
            "field": "input.targetSegmentKey",
            "message": "no segment with key 'nobody'",
            "code": "VALIDATION",
        }
    ]
    assert await _rows(db, Campaign) == 0


async def test_target_segment_key_names_the_segment_and_null_clears_it(
    gql: GraphQLClient, db: Database
) -> None:
    async with db.unit_of_work() as session:
        session.add(Segment(key="core", name="Core users", rule={"all": []}))
    campaign = await create(gql, targetSegmentKey="core")
    query = "query($id: ID!) { campaign(id: $id) { targetSegment { key name } } }"
    targeted = await gql.data(query, {"id": campaign["id"]})
    assert targeted["campaign"]["targetSegment"] == {"key": "core", "name": "Core users"}
    assert (await update(gql, campaign["id"], targetSegmentKey=None))["userErrors"] == []
    assert (await gql.data(query, {"id": campaign["id"]}))["campaign"]["targetSegment"] is None


async def test_filters_and_keyset_pages_cover_every_campaign_once_newest_first(
    gql: GraphQLClient,
) -> None:
    for i in range(5):
        await create(
            gql,
            key=f"c{i}",
            goal="RETENTION" if i % 2 else "REVENUE",
            startsAt=f"2030-01-0{i + 1}T00:00:00Z",
            endsAt="2030-02-01T00:00:00Z",
        )
    query = """
    query($after: String) {
      campaigns(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { key } }
      }
    }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.data(query, {"after": after}))["campaigns"]
        assert page["totalCount"] == 5
        seen += [e["node"]["key"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["c4", "c3", "c2", "c1", "c0"]
    filtered = await gql.data(
        """query { campaigns(filter: {goal: REVENUE, status: PLANNED, form: LOTTERY,
             startsFrom: "2030-01-02T00:00:00Z", startsTo: "2030-01-05T00:00:00Z"}) {
             edges { node { key } } } }"""
    )
    assert [e["node"]["key"] for e in filtered["campaigns"]["edges"]] == ["c4", "c2"]


async def test_update_of_planned_campaign_replaces_variants_wholesale(
    gql: GraphQLClient, db: Database
) -> None:
    campaign = await create(
        gql, variants=[{"key": "a", "name": "A"}, {"key": "b", "name": "B", "isControl": True}]
    )
    payload = await update(
        gql,
        campaign["id"],
        key="renamed",
        goal="ACTIVITY",
        variants=[{"key": "c", "name": "C", "weight": 2}],
    )
    assert payload["userErrors"] == []
    assert payload["campaign"]["key"] == "renamed"
    assert payload["campaign"]["goal"] == "ACTIVITY"
    assert [v["key"] for v in payload["campaign"]["variants"]] == ["c"]
    assert await _rows(db, CampaignVariant) == 1


async def test_failed_update_changes_nothing(gql: GraphQLClient) -> None:
    campaign = await create(
        gql, startsAt="2030-03-01T00:00:00Z", variants=[{"key": "a", "name": "A"}]
    )
    payload = await update(
        gql,
        campaign["id"],
        name="New name",
        endsAt="2030-02-01T00:00:00Z",
        variants=[{"key": "z", "name": "Z", "weight": 0}],
    )
    assert {e["field"] for e in payload["userErrors"]} == {"input.endsAt", "input.variants"}
    stored = await gql.data(
        "query($id: ID!) { campaign(id: $id) { name endsAt variants { key } } }",
        {"id": campaign["id"]},
    )
    assert stored["campaign"] == {"name": "Spring", "endsAt": None, "variants": [{"key": "a"}]}


async def test_updating_to_a_taken_key_is_a_conflict(gql: GraphQLClient) -> None:
    await create(gql, key="taken")
    campaign = await create(gql, key="mine")
    payload = await update(gql, campaign["id"], key="taken")
    assert payload["userErrors"][0]["field"] == "input.key"
    assert payload["userErrors"][0]["code"] == "CONFLICT"
    assert (await update(gql, campaign["id"], key="mine"))["userErrors"] == []


async def test_required_fields_cannot_be_cleared(gql: GraphQLClient) -> None:
    campaign = await create(gql)
    payload = await update(gql, campaign["id"], goal=None)
    assert payload["userErrors"] == [
        {"field": "input.goal", "message": "goal cannot be null", "code": "VALIDATION"}
    ]


async def test_running_campaign_accepts_only_name_theme_budget_and_end(
    gql: GraphQLClient,
) -> None:
    campaign = await running(gql)
    payload = await update(gql, campaign["id"], goal="REVENUE", name="Still fine")
    assert payload["userErrors"] == [
        {
            "field": "input.goal",
            "message": "a running campaign only allows changes to name, theme, budget and endsAt",
            "code": "CONFLICT",
        }
    ]
    new_end = iso(datetime.now(UTC) + timedelta(days=30))
    payload = await update(
        gql, campaign["id"], name="Renamed", theme="新主题", budget="10", endsAt=new_end
    )
    assert payload["userErrors"] == []
    assert payload["campaign"]["name"] == "Renamed"
    assert payload["campaign"]["budget"] == "10.00"


async def test_running_campaign_end_cannot_be_cleared_or_moved_into_the_past(
    gql: GraphQLClient,
) -> None:
    campaign = await running(gql)
    cleared = await update(gql, campaign["id"], endsAt=None)
    past = await update(gql, campaign["id"], endsAt=iso(datetime.now(UTC) - timedelta(minutes=1)))
    for payload in (cleared, past):
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            ("input.endsAt", "VALIDATION")
        ]


async def test_ended_and_cancelled_campaigns_are_read_only(gql: GraphQLClient) -> None:
    ended = await running(gql, key="ended")
    await transition(gql, "endCampaign", ended["id"])
    cancelled = await create(gql, key="cancelled")
    await transition(gql, "cancelCampaign", cancelled["id"])
    for campaign, status in ((ended, "ended"), (cancelled, "cancelled")):
        payload = await update(gql, campaign["id"], name="Too late")
        assert payload == {
            "campaign": None,
            "userErrors": [
                {
                    "field": None,
                    "message": f"{status} campaigns are read-only",
                    "code": "CONFLICT",
                }
            ],
        }


async def test_lifecycle_runs_planned_to_running_to_ended(gql: GraphQLClient) -> None:
    campaign = await create(
        gql, startsAt=iso(datetime.now(UTC)), endsAt=iso(datetime.now(UTC) + timedelta(days=1))
    )
    launched = await transition(gql, "launchCampaign", campaign["id"])
    assert launched == {"campaign": {"status": "RUNNING"}, "userErrors": []}
    ended = await transition(gql, "endCampaign", campaign["id"])
    assert ended == {"campaign": {"status": "ENDED"}, "userErrors": []}


async def test_planned_and_running_campaigns_can_be_cancelled(gql: GraphQLClient) -> None:
    for campaign in (await create(gql, key="planned"), await running(gql, key="running")):
        cancelled = await transition(gql, "cancelCampaign", campaign["id"])
        assert cancelled == {"campaign": {"status": "CANCELLED"}, "userErrors": []}


async def test_illegal_transitions_are_conflicts_and_write_nothing(gql: GraphQLClient) -> None:
    planned = await create(gql, key="planned")
    ended = await running(gql, key="ended")
    await transition(gql, "endCampaign", ended["id"])
    cases = [
        ("endCampaign", planned, "cannot end a planned campaign"),
        ("launchCampaign", ended, "cannot launch a ended campaign"),
        ("cancelCampaign", ended, "cannot cancel a ended campaign"),
        ("endCampaign", ended, "cannot end a ended campaign"),
    ]
    query = "query($id: ID!) { campaign(id: $id) { status updatedAt } }"
    for mutation, campaign, message in cases:
        before = await gql.data(query, {"id": campaign["id"]})
        payload = await transition(gql, mutation, campaign["id"])
        assert payload == {
            "campaign": None,
            "userErrors": [{"field": None, "message": message, "code": "CONFLICT"}],
        }
        assert await gql.data(query, {"id": campaign["id"]}) == before


async def test_launch_needs_both_dates(gql: GraphQLClient) -> None:
    campaign = await create(gql, startsAt="2030-01-01T00:00:00Z")
    payload = await transition(gql, "launchCampaign", campaign["id"])
    assert payload["userErrors"] == [
        {"field": None, "message": "set startsAt and endsAt before launching", "code": "CONFLICT"}
    ]


async def test_launch_after_the_end_date_is_a_conflict(gql: GraphQLClient) -> None:
    campaign = await create(gql, startsAt="2020-01-01T00:00:00Z", endsAt="2020-02-01T00:00:00Z")
    payload = await transition(gql, "launchCampaign", campaign["id"])
    assert payload["userErrors"][0]["message"] == "endsAt has passed; move it before launching"


async def test_ab_test_without_a_control_cannot_launch(gql: GraphQLClient) -> None:
    campaign = await running(
        gql, launch=False, variants=[{"key": "a", "name": "A"}, {"key": "b", "name": "B"}]
    )
    payload = await transition(gql, "launchCampaign", campaign["id"])
    assert payload["userErrors"] == [
        {
            "field": None,
            "message": "an A/B test (more than one variant) needs one control variant",
            "code": "CONFLICT",
        }
    ]


async def test_single_variant_campaign_launches_without_a_control(gql: GraphQLClient) -> None:
    campaign = await running(gql, variants=[{"key": "only", "name": "Only"}])
    assert campaign["status"] == "RUNNING"


async def test_only_planned_or_cancelled_campaigns_can_be_deleted(
    gql: GraphQLClient, db: Database
) -> None:
    mutation = "mutation($id: ID!) { deleteCampaign(id: $id) { deletedId userErrors { code } } }"
    live = await running(gql, key="live")
    refused = (await gql.data(mutation, {"id": live["id"]}))["deleteCampaign"]
    assert refused == {"deletedId": None, "userErrors": [{"code": "CONFLICT"}]}
    planned = await create(gql, key="planned", variants=[{"key": "a", "name": "A"}])
    assert (await gql.data(mutation, {"id": planned["id"]}))["deleteCampaign"] == {
        "deletedId": planned["id"],
        "userErrors": [],
    }
    await transition(gql, "cancelCampaign", live["id"])
    assert (await gql.data(mutation, {"id": live["id"]}))["deleteCampaign"]["userErrors"] == []
    assert await _rows(db, Campaign) == 0
    assert await _rows(db, CampaignVariant) == 0
    gone = (await gql.data(mutation, {"id": live["id"]}))["deleteCampaign"]
    assert gone == {"deletedId": None, "userErrors": [{"code": "NOT_FOUND"}]}


async def test_writing_needs_campaigns_write(gql: GraphQLClient) -> None:
    body = await gql(
        'mutation { createCampaign(input: {key: "k", name: "N", goal: ACTIVITY, form: WEBINAR})'
        " { campaign { id } } }",
        role="agent",
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await gql("query { campaigns { totalCount } }", role="agent")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.data("query { campaigns { totalCount } }", role="operator"))["campaigns"][
        "totalCount"
    ] == 0


async def test_variants_counts_and_segments_load_in_constant_statements(
    gql: GraphQLClient, db: Database, count_statements: Any
) -> None:
    query = """query { campaigns(first: 20) { edges { node {
        variants { key } participantCount conversionCount targetSegment { key } } } } }"""

    async def statements_for_page() -> int:
        count_statements.statements.clear()
        data = await gql.data(query)
        assert all(len(e["node"]["variants"]) == 2 for e in data["campaigns"]["edges"])
        return len(count_statements.statements)

    async with db.unit_of_work() as session:
        session.add_all(Segment(key=f"s{i}", name=f"S{i}", rule={"all": []}) for i in range(20))
    variants = [{"key": "a", "name": "A", "isControl": True}, {"key": "b", "name": "B"}]
    for i in range(2):
        await create(gql, key=f"c{i}", variants=variants, targetSegmentKey=f"s{i}")
    small = await statements_for_page()
    for i in range(2, 20):
        await create(gql, key=f"c{i}", variants=variants, targetSegmentKey=f"s{i}")
    assert await statements_for_page() == small
