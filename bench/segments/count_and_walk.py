"""Segment count and full export walk of a behaviour rule over 1M events, on SQLite and
PostgreSQL: `python bench/segments/count_and_walk.py` (see bench/segments/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import psycopg
from asgi_lifespan import LifespanManager
from sqlalchemy import insert, text
from tqdm import tqdm

import app.models  # noqa: F401  (every table, for foreign keys across domains)
from app.__main__ import migrate
from app.auth import service as auth
from app.db import Database, make_sync_engine
from app.events.models import Event
from app.main import create_app
from app.pagination import Page
from app.segments import service
from app.segments.models import Segment
from app.settings import Settings
from app.users.models import User
from tests.postgres_server import start_postgres

MAIN, SPARSE = "recent-login", "gantt-regulars"
SEGMENTS = {
    MAIN: {"event": "login", "withinDays": 180},  # any login in the last 180 days
    # About 5 % of users: a page scans some 20,000 users to find its 1,000 members.
    SPARSE: {
        "event": "feature_used",
        "feature": "gantt_view",
        "count": {"gte": 2},
        "withinDays": 180,
    },
}
WINDOW_DAYS = 180
DAY = 86400
HISTORY_DAYS = 365
INACTIVE_EVERY = 11  # every 11th user has no event in the window: 10 of 11 users match
NAMES = ("login",) * 3 + ("feature_used",) * 5 + ("page_view",) * 2
FEATURES = ("gantt_view", "kanban", "task_create", "report_export", "calendar", "wiki")
TIERS = ("core", "backbone", "edge", "edge")
REGIONS = ("East", "West", "North", "South", "Central")
CHUNK = 20_000


@dataclass(frozen=True)
class Population:
    users: list[dict[str, Any]]
    events: list[dict[str, Any]]
    members: int  # users the main segment's rule matches, by construction


def generate(user_count: int, event_count: int, now: datetime, seed: int) -> Population:
    """Every active user logs in once inside the window; the other events fall anywhere
    in the last year for active users and only before the window for inactive ones."""
    rng = random.Random(seed)
    active = [i % INACTIVE_EVERY != 0 for i in range(user_count)]
    seconds = HISTORY_DAYS * DAY
    window = WINDOW_DAYS * DAY
    events: list[dict[str, Any]] = []
    last: list[datetime | None] = [None] * user_count

    def add(user: int, name: str, ago: float) -> None:
        at = now - timedelta(seconds=ago)
        feature = rng.choice(FEATURES) if name == "feature_used" else None
        events.append(
            {
                "user_id": user + 1,
                "name": name,
                "feature": feature,
                "occurred_at": at,
                "properties": {},
            }
        )
        if last[user] is None or at > last[user]:  # type: ignore[operator]
            last[user] = at

    # A day's margin from the window's edge: the members stay the same during the run.
    for user in tqdm(range(user_count), desc="events  ", unit=" user", leave=False):
        if active[user]:
            add(user, "login", rng.uniform(DAY, window - DAY))
    for _ in tqdm(range(event_count - len(events)), desc="events  ", unit=" ev", leave=False):
        user = rng.randrange(user_count)
        low = 60 if active[user] else window + DAY
        add(user, rng.choice(NAMES), rng.uniform(low, seconds))
    users = [
        {
            "id": i + 1,
            "external_id": f"u{i + 1:07}",
            "name": f"User {i + 1}",
            "tier": rng.choice(TIERS),
            "region": rng.choice(REGIONS),
            "properties": {},
            "signed_up_at": now - timedelta(days=HISTORY_DAYS + rng.uniform(1, 400)),
            "last_active_at": last[i],
            "created_at": now,
            "updated_at": now,
        }
        for i in range(user_count)
    ]
    return Population(users=users, events=events, members=sum(active))


def load(database_url: str, population: Population) -> None:
    engine = make_sync_engine(database_url)
    with engine.begin() as connection:
        for table, rows in ((User, population.users), (Event, population.events)):
            with tqdm(total=len(rows), desc=f"{table.__tablename__:<8}", unit=" row") as bar:
                for start in range(0, len(rows), CHUNK):
                    chunk = rows[start : start + CHUNK]
                    connection.execute(insert(table), chunk)
                    bar.update(len(chunk))
        connection.execute(text("ANALYZE"))  # planner statistics, as a live database has
    engine.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# One page of a walk: the member ids in it, and the cursor of the next page (None at the end).
PageIds = tuple[list[int], str | None]
PageFetch = Callable[[str | None], Awaitable[PageIds]]


@dataclass
class Walk:
    pages: list[float]  # seconds per page

    def cells(self) -> tuple[str, str, str]:
        ms = [t * 1000 for t in self.pages]
        return f"{percentile(ms, 0.5):.0f}", f"{percentile(ms, 0.99):.0f}", f"{sum(self.pages):.1f}"


async def walk(fetch: PageFetch, expected: int, label: str) -> Walk:
    """Pages from start to end, checking that ids only grow (each member once)."""
    pages: list[float] = []
    seen, after, previous = 0, None, 0
    with tqdm(total=expected, desc=f"{label:<18}", unit=" user", leave=False) as bar:
        while True:
            started = time.perf_counter()
            ids, after = await fetch(after)
            pages.append(time.perf_counter() - started)
            assert ids == sorted(set(ids)) and (not ids or ids[0] > previous), "order broken"
            previous = ids[-1] if ids else previous
            seen += len(ids)
            bar.update(len(ids))
            if after is None:
                break
    assert seen == expected, (label, seen, expected)
    return Walk(pages=pages)


MEMBERS = """
query($key: String!, $first: Int!, $after: String) {
  segment(key: $key) {
    members(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { id externalId } }
    }
  }
}"""
NOT_RUN = ("–", "–", "–")


async def measure(
    database_url: str, backend: str, runs: int, page_size: int
) -> list[tuple[str, ...]]:
    """One table row per segment: count, walks (service, API) and snapshot."""
    db = Database(database_url)
    rows = []
    try:
        async with db.unit_of_work() as session:
            segments = [Segment(key=key, name=key, rule=rule) for key, rule in SEGMENTS.items()]
            session.add_all(segments)
            _key, secret = await auth.create_api_key(session, name="bench", role="admin")
        for segment in segments:
            label = f"{backend} {segment.key}"
            size, count_ms = await count(db, segment, runs, label)

            async def service_page(after: str | None, segment: Segment = segment) -> PageIds:
                async with db.read() as session:
                    page = await service.members(
                        session,
                        segment=segment,
                        first=page_size,
                        after=after,
                        count_session=db.read,
                    )
                return _ids(page)

            by_service = await walk(service_page, size, f"{label} service")
            api, snapshot = NOT_RUN, ("–", *NOT_RUN)
            if segment.key == MAIN:  # the export an integration runs, and its snapshot
                api = (await api_walk(database_url, secret, size, page_size, label)).cells()
                snapshot = await snapshot_walk(db, segment, page_size, label)
            rows.append(
                (
                    backend,
                    segment.key,
                    f"{size:,}",
                    f"{count_ms:.0f}",
                    *by_service.cells(),
                    *api,
                    *snapshot,
                )
            )
    finally:
        await db.dispose()
    return rows


async def count(db: Database, segment: Segment, runs: int, label: str) -> tuple[int, float]:
    """The size and the median time to count it (after one run that warms the caches)."""
    times, size = [], 0
    for _ in tqdm(range(runs + 1), desc=f"{label} count", leave=False):
        async with db.read() as session:
            started = time.perf_counter()
            size = await service.count_members(session, segment)
            times.append(time.perf_counter() - started)
    return size, statistics.median(times[1:]) * 1000


def _ids(page: Page[User]) -> PageIds:
    ids = [user.id for user, _ in page.items]
    return ids, page.items[-1][1] if page.has_next_page else None  # type: ignore[misc]


async def snapshot_walk(
    db: Database, segment: Segment, page_size: int, label: str
) -> tuple[str, ...]:
    started = time.perf_counter()
    async with db.unit_of_work() as session:
        snapshot = await service.snapshot_segment(session, None, key=segment.key)
    taken_ms = (time.perf_counter() - started) * 1000

    async def snapshot_page(after: str | None) -> PageIds:
        async with db.read() as session:
            page = await service.snapshot_members(
                session,
                None,
                snapshot=snapshot,
                first=page_size,
                after=after,
                count_session=db.read,
            )
        return _ids(page)

    return (
        f"{taken_ms:.0f}",
        *(await walk(snapshot_page, snapshot.size, f"{label} snapshot")).cells(),
    )


async def api_walk(database_url: str, secret: str, size: int, page_size: int, label: str) -> Walk:
    """The same walk through GraphQL over HTTP (in process), as an integration exports."""
    with tempfile.TemporaryDirectory() as index_dir:
        application = create_app(Settings(database_url=database_url, index_dir=Path(index_dir)))
        async with (
            LifespanManager(application) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {secret}"},
                timeout=60,
            ) as http,
        ):

            async def api_page(after: str | None) -> PageIds:
                variables = {"key": MAIN, "first": page_size, "after": after}
                response = await http.post(
                    "/graphql", json={"query": MEMBERS, "variables": variables}
                )
                body = response.json()
                assert "errors" not in body, body
                members = body["data"]["segment"]["members"]
                ids = [int(edge["node"]["id"]) for edge in members["edges"]]
                info = members["pageInfo"]
                return ids, info["endCursor"] if info["hasNextPage"] else None

            return await walk(api_page, size, f"{label} API")


@contextmanager
def sqlite_database() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="opsgraph-bench-"))
    try:
        yield f"sqlite:///{directory / 'bench.db'}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgresql_database() -> Iterator[str]:
    executor, base = start_postgres()
    try:
        for attempt in range(60):  # a busy machine may still be starting the server
            try:
                connection = psycopg.connect(
                    host=executor.host,
                    port=executor.port,
                    user=executor.user,
                    dbname="postgres",
                    autocommit=True,
                )
                break
            except psycopg.OperationalError:
                if attempt == 59:
                    raise
                time.sleep(1)
        with connection:
            connection.execute('CREATE DATABASE "bench"')
        yield f"postgresql+psycopg://{executor.user}@{executor.host}:{executor.port}/bench"
    finally:
        executor.stop()
        shutil.rmtree(base, ignore_errors=True)


DATABASES: dict[str, Callable[[], Any]] = {
    "sqlite": sqlite_database,
    "postgresql": postgresql_database,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=110_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="count runs (median reported)")
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    population = generate(args.users, args.events, datetime.now(UTC), args.seed)
    rows = []
    for backend in args.backends.split(","):
        with DATABASES[backend]() as url:
            migrate(Settings(database_url=url))
            load(url, population)
            done = asyncio.run(measure(url, backend, args.runs, args.page))
            tqdm.write("\n".join(" | ".join(row) for row in done))
            rows += done
    print_table(rows, args, population)


def print_table(
    rows: list[tuple[str, ...]], args: argparse.Namespace, population: Population
) -> None:
    print(
        f"\n{args.users:,} users, {len(population.events):,} events; {MAIN}: "
        f"{SEGMENTS[MAIN]} ({population.members:,} members by construction), "
        f"{SPARSE}: {SEGMENTS[SPARSE]}.\nCount: median of {args.runs} runs. Walks in pages of "
        f"{args.page:,}: page p50 / p99 (ms) and the whole walk (s)."
    )
    header = (
        "database",
        "segment",
        "members",
        "count ms",
        "page p50",
        "page p99",
        "walk s",
        "API page p50",
        "API page p99",
        "API walk s",
        "snapshot ms",
        "snapshot page p50",
        "snapshot page p99",
        "snapshot walk s",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
