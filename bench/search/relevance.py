"""Relevance on the demo articles: MRR and recall@3 of the judged queries
(bench/search/judged.json) for our index, with and without the operators' synonym list,
and for SQLite FTS5 (unicode61, and over jieba-segmented text).

    python bench/search/relevance.py [--misses]

The table goes to stdout; --misses also lists the queries whose first relevant article
is not in an engine's top 3. See bench/search/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tqdm import tqdm

from app.search.engine import ArticleDoc, ArticleIndex
from bench.search.fts5 import Fts5Index

ROOT = Path(__file__).resolve().parents[2]
JUDGED = Path(__file__).with_name("judged.json")
DEPTH = 10  # results looked at; a relevant article further down counts as not found


@dataclass(frozen=True)
class Judged:
    query: str
    kind: str
    relevant: list[str]


def demo_articles() -> tuple[list[ArticleDoc], dict[int, str]]:
    """The published demo articles, and each one's slug by id."""
    articles = json.loads((ROOT / "seeds" / "articles.json").read_text(encoding="utf-8"))
    published = [a for a in articles if a["status"] == "published"]
    docs = [
        ArticleDoc(
            id=i,
            title=a["title"],
            body=a["body"],
            tags=a["tags"],
            category=a["category"],
            language=a["language"],
            status="published",
            helpful_votes=0,
            views=0,
        )
        for i, a in enumerate(published, 1)
    ]
    return docs, {i: a["slug"] for i, a in enumerate(published, 1)}


def reciprocal_rank(ranked: list[str], relevant: list[str]) -> float:
    return next((1 / rank for rank, slug in enumerate(ranked, 1) if slug in relevant), 0.0)


def recall_at_3(ranked: list[str], relevant: list[str]) -> float:
    return len(set(ranked[:3]) & set(relevant)) / len(relevant)


def evaluate(
    name: str, search: Callable[[str], list[str]], judged: list[Judged]
) -> dict[str, list[tuple[Judged, list[str]]]]:
    """Each query's ranked slugs, grouped by kind (and all under "all")."""
    by_kind: dict[str, list[tuple[Judged, list[str]]]] = defaultdict(list)
    for item in tqdm(judged, desc=name, unit="query", file=sys.stderr):
        ranked = search(item.query)[:DEPTH]
        by_kind["all"].append((item, ranked))
        by_kind[item.kind].append((item, ranked))
    return by_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list the queries missed")
    args = parser.parse_args()

    spec = json.loads(JUDGED.read_text(encoding="utf-8"))
    judged = [Judged(q["query"], q["kind"], q["relevant"]) for q in spec["queries"]]
    docs, slugs = demo_articles()
    known = set(slugs.values())
    for item in judged:
        assert set(item.relevant) <= known, f"not a published demo article: {item}"
    synonyms = {
        term: [other for other in group if other != term]
        for group in spec["synonyms"]
        for term in group
    }

    workdir = Path(tempfile.mkdtemp(prefix="search-relevance-"))
    try:
        index = ArticleIndex.open(workdir / "index")
        index.rebuild(docs)
        engines: dict[str, Callable[[str], list[str]]] = {
            "ours": lambda q: [slugs[h.id] for h in index.search(q, limit=DEPTH).hits],
            "ours + synonyms": lambda q: [
                slugs[h.id] for h in index.search(q, limit=DEPTH, synonyms=synonyms).hits
            ],
        }
        for baseline in (Fts5Index.unicode61(), Fts5Index.jieba()):
            baseline.build(docs)
            engines[baseline.name] = lambda q, b=baseline: [  # type: ignore[misc]
                slugs[i] for i in b.search(q, limit=DEPTH)[1]
            ]
        results = {name: evaluate(name, search, judged) for name, search in engines.items()}
        index.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    kinds = ["all", *sorted({item.kind for item in judged})]
    counts = {kind: len(results["ours"][kind]) for kind in kinds}
    print(f"\n{len(judged)} judged queries over {len(docs)} published demo articles")
    header = ["", *(f"{kind} ({counts[kind]})" for kind in kinds)]
    rows = [header]
    for name, by_kind in results.items():
        for metric, fn in (("MRR", reciprocal_rank), ("recall@3", recall_at_3)):
            rows.append(
                [f"{name}: {metric}"]
                + [
                    f"{statistics.fmean(fn(r, item.relevant) for item, r in by_kind[kind]):.3f}"
                    for kind in kinds
                ]
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))

    if args.misses:
        for name, by_kind in results.items():
            missed = [
                (item, ranked)
                for item, ranked in by_kind["all"]
                if reciprocal_rank(ranked, item.relevant) < 1 / 3
            ]
            print(f"\n{name}: first relevant article not in the top 3 for {len(missed)} queries")
            for item, ranked in missed:
                print(f"  {item.query!r} ({item.kind}): wanted {item.relevant}, got {ranked[:3]}")


if __name__ == "__main__":
    main()
