"""Survey responses through the GraphQL API: scales by kind, subjects, filters and pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.campaigns.models import Campaign
from app.db import Database
from app.surveys.models import SurveyResponse
from app.users.models import User
from tests.conftest import GraphQLClient, retire_cached_answers

SUBMIT = """
mutation($input: SubmitSurveyResponseInput!) {
  submitSurveyResponse(input: $input) {
    response {
      id kind score comment subjectType subjectId respondedAt category user { externalId }
    }
    userErrors { field message code }
  }
}
"""
LIST = """
query($filter: SurveyResponseFilter, $first: Int!, $after: String) {
  surveyResponses(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { score user { name } } }
  }
}
"""


async def submit(gql: GraphQLClient, role: str = "admin", **fields: Any) -> dict[str, Any]:
    values = {"externalId": "u0", "kind": "NPS", "score": 9}
    data = await gql.data(SUBMIT, {"input": {**values, **fields}}, role=role)
    return dict(data["submitSurveyResponse"])


async def add_users(db: Database, count: int) -> list[int]:
    async with db.unit_of_work() as session:
        rows = [User(external_id=f"u{i}", name=f"User {i}") for i in range(count)]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]  # type: ignore[misc]


async def stored(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(SurveyResponse)) or 0)


async def test_nps_response_is_stored_with_its_category(gql: GraphQLClient, db: Database) -> None:
    await add_users(db, 1)
    payload = await submit(
        gql, score=10, comment="甘特图很好用", respondedAt="2026-01-05T08:00:00Z"
    )
    assert payload["userErrors"] == []
    assert {k: v for k, v in payload["response"].items() if k != "id"} == {
        "kind": "NPS",
        "score": 10,
        "comment": "甘特图很好用",
        "subjectType": "PRODUCT",
        "subjectId": None,
        "respondedAt": "2026-01-05T08:00:00+00:00",
        "category": "PROMOTER",
        "user": {"externalId": "u0"},
    }


async def test_nps_categories_split_at_seven_and_nine_and_csat_has_none(
    gql: GraphQLClient, db: Database
) -> None:
    await add_users(db, 1)
    categories = [
        (await submit(gql, score=score))["response"]["category"] for score in (0, 6, 7, 8, 9)
    ]
    assert categories == ["DETRACTOR", "DETRACTOR", "PASSIVE", "PASSIVE", "PROMOTER"]
    csat = await submit(gql, kind="CSAT", score=5)
    assert csat["response"]["category"] is None


async def test_scores_outside_the_kinds_scale_are_rejected(
    gql: GraphQLClient, db: Database
) -> None:
    await add_users(db, 1)
    for kind, score, message in (
        ("NPS", 11, "NPS scores are from 0 to 10"),
        ("NPS", -1, "NPS scores are from 0 to 10"),
        ("CSAT", 0, "CSAT scores are from 1 to 5"),
        ("CSAT", 6, "CSAT scores are from 1 to 5"),
    ):
        payload = await submit(gql, kind=kind, score=score)
        assert payload == {
            "response": None,
            "userErrors": [{"field": "input.score", "message": message, "code": "VALIDATION"}],
        }
    assert await stored(db) == 0


async def test_user_is_named_by_id_or_external_id_and_must_exist(
    gql: GraphQLClient, db: Database
) -> None:
    [user_id] = await add_users(db, 1)
    by_id = await submit(gql, externalId=None, userId=str(user_id))
    assert by_id["response"]["user"] == {"externalId": "u0"}
    unknown = await submit(gql, externalId=None, userId=str(user_id + 50))
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [
        ("input.userId", "NOT_FOUND")
    ]
    neither = await submit(gql, externalId=None)
    assert [(e["field"], e["code"]) for e in neither["userErrors"]] == [
        ("input.userId", "VALIDATION")
    ]
    assert await stored(db) == 1


async def test_subject_other_than_the_product_needs_an_existing_id(
    gql: GraphQLClient, db: Database
) -> None:
    await add_users(db, 1)
    async with db.unit_of_work() as session:
        campaign = Campaign(key="spring", name="Spring", goal="activity", form="lottery")
        session.add(campaign)
    missing = await submit(gql, subjectType="CAMPAIGN")
    unknown = await submit(gql, subjectType="ARTICLE", subjectId="404")
    stray = await submit(gql, subjectType="PRODUCT", subjectId="1")
    assert [
        (e["field"], e["code"]) for p in (missing, unknown, stray) for e in p["userErrors"]
    ] == [
        ("input.subjectId", "VALIDATION"),
        ("input.subjectId", "NOT_FOUND"),
        ("input.subjectId", "VALIDATION"),
    ]
    assert await stored(db) == 0
    ok = await submit(gql, kind="CSAT", score=4, subjectType="CAMPAIGN", subjectId=str(campaign.id))
    assert ok["response"]["subjectId"] == str(campaign.id)


async def test_filters_and_keyset_pages_cover_every_response_once_newest_first(
    gql: GraphQLClient, db: Database
) -> None:
    first, second = await add_users(db, 2)
    for day in range(1, 6):
        await submit(gql, score=day, respondedAt=f"2026-01-0{day}T08:00:00Z")
    await submit(gql, externalId="u1", kind="CSAT", score=3, respondedAt="2026-01-03T09:00:00Z")
    seen: list[int] = []
    after = None
    while True:
        page = (await gql.data(LIST, {"first": 2, "after": after}))["surveyResponses"]
        assert page["totalCount"] == 6
        seen += [e["node"]["score"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [5, 4, 3, 3, 2, 1]
    nps_window = {
        "kind": "NPS",
        "userId": str(first),
        "from": "2026-01-02T00:00:00Z",
        "to": "2026-01-04T08:00:00Z",
    }
    filtered = (await gql.data(LIST, {"first": 10, "filter": nps_window}))["surveyResponses"]
    assert [e["node"]["score"] for e in filtered["edges"]] == [4, 3, 2]
    by_user = {"userId": str(second)}
    assert (await gql.data(LIST, {"first": 10, "filter": by_user}))["surveyResponses"][
        "totalCount"
    ] == 1


async def test_roles_integrations_submit_and_agents_only_read(
    gql: GraphQLClient, db: Database
) -> None:
    await add_users(db, 1)
    assert (await submit(gql, role="integration"))["userErrors"] == []
    body = await gql(
        SUBMIT, {"input": {"externalId": "u0", "kind": "NPS", "score": 1}}, role="agent"
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = await gql.data(LIST, {"first": 5}, role="agent")
    assert listed["surveyResponses"]["totalCount"] == 1
    body = await gql(LIST, {"first": 5}, role="integration")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_users_of_a_page_load_in_constant_statements(
    gql: GraphQLClient, db: Database, count_statements: Any
) -> None:
    user_ids = await add_users(db, 20)

    async def add(ids: list[int]) -> None:
        async with db.unit_of_work() as session:
            session.add_all(SurveyResponse(user_id=i, kind="csat", score=4) for i in ids)

    async def statements_for_page() -> int:
        await retire_cached_answers(db)
        count_statements.statements.clear()
        page = (await gql.data(LIST, {"first": 20}))["surveyResponses"]
        assert all(e["node"]["user"]["name"] for e in page["edges"])
        return len(count_statements.statements)

    await add(user_ids[:2])
    small = await statements_for_page()
    await add(user_ids[2:])
    assert await statements_for_page() == small
