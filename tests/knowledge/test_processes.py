"""Two real server processes on one SQLite database and one index directory: each sees the
other's writes on the next request, concurrent writes lose nothing, and an index directory
deleted under them is rebuilt while they keep answering."""

from __future__ import annotations

import asyncio
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

    async def titles(self, query: str, **variables: Any) -> list[str]:
        found = await self.data(SEARCH, {"query": query, "first": 50, **variables})
        return sorted(edge["node"]["title"] for edge in found["searchArticles"]["edges"])


@asynccontextmanager
async def two_servers(tmp_path: Path) -> AsyncIterator[tuple[Client, Client, Path]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate(url)
    db = Database(url)
    try:
        async with db.unit_of_work() as session:
            _key, secret = await auth.create_api_key(session, name="admin key", role="admin")
    finally:
        await db.dispose()
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
