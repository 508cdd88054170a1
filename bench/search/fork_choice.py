"""Benchmark of the article index on whichever Whoosh fork is installed
(whoosh-ng or whoosh-reloaded): build time, size on disk, query latency.

Run with each fork's interpreter, e.g. `python bench/search/fork_choice.py --docs 10000`.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from pydoc_data.topics import topics as pydoc_topics

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import jieba
import opencc

from app.search.engine import ArticleDoc, ArticleIndex

# Domain words every FAQ has; the rest of the text comes from real vocabularies
# with their real (Zipf-like) frequencies, so posting lists have realistic lengths.
ZH_DOMAIN = (
    "报表 导出 失败 权限 登录 密码 重置 账号 通知 设置 短信 用户 分群 标签 活动 "
    "优惠券 订单 退款 发票 同步 接口 审批 工单 问卷 看板 漏斗 留存 推送 模板 归档"
)
EN_DOMAIN = (
    "report export failure permission login password reset account notification "
    "settings email segment campaign coupon refund invoice sync webhook approval "
    "ticket survey dashboard funnel retention template archive excel csv timeout sso"
)
DOMAIN_SHARE = 0.12  # of the words of a text
PROGRESS_INTERVAL_S = 2.0
CATEGORIES = ("reports", "account", "notifications", "billing", "data", "campaigns")
STATUSES = ("published",) * 8 + ("draft", "archived")
TYPOS = ("permision", "notifcation", "exprt", "pasword", "dashbord", "retension", "acount")
MIXED_SUFFIXES = ("Excel", "CSV", "API", "SSO", "Plan B", "3D")


@dataclass(frozen=True)
class Vocabulary:
    words: list[str]
    cumulative_weights: list[float]
    domain: list[str]

    def sample(self, rng: random.Random, count: int) -> list[str]:
        general = rng.choices(self.words, cum_weights=self.cumulative_weights, k=count)
        return [rng.choice(self.domain) if rng.random() < DOMAIN_SHARE else w for w in general]


def _vocabulary(counts: Counter[str], domain: str, size: int) -> Vocabulary:
    words, weights = zip(*counts.most_common(size), strict=True)
    return Vocabulary(list(words), list(itertools.accumulate(weights)), domain.split())


def chinese_vocabulary(size: int = 30_000) -> Vocabulary:
    """Words of jieba's dictionary (which ships with jieba), by frequency."""
    counts: Counter[str] = Counter()
    for line in (Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8").splitlines():
        word, freq, _ = line.split(" ")
        if 2 <= len(word) <= 4 and all("\u4e00" <= c <= "\u9fff" for c in word):
            counts[word] = int(freq)
    return _vocabulary(counts, ZH_DOMAIN, size)


def english_vocabulary(size: int = 8_000) -> Vocabulary:
    """Words of the English prose bundled with CPython (pydoc topics), by frequency."""
    text = " ".join(pydoc_topics.values()).lower()
    return _vocabulary(Counter(re.findall(r"[a-z]{3,}", text)), EN_DOMAIN, size)


def zh_sentence(rng: random.Random, vocab: Vocabulary) -> str:
    words = vocab.sample(rng, rng.randint(4, 10))
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), f" {rng.choice(MIXED_SUFFIXES)} ")
    return "".join(words) + rng.choice("。，！？")


def en_sentence(rng: random.Random, vocab: Vocabulary) -> str:
    return " ".join(vocab.sample(rng, rng.randint(6, 14))).capitalize() + ". "


def make_articles(count: int, zh: Vocabulary, en: Vocabulary, seed: int = 7) -> list[ArticleDoc]:
    rng = random.Random(seed)
    to_traditional = opencc.OpenCC("s2t")
    articles = []
    for i in range(count):
        is_zh = rng.random() < 0.6
        vocab, sentence = (zh, zh_sentence) if is_zh else (en, en_sentence)
        title = sentence(rng, vocab).rstrip("。，！？. ")
        body = "".join(sentence(rng, vocab) for _ in range(rng.randint(8, 30)))
        if is_zh and rng.random() < 0.2:  # some articles are written in Traditional Chinese
            title, body = to_traditional.convert(title), to_traditional.convert(body)
        articles.append(
            ArticleDoc(
                id=i + 1,
                title=title,
                body=body,
                tags=rng.sample(vocab.domain, rng.randint(1, 3)),
                category=rng.choice(CATEGORIES),
                language="zh" if is_zh else "en",
                status=rng.choice(STATUSES),
                helpful_votes=int(rng.paretovariate(1.5)) - 1,
                views=rng.randint(0, 10_000),
            )
        )
    return articles


def make_queries(count: int, zh: Vocabulary, en: Vocabulary, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    to_traditional = opencc.OpenCC("s2t")
    makers = [
        lambda: rng.choice(zh.domain),
        lambda: "".join(zh.sample(rng, 2)),
        lambda: to_traditional.convert("".join(zh.sample(rng, 2))),
        lambda: "如何" + "".join(zh.sample(rng, 3)),
        lambda: rng.choice(en.domain),
        lambda: " ".join(en.sample(rng, 2)),
        lambda: "how to " + " ".join(en.sample(rng, 3)),
        lambda: rng.choice(TYPOS),
        lambda: f"{''.join(zh.sample(rng, 2))} {rng.choice(MIXED_SUFFIXES)} 失败",
    ]
    return [rng.choice(makers)() for _ in range(count)]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


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
