"""Segment rules of the service: saving, deleting, built-ins and the batch evaluations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.db import Database
from app.errors import Conflict, ValidationFailed
from app.segments import service
from app.segments.models import Segment
from tests.segments.helpers import NOW, add_campaign, add_segment, matching, populate

CORE = {"attr": "tier", "op": "eq", "value": "core"}
VIP = {"attr": "tags", "op": "contains", "value": "vip"}


async def segment_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Segment)) or 0)


async def test_builtins_are_created_once_and_mirror_tiers_and_churn_warning(db: Database) -> None:
    ids = await populate(db)
    async with db.unit_of_work() as session:
        first = await service.ensure_builtin_segments(session)
    async with db.unit_of_work() as session:
        again = await service.ensure_builtin_segments(session)
    assert [s.key for s in again] == ["at-risk", "tier-backbone", "tier-core", "tier-edge"]
    assert [s.id for s in again] == [s.id for s in first]
    assert all(s.is_builtin for s in again)
    assert "流失预警" in again[0].name and "Churn warning" in again[0].description
    async with db.read() as session:
        sizes = await service.sizes_by_segment(session, [s.id for s in again], now=NOW)  # type: ignore[misc]
    assert [sizes[s.id] for s in again] == [3, 2, 2, 2]  # type: ignore[index]
    assert await matching(db, again[0].rule) == {
        "bob",
        "dan",
        "eve",
    }  # never-active cai is not at risk
    assert ids  # the population is there


async def test_duplicate_key_is_a_conflict(db: Database) -> None:
    await add_segment(db, "core", CORE)
    with pytest.raises(Conflict) as caught:
        await add_segment(db, "core", CORE)
    assert caught.value.problems[0].field == "input.key"
    assert await segment_count(db) == 1


async def test_builtins_cannot_be_deleted(db: Database) -> None:
    async with db.unit_of_work() as session:
        await service.ensure_builtin_segments(session)
    with pytest.raises(Conflict, match="built-in"):
        async with db.unit_of_work() as session:
            await service.delete_segment(session, key="tier-core")
    assert await segment_count(db) == 4


async def test_a_segment_used_by_another_cannot_be_deleted(db: Database) -> None:
    await add_segment(db, "vip", VIP)
    await add_segment(db, "core-vip", {"all": [CORE, {"inSegment": "vip"}]})
    with pytest.raises(Conflict, match="core-vip"):
        async with db.unit_of_work() as session:
            await service.delete_segment(session, key="vip")
    async with db.unit_of_work() as session:
        await service.delete_segment(session, key="core-vip")
        await service.delete_segment(session, key="vip")
    assert await segment_count(db) == 0


async def test_a_segment_a_campaign_targets_cannot_be_deleted(db: Database) -> None:
    segment = await add_segment(db, "vip", VIP)
    assert segment.id is not None
    await add_campaign(db, "spring-lottery", segment.id)
    with pytest.raises(Conflict, match="spring-lottery"):
        async with db.unit_of_work() as session:
            await service.delete_segment(session, key="vip")
    assert await segment_count(db) == 1


async def test_a_builtin_rule_cannot_change_but_its_name_can(db: Database) -> None:
    async with db.unit_of_work() as session:
        await service.ensure_builtin_segments(session)
    with pytest.raises(Conflict):
        async with db.unit_of_work() as session:
            await service.update_segment(session, key="tier-core", data={"rule": VIP})
    async with db.unit_of_work() as session:
        row = await service.update_segment(session, key="tier-core", data={"name": "核心"})
    assert (row.name, row.rule) == ("核心", CORE)


async def test_an_update_that_would_make_a_cycle_is_rejected(db: Database) -> None:
    await add_segment(db, "a", VIP)
    await add_segment(db, "b", {"inSegment": "a"})
    with pytest.raises(ValidationFailed) as caught:
        async with db.unit_of_work() as session:
            await service.update_segment(session, key="a", data={"rule": {"inSegment": "b"}})
    assert caught.value.problems[0].field == "input.rule.inSegment"
    assert "cycle" in caught.value.problems[0].message


async def test_an_update_that_would_break_a_segment_inlining_it_is_rejected(db: Database) -> None:
    deep = CORE  # 8 levels: valid alone, too deep once inlined 3 levels down in "outer"
    for _ in range(7):
        deep = {"all": [deep]}
    await add_segment(db, "inner", CORE)
    await add_segment(db, "outer", {"all": [{"all": [{"inSegment": "inner"}]}]})
    with pytest.raises(ValidationFailed, match="'outer' uses this one"):
        async with db.unit_of_work() as session:
            await service.update_segment(session, key="inner", data={"rule": deep})


async def test_loader_batches_agree_with_each_rule_alone(db: Database) -> None:
    ids = await populate(db)
    rules = {
        "vip": VIP,
        "core-vip": {"all": [CORE, {"inSegment": "vip"}]},
        "gantt": {
            "event": "feature_used",
            "feature": "gantt_view",
            "count": {"gte": 3},
            "withinDays": 14,
        },
        "quiet": {"event": "login", "count": {"eq": 0}},
        "detractors": {"nps": "detractor"},
    }
    segments = {key: await add_segment(db, key, rule) for key, rule in rules.items()}
    expected = {key: await matching(db, {"inSegment": key}, rules) for key in rules}
    by_external = {user_id: external for external, user_id in ids.items()}
    async with db.read() as session:
        found = await service.segments_by_user(session, list(ids.values()), actor=None, now=NOW)
        sizes = await service.sizes_by_segment(session, [s.id for s in segments.values()], now=NOW)  # type: ignore[misc]
    for key, segment in segments.items():
        members = {by_external[u] for u, rows in found.items() if segment in rows}
        assert members == expected[key], key
        assert sizes[segment.id] == len(expected[key]), key  # type: ignore[index]
    assert all(rows == sorted(rows, key=lambda s: s.key) for rows in found.values())


async def test_membership_flags_members_outsiders_and_unknown_ids(db: Database) -> None:
    await populate(db)
    await add_segment(db, "vip", VIP)
    async with db.read() as session:
        rows = await service.membership(
            session, None, segment_key="vip", external_ids=["eve", "nobody", "bob", "eve"], now=NOW
        )
    assert [(r.external_id, r.is_member, r.known) for r in rows] == [
        ("eve", True, True),
        ("nobody", False, False),
        ("bob", False, True),
    ]


async def test_membership_takes_at_most_1000_ids(db: Database) -> None:
    await add_segment(db, "vip", VIP)
    with pytest.raises(ValidationFailed) as caught:
        async with db.read() as session:
            await service.membership(
                session, None, segment_key="vip", external_ids=[str(i) for i in range(1001)]
            )
    assert caught.value.problems[0].field == "externalIds"


async def test_is_member_checks_one_user(db: Database) -> None:
    ids = await populate(db)
    segment = await add_segment(
        db,
        "gantt",
        {"event": "feature_used", "feature": "gantt_view", "count": {"gte": 3}, "withinDays": 14},
    )
    async with db.read() as session:
        assert await service.is_member(session, segment, ids["cai"], now=NOW)
        assert not await service.is_member(session, segment, ids["bob"], now=NOW)


async def test_preview_counts_and_samples_without_saving(db: Database) -> None:
    await populate(db)
    async with db.read() as session:
        preview = await service.preview(
            session, None, rule={"attr": "region", "op": "eq", "value": "East"}
        )
    assert preview.size == 2
    assert [u.external_id for u in preview.sample] == ["ann", "eve"]
    assert await segment_count(db) == 0
