"""Whoosh analyzer for mixed Chinese/English FAQ text: OpenCC t2s, jieba for
CJK runs, lowercase + Porter stemming for latin runs, offsets into the original text."""

from __future__ import annotations

import bisect
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import jieba
import opencc
from whoosh.analysis import Token, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.lang.porter import stem as porter_stem

# Unified ideographs (+ extension A, compatibility block, extensions B..H).
# Traditional and simplified characters both live in these ranges.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
_WORD = re.compile(rf"[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
# Control characters (NUL ...) and lone surrogates: OpenCC rejects surrogates
# and nothing in them is searchable.
_UNSEARCHABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

ENGLISH_STOP_WORDS = frozenset(
    [
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
    ]
)
# Function words and question words; negations (不, 没) and content stay searchable.
CHINESE_STOP_WORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "着",
        "过",
        "和",
        "与",
        "及",
        "或",
        "也",
        "都",
        "就",
        "还",
        "把",
        "被",
        "让",
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "他们",
        "这",
        "那",
        "这个",
        "那个",
        "怎么",
        "怎样",
        "怎么样",
        "如何",
        "什么",
        "为什么",
        "哪里",
        "哪些",
        "请问",
        "一下",
    ]
)
STOP_WORDS = ENGLISH_STOP_WORDS | CHINESE_STOP_WORDS

_init_lock = threading.Lock()
_converter: opencc.OpenCC | None = None


def _t2s() -> opencc.OpenCC:
    """The shared OpenCC converter; jieba's dictionary is loaded at the same time."""
    global _converter
    if _converter is None:
        with _init_lock:
            if _converter is None:
                # jieba logs "Building prefix dict ..." to stderr at DEBUG on first use.
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _converter = opencc.OpenCC("t2s")
    return _converter


def _to_simplified_aligned(run: str) -> str:
    """t2s of a CJK run, guaranteed to keep its length so offsets stay valid."""
    converter = _t2s()
    simplified = converter.convert(unicodedata.normalize("NFKC", run))
    if len(simplified) == len(run):
        return simplified
    # A phrase rule changed the length: convert char by char, keeping any
    # char whose conversion is not a single char.
    chars = (converter.convert(unicodedata.normalize("NFKC", c)) for c in run)
    return "".join(s if len(s) == 1 else c for s, c in zip(chars, run, strict=True))


@lru_cache(maxsize=65536)
def _normalize_word(word: str) -> str:
    # Full-width latin/digits (Ｅｘｃｅｌ, ３Ｄ) become ASCII.
    return word if word.isascii() else unicodedata.normalize("NFKC", word)


def normalize_query_text(s: str) -> str:
    """NFKC + Traditional→Simplified, with control chars and lone surrogates removed."""
    cleaned = _UNSEARCHABLE.sub(" ", s)
    return _t2s().convert(unicodedata.normalize("NFKC", cleaned))


def _segment_cjk(run: str) -> Iterator[tuple[str, int, int, bool]]:
    """jieba search-mode tokens of a CJK run as (text, start, end, is_word).

    Search mode yields the sub-words of a long word before the word itself,
    so the word is a token that no later token starts inside of.
    """
    pieces = list(jieba.tokenize(run, mode="search"))
    later_start = len(run)  # smallest start among the tokens after this one
    flagged = []
    for text, start, end in reversed(pieces):
        flagged.append((text, start, end, end <= later_start))
        later_start = min(later_start, start)
    return reversed(flagged)


def _pieces(value: str) -> Iterator[tuple[str, int, int, bool]]:
    """(text, start, end, is_word) of each raw token, offsets into value: NFKC latin/digit
    runs, and CJK runs in Simplified script cut by jieba."""
    for match in _RUN.finditer(value):
        run_start, run_end = match.span()
        if match.lastgroup == "word":
            yield _normalize_word(match.group()), run_start, run_end, True
            continue
        # t2s per CJK run: the only text it changes, and OpenCC never
        # sees control chars or lone surrogates (it rejects the latter).
        for text, start, end, is_word in _segment_cjk(_to_simplified_aligned(match.group())):
            yield text, run_start + start, run_start + end, is_word


@lru_cache(maxsize=100_000)
def stem_latin(word: str) -> str:
    """Porter stem of a latin token; CJK tokens pass unchanged.

    functools' cache instead of StemFilter's own: that one is not thread-safe
    once full, and one analyzer is shared by concurrent searches.
    """
    return porter_stem(word) if word.isascii() else word


class MixedTokenizer(Tokenizer):
    """The whole analysis in one pass (a chain of whoosh filters costs a generator
    step per token and filter, a third of indexing time): CJK runs segmented by
    jieba, latin runs lowercased and Porter-stemmed, stop words dropped.

    A jieba word and its search-mode sub-words share one position, so a phrase
    made of the words of a query matches the same words in a document. Dropped
    stop words leave no gap in positions, and one-char tokens are kept (unlike
    whoosh's StopFilter). Start/end chars point into the text as given (before t2s).
    """

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            pieces: Iterable[tuple[str, int, int, bool]] = [
                (normalize_query_text(value).strip(), 0, len(value), True)
            ]
        else:
            pieces = _pieces(value)
        # STOP_WORDS is read here, not stored: the tokenizer is pickled into the
        # index schema, and a pickled copy of the list would go stale.
        pos = start_pos  # of the raw word the current token belongs to
        group_pos: int | None = None  # raw position of the last kept group
        out_pos: int | None = None
        for text, start, end, is_word in pieces:
            lowered = text.lower()
            stopped = lowered in STOP_WORDS
            if not stopped or not removestops:
                token.text = lowered if stopped else stem_latin(lowered)
                token.stopped = stopped
                token.boost = 1.0
                if keeporiginal:
                    token.original = value[start:end]
                if positions and stopped:
                    token.pos = pos
                elif positions:
                    if pos != group_pos:
                        group_pos = pos
                        out_pos = pos if out_pos is None else out_pos + 1
                    token.pos = out_pos
                if chars:
                    token.startchar, token.endchar = start_char + start, start_char + end
                yield token
            if is_word:
                pos += 1


@lru_cache(maxsize=100_000)
def _word_term(word: str) -> str:
    """The index term of a latin/digit run, as MixedTokenizer makes it."""
    return stem_latin(_normalize_word(word).lower())


@lru_cache(maxsize=10_000)
def _segmented(run: str) -> tuple[tuple[str, int, int, bool], ...]:
    # The same articles come up in many searches.
    return tuple(_segment_cjk(run))


def match_spans(text: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    """Where the tokens that are index terms in `terms` stand in text, as (start, end),
    sorted: the analyzer's tokens, found without running it over the whole text (jieba
    is the cost of highlighting). Only the CJK runs that contain a term are segmented."""
    spans = []
    words = {word for word in set(_WORD.findall(text)) if _word_term(word) in terms}
    if words:
        spans += [m.span() for m in _WORD.finditer(text) if m.group() in words]
    cjk_terms = [term for term in terms if not term.isascii()]
    if cjk_terms:
        simplified = _to_simplified_aligned(_UNSEARCHABLE.sub(" ", text))
        runs = [m.span() for m in _CJK_RUN.finditer(simplified)]
        run_starts = [start for start, _ in runs]
        holding = set()  # the runs that contain a term
        for term in cjk_terms:
            at = simplified.find(term)
            while at != -1:
                holding.add(runs[bisect.bisect_right(run_starts, at) - 1])
                at = simplified.find(term, at + 1)
        for run_start, run_end in holding:
            spans += [
                (run_start + start, run_start + end)
                for token, start, end, _ in _segmented(simplified[run_start:run_end])
                if token in terms
            ]
    return sorted(spans)


def make_analyzer() -> CompositeAnalyzer:
    """The analyzer for every text field and for query text."""
    return CompositeAnalyzer(MixedTokenizer())
