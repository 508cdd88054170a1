"""The client mix: dashboards (lists and metrics), agents (FAQ search and tickets) and
integrations (event batches and segment exports). Keys come from the environment."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, constant, constant_throughput, task

SEARCHES = [
    "报表导出失败",
    "忘记密码",
    "甘特图 依赖",
    "permission",
    "export Excel",
    "批量导入",
    "通知",
    "kanban WIP",
    "登陆 失败",
    "API token",
]
TODAY = datetime.now(UTC).date()
PACE = float(os.environ.get("LOAD_RPS_PER_USER", "5"))


class GraphQLUser(FastHttpUser):
    abstract = True
    role = "admin"

    def on_start(self) -> None:
        self.headers = {
            "Authorization": f"Bearer {os.environ[f'LOAD_{self.role.upper()}_KEY']}",
            "Content-Type": "application/json",
        }

    def graphql(self, name: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        with self.client.post(
            "/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}),
            headers=self.headers,
            name=name,
            catch_response=True,
        ) as response:
            body = response.json() if response.status_code == 200 else None
            if body is None or body.get("errors"):
                response.failure(f"{response.status_code}: {str(body)[:200]}")
                return None
            return body["data"]


class Dashboard(GraphQLUser):
    weight = 4
    role = "operator"
    wait_time = constant_throughput(PACE)

    @task(3)
    def users_page(self) -> None:
        self.graphql(
            "dashboard users page",
            "{ users(first: 50, orderBy: {field: SIGNED_UP_AT, descending: true}) { totalCount edges { node { externalId tier lifecycleStage segments { key } } } } }",
        )

    @task(3)
    def active_users(self) -> None:
        self.graphql(
            "metrics activeUsers",
            "query($d: Date!) { metrics { activeUsers(date: $d, window: MONTH) { users } } }",
            {"d": str(TODAY - timedelta(days=1))},
        )

    @task(2)
    def retention(self) -> None:
        self.graphql(
            "metrics retention",
            "query($f: Date!, $t: Date!) { metrics { retention(cohortFrom: $f, cohortTo: $t) { overall { day rate } } } }",
            {"f": str(TODAY - timedelta(days=40)), "t": str(TODAY - timedelta(days=10))},
        )

    @task(1)
    def campaigns(self) -> None:
        self.graphql(
            "dashboard campaigns",
            "{ campaigns(first: 10) { edges { node { key status participantCount variants { key } } } } }",
        )


class Agent(GraphQLUser):
    weight = 4
    role = "agent"
    wait_time = constant_throughput(PACE)

    @task(4)
    def search(self) -> None:
        self.graphql(
            "agent searchArticles",
            "query($q: String!) { searchArticles(query: $q, first: 10) { totalCount edges { score node { id title } highlights { fragment } } } }",
            {"q": random.choice(SEARCHES)},
        )

    @task(2)
    def queue(self) -> None:
        self.graphql(
            "agent feedback queue",
            "{ feedbackItems(filter: {status: OPEN}, first: 20) { totalCount edges { node { id title priority tags user { name tier } } } } }",
        )


class Integration(GraphQLUser):
    weight = 1
    role = "integration"
    wait_time = constant_throughput(PACE)

    @task(2)
    def export_page(self) -> None:
        self.graphql(
            "integration segment export",
            '{ segment(key: "tier-edge") { size members(first: 1000) { pageInfo { endCursor } edges { node { externalId } } } } }',
        )

    @task(1)
    def track_events(self) -> None:
        self.graphql("integration trackEvents x100", TRACK, {"events": batch(100)})


class Ingest(GraphQLUser):
    """Event batches of 1,000 as fast as the server takes them. Left out of the mix, which
    names its classes; run on its own."""

    weight = 1
    role = "integration"
    wait_time = constant(0)

    @task
    def track_events(self) -> None:
        self.graphql("ingest trackEvents x1000", TRACK, {"events": batch(1000)})


TRACK = "mutation($events: [EventInput!]!) { trackEvents(events: $events) { accepted rejected { index } } }"


def batch(size: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "externalId": f"demo-{random.randrange(400):04d}",
            "name": "feature_used",
            "feature": random.choice(["kanban", "gantt_view", "task_create"]),
            "occurredAt": (now - timedelta(seconds=random.randrange(86_400))).isoformat(),
        }
        for _ in range(size)
    ]
