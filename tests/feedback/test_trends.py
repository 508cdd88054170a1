"""feedbackTrends on a hand-made period where every group's numbers are known, and on the
demo seeds, whose most frequent demand is bulk import (批量导入)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from app.db import Database
from app.feedback import service
from app.feedback.models import Feedback, FeedbackTag
from app.users.models import User
from tests.conftest import GraphQLClient

FROM = datetime(2026, 3, 8, tzinfo=UTC)
TO = datetime(2026, 3, 15, tzinfo=UTC)
PREVIOUS = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "feedback.json"

TRENDS = """
query($from: DateTime!, $to: DateTime!, $type: FeedbackType, $first: Int = 20) {
  feedbackTrends(from: $from, to: $to, type: $type, first: $first) {
    from to previousFrom
    groups { kind key count previousCount change changePercent distinctUsers coreUsers
             coreUserShare }
  }
}
"""

USERS = {"c1": "core", "c2": "core", "b1": "backbone", "e1": "edge", "e2": "edge", "e3": "edge"}
# (user, type, title, tags, created at)
TICKETS: list[tuple[str | None, str, str, list[str], datetime]] = [
    # This week.
    ("c1", "feature_request", "Excel 批量导入任务", ["批量导入", "Excel"], FROM),
    ("c2", "feature_request", "导入任务", ["批量导入"], FROM + HOUR),
    ("b1", "feature_request", "导入成员", ["批量导入"], FROM + 2 * HOUR),
    ("e1", "feature_request", "导入 1", ["批量导入"], FROM + 3 * HOUR),
    ("e1", "feature_request", "导入 2", ["批量导入"], FROM + 4 * HOUR),
    (None, "feature_request", "匿名导入", ["批量导入"], FROM + 5 * HOUR),
    ("e2", "bug", "批量导入报错", ["批量导入"], FROM + 6 * HOUR),
    ("e2", "bug", "甘特图卡", ["甘特图"], FROM + 7 * HOUR),
    ("e3", "bug", "甘特图慢", ["甘特图"], FROM + 8 * HOUR),
    ("b1", "feature_request", "Dark mode, please!", [], FROM + 9 * HOUR),
    ("e2", "feature_request", "dark   MODE please", [], FROM + 10 * HOUR),
    ("e3", "feature_request", "Dark-mode please?", [], FROM + 11 * HOUR),
    ("c1", "feature_request", "希望支持深色模式！", [], FROM + 12 * HOUR),
    ("c2", "feature_request", "希望支持深色模式", [], TO - timedelta(microseconds=1)),
    # The week before.
    ("c1", "feature_request", "导入", ["批量导入"], PREVIOUS),
    ("e1", "feature_request", "导入", ["批量导入"], PREVIOUS + HOUR),
    *[("e2", "bug", f"甘特图 {n}", ["甘特图"], PREVIOUS + n * HOUR) for n in range(4)],
    ("e3", "bug", "登录失败", ["登录"], PREVIOUS + 2 * HOUR),
    # Outside both weeks.
    ("c1", "feature_request", "导入", ["批量导入"], TO),
    ("c1", "feature_request", "导入", ["批量导入"], PREVIOUS - timedelta(microseconds=1)),
]


def _group(kind: str, key: str, count: int, previous: int, users: int, core: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "count": count,
        "previousCount": previous,
        "change": count - previous,
        "changePercent": None if previous == 0 else (count - previous) / previous * 100,
        "distinctUsers": users,
        "coreUsers": core,
        "coreUserShare": None if users == 0 else core / users * 100,
    }


EXPECTED = [
    _group("TAG", "批量导入", 7, 2, 5, 2),
    _group("TITLE", "dark mode please", 3, 0, 3, 0),
    # Ties on count and users are ordered by kind, then key.
    _group("TAG", "甘特图", 2, 4, 2, 0),
    _group("TITLE", "希望支持深色模式", 2, 0, 2, 2),
    _group("TAG", "Excel", 1, 0, 1, 1),
]


async def _store(db: Database) -> None:
    async with db.unit_of_work() as session:
        ids = {}
        for external_id, tier in USERS.items():
            user = User(external_id=external_id, name=external_id, tier=tier)
            session.add(user)
            await session.flush()
            ids[external_id] = user.id
        for user, kind, title, tags, created_at in TICKETS:
            ticket = Feedback(
                user_id=ids[user] if user else None,
                channel="in_app",
                type=kind,
                title=title,
                created_at=created_at,
            )
            session.add(ticket)
            await session.flush()
            if tags:
                await session.execute(
                    insert(FeedbackTag), [{"feedback_id": ticket.id, "tag": t} for t in tags]
                )


async def _trends(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    values = {"from": FROM.isoformat(), "to": TO.isoformat(), **variables}
    return dict((await gql.data(TRENDS, values, role="agent"))["feedbackTrends"])


async def test_groups_are_ranked_with_counts_users_core_share_and_change(
    gql: GraphQLClient, db: Database
) -> None:
    await _store(db)
    result = await _trends(gql)
    assert result["groups"] == EXPECTED
    assert datetime.fromisoformat(result["previousFrom"]) == PREVIOUS


async def test_type_narrows_both_periods(gql: GraphQLClient, db: Database) -> None:
    await _store(db)
    result = await _trends(gql, type="FEATURE_REQUEST")
    assert result["groups"][0] == _group("TAG", "批量导入", 6, 2, 4, 2)
    assert "甘特图" not in [g["key"] for g in result["groups"]]


async def test_first_limits_the_groups(gql: GraphQLClient, db: Database) -> None:
    await _store(db)
    assert (await _trends(gql, first=2))["groups"] == EXPECTED[:2]


async def test_an_empty_period_has_no_groups(gql: GraphQLClient, db: Database) -> None:
    await _store(db)
    later = {"from": "2027-01-01T00:00:00+00:00", "to": "2027-01-02T00:00:00+00:00"}
    assert (await _trends(gql, **later))["groups"] == []


async def test_from_must_be_before_to(gql: GraphQLClient) -> None:
    body = await gql(TRENDS, {"from": TO.isoformat(), "to": FROM.isoformat()}, role="agent")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "to"}


async def test_dates_need_a_timezone(gql: GraphQLClient) -> None:
    body = await gql(TRENDS, {"from": "2026-03-08T00:00:00", "to": TO.isoformat()})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "from"}


async def test_bulk_import_tops_the_demo_seeds(gql: GraphQLClient, db: Database) -> None:
    seeds = json.loads(SEEDS.read_text(encoding="utf-8"))
    async with db.unit_of_work() as session:
        for seed in seeds:
            fields = ("title", "body", "type", "channel", "priority", "tags")
            await service.create_feedback(
                session, "seed", data={k: seed[k] for k in fields if k in seed}
            )
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + HOUR).isoformat()}
    top = (await _trends(gql, **window))["groups"][0]
    assert (top["kind"], top["key"]) == ("TAG", "批量导入")
    assert top["count"] == sum("批量导入" in seed.get("tags", []) for seed in seeds)


async def test_a_period_whose_previous_one_predates_the_calendar_is_refused(
    gql: GraphQLClient,
) -> None:
    far = {"from": "1000-01-01T00:00:00+00:00", "to": "2000-01-01T00:00:00+00:00"}
    body = await gql(TRENDS, far, role="agent")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "from"}
