"""Faults survived with real processes: a server killed mid-batch, the database restarting
under load, a migration killed halfway, and two replicas sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from app.auth import service as auth
from app.db import Database
from app.events.models import Event
from app.users.models import User
from tests.conftest import ROOT, migrate
from tests.postgres_server import start_postgres
from tests.processes import Server, running

TRACK = """mutation($events: [EventInput!]!, $key: String) {
  trackEvents(events: $events, idempotencyKey: $key) { accepted duplicate userErrors { message } } }"""


async def _prepare(database_url: str) -> str:
    """A migrated database with one user and an admin key; returns the key."""
    migrate(database_url)
    db = Database(database_url)
    try:
        async with db.unit_of_work() as session:
            session.add(User(external_id="u1", name="u1"))
            _key, secret = await auth.create_api_key(session, name="faults", role="admin")
    finally:
        await db.dispose()
    return secret


async def _events(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(Event)) or 0)
    finally:
        await db.dispose()


def _post(
    server: Server,
    secret: str,
    query: str,
    variables: dict[str, Any] | None = None,
    timeout: float = 30,
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=timeout,
    )


@pytest.mark.parametrize("kill_after", [0.05, 0.4])
async def test_a_batch_cut_off_by_kill_9_is_whole_or_absent_and_a_retry_is_stored_once(
    backend: str, new_database_url: Any, tmp_path: Path, kill_after: float
) -> None:
    url = new_database_url(backend, f"kill9_{int(kill_after * 100)}")
    secret = await _prepare(url)
    batch = [
        {
            "externalId": "u1",
            "name": "feature_used",
            "feature": "kanban",
            "occurredAt": f"2026-03-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        }
        for i in range(5000)
    ]
    variables = {"events": batch, "key": "batch-7"}
    server = Server(url, tmp_path / "index", tmp_path / "server.log").start()
    try:
        request = asyncio.create_task(asyncio.to_thread(_post, server, secret, TRACK, variables))
        await asyncio.sleep(kill_after)
        server.kill()
        with suppress(httpx.TransportError):
            await request
    finally:
        server.stop()
    stored = await _events(url)
    assert stored in (0, 5000)
    with running(url, tmp_path / "index", tmp_path / "server.log") as again:
        retried = (await asyncio.to_thread(_post, again, secret, TRACK, variables)).json()
        assert retried["data"]["trackEvents"]["duplicate"] is (stored == 5000)
        retried_twice = (await asyncio.to_thread(_post, again, secret, TRACK, variables)).json()
        assert retried_twice["data"]["trackEvents"]["duplicate"] is True
    assert await _events(url) == 5000


async def test_the_database_restarting_under_load_gives_retryable_errors_then_recovers(
    tmp_path: Path,
) -> None:
    executor, base = start_postgres()
    try:
        url = f"postgresql+psycopg://{executor.user}@{executor.host}:{executor.port}/postgres"
        secret = await _prepare(url)
        with running(url, tmp_path / "index", tmp_path / "server.log") as server:
            outcomes: list[tuple[str, int, str]] = []
            stop = asyncio.Event()

            async def load() -> None:
                while not stop.is_set():
                    response = await asyncio.to_thread(
                        _post, server, secret, "{ users { totalCount } }", None, 10
                    )
                    body = response.json()
                    code = body["errors"][0]["extensions"]["code"] if "errors" in body else "ok"
                    # The phase when the answer came: a request sent before the stop may
                    # meet the outage, one answered before it cannot.
                    outcomes.append((phases[-1], response.status_code, code))
                    await asyncio.sleep(0.02)

            phases = ["before"]
            worker = asyncio.create_task(load())
            await asyncio.sleep(1)
            phases.append("down")
            await asyncio.to_thread(executor.stop)
            await asyncio.sleep(1.5)
            await asyncio.to_thread(executor.start)
            phases.append("after")
            await asyncio.sleep(2)
            stop.set()
            await worker
        assert {code for phase, _, code in outcomes if phase == "before"} == {"ok"}
        during = {(status, code) for phase, status, code in outcomes if phase == "down"}
        assert during and during <= {
            (503, "DATABASE_UNAVAILABLE"),
            (200, "DATABASE_UNAVAILABLE"),
            (200, "ok"),
        }
        assert any(code == "DATABASE_UNAVAILABLE" for _, code in during)
        assert outcomes[-1][2] == "ok"  # recovered without restarting the server
    finally:
        executor.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_migration_killed_halfway_on_postgresql_leaves_the_schema_as_it_was(
    new_database_url: Any, postgres_server: Any
) -> None:
    url = new_database_url("postgresql", "interrupted_migration")
    migrate(url, "dae91f7c54a8")
    plain = dict(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        dbname="interrupted_migration",
    )
    with psycopg.connect(**plain) as blocker:
        # The next revision adds a foreign key to segments: holding this lock stops it there,
        # after it has already created its first table in the same transaction.
        blocker.execute("LOCK TABLE segments IN ACCESS EXCLUSIVE MODE")
        upgrade = subprocess.Popen(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=ROOT,
            env={"OPSGRAPH_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(3)
        assert upgrade.poll() is None  # blocked halfway
        upgrade.kill()
        upgrade.wait(10)
        blocker.rollback()
    with psycopg.connect(**plain, autocommit=True) as check:
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and check.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'interrupted_migration' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        ):
            time.sleep(0.1)
        assert check.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "dae91f7c54a8",
        )
        assert check.execute("SELECT to_regclass('search_log')").fetchone() == (None,)
    migrate(url)
    with psycopg.connect(**plain) as check:
        assert check.execute("SELECT to_regclass('search_log')").fetchone() == ("search_log",)


async def test_two_replicas_on_one_postgresql_see_each_others_writes_and_search(
    new_database_url: Any, tmp_path: Path
) -> None:
    url = new_database_url("postgresql", "replicas")
    secret = await _prepare(url)
    create = """mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id } userErrors { message } } }"""
    with (
        running(url, tmp_path / "index-a", tmp_path / "a.log") as a,
        running(url, tmp_path / "index-b", tmp_path / "b.log") as b,
    ):
        created = _post(
            a,
            secret,
            create,
            {
                "input": {
                    "title": "甘特图导出 PDF 空白",
                    "body": "导出前先刷新页面。",
                    "category": "gantt",
                    "language": "ZH",
                }
            },
        ).json()
        article = created["data"]["createArticle"]["article"]["id"]
        for step in ("submitArticleForReview", "publishArticle"):
            result = _post(
                a, secret, f'mutation {{ {step}(id: "{article}") {{ userErrors {{ message }} }} }}'
            ).json()
            assert result["data"][step]["userErrors"] == []
        found = _post(
            b, secret, '{ searchArticles(query: "甘特图 PDF") { edges { node { id } } } }'
        ).json()
        assert [e["node"]["id"] for e in found["data"]["searchArticles"]["edges"]] == [article]
        user = _post(b, secret, '{ user(externalId: "u1") { name } }').json()
        assert user["data"]["user"]["name"] == "u1"
