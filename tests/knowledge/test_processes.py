"""Real server processes on one SQLite database and one index directory: each sees the
other's writes on the next request, concurrent writes lose nothing, an index directory
deleted under them is rebuilt while they keep answering, and one that cannot be written
leaves writes working and search answering until it can catch up."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from app.auth import service as auth
from app.db import Database
from app.search.engine import ArticleIndex
from tests.conftest import migrate
from tests.knowledge.articles import CREATE, SEARCH, TRANSITIONS
from tests.processes import Server, running


class Client:
    """One server, as the admin key sees it."""

    def __init__(self, http: httpx.AsyncClient, server: Server, secret: str) -> None:
        self.http, self.server, self.secret = http, server, secret

    async def data(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.server.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"])

    async def create(self, title: str) -> str:
        payload = (await self.data(CREATE, {"input": {"title": title, "category": "c"}}))[
            "createArticle"
        ]
        assert payload["userErrors"] == [], payload
        return str(payload["article"]["id"])

    async def publish(self, article_id: str) -> None:
        for step in ("submit", "publish"):
            field = TRANSITIONS[step]
            query = f"mutation($id: ID!) {{ {field}(id: $id) {{ userErrors {{ message }} }} }}"
            assert (await self.data(query, {"id": article_id}))[field]["userErrors"] == []

    async def search(self, query: str, **variables: Any) -> dict[str, Any]:
        found = await self.data(SEARCH, {"query": query, "first": 50, **variables})
        return dict(found["searchArticles"])

    async def titles(self, query: str, **variables: Any) -> list[str]:
        found = await self.search(query, **variables)
        return sorted(edge["node"]["title"] for edge in found["edges"])


async def _admin_secret(url: str) -> str:
    migrate(url)
    db = Database(url)
    try:
        async with db.unit_of_work() as session:
            _key, secret = await auth.create_api_key(session, name="admin key", role="admin")
    finally:
        await db.dispose()
    return secret


@asynccontextmanager
async def two_servers(tmp_path: Path) -> AsyncIterator[tuple[Client, Client, Path]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    secret = await _admin_secret(url)
    index_dir = tmp_path / "index"
    with (
        running(url, index_dir, tmp_path / "a.log") as a,
        running(url, index_dir, tmp_path / "b.log") as b,
    ):
        async with httpx.AsyncClient(timeout=30) as http:
            yield Client(http, a, secret), Client(http, b, secret), index_dir
    for log in ("a.log", "b.log"):
        assert "Traceback" not in (tmp_path / log).read_text(), log


async def test_two_servers_share_writes_index_and_survive_a_deleted_index(tmp_path: Path) -> None:
    async with two_servers(tmp_path) as (a, b, index_dir):
        # Written through one, found through the other on the very next request.
        article = await a.create("报表导出 Excel 失败")
        await a.publish(article)
        assert await b.titles("报表导出") == ["报表导出 Excel 失败"]

        # Twenty writes at once, half through each: no LockError, nothing lost.
        servers = [a, b] * 10
        await asyncio.gather(
            *(server.create(f"Concurrent write {i}") for i, server in enumerate(servers))
        )
        expected = sorted(f"Concurrent write {i}" for i in range(20))
        for server in (a, b):
            assert await server.titles("concurrent", includeUnpublished=True) == expected
        # Each process applied its own writes to the shared index, before any search.
        on_disk = ArticleIndex.open(index_dir).search("concurrent", statuses=None, limit=50)
        assert on_disk.total == 20

        # The index directory deleted under both: the next search rebuilds and answers,
        # and writes go on.
        shutil.rmtree(index_dir)
        assert await a.titles("报表导出") == ["报表导出 Excel 失败"]
        late = await b.create("Written after the rebuild")
        await b.publish(late)
        assert await a.titles("rebuild") == ["Written after the rebuild"]
        assert await b.titles("concurrent", includeUnpublished=True) == expected


async def test_an_index_that_cannot_be_written_leaves_writes_working_and_search_answering(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    secret = await _admin_secret(url)
    index_dir = tmp_path / "index"
    log = tmp_path / "server.log"
    # The server obeys file permissions even when the tests run as root.
    with running(url, index_dir, log, obey_permissions=True) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            client = Client(http, server, secret)
            await client.publish(await client.create("Export to Excel"))
            assert await client.titles("excel") == ["Export to Excel"]

            os.chmod(index_dir, 0o555)  # no new segment files: the index cannot change
            try:
                # Writes go to the database whatever the index does.
                await client.publish(await client.create("Gantt chart Excel import"))
                # Search answers from the index as it was, and says what it misses: the
                # create, the submit and the publish.
                stale = await client.search("excel")
                assert [e["node"]["title"] for e in stale["edges"]] == ["Export to Excel"]
                assert stale["indexBehind"] == 3
            finally:
                os.chmod(index_dir, 0o755)
            caught_up = await client.search("excel")
            assert caught_up["indexBehind"] == 0
            assert sorted(e["node"]["title"] for e in caught_up["edges"]) == [
                "Export to Excel",
                "Gantt chart Excel import",
            ]

            # Deleted, and its parent not writable: no index to answer from, nor to build.
            shutil.rmtree(index_dir)
            os.chmod(tmp_path, 0o555)
            try:
                response = await http.post(
                    f"{server.url}/graphql",
                    json={"query": SEARCH, "variables": {"query": "excel"}},
                    headers={"Authorization": f"Bearer {secret}"},
                )
                body = response.json()
                assert body["data"] is None
                assert body["errors"][0]["extensions"]["code"] == "SEARCH_UNAVAILABLE"
                assert "retry" in body["errors"][0]["message"]
                # Still, writes land.
                await client.create("Written while search was down")
            finally:
                os.chmod(tmp_path, 0o755)
            # Rebuilt from the database on the next search, with everything in it.
            assert await client.titles("written", includeUnpublished=True) == [
                "Written while search was down"
            ]
    assert "Traceback" not in log.read_text()
