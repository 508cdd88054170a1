"""Benchmark of the article index on whichever Whoosh fork is installed
(whoosh-ng or whoosh-reloaded): build time, size on disk, query latency.

Run with each fork's interpreter, e.g. `python bench/search/fork_choice.py --docs 10000`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.search.engine import ArticleIndex
from bench.search.corpus import (
    chinese_vocabulary,
    english_vocabulary,
    make_articles,
    make_queries,
    percentile,
)

PROGRESS_INTERVAL_S = 2.0


def fork_name() -> str:
    for dist in ("whoosh-ng", "whoosh-reloaded", "Whoosh"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown whoosh"


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


class Progress:
    """Prints done/total at most every PROGRESS_INTERVAL_S, one line each (log friendly)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last >= PROGRESS_INTERVAL_S or done == self.total:
            self.last = now
            pct = done * 100 // max(1, self.total)
            print(
                f"  {self.label}: {done}/{self.total} ({pct}%) {now - self.started:.1f}s",
                file=sys.stderr,
                flush=True,
            )


def run(doc_count: int, query_count: int, workdir: Path) -> dict[str, object]:
    print(f"{fork_name()}: generating {doc_count} articles", file=sys.stderr)
    zh, en = chinese_vocabulary(), english_vocabulary()
    articles = make_articles(doc_count, zh, en)
    queries = make_queries(query_count, zh, en)
    ix = ArticleIndex.open(workdir / "ix")

    started = time.perf_counter()
    ix.rebuild(articles, total=doc_count, progress=Progress("indexing", doc_count))
    build_s = time.perf_counter() - started

    ix.search("预热 warm up")  # first search loads jieba's dictionary in this process
    latencies_ms: list[float] = []
    outcomes: list[object] = []  # per query: (total, top ids) or the error, compared across forks
    progress = Progress("querying", query_count)
    for done, query in enumerate(queries, 1):
        t0 = time.perf_counter()
        try:
            results = ix.search(query)
            outcomes.append([results.total, [hit.id for hit in results.hits]])
        except Exception as error:  # a fork bug must show up in the numbers, not abort the run
            outcomes.append(f"{type(error).__name__}: {error}")
        latencies_ms.append((time.perf_counter() - t0) * 1000)
        progress(done)

    upsert_ms = []
    for article in articles[:20]:
        t0 = time.perf_counter()
        ix.upsert([article])
        upsert_ms.append((time.perf_counter() - t0) * 1000)

    errors = [o for o in outcomes if isinstance(o, str)]
    return {
        "fork": fork_name(),
        "python": sys.version.split()[0],
        "docs": ix.doc_count(),
        "build_s": round(build_s, 1),
        "docs_per_s": round(doc_count / build_s),
        "index_mb": round(directory_size(workdir / "ix") / 2**20, 1),
        "queries": query_count,
        "query_errors": len(errors),
        "first_error": errors[0] if errors else None,
        "query_p50_ms": round(percentile(latencies_ms, 50), 1),
        "query_p99_ms": round(percentile(latencies_ms, 99), 1),
        "query_mean_ms": round(statistics.fmean(latencies_ms), 1),
        "query_max_ms": round(max(latencies_ms), 1),
        "queries_with_hits": sum(1 for o in outcomes if not isinstance(o, str) and o[0]),
        "results_sha1": hashlib.sha1(json.dumps(outcomes).encode()).hexdigest()[:12],
        "upsert_one_p50_ms": round(percentile(upsert_ms, 50), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="whoosh-fork-bench-"))
    try:
        print(json.dumps(run(args.docs, args.queries, workdir), ensure_ascii=False))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
