"""Whoosh analyzer for mixed Chinese/English FAQ text: OpenCC t2s, jieba for
CJK runs, lowercase + Porter stemming for latin runs, offsets into the original text."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import jieba
import opencc
from whoosh.analysis import Filter, LowercaseFilter, StemFilter, Token, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.lang.porter import stem as porter_stem

# Unified ideographs (+ extension A, compatibility block, extensions B..H).
# Traditional and simplified characters both live in these ranges.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
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


class MixedTokenizer(Tokenizer):
    """Splits text into CJK runs (segmented by jieba) and latin/digit runs.

    A jieba word and its search-mode sub-words share one position, so a phrase
    made of the words of a query matches the same words in a document.
    Start/end chars point into the text as given (before t2s).
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
            token.text = normalize_query_text(value).strip()
            token.original = value if keeporiginal else None
            token.pos = start_pos
            token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return

        pos = start_pos
        for match in _RUN.finditer(value):
            run_start = match.start()
            if match.lastgroup == "word":
                pieces: Iterator[tuple[str, int, int, bool]] = iter(
                    [(_normalize_word(match.group()), 0, len(match.group()), True)]
                )
            else:
                # t2s per CJK run: the only text it changes, and OpenCC never
                # sees control chars or lone surrogates (it rejects the latter).
                simplified = _to_simplified_aligned(match.group())
                pieces = _segment_cjk(simplified)
            for text, start, end, is_word in pieces:
                token.text = text
                token.stopped = False
                token.boost = 1.0
                if keeporiginal:
                    token.original = value[run_start + start : run_start + end]
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar = start_char + run_start + start
                    token.endchar = start_char + run_start + end
                yield token
                if is_word:
                    pos += 1


class GroupStopFilter(Filter):
    """Drops stop words and renumbers positions without gaps.

    Unlike whoosh's StopFilter it keeps tokens that share a position (a jieba
    word and its sub-words) at one position, and it keeps one-char tokens.
    """

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        # The module constant, not an attribute: the schema (and so this
        # filter) is pickled into the index, and a pickled copy would go stale.
        group_pos: int | None = None  # input position of the current group
        out_pos: int | None = None
        for token in tokens:
            if token.text in STOP_WORDS:
                if not token.removestops:
                    token.stopped = True
                    yield token
                continue
            if token.positions and token.pos != group_pos:
                group_pos = token.pos
                out_pos = token.pos if out_pos is None else out_pos + 1
            if token.positions:
                token.pos = out_pos
            yield token


@lru_cache(maxsize=100_000)
def stem_latin(word: str) -> str:
    """Porter stem of a latin token; CJK tokens pass unchanged.

    functools' cache instead of StemFilter's own: that one is not thread-safe
    once full, and one analyzer is shared by concurrent searches.
    """
    return porter_stem(word) if word.isascii() else word


def make_analyzer() -> CompositeAnalyzer:
    """The analyzer for every text field and for query text."""
    return (
        MixedTokenizer()
        | LowercaseFilter()
        | GroupStopFilter()
        | StemFilter(stem_latin, cachesize=None)
    )
