"""A key limited to a segment sees every metric as the segment filter shows it, or not at
all. The fields are walked from the schema, so a new metric is covered without a new test."""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    get_named_type,
)

from app.api.sdl import schema
from app.auth import service as auth
from app.db import Database
from app.events.models import ChannelExposure
from app.feedback.models import Feedback
from app.surveys.models import SurveyResponse
from app.users.models import User
from tests.conftest import GraphQLClient
from tests.metrics.helpers import at, event, track
from tests.segments.helpers import add_segment

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
# A value for each argument a metric requires; a new required argument needs one here.
REQUIRED = {
    "from": MARCH["from"],
    "to": MARCH["to"],
    "date": "2026-03-20",
    "cohortFrom": MARCH["from"],
    "cohortTo": MARCH["to"],
    "features": ["gantt_view"],
    "minViews": 0,
    "maxHelpfulRatio": 1.0,
}
# Metrics that need one of several optional arguments, each way they can be asked.
ONE_OF = {"engagement": ({"eventName": "login"}, {"feature": "gantt_view"})}
MAX_DEPTH = 4


def d(day: int) -> date:
    return date(2026, 3, day)


async def add_history(db: Database) -> None:
    """Two regions with sign-ups, activity, payments, answers and tickets in March, so a
    figure over everyone differs from the east's alone."""
    people = [
        (f"{region}{n}", region, channel, day)
        for region, offset in (("east", 0), ("west", 10))
        for n, (channel, day) in enumerate(
            [("search", 1 + offset), ("partner", 2 + offset), ("referral", 3 + offset)]
            + [("search", 5 + offset)] * (3 if region == "west" else 1)
        )
    ]
    async with db.unit_of_work() as session:
        users = [
            User(
                external_id=external_id,
                name=external_id,
                tier="core" if n % 2 else "edge",
                region=region,
                acquisition_channel=channel,
                signed_up_at=at(d(day), 9),
            )
            for n, (external_id, region, channel, day) in enumerate(people)
        ]
        session.add_all(users)
        session.add_all(
            ChannelExposure(channel=channel, day=d(4), impressions=100)
            for channel in ("search", "partner", "referral")
        )
        await session.flush()
        for n, user in enumerate(users):
            session.add(
                SurveyResponse(user_id=user.id, kind="nps", score=n % 11, responded_at=at(d(25)))
            )
            session.add(
                SurveyResponse(
                    user_id=user.id, kind="csat", score=1 + n % 5, responded_at=at(d(25))
                )
            )
            session.add(
                Feedback(
                    user_id=user.id,
                    channel="email" if n % 2 else "in_app",
                    type="bug",
                    title=f"ticket {n}",
                    status="resolved" if n % 3 else "open",
                    satisfaction=1 + n % 5 if n % 3 else None,
                    created_at=at(d(20)),
                    first_response_at=at(d(20), 12 + n % 5),
                    resolved_at=at(d(21)) if n % 3 else None,
                    updated_at=at(d(21)),
                )
            )
    events = []
    for n, (external_id, _region, _channel, day) in enumerate(people):
        for later in range(0, 8 + n, 1 + n % 3):
            when = at(d(min(day + later, 31)), 10)
            events.append(event(external_id, when, "login"))
            events.append(event(external_id, when, "session", seconds=60 * (n + 1)))
        events.append(event(external_id, at(d(day), 11), "feature_used"))
        events.append(event(external_id, at(d(day + 1), 11), "payment", revenue=f"{10 + n}.25"))
    await track(db, events)


def unwrap(kind: Any) -> Any:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def selection(kind: Any, depth: int = 0) -> str:
    """Every field without arguments, to MAX_DEPTH; objects beyond it are left out."""
    named = unwrap(kind)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts = []
    for name, field in named.fields.items():
        inner = unwrap(field.type)
        if field.args and any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue
        if isinstance(inner, GraphQLObjectType):
            if depth + 1 < MAX_DEPTH and (nested := selection(inner, depth + 1)):
                parts.append(f"{name} {nested}")
        else:
            parts.append(name)
    return "{ " + " ".join(parts) + " }"


def calls(name: str, field: GraphQLField) -> list[dict[str, Any]]:
    """The argument sets to ask a metric with: each required enum argument with each of
    its values, the other required arguments from REQUIRED."""
    fixed, enums = {}, {}
    for arg_name, arg in field.args.items():
        if not isinstance(arg.type, GraphQLNonNull) or arg.default_value is not Undefined:
            continue
        named = get_named_type(arg.type)
        if isinstance(named, GraphQLEnumType):
            enums[arg_name] = list(named.values)
        else:
            assert arg_name in REQUIRED, f"metrics.{name}: give REQUIRED a value for {arg_name}"
            fixed[arg_name] = REQUIRED[arg_name]
    return [
        {**fixed, **choice, **dict(zip(enums, values, strict=True))}
        for values in itertools.product(*enums.values())
        for choice in ONE_OF.get(name, ({},))
    ]


def literal(value: Any, enum: bool) -> str:
    return value if enum else json.dumps(value)


def query(name: str, field: GraphQLField, arguments: dict[str, Any]) -> str:
    rendered = ", ".join(
        f"{k}: {literal(v, isinstance(get_named_type(field.args[k].type), GraphQLEnumType))}"
        for k, v in arguments.items()
    )
    return (
        f"{{ metrics {{ {name}{f'({rendered})' if rendered else ''} {selection(field.type)} }} }}"
    )


def metric_fields() -> dict[str, GraphQLField]:
    metrics = schema._schema.get_type("Metrics")
    assert isinstance(metrics, GraphQLObjectType)
    return dict(metrics.fields)


@pytest.fixture
async def limited_key(db: Database) -> tuple[str, int]:
    east = await add_segment(db, "east", {"attr": "region", "op": "eq", "value": "east"})
    await add_history(db)
    async with db.unit_of_work() as session:
        _key, secret = await auth.create_api_key(
            session, name="east crm", role="integration", segment_keys=["east"]
        )
    assert east.id is not None
    return secret, east.id


async def test_a_limited_key_reads_every_metric_as_its_segment_filter_or_is_refused(
    gql: GraphQLClient, limited_key: tuple[str, int]
) -> None:
    secret, east_id = limited_key
    gql.keys["east"] = secret
    compared, differing, refused = 0, 0, []
    for name, field in metric_fields().items():
        for arguments in calls(name, field):
            limited = await gql(query(name, field, arguments), role="east")
            if limited.get("errors"):
                codes = {e.get("extensions", {}).get("code") for e in limited["errors"]}
                assert codes == {"FORBIDDEN"}, (name, arguments, limited["errors"])
                refused.append(name)
                continue
            assert "segmentId" in field.args, f"metrics.{name} answers a limited key unscoped"
            scoped = {**arguments, "segmentId": str(east_id)}
            filtered = await gql.data(query(name, field, scoped))
            everyone = await gql.data(query(name, field, arguments))
            assert limited["data"] == filtered, (name, arguments)
            compared += 1
            differing += limited["data"] != everyone
    # Content figures count everyone's views and votes: no segment narrows them.
    assert set(refused) == {"content", "lowPerformingArticles"}
    # The east is a part of the data: most figures over it differ from everyone's.
    assert compared > 40 and differing > compared // 2, (compared, differing)


async def test_channel_conversion_counts_only_the_segment_s_registrations(
    gql: GraphQLClient, limited_key: tuple[str, int]
) -> None:
    secret, east_id = limited_key
    gql.keys["east"] = secret
    channels = "channelConversion(from: $from, to: $to, segmentId: $segment) { channel registrations impressions rate }"
    ask = f"query($from: Date!, $to: Date!, $segment: ID) {{ metrics {{ {channels} }} }}"
    everyone = await gql.data(ask, MARCH)
    east = await gql.data(ask, MARCH, role="east")
    by_channel = {r["channel"]: r for r in east["metrics"]["channelConversion"]}
    assert {c: r["registrations"] for c, r in by_channel.items()} == {
        "partner": 1,
        "referral": 1,
        "search": 2,
    }
    assert by_channel["search"]["impressions"] == 100  # a channel's, whoever looks
    assert by_channel["search"]["rate"] == pytest.approx(2.0)
    search = {r["channel"]: r for r in everyone["metrics"]["channelConversion"]}["search"]
    assert search["registrations"] == 6
    assert (await gql.data(ask, {**MARCH, "segment": str(east_id)}))["metrics"] == east["metrics"]
