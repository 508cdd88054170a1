"""An integration key limited to segments sees only those segments and their members now."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth import service as auth
from app.auth.models import Role
from app.auth.service import Actor
from app.campaigns.models import CampaignParticipation
from app.db import Database
from app.errors import NotFound
from app.events.models import ChannelExposure, Event
from app.segments import service
from app.surveys.models import SurveyResponse
from app.users import service as users
from app.users.models import User
from tests.campaigns.helpers import running
from tests.conftest import GraphQLClient, StatementCounter
from tests.segments.helpers import add_segment, populate

EAST = {"attr": "region", "op": "eq", "value": "East"}  # ann, eve
CORE = {"attr": "tier", "op": "eq", "value": "core"}  # ann, bob
OUTSIDERS = ("bob", "cai", "dan", "fay")  # not in East


@pytest.fixture
async def ids(db: Database) -> dict[str, int]:
    """The population, segment "east" (allowed) and "core" (not), and a key limited to "east"."""
    found = await populate(db)
    await add_segment(db, "east", EAST)
    await add_segment(db, "core", CORE)
    return found


async def segment_ids(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        east = await service.get_segment(session, key="east")
        core = await service.get_segment(session, key="core")
    assert east.id is not None and core.id is not None
    return east.id, core.id


async def limited(gql: GraphQLClient, db: Database, *segment_keys: str) -> str:
    """Adds a key limited to the segments to the client; returns its role name for calls."""
    async with db.unit_of_work() as session:
        _key, secret = await auth.create_api_key(
            session, name="crm", role="integration", segment_keys=list(segment_keys)
        )
    gql.keys["crm"] = secret
    return "crm"


async def test_a_limited_key_lists_and_reads_only_its_segments(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    data = await gql.data(
        "query { segments { totalCount edges { node { key size } } } }", role=role
    )
    assert data["segments"] == {"totalCount": 1, "edges": [{"node": {"key": "east", "size": 2}}]}
    core = await gql.data('query { segment(key: "core") { id } }')  # the admin's view
    hidden = await gql.data(
        'query($id: ID!) { byKey: segment(key: "core") { id } byId: segment(id: $id) { id } }',
        {"id": core["segment"]["id"]},
        role=role,
    )
    assert hidden == {"byKey": None, "byId": None}


async def test_a_limited_key_pages_through_its_segments_members(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    query = """
    query($after: String) {
      segment(key: "east") {
        members(first: 1, after: $after) {
          pageInfo { hasNextPage endCursor } edges { node { externalId segments { key } } }
        }
      }
    }"""
    seen, after = [], None
    while True:
        page = (await gql.data(query, {"after": after}, role=role))["segment"]["members"]
        seen += [(e["node"]["externalId"], e["node"]["segments"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # ann is in "core" too, which the key does not see.
    assert seen == [("ann", [{"key": "east"}]), ("eve", [{"key": "east"}])]


async def test_a_limited_key_cannot_check_membership_of_another_segment(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    query = """
    query($key: String!) {
      segmentMembership(segmentKey: $key, externalIds: ["ann", "bob"]) { externalId isMember }
    }"""
    body = await gql(query, {"key": "core"}, role=role)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "key"}


async def test_membership_through_a_limited_key_does_not_reveal_users_outside_it(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east", "core")
    query = """
    query {
      segmentMembership(segmentKey: "east", externalIds: ["eve", "bob", "fay", "ghost"]) {
        externalId isMember known
      }
    }"""
    data = await gql.data(query, role=role)
    assert data["segmentMembership"] == [
        {"externalId": "eve", "isMember": True, "known": True},
        {"externalId": "bob", "isMember": False, "known": True},  # seen through "core"
        {"externalId": "fay", "isMember": False, "known": False},  # in neither
        {"externalId": "ghost", "isMember": False, "known": False},
    ]


async def test_a_limited_key_cannot_preview_rules(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    query = """
    query($rule: JSON!) {
      previewSegment(rule: $rule) { preview { size } userErrors { field code } }
    }"""
    data = await gql.data(query, {"rule": CORE}, role=role)
    assert data["previewSegment"] == {
        "preview": None,
        "userErrors": [{"field": "rule", "code": "FORBIDDEN"}],
    }


async def test_a_limited_key_lists_only_members_of_its_segments(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    query = """
    query {
      users(orderBy: {field: ID}) { totalCount edges { node { externalId } } }
      filtered: users(filter: {tier: CORE}) { edges { node { externalId } } }
    }"""
    data = await gql.data(query, role=role)
    assert data["users"]["totalCount"] == 2
    assert [e["node"]["externalId"] for e in data["users"]["edges"]] == ["ann", "eve"]
    assert [e["node"]["externalId"] for e in data["filtered"]["edges"]] == ["ann"]


async def test_a_limited_key_cannot_read_users_outside_its_segments_by_id_or_external_id(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    query = """
    query($id: ID!, $ext: String!) {
      byId: user(id: $id) { externalId } byExt: user(externalId: $ext) { externalId }
    }"""
    for name in OUTSIDERS:
        data = await gql.data(query, {"id": str(ids[name]), "ext": name}, role=role)
        assert data == {"byId": None, "byExt": None}, name
    inside = await gql.data(query, {"id": str(ids["eve"]), "ext": "ann"}, role=role)
    assert inside == {"byId": {"externalId": "eve"}, "byExt": {"externalId": "ann"}}


async def test_a_limited_key_cannot_read_an_outsider_through_an_update(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    query = """
    mutation($id: ID!) {
      updateUser(id: $id, input: {}) { user { email } userErrors { code } }
    }"""
    data = await gql.data(query, {"id": str(ids["bob"])}, role=role)
    assert data["updateUser"] == {"user": None, "userErrors": [{"code": "NOT_FOUND"}]}


TRACK = """
mutation($events: [EventInput!]!) {
  trackEvents(events: $events) { accepted rejected { index field message } }
}"""
SURVEY = """
mutation($input: SubmitSurveyResponseInput!) {
  submitSurveyResponse(input: $input) { response { id } userErrors { field message code } }
}"""
PARTICIPATE = """
mutation($input: RecordParticipationInput!) {
  recordParticipation(input: $input) { participation { id } userErrors { field message code } }
}"""


async def _written_for(db: Database, user_id: int) -> tuple[int, int, int]:
    async with db.read() as session:
        return tuple(  # type: ignore[return-value]
            [
                await session.scalar(
                    select(func.count()).select_from(model).where(model.user_id == user_id)
                )
                for model in (Event, SurveyResponse, CampaignParticipation)
            ]
        )


async def test_a_limited_key_writes_only_for_its_members_and_outsiders_read_as_unknown(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    campaign = await running(gql, key="spring", name="Spring")
    before = {name: await _written_for(db, ids[name]) for name in ("ann", "bob")}
    tracked = (
        await gql.data(
            TRACK,
            {
                "events": [
                    {"externalId": "ann", "name": "login"},
                    {"externalId": "bob", "name": "login"},
                    {"userId": str(ids["bob"]), "name": "login"},
                    {"externalId": "nobody", "name": "login"},
                ]
            },
            role=role,
        )
    )["trackEvents"]
    # bob exists but is outside "east": he reads exactly as a user that does not exist.
    assert tracked == {
        "accepted": 1,
        "rejected": [
            {"index": 1, "field": "externalId", "message": "no user 'bob'"},
            {"index": 2, "field": "userId", "message": f"no user '{ids['bob']}'"},
            {"index": 3, "field": "externalId", "message": "no user 'nobody'"},
        ],
    }
    answers, joined = [], []
    for external_id in ("bob", "nobody", "ann"):
        answer = {"kind": "NPS", "score": 9, "externalId": external_id}
        answers.append(
            (await gql.data(SURVEY, {"input": answer}, role=role))["submitSurveyResponse"]
        )
        took_part = {"campaignId": campaign["id"], "externalId": external_id}
        joined.append(
            (await gql.data(PARTICIPATE, {"input": took_part}, role=role))["recordParticipation"]
        )
    for outsider, unknown in ((answers[0], answers[1]), (joined[0], joined[1])):
        assert [e["code"] for e in outsider["userErrors"]] == ["NOT_FOUND"]
        assert (
            outsider["userErrors"][0]["message"].replace("bob", "nobody")
            == (unknown["userErrors"][0]["message"])
        )
    assert answers[2]["userErrors"] == [] and joined[2]["userErrors"] == []
    assert await _written_for(db, ids["bob"]) == before["bob"]
    assert await _written_for(db, ids["ann"]) == tuple(n + 1 for n in before["ann"])


async def test_a_limited_key_cannot_set_channel_exposures(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    record = """
    mutation($x: [ChannelExposureInput!]!) {
      recordChannelExposures(exposures: $x) { recorded userErrors { field code } }
    }"""
    exposures = {"x": [{"channel": "ads", "day": "2026-11-01", "impressions": 10}]}
    refused = (await gql.data(record, exposures, role=role))["recordChannelExposures"]
    assert refused == {"recorded": 0, "userErrors": [{"field": "exposures", "code": "FORBIDDEN"}]}
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ChannelExposure)) == 0
    allowed = (await gql.data(record, exposures, role="integration"))["recordChannelExposures"]
    assert allowed == {"recorded": 1, "userErrors": []}


async def test_a_user_leaving_the_segment_leaves_the_keys_view(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    role = await limited(gql, db, "east")
    query = 'query { user(externalId: "eve") { externalId } }'
    assert (await gql.data(query, role=role))["user"] == {"externalId": "eve"}
    await gql.data(
        'mutation($id: ID!) { updateUser(id: $id, input: {region: "West"}) { user { id } } }',
        {"id": str(ids["eve"])},
    )
    assert (await gql.data(query, role=role))["user"] is None


async def test_loaders_hide_users_and_segments_outside_the_segments(
    db: Database, ids: dict[str, int]
) -> None:
    # The loaders behind nested fields (a survey answer's user, a campaign's target segment).
    east, core = await segment_ids(db)
    actor = Actor(key_id=1, name="crm", role=Role.INTEGRATION, segment_ids=frozenset({east}))
    async with db.read() as session:
        seen = await users.users_by_id(session, list(ids.values()), actor=actor)
        segments = await service.segments_by_id(session, [east, core], actor=actor)
    assert sorted(user.external_id for user in seen.values()) == ["ann", "eve"]
    assert list(segments) == [east]


async def test_an_unlimited_integration_key_sees_every_segment_and_user(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    data = await gql.data(
        'query { segments { totalCount } users { totalCount } user(externalId: "bob") { id } '
        'segment(key: "core") { size } }',
        role="integration",
    )
    assert data["segments"]["totalCount"] == 2
    assert data["users"]["totalCount"] == len(ids)
    assert data["user"] is not None and data["segment"] == {"size": 2}


async def test_ensure_segment_visible_refuses_other_segments_as_unknown(
    db: Database, ids: dict[str, int]
) -> None:
    east, core = await segment_ids(db)
    actor = Actor(key_id=1, name="crm", role=Role.INTEGRATION, segment_ids=frozenset({east}))
    service.ensure_segment_visible(actor, east)
    service.ensure_segment_visible(None, core)
    service.ensure_segment_visible(Actor(key_id=2, name="bi", role=Role.INTEGRATION), core)
    with pytest.raises(NotFound) as caught:
        service.ensure_segment_visible(actor, core)
    assert caught.value.problems[0].field == "segmentId"


async def test_a_limited_key_runs_the_same_statements_for_5_or_50_users(
    gql: GraphQLClient, db: Database, count_statements: StatementCounter
) -> None:
    async with db.unit_of_work() as session:
        session.add_all(
            User(external_id=f"u{i:03}", name=f"U{i}", tier="core" if i % 2 else "edge")
            for i in range(120)
        )
    await add_segment(db, "core", CORE)
    await add_segment(db, "gantt", {"event": "feature_used", "feature": "gantt_view"})
    await add_segment(db, "core-or-gantt", {"any": [{"inSegment": "core"}, {"inSegment": "gantt"}]})
    role = await limited(gql, db, "core-or-gantt")
    query = """
    query($n: Int!) {
      users(first: $n) { edges { node { externalId tags segments { key } } } }
    }"""

    async def statements(first: int) -> int:
        before = len(count_statements.statements)
        data = await gql.data(query, {"n": first}, role=role)
        assert len(data["users"]["edges"]) == first
        return len(count_statements.statements) - before

    assert await statements(50) == await statements(5)


async def test_a_limited_key_sees_only_current_members_of_its_segments_in_a_snapshot(
    gql: GraphQLClient, db: Database, ids: dict[str, int]
) -> None:
    async with db.unit_of_work() as session:
        taken = await service.snapshot_segment(session, None, key="east")
    role = await limited(gql, db, "east")
    await gql.data(  # eve leaves "east" after the snapshot
        'mutation($id: ID!) { updateUser(id: $id, input: {region: "West"}) { user { id } } }',
        {"id": str(ids["eve"])},
    )
    query = """
    query($id: ID!) {
      segment(key: "east") { snapshot(id: $id) { size members { edges { node { externalId } } } } }
    }"""
    for who, expected in (("admin", ["ann", "eve"]), (role, ["ann"])):
        snapshot = (await gql.data(query, {"id": str(taken.id)}, role=who))["segment"]["snapshot"]
        assert snapshot["size"] == 2
        assert [e["node"]["externalId"] for e in snapshot["members"]["edges"]] == expected, who
