"""The rule language: every condition kind against membership computed in Python, and the
validation paths of every kind of mistake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from app.db import Database
from app.errors import ValidationFailed
from app.segments.rules import MAX_DEPTH, MAX_NODES, compile_rule, referenced_segments
from app.users.models import User
from tests.segments.helpers import EVERYONE, NOW, PEOPLE, Person, matching, populate


def attr(name: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"attr": name, "op": op} if value is None else {"attr": name, "op": op, "value": value}


def gantt(**extra: Any) -> dict[str, Any]:
    return {"event": "feature_used", "feature": "gantt_view", **extra}


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


Case = tuple[str, dict[str, Any], Callable[[Person], bool]]
CASES: list[Case] = [
    ("tier in", attr("tier", "in", ["core", "backbone"]), lambda p: p.tier in ("core", "backbone")),
    ("channel eq", attr("channel", "eq", "search"), lambda p: p.channel == "search"),
    ("region neq keeps missing", attr("region", "neq", "East"), lambda p: p.region != "East"),
    (
        "region nin",
        attr("region", "nin", ["East", "West"]),
        lambda p: p.region not in ("East", "West"),
    ),
    (
        "region contains ignores case",
        attr("region", "contains", "EA"),
        lambda p: "ea" in (p.region or "").lower(),
    ),
    ("plan exists", attr("plan", "exists", True), lambda p: p.plan is not None),
    ("plan missing", attr("plan", "exists", False), lambda p: p.plan is None),
    ("tags contains", attr("tags", "contains", "vip"), lambda p: "vip" in p.tags),
    ("tags in", attr("tags", "in", ["pm", "trial"]), lambda p: bool({"pm", "trial"} & set(p.tags))),
    (
        "tags nin",
        attr("tags", "nin", ["vip", "trial"]),
        lambda p: not {"vip", "trial"} & set(p.tags),
    ),
    ("tags exist", attr("tags", "exists", True), lambda p: bool(p.tags)),
    (
        "signed up in 30 days",
        attr("signedUpAt", "gte", {"daysAgo": 30}),
        lambda p: p.signed_up_days_ago <= 30,
    ),
    (
        "signed up between absolute times",
        attr("signedUpAt", "between", ["2025-12-01T00:00:00Z", "2026-02-25T00:00:00+00:00"]),
        lambda p: 4.5 <= p.signed_up_days_ago <= 90.5,
    ),
    (
        "last active before 10 days ago",
        attr("lastActiveAt", "lt", {"daysAgo": 10}),
        lambda p: p.last_active_days_ago is not None and p.last_active_days_ago > 10,
    ),
    (
        "never active",
        attr("lastActiveAt", "exists", False),
        lambda p: p.last_active_days_ago is None,
    ),
    (
        "property eq string",
        attr("properties.department", "eq", "PMO"),
        lambda p: p.properties.get("department") == "PMO",
    ),
    (
        "property neq keeps missing and other kinds",
        attr("properties.department", "neq", "PMO"),
        lambda p: p.properties.get("department") != "PMO",
    ),
    (
        "property contains only strings",
        attr("properties.department", "contains", "pmo"),
        lambda p: (
            isinstance(p.properties.get("department"), str)
            and "pmo" in p.properties["department"].lower()
        ),
    ),
    (
        "property number compared numerically",
        attr("properties.seats", "gt", 10),
        lambda p: number(p.properties.get("seats")) and p.properties["seats"] > 10,
    ),
    (
        "property number between",
        attr("properties.seats", "between", [3, 12]),
        lambda p: number(p.properties.get("seats")) and 3 <= p.properties["seats"] <= 12,
    ),
    (
        "property number in",
        attr("properties.seats", "in", [12, 40]),
        lambda p: number(p.properties.get("seats")) and p.properties["seats"] in (12, 40),
    ),
    (
        "property string is not a number",
        attr("properties.seats", "eq", "12"),
        lambda p: p.properties.get("seats") == "12",
    ),
    (
        "property number eq",
        attr("properties.department", "eq", 7),
        lambda p: p.properties.get("department") == 7,
    ),
    (
        "property boolean",
        attr("properties.beta", "eq", True),
        lambda p: p.properties.get("beta") is True,
    ),
    ("property exists", attr("properties.seats", "exists"), lambda p: "seats" in p.properties),
    (
        "gantt 3 times in 14 days",
        gantt(count={"gte": 3}, withinDays=14),
        lambda p: p.gantt_within(14) >= 3,
    ),
    ("gantt ever", gantt(), lambda p: p.gantt_within(10_000) >= 1),
    (
        "gantt fewer than 2 times in 14 days counts users without events",
        gantt(count={"lt": 2}, withinDays=14),
        lambda p: p.gantt_within(14) < 2,
    ),
    (
        "gantt between bounds",
        gantt(count={"gte": 1, "lte": 3}, withinDays=14),
        lambda p: 1 <= p.gantt_within(14) <= 3,
    ),
    (
        "never logged in",
        {"event": "login", "count": {"eq": 0}},
        lambda p: not any(n == "login" for n, _, _ in p.events),
    ),
    (
        "any feature used in 7 days",
        {"event": "feature_used", "withinDays": 7},
        lambda p: any(n == "feature_used" and d <= 7 for n, _, d in p.events),
    ),
    (
        "inactive 14 days or more",
        {"inactiveDays": {"gte": 14}},
        lambda p: p.idle_days() is not None and p.idle_days() >= 14,  # type: ignore[operator]
    ),
    ("inactive exactly 14 days", {"inactiveDays": {"eq": 14}}, lambda p: p.idle_days() == 14),
    (
        "inactive under 3 days",
        {"inactiveDays": {"lt": 3}},
        lambda p: p.idle_days() is not None and p.idle_days() < 3,  # type: ignore[operator]
    ),
    ("nps promoter", {"nps": "promoter"}, lambda p: (p.latest_nps() or -1) >= 9),
    ("nps passive", {"nps": "passive"}, lambda p: p.latest_nps() in (7, 8)),
    (
        "nps detractor by the latest answer",
        {"nps": "detractor"},
        lambda p: p.latest_nps() is not None and p.latest_nps() <= 6,  # type: ignore[operator]
    ),
    (
        "open feedback",
        {"hasOpenFeedback": True},
        lambda p: bool({"open", "in_progress"} & set(p.feedback)),
    ),
    (
        "no open feedback",
        {"hasOpenFeedback": False},
        lambda p: not {"open", "in_progress"} & set(p.feedback),
    ),
    ("not", {"not": attr("tier", "eq", "core")}, lambda p: p.tier != "core"),
    (
        "any",
        {"any": [attr("tier", "eq", "edge"), {"nps": "promoter"}]},
        lambda p: p.tier == "edge" or (p.latest_nps() or -1) >= 9,
    ),
    (
        "handbook: core users in East who used the Gantt chart 3 times in 14 days",
        {
            "all": [
                attr("tier", "eq", "core"),
                attr("region", "eq", "East"),
                gantt(count={"gte": 3}, withinDays=14),
            ]
        },
        lambda p: p.tier == "core" and p.region == "East" and p.gantt_within(14) >= 3,
    ),
]


@pytest.mark.parametrize(("name", "rule", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_condition_matches_exactly_the_expected_users_and_not_is_its_complement(
    db: Database, name: str, rule: dict[str, Any], expected: Callable[[Person], bool]
) -> None:
    await populate(db)
    members = {p.external_id for p in PEOPLE if expected(p)}
    assert await matching(db, rule) == members
    assert await matching(db, {"not": rule}) == EVERYONE - members


async def test_in_segment_inlines_the_other_segments_rule(db: Database) -> None:
    await populate(db)
    segments = {
        "vip": attr("tags", "contains", "vip"),
        "east-vip": {"all": [{"inSegment": "vip"}, attr("region", "eq", "East")]},
    }
    assert await matching(db, {"inSegment": "east-vip"}, segments) == {"ann", "eve"}


async def test_values_are_bound_parameters_never_sql_text(db: Database) -> None:
    await populate(db)
    hostile = "x' OR '1'='1"
    rule = {
        "any": [
            attr("region", "eq", hostile),
            attr("properties.department", "in", [hostile]),
            attr("tags", "contains", "'; DROP TABLE users; --"),
            {"event": hostile, "feature": hostile},
        ]
    }
    assert await matching(db, rule) == set()
    statement = select(User.id).where(compile_rule(rule, now=NOW))
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        assert "'1'='1" not in str(statement.compile(dialect=dialect))
    async with db.read() as session:
        assert await session.scalar(text("SELECT count(*) FROM users")) == len(PEOPLE)


def problems(rule: Any, **options: Any) -> list[tuple[str | None, str]]:
    with pytest.raises(ValidationFailed) as caught:
        compile_rule(rule, now=NOW, **options)
    return [(p.field, p.message) for p in caught.value.problems]


def fields(rule: Any, **options: Any) -> list[str | None]:
    return [field for field, _ in problems(rule, **options)]


def test_a_property_name_that_tries_sql_is_rejected() -> None:
    assert fields(attr("properties.x') OR 1=1 --", "eq", "a")) == ["rule.attr"]
    assert fields(attr('properties.a"b', "exists")) == ["rule.attr"]


def test_unknown_attribute_is_reported_at_its_attr() -> None:
    rule = {"all": [attr("tier", "eq", "core"), attr("colour", "eq", "red")]}
    assert fields(rule) == ["rule.all[1].attr"]


def test_op_that_does_not_apply_is_reported_at_its_op() -> None:
    rule = {"all": [attr("tier", "eq", "core"), {"any": [attr("signedUpAt", "contains", "x")]}]}
    assert problems(rule) == [
        (
            "rule.all[1].any[0].op",
            "op 'contains' does not apply to signedUpAt; one of: gt, gte, lt, lte, between, exists",
        )
    ]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (attr("region", "in", "East"), "rule.value"),
        (attr("region", "eq", "a\x00b"), "rule.value"),
        (attr("properties.seats", "gt", 10**30), "rule.value"),
        (attr("region", "in", []), "rule.value"),
        (attr("region", "in", ["East", 3]), "rule.value[1]"),
        (attr("tier", "in", ["core", "gold"]), "rule.value[1]"),
        (attr("signedUpAt", "between", [{"daysAgo": 9}]), "rule.value"),
        (attr("signedUpAt", "between", [{"daysAgo": 1}, {"daysAgo": 9}]), "rule.value"),
        (attr("signedUpAt", "gte", "last tuesday"), "rule.value"),
        (attr("signedUpAt", "gte", {"daysAgo": -1}), "rule.value.daysAgo"),
        (attr("properties.seats", "gt", "10"), "rule.value"),
        (attr("properties.seats", "in", ["a", 1]), "rule.value"),
        (attr("plan", "exists", "yes"), "rule.value"),
        (attr("plan", "eq"), "rule.value"),
        (gantt(count={"gte": -1}), "rule.count.gte"),
        (gantt(count={"gte": 2.5}), "rule.count.gte"),
        (gantt(count={"gte": "3"}), "rule.count.gte"),
        (gantt(count={"atLeast": 3}), "rule.count.atLeast"),
        (gantt(count=3), "rule.count"),
        (gantt(withinDays=0), "rule.withinDays"),
        ({"event": ""}, "rule.event"),
        ({"inactiveDays": {"gte": True}}, "rule.inactiveDays.gte"),
        ({"nps": "fan"}, "rule.nps"),
        ({"hasOpenFeedback": "yes"}, "rule.hasOpenFeedback"),
    ],
)
def test_wrong_value_is_reported_at_its_path(rule: dict[str, Any], field: str) -> None:
    assert fields(rule) == [field]


def test_unknown_key_and_ambiguous_or_shapeless_conditions_are_reported() -> None:
    assert fields({"all": [{"nps": "fan", "extra": 1}]}) == ["rule.all[0].extra", "rule.all[0].nps"]
    assert fields({"attr": "tier", "any": []}) == ["rule"]
    assert fields({"all": ["tier"]}) == ["rule.all[0]"]
    assert fields({"any": []}) == ["rule.any"]
    assert fields([]) == ["rule"]


def test_every_problem_is_reported_not_just_the_first() -> None:
    rule = {
        "all": [
            attr("colour", "eq", "red"),
            {"not": attr("region", "between", ["a", "b"])},
            {"any": [{"nps": "fan"}, gantt(count={"gte": -2})]},
        ]
    }
    assert fields(rule) == [
        "rule.all[0].attr",
        "rule.all[1].not.op",
        "rule.all[2].any[0].nps",
        "rule.all[2].any[1].count.gte",
    ]


def test_the_path_prefix_is_the_callers() -> None:
    assert fields({"nps": "fan"}, path="input.rule") == ["input.rule.nps"]


def test_unknown_segment_is_reported_at_in_segment() -> None:
    assert problems({"all": [{"inSegment": "nope"}]}, segments={}) == [
        ("rule.all[0].inSegment", "unknown segment 'nope'")
    ]


def test_in_segment_cycles_are_rejected() -> None:
    segments = {"a": {"inSegment": "b"}, "b": {"any": [{"inSegment": "a"}]}}
    assert problems({"inSegment": "b"}, segments=segments, key="a") == [
        ("rule.inSegment", "segment 'b' cannot be used here: inSegment cycle: a → b → a")
    ]
    assert problems({"inSegment": "a"}, segments={"a": {}}, key="a") == [
        ("rule.inSegment", "inSegment cycle: a → a")
    ]


def test_an_invalid_inlined_rule_is_reported_at_in_segment() -> None:
    assert fields({"inSegment": "bad"}, segments={"bad": {"nps": "fan"}}) == ["rule.inSegment"]


def test_depth_is_bounded() -> None:
    rule: dict[str, Any] = attr("tier", "eq", "core")
    for _ in range(MAX_DEPTH - 1):
        rule = {"not": rule}
    compile_rule(rule, now=NOW)  # exactly at the limit
    assert fields({"not": rule}) == ["rule" + ".not" * MAX_DEPTH]


def test_size_is_bounded_inlined_segments_included() -> None:
    wide = {"any": [attr("tier", "eq", "core")] * (MAX_NODES - 1)}
    compile_rule(wide, now=NOW)  # the list and its items: exactly at the limit
    assert fields({"any": [*wide["any"], attr("tier", "eq", "edge")]}) == ["rule"]
    assert fields({"all": [{"inSegment": "wide"}]}, segments={"wide": wide}) == [
        "rule.all[0].inSegment"
    ]


def test_referenced_segments_lists_direct_references() -> None:
    rule = {"all": [{"inSegment": "a"}, {"not": {"any": [{"inSegment": "b"}]}}]}
    assert referenced_segments(rule) == {"a", "b"}
