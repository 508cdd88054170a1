"""Tests of the Whoosh article index on real on-disk indexes."""

import math
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.fields import ID, TEXT, Schema
from whoosh.query import Or, Term

from app.search import engine
from app.search.engine import ArticleDoc, ArticleIndex, helpful_factor, tag_key


def doc(
    id: int,
    title: str,
    body: str = "",
    *,
    tags: tuple[str, ...] = (),
    category: str = "general",
    language: str = "zh",
    status: str = "published",
    helpful: int = 0,
) -> ArticleDoc:
    return ArticleDoc(
        id=id,
        title=title,
        body=body,
        tags=list(tags),
        category=category,
        language=language,
        status=status,
        helpful_votes=helpful,
        views=0,
    )


def ids(results) -> list[int]:
    return [hit.id for hit in results.hits]


@pytest.fixture
def make_index(tmp_path: Path):
    def build(*docs: ArticleDoc) -> ArticleIndex:
        ix = ArticleIndex.open(tmp_path / "ix")
        ix.rebuild(docs)
        return ix

    return build


FAQ = (
    doc(
        1,
        "报表导出失败怎么办",
        "如果报表导出 Excel 失败，请检查权限。",
        tags=("报表", "导出"),
        category="reports",
    ),
    doc(
        2, "導出報表的步驟", "在後台點擊導出按鈕即可導出報表。", tags=("報表",), category="reports"
    ),
    doc(
        3,
        "忘记密码",
        "如果你忘记密码，可以在登录页点击重置。",
        tags=("account",),
        category="account",
    ),
    doc(
        4,
        "账号安全建议",
        "不要忘记设置复杂的密码，定期更换。",
        tags=("account",),
        category="account",
    ),
    doc(
        5,
        "Exporting reports to Excel",
        "Use the export button. This requires the report permission.",
        tags=("export", "Excel"),
        category="reports",
        language="en",
    ),
    doc(
        6,
        "Notification settings",
        "Configure email notifications for Plan B customers.",
        tags=("notifications",),
        category="settings",
        language="en",
    ),
    doc(
        7,
        "Login with SSO",
        "Use single sign-on to log in.",
        tags=("sso",),
        category="account",
        language="en",
    ),
    doc(8, "草稿：新功能", "报表导出的新功能说明。", status="draft", category="reports"),
    doc(9, "已归档：旧版报表", "旧版报表导出说明。", status="archived", category="reports"),
)


# --- Chinese / English matching ----------------------------------------------
def test_traditional_query_finds_simplified_article_and_back(make_index):
    ix = make_index(*FAQ)
    assert 1 in ids(ix.search("報表導出失敗"))
    assert 2 in ids(ix.search("导出报表的步骤"))


def test_word_order_and_single_word_queries(make_index):
    ix = make_index(*FAQ)
    for query in ("报表导出", "导出报表", "报表"):
        assert {1, 2} <= set(ids(ix.search(query))), query


def test_english_stemming_and_case(make_index):
    ix = make_index(*FAQ)
    assert ids(ix.search("EXPORT"))[0] == 5
    assert ids(ix.search("exported Reports"))[0] == 5


def test_one_character_tokens_are_searchable(make_index):
    ix = make_index(*FAQ, doc(10, "Plan A pricing", "Plan A is the default plan.", language="en"))
    assert ids(ix.search("Plan B")) == [6, 10]
    assert ids(ix.search("plan a")) == [10, 6]


def test_mixed_language_query(make_index):
    ix = make_index(*FAQ)
    assert ids(ix.search("报表导出 Excel 失败"))[0] == 1


# --- ranking --------------------------------------------------------------------
def test_title_match_beats_body_match(make_index):
    ix = make_index(
        doc(1, "常见问题", "如果需要重置密码，请联系管理员。"),
        doc(2, "重置密码", "按照以下步骤操作。"),
    )
    assert ids(ix.search("重置密码")) == [2, 1]


def test_phrase_beats_scattered_words(make_index):
    ix = make_index(*FAQ)
    assert ids(ix.search("忘记密码"))[:2] == [3, 4]
    ix2 = make_index(
        doc(1, "Security", "Never password share; forget nothing about a reset."),
        doc(2, "Help", "If you forget password details, reset it."),
    )
    assert ids(ix2.search("forget password")) == [2, 1]


def test_phrase_query_on_terms_deep_in_a_long_body(make_index):
    # Position 46 encodes as b"." which whoosh-ng 5.4.0 mistakes for a legacy
    # pickle (see DotSafePositions); any position must work.
    filler = " ".join(f"w{i}" for i in range(46))
    ix = make_index(doc(1, "x", f"{filler} alpha beta", language="en"))
    assert ids(ix.search("alpha beta")) == [1]
    assert ids(ix.search("w45 alpha")) == [1]


def test_documents_with_every_word_rank_above_partial_matches(make_index):
    ix = make_index(
        doc(1, "Export", "export export export export export", language="en"),
        doc(2, "Billing", "export of the invoice", language="en"),
    )
    assert ids(ix.search("invoice export")) == [2, 1]


def test_exact_tag_match_ranks_high(make_index):
    ix = make_index(
        doc(1, "Single sign-on overview", "We support SSO via SAML. SSO SSO.", language="en"),
        doc(2, "Identity provider setup", "Configure your provider.", tags=("SSO",), language="en"),
    )
    assert ids(ix.search("sso"))[0] == 2


def test_helpful_votes_give_a_small_bounded_boost(make_index):
    ix = make_index(
        doc(1, "重置密码", "步骤一。", helpful=0),
        doc(2, "重置密码", "步骤一。", helpful=500),
    )
    results = ix.search("重置密码")
    assert ids(results) == [2, 1]
    assert results.hits[0].score / results.hits[1].score == pytest.approx(1.1)
    assert helpful_factor(0) == 1.0
    assert helpful_factor(10) == pytest.approx(1 + 0.1 * math.log1p(10) / 5)
    assert helpful_factor(10**9) == helpful_factor(200) == 1.1


# --- filters, facets, paging --------------------------------------------------
def test_unpublished_excluded_by_default_and_included_on_request(make_index):
    ix = make_index(*FAQ)
    assert not {8, 9} & set(ids(ix.search("报表导出")))
    found = ids(ix.search("报表导出", statuses=("published", "draft", "archived")))
    assert {1, 2, 8, 9} <= set(found)
    assert set(ids(ix.search("报表导出", statuses=None))) == set(found)
    assert ids(ix.search("报表导出", statuses=("archived",))) == [9]


def test_filters_by_tags_category_and_language(make_index):
    ix = make_index(*FAQ)
    assert set(ids(ix.search("报表", tags=["报表"]))) == {1, 2}
    assert ids(ix.search("报表", tags=["報表", "导出"])) == [1]  # all given tags, normalised
    assert ids(ix.search("export", category="reports", language="en")) == [5]
    assert ids(ix.search("export", language="zh")) == []
    assert ids(ix.search("密码", category="reports")) == []


def test_facets_count_the_whole_result_set_not_the_page(make_index):
    docs = [
        doc(
            i,
            f"导出问题 {i}",
            "报表导出",
            tags=("导出", "even" if i % 2 == 0 else "odd"),
            category=f"c{i % 3}",
        )
        for i in range(30)
    ]
    ix = make_index(*docs)
    results = ix.search("导出", limit=5)
    assert results.total == 30 and len(results.hits) == 5
    assert results.tag_counts == {"导出": 30, "even": 15, "odd": 15}
    assert results.category_counts == {"c0": 10, "c1": 10, "c2": 10}


def test_pagination_offset(make_index):
    ix = make_index(*[doc(i, f"导出 {i}", "导出" * (i + 1)) for i in range(12)])
    everything = ids(ix.search("导出", limit=12))
    assert len(everything) == 12
    assert ids(ix.search("导出", limit=5, offset=5)) == everything[5:10]
    assert ids(ix.search("导出", limit=5, offset=10)) == everything[10:]
    assert ids(ix.search("导出", limit=5, offset=50)) == []


# --- highlights ------------------------------------------------------------------
def test_highlights_mark_matches_and_escape_html(make_index):
    ix = make_index(
        doc(
            1,
            "导出 <b>报表</b>",
            "点击导出。<script>alert('x')</script> 然后导出报表。",
            tags=("x",),
        ),
    )
    hit = ix.search("导出报表").hits[0]
    fields = dict(hit.highlights)
    assert fields["title"] == "<mark>导出</mark> &lt;b&gt;<mark>报表</mark>&lt;/b&gt;"
    body = [fragment for name, fragment in hit.highlights if name == "body"]
    assert 1 <= len(body) <= 2
    joined = "".join(body)
    assert "<mark>导出</mark>" in joined and "<mark>导出报表</mark>" in joined
    assert "<script>" not in joined and "&lt;script&gt;" in joined


def test_highlights_keep_the_original_traditional_text(make_index):
    ix = make_index(*FAQ)
    hit = next(h for h in ix.search("导出报表").hits if h.id == 2)
    assert ("title", "<mark>導出報表</mark>的步驟") in hit.highlights


def test_highlights_of_english_stems_and_typos(make_index):
    ix = make_index(*FAQ)
    hit = ix.search("permision").hits[0]
    assert (
        "body",
        "Use the export button. This requires the report <mark>permission</mark>.",
    ) in hit.highlights
    assert ("title", "<mark>Exporting</mark> reports to Excel") in ix.search("export").hits[
        0
    ].highlights


# --- robustness --------------------------------------------------------------------
HOSTILE = [
    '"',
    "*",
    "(",
    ")",
    "AND",
    "OR NOT",
    ":",
    "title:",
    "a:b",
    "x" * 10_000,
    "\x00",
    "😀",
    "\ud800",
    "报" * 10_000,
    "a " * 5_000,
    "[1 TO 9]",
    "~2",
    "^3",
    "\\",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q[:12]))
def test_hostile_queries_return_quickly_without_error(make_index, query):
    ix = make_index(*FAQ)
    started = time.perf_counter()
    results = ix.search(query)
    assert time.perf_counter() - started < 1.0  # loose: typically well under 100 ms
    assert results.total >= 0


def test_empty_query_returns_nothing(make_index):
    ix = make_index(*FAQ)
    assert ix.search("  ").total == 0


# --- typos, synonyms, suggestions -----------------------------------------------
@pytest.mark.parametrize(
    ("typo", "expected_id"),
    [("permision", 5), ("exprt", 5), ("notifcations", 6), ("Exportting", 5)],
)
def test_typo_queries_find_the_article(make_index, typo, expected_id):
    ix = make_index(*FAQ)
    assert ids(ix.search(typo))[:1] == [expected_id]


def test_exact_match_ranks_above_a_typo_neighbour(make_index):
    ix = make_index(
        doc(1, "Expert mode", "Turn on expert mode.", language="en"),
        doc(2, "Export data", "Export your data.", language="en"),
    )
    assert ids(ix.search("export")) == [2, 1]
    assert ids(ix.search("expert")) == [1, 2]


def test_suggestion_for_unknown_english_words(make_index):
    ix = make_index(*FAQ)
    assert ix.search("permision").suggestion == "permission"
    assert ix.search("expotr settings").suggestion == "export settings"
    assert ix.search("export").suggestion is None
    assert ix.search("报表").suggestion is None
    assert ix.search("qqqqzzzz").suggestion is None


def test_synonyms_expand_the_query(make_index):
    ix = make_index(*FAQ)
    synonyms = {"登录": ["登陆", "sign in", "login"], "导不出来": ["导出失败"]}
    assert ids(ix.search("导不出来")) == []
    assert ids(ix.search("导不出来", synonyms=synonyms))[0] == 1
    assert 7 in ids(ix.search("登录", synonyms=synonyms))
    assert 7 not in ids(ix.search("登录"))


# --- writes, watermark, rebuild ---------------------------------------------------
def test_upsert_replaces_and_delete_removes(make_index):
    ix = make_index(*FAQ)
    ix.upsert([doc(3, "修改密码", "在设置页修改。")])
    assert ids(ix.search("忘记")) == [4]
    assert ids(ix.search("修改密码"))[0] == 3
    ix.delete([3, 4])
    assert ix.search("密码").total == 0
    assert ix.doc_count() == len(FAQ) - 2


def test_watermark_persists_and_moves_with_writes(tmp_path):
    ix = ArticleIndex.open(tmp_path / "ix")
    assert ix.get_watermark() == 0
    ix.set_watermark(41)
    ix.upsert([doc(1, "a")], watermark=42)
    assert ArticleIndex.open(tmp_path / "ix").get_watermark() == 42
    ix.delete([1], watermark=43)
    ix.rebuild([doc(2, "b")], watermark=44)
    assert ArticleIndex.open(tmp_path / "ix").get_watermark() == 44


def test_failed_write_changes_nothing(make_index):
    ix = make_index(*FAQ)
    ix.set_watermark(5)

    def failing_docs() -> Iterator[ArticleDoc]:
        yield doc(100, "新文章")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        ix.rebuild(failing_docs(), watermark=6)
    assert ix.doc_count() == len(FAQ) and ix.get_watermark() == 5
    ix.upsert([doc(101, "之后")])  # the lock was released
    assert ix.doc_count() == len(FAQ) + 1


def test_rebuild_is_atomic_for_readers(tmp_path):
    path = tmp_path / "ix"
    ix = ArticleIndex.open(path)
    ix.rebuild(FAQ)
    reader = ArticleIndex.open(path)
    seen_mid_rebuild: list[tuple[int, int]] = []

    def new_docs() -> Iterator[ArticleDoc]:
        for i in range(200):
            if i == 100:
                seen_mid_rebuild.append((reader.doc_count(), reader.search("新内容").total))
            yield doc(1000 + i, f"新内容 {i}", "新内容")

    ix.rebuild(new_docs(), total=200, progress=lambda n: None)
    assert seen_mid_rebuild == [(len(FAQ), 0)]
    assert reader.doc_count() == 200
    assert reader.search("新内容").total == 200
    assert reader.search("报表").total == 0


def test_rebuild_reports_progress(tmp_path):
    ix = ArticleIndex.open(tmp_path / "ix")
    calls: list[int] = []
    assert ix.rebuild((doc(i, "x") for i in range(250)), total=250, progress=calls.append) == 250
    assert calls[0] == 2 and calls[-1] == 250 and calls == sorted(calls)


def test_rebuild_migrates_an_index_with_an_old_schema(tmp_path):
    path = tmp_path / "ix"
    path.mkdir()
    whoosh_index.create_in(
        str(path), Schema(id=ID(stored=True, unique=True), title=TEXT(stored=True))
    )
    ix = ArticleIndex.open(path)
    ix.rebuild(FAQ)
    assert ids(ix.search("报表导出", tags=["导出"])) == [1]


def test_concurrent_searches_and_writes_in_threads(make_index):
    ix = make_index(*FAQ)

    def search(i: int) -> int:
        return ix.search("报表导出" if i % 2 else "export").total

    def write(i: int) -> None:
        ix.upsert([doc(500 + i, f"报表 {i}")])

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(write if i % 4 == 0 else search, i) for i in range(80)]
        for future in futures:
            future.result()
    assert ix.doc_count() == len(FAQ) + 20


# --- several processes -------------------------------------------------------------
def _upsert_many(path: str, first_id: int, count: int) -> None:
    ix = ArticleIndex.open(path)
    for i in range(first_id, first_id + count):
        ix.upsert([doc(i, f"process doc {i}", "报表导出")], watermark=i)


def test_two_processes_upserting_concurrently_lose_nothing(tmp_path):
    path = str(tmp_path / "ix")
    ArticleIndex.open(path)
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_upsert_many, args=(path, start, 50)) for start in (1, 1001)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
    assert [w.exitcode for w in workers] == [0, 0]  # a LockError would exit 1
    ix = ArticleIndex.open(path)
    assert ix.doc_count() == 100
    assert ix.search("报表导出", limit=100).total == 100
    assert ix.get_watermark() in (50, 1050)


def test_reader_sees_another_process_commit(tmp_path):
    path = str(tmp_path / "ix")
    reader = ArticleIndex.open(path)
    assert reader.search("process").total == 0
    writer = multiprocessing.get_context("spawn").Process(target=_upsert_many, args=(path, 7, 1))
    writer.start()
    writer.join(timeout=120)
    assert writer.exitcode == 0
    assert ids(reader.search("process")) == [7]


def test_tag_key_normalises():
    assert tag_key(" 報表, Export ") == "报表 export"


# --- scoring and the parallel rebuild --------------------------------------------
def test_scores_are_whoosh_bm25f_also_over_deleted_documents(make_index):
    ix = make_index(*FAQ)
    # Replacing an article deletes its old version inside the first segment.
    ix.upsert([doc(1, "报表导出失败", "报表导出失败的原因。", tags=("报表",), category="reports")])
    ours = {hit.id: hit.score for hit in ix.search("报表", limit=100).hits}
    expected = Or(
        [Term(name, "报表") for name in ("title", "body", "tags_text", "category_text")]
        + [Term("tags", "报表", boost=4.0)]
    )
    with ix._ix.searcher() as searcher:
        published = {
            int(searcher.stored_fields(n)["id"])
            for n in searcher.docs_for_query(Term("status", "published"))
        }
        whoosh = {
            int(hit["id"]): hit.score
            for hit in searcher.search(expected, limit=None)
            if int(hit["id"]) in published
        }
    assert ours.keys() == whoosh.keys() == {1, 2}
    assert ours == pytest.approx(whoosh)


def test_a_rebuild_with_analysis_workers_builds_the_same_index(tmp_path, monkeypatch):
    def build(name: str) -> ArticleIndex:
        ix = ArticleIndex.open(tmp_path / name)
        ix.rebuild(FAQ, total=len(FAQ))
        return ix

    serial = build("serial")
    monkeypatch.setattr(engine, "PARALLEL_ANALYSIS_FROM", 1)
    monkeypatch.setattr(engine.os, "cpu_count", lambda: 2)
    parallel = build("parallel")
    for query in ("报表导出", "忘记密码", "Exporting reports", "permision", "報表"):
        results = [ix.search(query, statuses=None) for ix in (serial, parallel)]
        assert [(h.id, h.score, h.highlights) for h in results[0].hits] == [
            (h.id, h.score, h.highlights) for h in results[1].hits
        ]
        assert results[0].tag_counts == results[1].tag_counts
