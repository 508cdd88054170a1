"""The index follows the database: writes reach it at once, a lost index write is
replayed, and a deleted, corrupted, foreign or absent index is rebuilt."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, text

from app.db import Database
from app.knowledge import service
from app.knowledge.models import SearchOutbox
from app.main import create_app
from app.search.engine import LOCK_FILE, ArticleIndex
from app.search.sync import ORIGIN_FILE, SYNC_LOCK_FILE, reindex
from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.knowledge.articles import create, published, search, titles

ROOT = Path(__file__).resolve().parents[2]


def indexed_ids(path: Path, query: str) -> list[int]:
    """What the index directory itself holds, without any sync first."""
    results = ArticleIndex.open(path).search(query, statuses=None, limit=100)
    return [hit.id for hit in results.hits]


async def max_seq(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.max(SearchOutbox.seq))) or 0)


async def commit_without_index_write(db: Database, title: str) -> int:
    """An article published through the service alone: as if the process died after
    the commit, before touching the index."""
    async with db.unit_of_work() as session:
        article = await service.create_article(
            session, "crashed", data={"title": title, "category": "c"}
        )
        assert article.id is not None
        for action in (service.ArticleAction.SUBMIT, service.ArticleAction.PUBLISH):
            await service.change_status(session, "crashed", article_id=article.id, action=action)
    return article.id


async def test_write_reaches_the_index_before_any_search(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    article = await create(gql, title="Milestone alerts")
    assert indexed_ids(settings.index_dir, "milestone") == [int(article["id"])]
    assert ArticleIndex.open(settings.index_dir).get_watermark() == await max_seq(db)


async def test_change_committed_without_index_write_is_found_by_the_next_search(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    await published(gql, title="First article")  # the index is in step before the "crash"
    article_id = await commit_without_index_write(db, "Recovered after crash")
    assert indexed_ids(settings.index_dir, "recovered") == []
    result = await search(gql, "recovered")
    assert [edge["node"]["id"] for edge in result["edges"]] == [str(article_id)]


async def test_index_directory_deleted_while_running_is_rebuilt(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    await published(gql, title="Survey reminders")
    shutil.rmtree(settings.index_dir)
    assert titles(await search(gql, "survey")) == ["Survey reminders"]
    health = (await client.get("/healthz")).json()
    assert health["checks"]["index"] == "ok"


async def test_corrupted_index_files_are_rebuilt(gql: GraphQLClient, settings: Settings) -> None:
    await published(gql, title="Billing cycles")
    keep = {LOCK_FILE, SYNC_LOCK_FILE, ORIGIN_FILE, "opsgraph-watermark"}
    damaged = [p for p in settings.index_dir.iterdir() if p.is_file() and p.name not in keep]
    assert damaged
    for path in damaged:
        path.write_bytes(b"\x00garbage" * 10)
    assert titles(await search(gql, "billing")) == ["Billing cycles"]


async def test_index_of_an_emptied_database_is_not_trusted(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    await published(gql, title="Alpha onboarding")
    tables = "article_tags, article_votes, articles, search_outbox"
    async with db.unit_of_work() as session:
        if db.dialect == "postgresql":
            await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for table in tables.split(", "):
                await session.execute(text(f"DELETE FROM {table}"))
    # Same id and a seq the index has already passed: only the origin tells them apart.
    await commit_without_index_write(db, "Beta onboarding")
    assert titles(await search(gql, "beta")) == ["Beta onboarding"]
    assert titles(await search(gql, "alpha")) == []


async def test_index_absent_at_start_up_is_built_from_the_database(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    await published(gql, title="Start-up rebuild")
    fresh = settings.model_copy(update={"index_dir": tmp_path / "index"})
    async with LifespanManager(create_app(fresh)):
        assert indexed_ids(fresh.index_dir, "rebuild") != []


async def test_reindex_command_rebuilds_with_a_progress_bar(
    gql: GraphQLClient, db: Database, settings: Settings, capsys: Any
) -> None:
    await published(gql, title="Reindexed one")
    await commit_without_index_write(db, "Reindexed two")
    assert await reindex(settings) == 2
    assert "Indexing articles" in capsys.readouterr().err
    assert len(indexed_ids(settings.index_dir, "reindexed")) == 2


WRITER = """
import asyncio, sys
import app.models
from app.db import Database
from app.knowledge import service
from app.search.sync import SearchIndex

async def main(url, index_dir, name, count):
    db = Database(url)
    index = await SearchIndex.open(index_dir)
    for i in range(count):
        async with db.unit_of_work() as session:
            await service.create_article(
                session, name, data={"title": f"Concurrent {name} {i}", "category": "c"}
            )
        async with db.read() as session:
            await index.sync(session)  # raises, unlike the API's sync after commit
    await db.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


async def test_processes_writing_at_once_lose_nothing(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    per_writer = 6
    finished: list[subprocess.CompletedProcess[bytes]] = []

    async def writer(name: str) -> None:
        command = [sys.executable, "-c", WRITER, settings.database_url, str(settings.index_dir)]
        finished.append(
            await anyio.run_process([*command, name, str(per_writer)], cwd=ROOT, check=False)
        )

    api_writes = 0
    async with anyio.create_task_group() as writers:
        for name in ("p1", "p2"):
            writers.start_soon(writer, name)
        # Keep writing through the API until both writers are done, so the writes overlap.
        while api_writes < per_writer or len(finished) < 2:
            await create(gql, title=f"Concurrent api {api_writes}")
            api_writes += 1
    assert [p.returncode for p in finished] == [0, 0], [p.stderr.decode() for p in finished]
    # No sync here: every process's own writes must already be in the index.
    index = ArticleIndex.open(settings.index_dir)
    assert index.search("concurrent", statuses=None).total == 2 * per_writer + api_writes
    assert index.get_watermark() == await max_seq(db)
