"""Whoosh full-text index of FAQ articles: schema, cross-process-safe writes,
query building, ranking, facets, highlights and spelling suggestions."""

from __future__ import annotations

import fcntl
import heapq
import html
import math
import os
import pickle
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from whoosh import index, sorting
from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.formats import Positions
from whoosh.highlight import (
    BasicFragmentScorer,
    ContextFragmenter,
    Formatter,
    Fragment,
    WholeFragmenter,
    set_matched_filter,
)
from whoosh.query import And, FuzzyTerm, Or, Phrase, Query, Term
from whoosh.scoring import BM25F
from whoosh.searching import Hit, Searcher
from whoosh.writing import CLEAR, MERGE_SMALL, IndexWriter

from app.search.analysis import make_analyzer, normalize_query_text

# --- limits and ranking knobs -------------------------------------------------
# Whoosh query evaluation grows with the number of clauses: bound the input.
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

FUZZY_WEIGHT = 0.3  # a typo match scores well below the exact term
FUZZY_MIN_LENGTH = 4  # of the stemmed term; shorter words have too many neighbours
FUZZY_MAX_LENGTH = 24  # the edit-distance automaton grows with the term: no typo search on junk
ALL_TERMS_BOOST = 1.0  # extra clause matching docs that contain every query word
PHRASE_BOOST = 2.0
TAG_MATCH_BOOST = 4.0
SYNONYM_WEIGHT = 0.8
HELPFUL_MAX_BONUS = 0.1  # helpful votes raise a score by at most 10 %
HELPFUL_SATURATION = 5.0  # log1p(votes) at which the bonus is full (~147 votes)

MAX_HIGHLIGHT_FRAGMENTS = 2
FRAGMENT_CHARS = 160
HIGHLIGHT_MAX_CHARS = 20_000
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"

LOCK_FILE = "opsgraph-write.lock"
WATERMARK_FILE = "opsgraph-watermark"
OPEN_RETRIES = 8
OPEN_RETRY_DELAY_S = 0.02
WRITER_LOCK_TIMEOUT_S = 30.0
PROGRESS_EVERY_DEFAULT = 500

_LATIN_WORD = re.compile(r"[a-z]{3,}")  # words the spelling corrector may fix
_FUZZABLE = re.compile(r"[a-z]+")
# Stateless, so one instance serves every thread (queries and highlighting).
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


# --- schema -------------------------------------------------------------------
def make_spelling_analyzer() -> CompositeAnalyzer:
    """Unstemmed lowercase English words: the vocabulary spelling suggestions come from."""
    return RegexTokenizer(r"[A-Za-z]{3,}") | LowercaseFilter()


class DotSafePositions(Positions):
    """Positions whose encoding never ends in b".".

    whoosh-ng 5.4.0 decodes any positions value ending in b"." as a legacy
    pickle, so a term whose last position delta is 46 makes phrase queries
    raise UnpicklingError. Its decoder ignores a trailing pad byte.
    """

    def encode(self, poslist: list[int]) -> bytes:
        value = super().encode(poslist)
        return value + b"\x00" if value.endswith(b".") else value


def _positions_roundtrip() -> bool:
    probe = Positions()
    try:
        return probe.decode_positions(probe.encode([46])) == [46]
    except pickle.UnpicklingError:
        return False


# Only the fork with the bug gets the shim (whoosh-reloaded's format is sound).
_POSITIONS_FORMAT = Positions if _positions_roundtrip() else DotSafePositions


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
        # sortable: a per-document column of the comma-joined tags, for facets
        tags=KEYWORD(stored=True, commas=True, scorable=True, sortable=True),
        category=ID(stored=True, sortable=True),
        language=ID(stored=True),
        status=ID(stored=True),
        helpful=NUMERIC(int, stored=True, sortable=True),
        spelling=TEXT(analyzer=make_spelling_analyzer(), phrase=False),
    )


def tag_key(tag: str) -> str:
    """The indexed form of a tag: filters, facets and tag matching all use it."""
    return " ".join(normalize_query_text(tag).replace(",", " ").lower().split())


def _document_fields(doc: ArticleDoc) -> dict[str, object]:
    tags = [key for key in (tag_key(t) for t in doc.tags) if key]
    fields: dict[str, object] = {
        "id": str(doc.id),
        "title": doc.title,
        "body": doc.body,
        "tags_text": "\n".join(doc.tags),
        "category_text": doc.category,
        "language": doc.language,
        "status": doc.status,
        "helpful": max(0, doc.helpful_votes),
        "spelling": f"{doc.title}\n{doc.body}",
    }
    if tags:
        fields["tags"] = ",".join(tags)
    if doc.category:
        fields["category"] = doc.category
    return fields


# --- ranking ------------------------------------------------------------------
def helpful_factor(votes: int) -> float:
    """Bounded multiplier in [1, 1 + HELPFUL_MAX_BONUS]: log-scaled so a few
    votes matter and hundreds cannot bury a better text match."""
    saturation = min(1.0, math.log1p(max(0, votes)) / HELPFUL_SATURATION)
    return 1.0 + HELPFUL_MAX_BONUS * saturation


class HelpfulBoostedBM25F(BM25F):
    """BM25F whose final document score is multiplied by helpful_factor.

    Every match is scored anyway (the total and the facets cover all of
    them), so losing whoosh's block-quality skipping to use_final costs
    little. One instance per searcher (it caches a column reader).
    """

    use_final = True

    def __init__(self) -> None:
        super().__init__()
        self._votes = None

    def final(self, searcher: Searcher, docnum: int, score: float) -> float:
        if self._votes is None:
            self._votes = searcher.reader().column_reader("helpful")
        return score * helpful_factor(self._votes[docnum])


# --- facets -------------------------------------------------------------------
class TagsFacet(sorting.FacetType):
    """Counts of each tag over the matching documents, read from the tags column.

    whoosh's FieldFacet(allow_overlap=True) instead re-reads every posting of
    every tag on each search (~30 ms per search at 10k articles).
    """

    maptype = sorting.Count

    def categorizer(self, global_searcher: Searcher) -> sorting.Categorizer:
        return _TagsCategorizer()


class _TagsCategorizer(sorting.Categorizer):
    allow_overlap = True

    def set_searcher(self, segment_searcher: Searcher, docoffset: int) -> None:
        reader = segment_searcher.reader()
        # An empty index (or segment without tags) has no column.
        self._tags = reader.column_reader("tags") if reader.has_column("tags") else None

    def keys_for(self, matcher: object, docid: int) -> list[str]:
        joined = self._tags[docid] if self._tags is not None else ""
        return joined.split(",") if joined else []


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


class _QueryBuilder:
    """Builds the Whoosh query programmatically, so no user input is ever
    parsed as Whoosh query syntax."""

    def __init__(self) -> None:
        self.fuzzy_budget = MAX_FUZZY_TERMS

    def term(self, text: str) -> Query:
        clauses: list[Query] = [Term(name, text) for name in TEXT_FIELDS]
        if self.fuzzy_budget > 0 and _is_fuzzable(text):
            self.fuzzy_budget -= 1
            # Fuzzy matching runs on stemmed query terms against stemmed index
            # terms; constantscore=False keeps BM25 (and field boosts) for typos.
            clauses += [
                FuzzyTerm(
                    name, text, boost=FUZZY_WEIGHT, maxdist=1, prefixlength=1, constantscore=False
                )
                for name in FUZZY_FIELDS
            ]
        return Or(clauses)

    def group(self, group: list[str]) -> Query:
        return Or([self.term(text) for text in group]) if len(group) > 1 else self.term(group[0])

    def all_of(self, analyzed: _AnalyzedText, boost: float) -> Query:
        return And([self.group(g) for g in analyzed.groups], boost=boost)

    def build(self, text: str, synonyms: Mapping[str, Sequence[str]] | None) -> Query | None:
        analyzed = _analyze(text, MAX_QUERY_TERMS)
        if not analyzed.groups:
            return None
        group_queries = [self.group(g) for g in analyzed.groups]
        clauses: list[Query] = list(group_queries)
        if len(group_queries) > 1:
            # Documents containing every query word rank above partial matches.
            clauses.append(And(group_queries, boost=ALL_TERMS_BOOST))
            clauses += [Phrase(name, analyzed.words, boost=PHRASE_BOOST) for name in PHRASE_FIELDS]
        clauses.append(Term("tags", tag_key(text), boost=TAG_MATCH_BOOST))
        for alternative in _synonym_alternatives(text, synonyms):
            alt = _analyze(alternative, MAX_SYNONYM_TERMS)
            if alt.groups:
                clauses.append(self.all_of(alt, boost=SYNONYM_WEIGHT))
        return Or(clauses)


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
        needle = normalize_query_text(key).lower().strip()
        if needle and re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", haystack):
            found += [a for a in alternatives if a.strip()]
    return found[:MAX_SYNONYM_ALTERNATIVES]


def _bounded_query_text(query: str) -> str:
    # Cut before normalising too (NFKC may expand text, never by 4x in practice).
    return normalize_query_text(query[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS]


def _filter_query(
    statuses: Sequence[str] | None,
    tags: Sequence[str] | None,
    category: str | None,
    language: str | None,
) -> Query | None:
    parts: list[Query] = []
    if statuses is not None:
        parts.append(Or([Term("status", s) for s in statuses]))
    parts += [Term("tags", tag_key(t)) for t in tags or ()]
    if category is not None:
        parts.append(Term("category", category))
    if language is not None:
        parts.append(Term("language", language))
    return And(parts) if parts else None


# --- highlighting -------------------------------------------------------------
class MarkFormatter(Formatter):
    """HTML-escapes fragment text and wraps matched terms in <mark>.

    Search-mode segmentation produces overlapping tokens (报表导出 -> 报表, 导出,
    报表导出), so matched spans are merged before marking.
    """

    def format_fragment(self, fragment: Fragment, replace: bool = False) -> str:
        spans: list[list[int]] = []
        for token in sorted(fragment.matches, key=lambda t: t.startchar):
            start = max(token.startchar, fragment.startchar)
            end = min(token.endchar, fragment.endchar)
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            elif start < end:
                spans.append([start, end])
        text, out, index_ = fragment.text, [], fragment.startchar
        for start, end in spans:
            out.append(html.escape(text[index_:start]))
            out.append(MARK_OPEN + html.escape(text[start:end]) + MARK_CLOSE)
            index_ = end
        out.append(html.escape(text[index_ : fragment.endchar]))
        return "".join(out)


# Titles and short bodies are shown whole; long bodies as passages around matches.
# Text past HIGHLIGHT_MAX_CHARS is not re-analysed (jieba runs per hit).
_WHOLE = WholeFragmenter(charlimit=HIGHLIGHT_MAX_CHARS)
_PASSAGES = ContextFragmenter(maxchars=FRAGMENT_CHARS, surround=40, charlimit=HIGHLIGHT_MAX_CHARS)
_FORMATTER = MarkFormatter()
_FRAGMENT_SCORER = BasicFragmentScorer()


def highlight_fragments(text: str, words: frozenset[str], fieldname: str) -> list[str]:
    """Up to MAX_HIGHLIGHT_FRAGMENTS marked fragments of a stored field, in text order."""
    if not words or not text:
        return []
    tokens = _ANALYZER(text, positions=True, chars=True, mode="index", removestops=False)
    fragmenter = _WHOLE if fieldname == "title" or len(text) <= FRAGMENT_CHARS else _PASSAGES
    fragments = fragmenter.fragment_tokens(text, set_matched_filter(tokens, words))
    best = heapq.nlargest(
        MAX_HIGHLIGHT_FRAGMENTS, (f for f in fragments if f.matches), key=_FRAGMENT_SCORER
    )
    return [_FORMATTER.format_fragment(f) for f in sorted(best, key=lambda f: f.startchar)]


def _query_words(query: Query, searcher: Searcher) -> dict[str, frozenset[str]]:
    """Index terms (fuzzy ones expanded) the query matches, per highlighted field."""
    reader = searcher.reader()
    # One call per field: without fieldname, existing_terms() keeps only the
    # first leaf's field (its loop variable shadows the argument, in both forks).
    return {
        name: frozenset(
            text.decode("utf-8") if isinstance(text, bytes) else text
            for _, text in query.existing_terms(reader, phrases=True, expand=True, fieldname=name)
        )
        for name in HIGHLIGHT_FIELDS
    }


# --- spelling -----------------------------------------------------------------
def _suggest(searcher: Searcher, text: str, total: int) -> str | None:
    """The query with unknown English words replaced by the closest (then most
    frequent) word of the title/body vocabulary; None when nothing changes."""
    lowered = text.lower()
    reader = searcher.reader()
    unknown = {
        w
        for w in _LATIN_WORD.findall(lowered)
        if len(w) <= FUZZY_MAX_LENGTH and reader.doc_frequency("spelling", w) == 0
    }
    if not unknown and total > 0:
        return None
    corrector = searcher.corrector("spelling")
    fixes: dict[str, str] = {}
    for word in unknown:
        candidates = corrector.suggest(word, limit=1, maxdist=2, prefix=1)
        if candidates:
            fixes[word] = candidates[0]
    if not fixes:
        return None
    return _LATIN_WORD.sub(lambda m: fixes.get(m.group(), m.group()), lowered)


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
    directory (so they wait instead of raising whoosh's LockError); every
    search opens a fresh searcher, which sees the latest commit of any process.
    """

    def __init__(self, path: Path, ix: index.Index) -> None:
        self.path = path
        self._ix = ix

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
            writer = self._ix.writer(timeout=WRITER_LOCK_TIMEOUT_S)
            if replace_all:
                # The new generation carries the schema of this code, so a
                # rebuild also migrates an index written by an older version.
                writer.schema = build_schema()
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=CLEAR if replace_all else MERGE_SMALL)
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
            for doc in docs:
                writer.add_document(**_document_fields(doc))
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
    @contextmanager
    def _searcher(self) -> Iterator[Searcher]:
        searcher = _retrying(lambda: self._ix.searcher(weighting=HelpfulBoostedBM25F()))
        try:
            yield searcher
        finally:
            searcher.close()

    def doc_count(self) -> int:
        with self._searcher() as searcher:
            return searcher.doc_count()

    def check(self) -> int:
        """Health check: opens a searcher on the latest commit; returns the doc count or raises."""
        return self.doc_count()

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
        text = _bounded_query_text(query)
        built = _QueryBuilder().build(text, synonyms)
        if built is None:
            return SearchResults(total=0, hits=[])
        limit = min(max(1, limit), MAX_PAGE_SIZE)
        offset = min(max(0, offset), MAX_OFFSET)
        facets = {
            "tags": TagsFacet(),
            "category": sorting.FieldFacet("category", maptype=sorting.Count),
        }
        with self._searcher() as searcher:
            results = searcher.search(
                built,
                filter=_filter_query(statuses, tags, category, language),
                # No limit: with one, whoosh prunes matches that cannot reach
                # the top N, and then neither len() nor the final() boost is exact.
                limit=None,
                groupedby=facets,
            )
            total = len(results)
            words = _query_words(built, searcher)
            hits = [_to_hit(hit, words) for hit in results[offset : offset + limit]]
            return SearchResults(
                total=total,
                hits=hits,
                tag_counts=_counts(results.groups("tags")),
                category_counts=_counts(results.groups("category")),
                suggestion=_suggest(searcher, text, total),
            )


def _to_hit(hit: Hit, words: Mapping[str, frozenset[str]]) -> SearchHit:
    stored = hit.fields()
    highlights = [
        (name, fragment)
        for name in HIGHLIGHT_FIELDS
        for fragment in highlight_fragments(stored.get(name, ""), words[name], name)
    ]
    return SearchHit(id=int(stored["id"]), score=hit.score, highlights=highlights)


def _counts(groups: Mapping[object, int]) -> dict[str, int]:
    return {str(key): count for key, count in groups.items() if key is not None}


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
