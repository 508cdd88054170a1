"""SQLite FTS5 baselines for the search benchmarks: the obvious alternative (the unicode61
tokenizer over the raw text) and a stronger one (text cut by jieba beforehand, with
Porter stemming), both ranked by FTS5's bm25 with our field weights."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable

import jieba

from app.search.engine import ArticleDoc

# The weights of our fields (title, body, tags, category), so ranking differs by tokenizer only.
BM25_WEIGHTS = "3.0, 1.0, 2.5, 1.0"
_WORDS = re.compile(r"\w+")


def _jieba_words(text: str) -> str:
    return " ".join(word for word in jieba.cut_for_search(text) if _WORDS.match(word))


class Fts5Index:
    """One in-memory FTS5 table of articles. A query is its words OR-ed together (each
    quoted, so no input is FTS5 syntax), ranked by bm25: the top `limit` with the title
    highlighted and a body snippet, and the total number of matches."""

    def __init__(self, name: str, tokenizer: str, segment: Callable[[str], str]) -> None:
        self.name = name
        self._segment = segment
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            f"title, body, tags, category, status UNINDEXED, tokenize='{tokenizer}')"
        )

    @classmethod
    def unicode61(cls) -> Fts5Index:
        return cls("FTS5 unicode61", "unicode61", lambda text: text)

    @classmethod
    def jieba(cls) -> Fts5Index:
        return cls("FTS5 jieba + porter", "porter unicode61", _jieba_words)

    def build(self, docs: Iterable[ArticleDoc]) -> int:
        segment = self._segment
        rows = [
            (
                doc.id,
                segment(doc.title),
                segment(doc.body),
                segment(" ".join(doc.tags)),
                segment(doc.category),
                doc.status,
            )
            for doc in docs
        ]
        self._db.executemany(
            "INSERT INTO docs (rowid, title, body, tags, category, status) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._db.commit()
        return len(rows)

    def match_expression(self, query: str) -> str:
        words = dict.fromkeys(_WORDS.findall(self._segment(query)))
        return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)

    def search(self, query: str, limit: int = 10) -> tuple[int, list[int]]:
        """(total, ids of the top `limit`), published articles only."""
        expression = self.match_expression(query)
        if not expression:
            return 0, []
        where = "docs MATCH ? AND status = 'published'"
        top = self._db.execute(
            "SELECT rowid, highlight(docs, 0, '<mark>', '</mark>'), "
            "snippet(docs, 1, '<mark>', '</mark>', '…', 24) "
            f"FROM docs WHERE {where} ORDER BY bm25(docs, {BM25_WEIGHTS}) LIMIT ?",
            (expression, limit),
        ).fetchall()
        total = self._db.execute(f"SELECT count(*) FROM docs WHERE {where}", (expression,))
        return int(total.fetchone()[0]), [row[0] for row in top]
