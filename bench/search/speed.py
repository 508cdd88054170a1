"""Search latency side by side at 10,000 generated articles, in one run: our index
in-process (ArticleIndex.search), searchArticles over HTTP (a real uvicorn process on a
SQLite database holding the same articles), and SQLite FTS5 for the same queries.

    python bench/search/speed.py                      # 10,000 articles, 300 queries
    python bench/search/speed.py --docs 2000 --queries 100

Progress bars go to stderr, the table to stdout. See bench/search/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from sqlalchemy import insert
from tqdm import tqdm

import app.models  # noqa: F401  (every table, for foreign keys across domains)
from app.__main__ import create_api_key, migrate
from app.db import make_sync_engine
from app.knowledge.models import Article, ArticleTag
from app.search.analysis import normalize_query_text
from app.search.engine import ArticleDoc, ArticleIndex
from app.search.sync import reindex
from app.settings import Settings
from bench.search.corpus import (
    chinese_vocabulary,
    english_vocabulary,
    make_articles,
    make_queries,
    percentile,
)
from bench.search.fts5 import Fts5Index

ROOT = Path(__file__).resolve().parents[2]
SEARCH = """query($query: String!) {
  searchArticles(query: $query, first: 10) {
    totalCount
    edges { cursor score highlights { field fragment }
            node { id title tags category language views helpfulVotes } }
    facets { tags { value count } categories { value count } }
    suggestion
  }
}"""
WARM_UP = ("预热 warm up", "报表导出 Excel 失败", "permision")
SERVER_START_TIMEOUT_S = 120
# Targets of the search issue, for the verdict column.
P50_TARGET_MS, P99_TARGET_MS, FTS5_FACTOR, INDEX_TARGET_S = 10.0, 50.0, 2.0, 30.0


@dataclass(frozen=True)
class Row:
    name: str
    latencies_ms: list[float]
    # CPU time of the searching thread: other jobs on the machine disturb it less. None
    # over HTTP, where the work happens in the server process.
    cpu_ms: list[float] | None

    def cells(self) -> list[str]:
        cells = [self.name]
        for values in (self.latencies_ms, self.cpu_ms):
            cells += (
                [f"{percentile(values, 50):.1f}", f"{percentile(values, 99):.1f}"]
                if values
                else ["-", "-"]
            )
        return [*cells, f"{statistics.fmean(self.latencies_ms):.1f}"]


def timed(
    name: str, queries: Sequence[str], run: Callable[[str], object], *, cpu: bool = True
) -> Row:
    latencies, cpu_times = [], []
    for query in tqdm(queries, desc=name, unit="query", file=sys.stderr):
        started, started_cpu = time.perf_counter(), time.thread_time()
        run(query)
        latencies.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.thread_time() - started_cpu) * 1000)
    return Row(name, latencies, cpu_times if cpu else None)


def cpu_seconds() -> tuple[float, float]:
    """CPU time used so far by this process and by its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def seed_database(settings: Settings, articles: Sequence[ArticleDoc]) -> None:
    """The articles as rows (same ids), written straight to the tables: the outbox stays
    empty, so the index `reindex` builds is the one the server opens."""
    migrate(settings)
    now = datetime.now(UTC)
    engine = make_sync_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            for start in tqdm(
                range(0, len(articles), 1000), desc="database", unit="k rows", file=sys.stderr
            ):
                batch = articles[start : start + 1000]
                connection.execute(
                    insert(Article),
                    [
                        {
                            "id": doc.id,
                            "slug": f"bench-{doc.id}",
                            "title": doc.title,
                            "body": doc.body,
                            "category": doc.category,
                            "language": doc.language,
                            "status": doc.status,
                            "author": "bench",
                            "views": doc.views,
                            "helpful_votes": doc.helpful_votes,
                            "unhelpful_votes": 0,
                            "published_at": now if doc.status == "published" else None,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for doc in batch
                    ],
                )
                connection.execute(
                    insert(ArticleTag),
                    [{"article_id": doc.id, "tag": tag} for doc in batch for tag in doc.tags],
                )
    finally:
        engine.dispose()


@contextmanager
def server(settings: Settings, workdir: Path) -> Iterator[str]:
    """A real uvicorn process on a free loopback port; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "OPSGRAPH_DATABASE_URL": settings.database_url,
        "OPSGRAPH_INDEX_DIR": str(settings.index_dir),
        # The bench sends more searches a minute than an agent's key may.
        "OPSGRAPH_RATE_LIMITS": '{"agent": [1000000, 1000000000]}',
    }
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {workdir / 'server.log'}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def run(doc_count: int, query_count: int, workdir: Path) -> None:
    load_before = os.getloadavg()[0]
    print(f"generating {doc_count} articles and {query_count} queries", file=sys.stderr)
    zh, en = chinese_vocabulary(), english_vocabulary()
    articles = make_articles(doc_count, zh, en)
    queries = make_queries(query_count, zh, en)
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'bench.db'}", index_dir=workdir / "index"
    )
    seed_database(settings, articles)
    secret = create_api_key(settings, "agent", "search bench")

    normalize_query_text("预热")  # loads jieba's dictionary and OpenCC, as a server has
    started, cpu_before = time.perf_counter(), cpu_seconds()
    asyncio.run(reindex(settings))  # from the database, with its own progress bar
    index_s = time.perf_counter() - started
    index_cpu = [after - before for after, before in zip(cpu_seconds(), cpu_before, strict=True)]

    index = ArticleIndex.open(settings.index_dir)
    for query in WARM_UP:  # the first search reads the segment's columns
        index.search(query)
    rows = [timed("ours, in-process", queries, index.search)]
    index.close()

    builds: list[str] = []
    for baseline in (Fts5Index.unicode61(), Fts5Index.jieba()):
        started = time.perf_counter()
        baseline.build(articles)
        builds.append(f"{baseline.name}: {time.perf_counter() - started:.1f} s")
        rows.append(timed(baseline.name, queries, baseline.search))

    with server(settings, workdir) as url, httpx.Client(base_url=url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {secret}"}

        def over_http(query: str) -> None:
            body = http.post(
                "/graphql", json={"query": SEARCH, "variables": {"query": query}}, headers=headers
            ).json()
            if "errors" in body:
                raise RuntimeError(body["errors"])

        for query in WARM_UP:
            over_http(query)
        rows.insert(1, timed("ours, HTTP (uvicorn)", queries, over_http, cpu=False))

    print_table(doc_count, query_count, rows)
    print()
    print(
        f"indexing {doc_count} articles from the database (python -m app reindex): "
        f"{index_s:.1f} s (target < {INDEX_TARGET_S:.0f} s); CPU {index_cpu[0]:.1f} s in "
        f"this process, {index_cpu[1]:.1f} s in analysis workers"
    )
    print("FTS5 builds (in memory, from the generated articles): " + "; ".join(builds))
    ours = rows[0]
    for label, values in (("wall", ours.latencies_ms), ("cpu", ours.cpu_ms or [])):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(
            f"in-process {label} p50 {p50:.1f} ms (target < {P50_TARGET_MS:.0f}), "
            f"p99 {p99:.1f} ms (target < {P99_TARGET_MS:.0f})"
        )
    for row in rows[2:]:
        ratios = [
            percentile(mine, 50) / max(percentile(theirs, 50), 1e-9)
            for mine, theirs in (
                (ours.latencies_ms, row.latencies_ms),
                (ours.cpu_ms or [], row.cpu_ms or []),
            )
        ]
        print(
            f"in-process p50 / {row.name} p50: {ratios[0]:.1f}x wall, {ratios[1]:.1f}x cpu "
            f"(target <= {FTS5_FACTOR:.0f}x)"
        )
    print(
        f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs: timings on a busy machine are inflated"
    )


def print_table(doc_count: int, query_count: int, rows: list[Row]) -> None:
    header = ["", "p50 ms", "p99 ms", "cpu p50", "cpu p99", "mean ms"]
    cells = [header] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    print(f"\n{query_count} queries over {doc_count} articles")
    for i, line in enumerate(cells):
        print(
            "  ".join(
                cell.ljust(w) if j == 0 else cell.rjust(w)
                for j, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="search-speed-"))
    try:
        run(args.docs, args.queries, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
