"""Whoosh full-text index of FAQ articles: schema, cross-process-safe writes, and
search with exact totals and facets, ranking, highlights and spelling suggestions."""

from __future__ import annotations

import fcntl
import heapq
import html
import itertools
import math
import multiprocessing
import os
import pickle
import re
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from whoosh import index
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, KEYWORD, TEXT, Schema
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import Term
from whoosh.reading import IndexReader
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, MERGE_SMALL, IndexWriter

from app.search.analysis import (
    STOP_WORDS,
    make_analyzer,
    match_spans,
    normalize_query_text,
    stem_latin,
)

# --- limits and ranking knobs -------------------------------------------------
# Search work grows with the number of query terms: bound the input.
MAX_QUERY_CHARS = 256
MAX_QUERY_TERMS = 32
MAX_SYNONYM_ALTERNATIVES = 8
MAX_SYNONYM_TERMS = 8  # per alternative
MAX_FUZZY_TERMS = 8
MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000

TEXT_FIELDS = ("title", "body", "tags_text", "category_text")
FUZZY_FIELDS = ("title", "body")
PHRASE_FIELDS = ("title", "body")
HIGHLIGHT_FIELDS = ("title", "body")
SCORED_FIELDS = (*TEXT_FIELDS, "tags")

BM25_B, BM25_K1 = 0.75, 1.2  # whoosh's BM25F defaults
FUZZY_WEIGHT = 0.3  # a typo neighbour scores well below the exact term
FUZZY_MIN_LENGTH = 4  # of the stemmed term; shorter words have too many neighbours
FUZZY_MAX_LENGTH = 24  # longer runs of letters are junk, not words with a typo
ALL_TERMS_BOOST = 1.0  # extra score for documents that contain every query word
PHRASE_BOOST = 2.0
TAG_MATCH_BOOST = 4.0
SYNONYM_WEIGHT = 0.8
HELPFUL_MAX_BONUS = 0.1  # helpful votes raise a score by at most 10 %
HELPFUL_SATURATION = 5.0  # log1p(votes) at which the bonus is full (~147 votes)
MAX_HELPFUL_VOTES = 2**32 - 1  # the column is an unsigned 32-bit int

MAX_HIGHLIGHT_FRAGMENTS = 2
FRAGMENT_CHARS = 160
FRAGMENT_CONTEXT = 40  # chars shown before and after the matches of a passage
HIGHLIGHT_MAX_CHARS = 20_000
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
SUGGESTION_SOURCES = 3  # articles read to find how a corrected stem is written

LOCK_FILE = "opsgraph-write.lock"
WATERMARK_FILE = "opsgraph-watermark"
OPEN_RETRIES = 8
OPEN_RETRY_DELAY_S = 0.02
WRITER_LOCK_TIMEOUT_S = 30.0
# Postings kept in memory before whoosh sorts them through temporary files: a rebuild
# of 10,000 articles fits, and spilling cost about a sixth of its time.
WRITER_LIMIT_MB = 512
PROGRESS_EVERY_DEFAULT = 500
# Below this many articles, starting analysis worker processes costs more than they save.
PARALLEL_ANALYSIS_FROM = 2000
ANALYSIS_BATCH = 100
MAX_IDLE_SEARCHERS = 8
VERSION_CACHE_ENTRIES = 4096  # typo neighbours, term lists and filter sets per index version

_LATIN_WORD = re.compile(r"[a-z]{3,}")  # words the spelling corrector may fix
_FUZZABLE = re.compile(r"[a-z]+")
# Stateless, so one instance serves every thread.
_ANALYZER = make_analyzer()

T = TypeVar("T")


# --- public data types --------------------------------------------------------
@dataclass(frozen=True)
class ArticleDoc:
    id: int
    title: str
    body: str
    tags: list[str]
    category: str
    language: str  # 'zh' | 'en'
    status: str  # 'draft' | 'in_review' | 'published' | 'archived'
    helpful_votes: int
    views: int


@dataclass(frozen=True)
class SearchHit:
    id: int
    score: float
    # (field, fragment): fragment text is HTML-escaped, matches wrapped in <mark>.
    highlights: list[tuple[str, str]]


@dataclass(frozen=True)
class SearchResults:
    total: int
    hits: list[SearchHit]
    # Counted over every matching document, not only the returned page.
    tag_counts: dict[str, int] = field(default_factory=dict)
    category_counts: dict[str, int] = field(default_factory=dict)
    suggestion: str | None = None
    # Changes this answer could not see: above 0 only while the index cannot be written
    # (set by app/search/sync.py, which answers from the index as it is meanwhile).
    behind: int = 0


# --- schema -------------------------------------------------------------------
WordValues = list[tuple[str, int, float, bytes]]  # whoosh's (word, freq, weight, value)


class _Prepared(str):
    """Field text that comes with its word values, computed by a rebuild's analysis worker."""

    word_values: WordValues

    @classmethod
    def of(cls, text: str, word_values: WordValues) -> _Prepared:
        prepared = cls(text)
        prepared.word_values = word_values
        return prepared


class DotSafePositions(Positions):
    """Positions whose encoding never ends in b".".

    whoosh-ng 5.4.0 decodes any positions value ending in b"." as a legacy
    pickle, so a term whose last position delta is 46 makes phrase queries
    raise UnpicklingError. Its decoder ignores a trailing pad byte.
    """

    def encode(self, poslist: list[int]) -> bytes:
        value = super().encode(poslist)
        return value + b"\x00" if value.endswith(b".") else value


class _TakesPrepared:
    """Mixed into a whoosh Format: word values that come with the text (a _Prepared
    value) are taken as they are."""

    def word_values(self, value: str, analyzer: Any, **kwargs: Any) -> Iterator[Any]:
        prepared = getattr(value, "word_values", None)
        if prepared is not None:
            return iter(prepared)
        return super().word_values(value, analyzer, **kwargs)  # type: ignore[misc, no-any-return]


class ArticlePositions(_TakesPrepared, Positions):
    pass


class DotSafeArticlePositions(_TakesPrepared, DotSafePositions):
    pass


def _positions_roundtrip() -> bool:
    probe = Positions()
    try:
        return probe.decode_positions(probe.encode([46])) == [46]
    except pickle.UnpicklingError:
        return False


# Only the fork with the bug gets the shim (whoosh-reloaded's format is sound).
_POSITIONS_FORMAT = ArticlePositions if _positions_roundtrip() else DotSafeArticlePositions


def _text(analyzer: CompositeAnalyzer, field_boost: float = 1.0, **kwargs: object) -> TEXT:
    field_type = TEXT(analyzer=analyzer, field_boost=field_boost, **kwargs)
    field_type.format = _POSITIONS_FORMAT(field_boost=field_boost)
    return field_type


def build_schema() -> Schema:
    analyzer = make_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=_text(analyzer, stored=True, field_boost=3.0),
        body=_text(analyzer, stored=True, field_boost=1.0),
        tags_text=_text(analyzer, field_boost=2.5),
        category_text=_text(analyzer, field_boost=1.0),
        # sortable: per-document columns of the comma-joined tags and of the category,
        # which facets read
        tags=KEYWORD(commas=True, scorable=True, sortable=True),
        category=ID(sortable=True),
        language=ID(),
        status=ID(),
        # Read for ranking, never searched: a column, not an indexed field.
        helpful=COLUMN(NumericColumn("I")),
    )


def tag_key(tag: str) -> str:
    """The indexed form of a tag: filters, facets and tag matching all use it."""
    return " ".join(normalize_query_text(tag).replace(",", " ").lower().split())


def query_key(query: str) -> str:
    """A query as search analytics count it: NFKC, Simplified script, lowercase, single
    spaces, at most MAX_QUERY_CHARS (so 報表導出 and 报表导出 count as one query)."""
    return " ".join(_bounded_query_text(query).lower().split())[:MAX_QUERY_CHARS]


def _texts(doc: ArticleDoc) -> dict[str, str]:
    """The values of the analysed fields."""
    return {
        "title": doc.title,
        "body": doc.body,
        "tags_text": "\n".join(doc.tags),
        "category_text": doc.category,
    }


def _document_fields(
    doc: ArticleDoc, prepared: dict[str, WordValues] | None = None
) -> dict[str, object]:
    tags = [key for key in (tag_key(t) for t in doc.tags) if key]
    texts = _texts(doc)
    fields: dict[str, object] = {
        "id": str(doc.id),
        **texts,
        "language": doc.language,
        "status": doc.status,
        "helpful": min(max(0, doc.helpful_votes), MAX_HELPFUL_VOTES),
    }
    if prepared is not None:
        for name, word_values in prepared.items():
            fields[name] = _Prepared.of(texts[name], word_values)
        # Stored as plain text (whoosh would pickle the _Prepared object).
        fields["_stored_title"], fields["_stored_body"] = doc.title, doc.body
    if tags:
        fields["tags"] = ",".join(tags)
    if doc.category:
        fields["category"] = doc.category
    return fields


@lru_cache(maxsize=1)
def _analysed_fields() -> dict[str, Any]:
    schema = build_schema()
    return {name: schema[name] for name in TEXT_FIELDS}


def _prepare(docs: list[ArticleDoc]) -> list[dict[str, WordValues]]:
    """The analysis of a batch of documents, in an analysis worker process."""
    fields = _analysed_fields()
    return [
        {
            name: list(fields[name].format.word_values(text, fields[name].analyzer, mode="index"))
            for name, text in _texts(doc).items()
        }
        for doc in docs
    ]


def _with_analysis(
    docs: Iterable[ArticleDoc], total: int | None
) -> Iterator[tuple[ArticleDoc, dict[str, WordValues] | None]]:
    """The documents, analysed by worker processes when there are enough of them: a
    rebuild's jieba and tokenizing then run beside whoosh's writing, on other cores.
    The workers are spawned, so the program's main module must be safe to import (guarded
    by `if __name__ == "__main__"`), as the CLI, uvicorn and pytest are."""
    # As many workers as cores: while they analyse, writing takes the main process
    # a fraction of a core.
    workers = os.cpu_count() or 1
    if total is None or total < PARALLEL_ANALYSIS_FROM or workers < 2:
        for doc in docs:
            yield doc, None
        return
    # spawn, not fork: a server rebuilds from a worker thread, and forking a threaded
    # process can copy a held lock into the child.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque[tuple[list[ArticleDoc], Future[list[dict[str, WordValues]]]]] = deque()
        iterator = iter(docs)
        while batch := list(itertools.islice(iterator, ANALYSIS_BATCH)):
            pending.append((batch, pool.submit(_prepare, batch)))
            if len(pending) > 2 * workers:  # bounded: the workers stay busy, memory does not grow
                done, future = pending.popleft()
                yield from zip(done, future.result(), strict=True)
        for done, future in pending:
            yield from zip(done, future.result(), strict=True)


# --- ranking ------------------------------------------------------------------
def helpful_factor(votes: int) -> float:
    """Bounded multiplier in [1, 1 + HELPFUL_MAX_BONUS]: log-scaled so a few
    votes matter and hundreds cannot bury a better text match."""
    saturation = min(1.0, math.log1p(max(0, votes)) / HELPFUL_SATURATION)
    return 1.0 + HELPFUL_MAX_BONUS * saturation


# --- query building -----------------------------------------------------------
@dataclass(frozen=True)
class _AnalyzedText:
    """Query text as analyzer tokens grouped by position: a jieba word and
    its sub-words form one group, its first entry being the word itself."""

    groups: list[list[str]]

    @property
    def words(self) -> list[str]:
        return [group[0] for group in self.groups]


def _analyze(text: str, term_budget: int) -> _AnalyzedText:
    by_pos: dict[int, list[str]] = {}
    seen: set[str] = set()
    for token in _ANALYZER(text, positions=True, mode="query"):
        if len(seen) >= term_budget:
            break
        if token.text in seen:
            continue
        seen.add(token.text)
        by_pos.setdefault(token.pos, []).append(token.text)
    # The analyzer emits sub-words before their word: put the word first.
    return _AnalyzedText([group[::-1] for group in by_pos.values()])


def _is_fuzzable(term: str) -> bool:
    return (
        FUZZY_MIN_LENGTH <= len(term) <= FUZZY_MAX_LENGTH and _FUZZABLE.fullmatch(term) is not None
    )


@dataclass(frozen=True)
class _Term:
    text: str  # an index term (analysed)
    fuzzy: bool  # also matches the index terms one typo away, at FUZZY_WEIGHT


@dataclass(frozen=True)
class _Plan:
    """What a query looks for; user input is never parsed as Whoosh query syntax.

    A document matches when it matches any group (through any of its terms, in any
    text field), carries the query as a tag, or matches every group of a synonym
    alternative. Its score adds up BM25 over all of these, with extra weight for
    containing every group and for the query as a phrase in the title or body.
    """

    text: str  # the bounded, normalised query
    groups: list[list[_Term]]  # per query word: the word, then its jieba sub-words
    words: list[str]  # the query as a phrase: the first term of each group
    alternatives: list[list[list[_Term]]]  # synonym alternatives, as groups

    def terms(self) -> Iterator[_Term]:
        for groups in (self.groups, *self.alternatives):
            for group in groups:
                yield from group


def _plan(text: str, synonyms: Mapping[str, Sequence[str]] | None) -> _Plan | None:
    analyzed = _analyze(text, MAX_QUERY_TERMS)
    if not analyzed.groups:
        return None
    fuzzy_budget = MAX_FUZZY_TERMS

    def terms(group: list[str]) -> list[_Term]:
        nonlocal fuzzy_budget
        out = []
        for term in group:
            fuzzy = fuzzy_budget > 0 and _is_fuzzable(term)
            fuzzy_budget -= fuzzy
            out.append(_Term(term, fuzzy))
        return out

    groups = [terms(group) for group in analyzed.groups]
    alternatives = []
    for alternative in _synonym_alternatives(text, synonyms):
        analyzed_alternative = _analyze(alternative, MAX_SYNONYM_TERMS)
        if analyzed_alternative.groups:
            alternatives.append([terms(group) for group in analyzed_alternative.groups])
    return _Plan(text, groups, analyzed.words, alternatives)


def _synonym_alternatives(text: str, synonyms: Mapping[str, Sequence[str]] | None) -> list[str]:
    """Alternatives of every synonym key found in the query.

    Keys match as substrings of the normalized, lowercased query (CJK has no
    word boundaries, and jieba may cut a key like 导不出来 oddly); latin keys
    must sit on word boundaries.
    """
    if not synonyms:
        return []
    haystack = text.lower()
    found: list[str] = []
    for key, alternatives in synonyms.items():
        pattern = _synonym_pattern(key)
        if pattern is not None and pattern.search(haystack):
            found += [a for a in alternatives if a.strip()]
    return found[:MAX_SYNONYM_ALTERNATIVES]


@lru_cache(maxsize=20_000)
def _synonym_pattern(key: str) -> re.Pattern[str] | None:
    # Cached: every search tries every key of the operators' list.
    needle = normalize_query_text(key).lower().strip()
    return re.compile(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])") if needle else None


def _bounded_query_text(query: str) -> str:
    # Cut before normalising too (NFKC may expand text, never by 4x in practice).
    return normalize_query_text(query[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS]


# --- highlighting -------------------------------------------------------------
Span = tuple[int, int]


def highlight_fragments(text: str, terms: frozenset[str], fieldname: str) -> list[str]:
    """Up to MAX_HIGHLIGHT_FRAGMENTS marked fragments of a stored field, in text order:
    titles and short bodies whole, long bodies as the passages with the most matches.
    Matches past HIGHLIGHT_MAX_CHARS are not looked for."""
    if not terms or not text:
        return []
    spans = match_spans(text[:HIGHLIGHT_MAX_CHARS], terms)
    if not spans:
        return []
    if fieldname == "title" or len(text) <= FRAGMENT_CHARS:
        return [_mark(text, 0, len(text), spans)]
    passages = _passages(text, spans)
    best = heapq.nlargest(MAX_HIGHLIGHT_FRAGMENTS, passages, key=lambda p: len(p[2]))
    return [_mark(text, start, end, matches) for start, end, matches in sorted(best)]


def _passages(text: str, spans: list[Span]) -> list[tuple[int, int, list[Span]]]:
    """Consecutive matches that fit in FRAGMENT_CHARS, each group with up to
    FRAGMENT_CONTEXT chars of text around it, not cutting latin words."""
    passages = []
    i = 0
    while i < len(spans):
        group = [spans[i]]
        i += 1
        while i < len(spans) and spans[i][1] - group[0][0] <= FRAGMENT_CHARS - FRAGMENT_CONTEXT:
            group.append(spans[i])
            i += 1
        first, last = group[0][0], max(end for _, end in group)
        start = max(0, first - FRAGMENT_CONTEXT)
        end = min(len(text), last + FRAGMENT_CONTEXT, start + FRAGMENT_CHARS)
        while start < first and _inside_word(text, start):
            start += 1
        while end > last and _inside_word(text, end):
            end -= 1
        passages.append((start, max(end, last), group))
    return passages


def _inside_word(text: str, at: int) -> bool:
    """Whether a cut at `at` would split a latin word (CJK text can be cut anywhere)."""
    before, after = text[at - 1 : at], text[at : at + 1]
    return before.isascii() and after.isascii() and before.isalnum() and after.isalnum()


def _mark(text: str, start: int, end: int, spans: list[Span]) -> str:
    """text[start:end], HTML-escaped, with the spans in <mark>. Search-mode segmentation
    yields overlapping tokens (报表导出, 报表, 导出), so spans are merged first."""
    merged: list[list[int]] = []
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if merged and span_start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span_end)
        elif span_start < span_end:
            merged.append([span_start, span_end])
    out, at = [], start
    for span_start, span_end in merged:
        out.append(html.escape(text[at:span_start]))
        out.append(MARK_OPEN + html.escape(text[span_start:span_end]) + MARK_CLOSE)
        at = span_end
    out.append(html.escape(text[at:end]))
    return "".join(out)


# --- one version of the index, as searches read it ----------------------------
@dataclass(frozen=True)
class _Segment:
    """What ranking and facets read of each document of a segment, read once: the
    documents of a segment never change (its deletions do, and postings skip those)."""

    size: int  # documents, deleted ones included
    lengths: dict[str, list[int]]  # per scored field, as BM25 sees them
    helpful: list[float]  # helpful_factor of the votes
    tags: list[tuple[str, ...]]  # tag keys
    categories: list[str]

    @classmethod
    def read(cls, reader: IndexReader) -> _Segment:
        docs = range(reader.doc_count_all())
        return cls(
            size=len(docs),
            lengths={
                name: [reader.doc_field_length(doc, name, 1) for doc in docs]
                for name in SCORED_FIELDS
            },
            helpful=[helpful_factor(votes) for votes in _column(reader, "helpful", 0)],
            tags=[tuple(filter(None, joined.split(","))) for joined in _column(reader, "tags", "")],
            categories=_column(reader, "category", ""),
        )


def _column(reader: IndexReader, name: str, default: T) -> list[T]:
    if reader.has_column(name):
        return list(reader.column_reader(name))
    return [default] * reader.doc_count_all()


def _segment_key(reader: IndexReader) -> tuple[object, ...]:
    """What identifies a segment's documents: its id, and its size and field lengths too,
    since whoosh draws ids from the global `random`, which test frameworks reseed."""
    if not reader.doc_count_all():  # an empty index has a reader without segments
        return ()
    lengths = (reader.field_length(name) for name in SCORED_FIELDS)
    return (reader.segment().segment_id(), reader.doc_count_all(), *lengths)


def _add(into: dict[int, float], scores: dict[int, float], weight: float = 1.0) -> None:
    """into += weight * scores, per document. Most documents are in one of the two
    only, so the dicts are merged in C and the shared documents fixed up after."""
    if weight != 1.0:
        scores = {doc: weight * score for doc, score in scores.items()}
    shared = {doc: into[doc] + scores[doc] for doc in into.keys() & scores.keys()}
    into.update(scores)
    into.update(shared)


def _posting_blocks(
    reader: IndexReader, name: str, text: str
) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """A term's postings in a segment as (documents, weights) blocks, deleted documents
    left out. Whole blocks of whoosh's W3 postings are read at once: going through the
    matcher API costs as much per posting as scoring it. The attributes read are those
    of whoosh-ng 5.4.0's W3LeafMatcher (and of Whoosh 2.7's); any other matcher is read
    one posting at a time."""
    matcher = reader.postings(name, text)
    # Over a segment with deletions, a FilterMatcher wraps the leaf; its child then
    # stands at the first live posting.
    leaf = matcher.child if isinstance(matcher, FilterMatcher) else matcher
    if type(leaf) is not W3LeafMatcher:
        while matcher.is_active():
            yield (matcher.id(),), (matcher.weight(),)
            matcher.next()
        return
    deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
    while leaf.is_active():
        leaf.id(), leaf.weight()  # load the block's ids and weights
        docs, weights = leaf._ids[leaf._i :], leaf._weights[leaf._i :]
        if deleted:
            live = [i for i, doc in enumerate(docs) if doc not in deleted]
            docs, weights = [docs[i] for i in live], [weights[i] for i in live]
        yield docs, weights
        leaf._next_block()


class _Version:
    """One version of the index (a searcher) with its segments' data and caches.

    Scoring is term at a time: each term's postings are read once into per-document
    BM25 scores (whoosh's own BM25F, computed without a matcher tree), and clauses
    combine them with dict and set operations. Every match is scored, so the total,
    the facets and the order of any page are exact. Used by one thread at a time.
    """

    def __init__(
        self, searcher: Searcher, key: object, segments: dict[tuple[object, ...], _Segment]
    ) -> None:
        self.searcher = searcher
        self.key = key  # equal keys: the same files on disk (None: never reused)
        self.reader = searcher.reader()
        self._leaves: list[tuple[Searcher, int, _Segment]] = []
        self.segment_keys: set[tuple[object, ...]] = set()
        for leaf, offset in searcher.leaf_searchers():
            segment_key = _segment_key(leaf.reader())
            segment = segments.get(segment_key)
            if segment is None:
                segment = segments[segment_key] = _Segment.read(leaf.reader())
            self._leaves.append((leaf, offset, segment))
            self.segment_keys.add(segment_key)
        self.helpful = [f for _, _, segment in self._leaves for f in segment.helpful]
        self.tags = [t for _, _, segment in self._leaves for t in segment.tags]
        self.categories = [c for _, _, segment in self._leaves for c in segment.categories]
        self._cache: dict[tuple[str, str, str], Any] = {}
        self._memo: dict[tuple[str, str], dict[int, float]] = {}

    def close(self) -> None:
        self.searcher.close()

    def _cached(self, key: tuple[str, str, str], compute: Callable[[], T]) -> T:
        if key not in self._cache:
            if len(self._cache) >= VERSION_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = compute()
        return self._cache[key]  # type: ignore[no-any-return]

    # --- matching and scoring ---
    def score(self, plan: _Plan) -> dict[int, float]:
        """Scores of every matching document, before the helpful-votes factor."""
        self._memo = {}  # term scores of this search: the phrase reuses its words'
        groups = [self._group_scores(group) for group in plan.groups]
        scores: dict[int, float] = {}
        for group in groups:
            _add(scores, group)
        if len(groups) > 1:
            # Here a document's score is the sum over its groups: counted twice for
            # documents containing every word, which rank above partial matches.
            for doc in set(groups[0]).intersection(*groups[1:]):
                scores[doc] *= 1 + ALL_TERMS_BOOST
            for name in PHRASE_FIELDS:
                _add(scores, self._phrase_scores(name, plan.words), PHRASE_BOOST)
        _add(scores, self._term_scores("tags", tag_key(plan.text)), TAG_MATCH_BOOST)
        for alternative in plan.alternatives:
            alt_groups = [self._group_scores(group) for group in alternative]
            for doc in set(alt_groups[0]).intersection(*alt_groups[1:]):
                bonus = SYNONYM_WEIGHT * sum(group[doc] for group in alt_groups)
                scores[doc] = scores.get(doc, 0.0) + bonus
        return scores

    def _group_scores(self, group: list[_Term]) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term in group:
            for name in TEXT_FIELDS:
                _add(scores, self._term_scores(name, term.text))
            for name in FUZZY_FIELDS if term.fuzzy else ():
                for neighbour in self._neighbours(name, term.text):
                    _add(scores, self._term_scores(name, neighbour), FUZZY_WEIGHT)
        return scores

    def _term_scores(self, name: str, text: str) -> dict[int, float]:
        """BM25 of one index term per document, as whoosh's BM25F scores a Term query."""
        scores = self._memo.get((name, text))
        if scores is None:
            scores = self._memo[name, text] = self._read_scores(name, text)
        return scores

    def _read_scores(self, name: str, text: str) -> dict[int, float]:
        scores: dict[int, float] = {}
        if (name, text) not in self.reader:
            return scores
        # whoosh's bm25(idf, weight, length, average, B, K1), its terms hoisted out of
        # the loop over postings.
        idf_k1_plus_1 = self.searcher.idf(name, text) * (BM25_K1 + 1)
        base = BM25_K1 * (1 - BM25_B)
        per_length = BM25_K1 * BM25_B / (self.searcher.avg_field_length(name) or 1)
        for leaf, offset, segment in self._leaves:
            reader = leaf.reader()
            if (name, text) not in reader:
                continue
            lengths = segment.lengths[name]
            for docs, weights in _posting_blocks(reader, name, text):
                for doc, weight in zip(docs, weights, strict=True):
                    scores[offset + doc] = (
                        idf_k1_plus_1 * weight / (weight + base + per_length * lengths[doc])
                    )
        return scores

    def _phrase_scores(self, name: str, words: list[str]) -> dict[int, float]:
        """The sum of the words' scores (as whoosh scores a Phrase query) for each
        document where the words stand one after another."""
        per_word = [self._term_scores(name, word) for word in words]
        candidates = set(per_word[0]).intersection(*per_word[1:])
        return {
            doc: sum(scores[doc] for scores in per_word)
            for doc in self._phrase_docs(name, words, candidates)
        }

    def _phrase_docs(self, name: str, words: list[str], candidates: set[int]) -> Iterator[int]:
        for leaf, offset, segment in self._leaves:
            reader = leaf.reader()
            docs = sorted(d - offset for d in candidates if 0 <= d - offset < segment.size)
            if not docs:
                continue
            postings = [reader.postings(name, word) for word in words]
            for doc in docs:
                # Where the phrase could start, given each word's positions so far.
                starts: set[int] | None = None
                for i, matcher in enumerate(postings):
                    matcher.skip_to(doc)  # present: doc has every word
                    at = {p - i for p in matcher.value_as("positions")}
                    starts = at if starts is None else starts & at
                    if not starts:
                        break
                if starts:
                    yield offset + doc

    def _neighbours(self, name: str, text: str) -> list[str]:
        """Index terms one typo away from text: a letter missing, extra, wrong or swapped
        with the next one, the first letter kept. (Whoosh's FuzzyTerm walks the whole
        term dictionary with an automaton: 1.4 ms per term and field at 10,000 articles,
        and it misses swapped letters.)"""

        def expand() -> list[str]:
            by_length = self._cached(
                ("vocabulary", name, text[0]), lambda: self._words(name, text[0])
            )
            return [
                term
                for length in (len(text) - 1, len(text), len(text) + 1)
                for term in by_length.get(length, ())
                if _one_typo_apart(text, term)
            ]

        return self._cached(("neighbours", name, text), expand)

    def _words(self, name: str, initial: str) -> dict[int, list[str]]:
        """The field's index terms that start with `initial`, by length."""
        by_length: dict[int, list[str]] = {}
        for term in self.reader.expand_prefix(name, initial):
            word = _decoded(term)
            by_length.setdefault(len(word), []).append(word)
        return by_length

    def highlight_terms(self, plan: _Plan) -> frozenset[str]:
        """The index terms the plan matches in titles and bodies, typo neighbours included."""
        terms: set[str] = set()
        for term in plan.terms():
            terms.add(term.text)
            for name in FUZZY_FIELDS if term.fuzzy else ():
                terms.update(self._neighbours(name, term.text))
        return frozenset(terms)

    # --- filters and facets ---
    def allowed(
        self,
        statuses: Sequence[str] | None,
        tags: Sequence[str] | None,
        category: str | None,
        language: str | None,
    ) -> frozenset[int] | None:
        """The documents the filters let through; None when there is no filter."""
        sets: list[frozenset[int]] = []
        if statuses is not None:
            sets.append(frozenset().union(*(self._docs("status", s) for s in statuses)))
        sets += [self._docs("tags", tag_key(tag)) for tag in tags or ()]
        if category is not None:
            sets.append(self._docs("category", category))
        if language is not None:
            sets.append(self._docs("language", language))
        return sets[0].intersection(*sets[1:]) if sets else None

    def _docs(self, name: str, text: str) -> frozenset[int]:
        return self._cached(
            ("docs", name, text),
            lambda: frozenset(self.searcher.docs_for_query(Term(name, text))),
        )

    def tag_counts(self, docs: Iterable[int]) -> dict[str, int]:
        return dict(Counter(itertools.chain.from_iterable(map(self.tags.__getitem__, docs))))

    def category_counts(self, docs: Iterable[int]) -> dict[str, int]:
        counts = Counter(map(self.categories.__getitem__, docs))
        counts.pop("", None)
        return dict(counts)

    # --- hits and suggestions ---
    def hit(self, doc: int, score: float, terms: frozenset[str]) -> SearchHit:
        stored = self.searcher.stored_fields(doc)
        highlights = [
            (name, fragment)
            for name in HIGHLIGHT_FIELDS
            for fragment in highlight_fragments(stored.get(name, ""), terms, name)
        ]
        return SearchHit(id=int(stored["id"]), score=score, highlights=highlights)

    def suggest(self, text: str, total: int) -> str | None:
        """The query with its unknown English words replaced by the closest (then most
        frequent) word of the titles and bodies; None when nothing changes."""
        lowered = text.lower()
        unknown = {
            word
            for word in _LATIN_WORD.findall(lowered)
            if len(word) <= FUZZY_MAX_LENGTH
            and word not in STOP_WORDS  # known words the index leaves out
            and not self._known(stem_latin(word))
        }
        if not unknown and total > 0:
            return None
        fixes = {word: fix for word in unknown if (fix := self._correction(word))}
        if not fixes:
            return None
        return _LATIN_WORD.sub(lambda m: fixes.get(m.group(), m.group()), lowered)

    def _known(self, term: str) -> bool:
        return any((name, term) in self.reader for name in FUZZY_FIELDS)

    def _correction(self, word: str) -> str | None:
        """The index holds stems: correct the word's stem, then write it out the way
        the articles do."""
        stem = stem_latin(word)
        candidates = {c for name in FUZZY_FIELDS for c in self._neighbours(name, stem)}
        if not candidates:  # two typos: whoosh's automaton, as that is rarer
            candidates = {
                candidate
                for name in FUZZY_FIELDS
                for candidate in self.searcher.corrector(name).suggest(
                    stem, limit=1, maxdist=2, prefix=1
                )
            }
        if not candidates:
            return None
        return self._written(max(candidates, key=lambda c: (self._frequency(c), c)))

    def _frequency(self, term: str) -> int:
        return sum(self.reader.doc_frequency(name, term) for name in FUZZY_FIELDS)

    def _written(self, stem: str) -> str | None:
        """The shortest word with this stem in a few of the articles that contain it."""
        forms: set[str] = set()
        for name in FUZZY_FIELDS:
            docs = self.searcher.docs_for_query(Term(name, stem))
            for doc in itertools.islice(docs, SUGGESTION_SOURCES):
                text = self.searcher.stored_fields(doc).get(name, "").lower()
                forms.update(w for w in _LATIN_WORD.findall(text) if stem_latin(w) == stem)
        return min(forms, key=lambda form: (len(form), form)) if forms else None


def _one_typo_apart(a: str, b: str) -> bool:
    """Whether b is a with one letter deleted, inserted, replaced, or swapped with the
    next (Damerau-Levenshtein distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    i = len(os.path.commonprefix([a, b]))
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :] or (
            a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1]
        )
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i:]


def _decoded(term: str | bytes) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term


# --- the index ----------------------------------------------------------------
def _retrying(open_fn: Callable[[], T]) -> T:
    """Opening races a concurrent commit that deletes the TOC/segment files it
    just listed (seen as a missing _MAIN_N.toc): retry briefly."""
    for attempt in range(OPEN_RETRIES):
        try:
            return open_fn()
        except (FileNotFoundError, index.EmptyIndexError):
            if attempt == OPEN_RETRIES - 1:
                raise
            time.sleep(OPEN_RETRY_DELAY_S * (attempt + 1))
    raise AssertionError("unreachable")


class ArticleIndex:
    """A Whoosh index directory shared by any number of threads and processes.

    Writes are serialised across processes by an flock on a file in the index
    directory (so they wait instead of raising whoosh's LockError). Every search
    reads the latest commit of any process: it takes a pooled searcher only when
    the directory still holds the version that searcher opened (opening one and
    reading its segments' columns costs more than most searches).
    """

    def __init__(self, path: Path, ix: index.Index) -> None:
        self.path = path
        self._ix = ix
        self._lock = threading.Lock()
        self._idle: list[_Version] = []
        self._segments: dict[tuple[object, ...], _Segment] = {}
        self._closed = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ArticleIndex:
        """Open the index at path, creating it (and the directory) if absent."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        with _flock(directory / LOCK_FILE):
            if not index.exists_in(str(directory)):
                index.create_in(str(directory), build_schema())
        return cls(directory, _retrying(lambda: index.open_dir(str(directory))))

    # --- writes ---
    @contextmanager
    def _writer(self, watermark: int | None, *, replace_all: bool = False) -> Iterator[IndexWriter]:
        with _flock(self.path / LOCK_FILE):
            # whoosh's writer takes its lock, then creates files: when the directory
            # refuses them, it raises without releasing the lock, and every later writer
            # in this process waits for it in vain. A file created first fails early.
            with tempfile.TemporaryFile(dir=self.path):
                pass
            writer = self._ix.writer(timeout=WRITER_LOCK_TIMEOUT_S, limitmb=WRITER_LIMIT_MB)
            if replace_all:
                # The new generation carries the schema of this code, so a
                # rebuild also migrates an index written by an older version.
                writer.schema = build_schema()
            try:
                yield writer
                writer.commit(mergetype=CLEAR if replace_all else MERGE_SMALL)
            except BaseException:
                # A failed commit keeps whoosh's write lock until cancelled: every later
                # writer of this process would wait WRITER_LOCK_TIMEOUT_S, then fail.
                with suppress(Exception):
                    writer.cancel()
                raise
            # After the commit: a crash in between leaves the watermark behind
            # the index, and replaying the outbox from there is idempotent.
            if watermark is not None:
                self._write_watermark(watermark)

    def rebuild(
        self,
        docs: Iterable[ArticleDoc],
        total: int | None = None,
        progress: Callable[[int], None] | None = None,
        *,
        watermark: int | None = None,
    ) -> int:
        """Replace the whole index with docs in one commit; readers keep seeing
        the old index until it lands. progress(n) is called about every 1 % of
        total (or every 500 docs) and at the end. Returns the number indexed."""
        every = max(1, total // 100) if total else PROGRESS_EVERY_DEFAULT
        count = 0
        with self._writer(watermark, replace_all=True) as writer:
            for doc, prepared in _with_analysis(docs, total):
                writer.add_document(**_document_fields(doc, prepared))
                count += 1
                if progress and count % every == 0:
                    progress(count)
        if progress:
            progress(count)
        return count

    def upsert(self, docs: Iterable[ArticleDoc], *, watermark: int | None = None) -> None:
        with self._writer(watermark) as writer:
            for doc in docs:
                writer.update_document(**_document_fields(doc))

    def delete(self, ids: Iterable[int], *, watermark: int | None = None) -> None:
        with self._writer(watermark) as writer:
            for doc_id in ids:
                writer.delete_by_term("id", str(doc_id))

    # --- watermark ---
    def get_watermark(self) -> int:
        """The last outbox sequence applied to this index (0 if none)."""
        try:
            return int((self.path / WATERMARK_FILE).read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def set_watermark(self, n: int) -> None:
        """Last write wins: the caller applies the outbox in order."""
        with _flock(self.path / LOCK_FILE):
            self._write_watermark(n)

    def _write_watermark(self, n: int) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".watermark-")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(str(int(n)))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / WATERMARK_FILE)
        except BaseException:
            os.unlink(tmp)
            raise

    # --- reads ---
    def _disk_version(self) -> tuple[int, int, int] | None:
        """The latest commit on disk: its generation and its TOC file's identity (a
        directory deleted and rebuilt may reach the same generation again)."""
        generation = self._ix.latest_generation()
        try:
            toc = os.stat(self.path / f"_{self._ix.indexname}_{generation}.toc")
        except FileNotFoundError:
            return None
        return generation, toc.st_ino, toc.st_mtime_ns

    @contextmanager
    def _version(self) -> Iterator[_Version]:
        disk = self._disk_version()
        with self._lock:
            fresh = [v for v in self._idle if disk is not None and v.key == disk]
            stale = [v for v in self._idle if v not in fresh]
            version = fresh.pop() if fresh else None
            self._idle = fresh
        for old in stale:
            old.close()
        if version is None:
            version = self._open_version(disk)
        try:
            yield version
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < MAX_IDLE_SEARCHERS
                if keep:
                    self._idle.append(version)
            if not keep:
                version.close()

    def _open_version(self, disk: tuple[int, int, int] | None) -> _Version:
        searcher = _retrying(lambda: self._ix.searcher())
        # A commit may have landed between the look at the disk and the opening.
        key = disk if disk is not None and searcher.reader().generation() == disk[0] else None
        try:
            version = _Version(searcher, key, self._segments)
        except BaseException:
            searcher.close()
            raise
        with self._lock:
            for segment_key in self._segments.keys() - version.segment_keys:
                del self._segments[segment_key]
        return version

    def close(self) -> None:
        """Closes the pooled searchers; a search still running closes its own."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for version in idle:
            version.close()

    def doc_count(self) -> int:
        with self._version() as version:
            return int(version.searcher.doc_count())

    def check(self) -> int:
        """Health check: opens a new searcher on the latest commit (a pooled one keeps
        files open, and could hide damaged ones); returns the doc count or raises."""
        searcher = _retrying(lambda: self._ix.searcher())
        try:
            return int(searcher.doc_count())
        finally:
            searcher.close()

    def search(
        self,
        query: str,
        *,
        statuses: Sequence[str] | None = ("published",),
        tags: Sequence[str] | None = None,
        category: str | None = None,
        language: str | None = None,
        limit: int = 10,
        offset: int = 0,
        synonyms: Mapping[str, Sequence[str]] | None = None,
    ) -> SearchResults:
        """Plain-text search: no query syntax, every input is just words.

        statuses=None means any status; all given tags must be present;
        synonyms maps a normalised term or phrase to alternative phrases.
        limit is clamped to 1..MAX_PAGE_SIZE and offset to 0..MAX_OFFSET.
        total and the facet counts cover every match, not only the page.
        """
        plan = _plan(_bounded_query_text(query), synonyms)
        if plan is None:
            return SearchResults(total=0, hits=[])
        limit = min(max(1, limit), MAX_PAGE_SIZE)
        offset = min(max(0, offset), MAX_OFFSET)
        with self._version() as version:
            scores = version.score(plan)
            allowed = version.allowed(statuses, tags, category, language)
            matched = scores.keys() if allowed is None else scores.keys() & allowed
            helpful = version.helpful
            # Best first; equal scores in index order, as whoosh sorts them.
            ranked = heapq.nsmallest(
                offset + limit, ((-scores[doc] * helpful[doc], doc) for doc in matched)
            )
            terms = version.highlight_terms(plan)
            return SearchResults(
                total=len(matched),
                hits=[version.hit(doc, -score, terms) for score, doc in ranked[offset:]],
                tag_counts=version.tag_counts(matched),
                category_counts=version.category_counts(matched),
                suggestion=version.suggest(plan.text, len(matched)),
            )


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock shared by all processes (and threads: each call
    opens its own file description)."""
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
