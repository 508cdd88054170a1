"""Generated FAQ articles and queries for the search benchmarks: Chinese (some in
Traditional script) and English text with realistic word frequencies."""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from pydoc_data.topics import topics as pydoc_topics

import jieba
import opencc

from app.search.engine import ArticleDoc

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
    """60 % Chinese (a fifth of those in Traditional script), 40 % English; a title and
    8–30 sentences each, 1–3 tags, a category, 80 % published."""
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
    """Single words, pairs, Traditional script, 如何… questions, English words and
    phrases, typos and mixed queries such as 报表导出 Excel 失败."""
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
