"""Tests of the mixed Chinese/English analyzer."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.search import analysis
from app.search.analysis import make_analyzer, normalize_query_text

REPO_ROOT = Path(__file__).resolve().parents[2]


def tokens(text: str, **kwargs) -> list[tuple[str, int, int, int]]:
    return [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in make_analyzer()(text, positions=True, chars=True, **kwargs)
    ]


def texts(text: str) -> list[str]:
    return [t[0] for t in tokens(text)]


def test_traditional_and_simplified_analyze_identically():
    assert tokens("報表導出失敗") == tokens("报表导出失败")
    assert texts("报表导出失败") == ["报表", "导出", "失败"]


def test_offsets_point_into_the_original_traditional_text():
    text = "請問：報表導出失敗了，怎麼辦？"
    for word, _, start, end in tokens(text):
        assert normalize_query_text(text[start:end]) == word


def test_search_mode_sub_words_share_the_word_position():
    toks = tokens("中华人民共和国")
    assert {t[0] for t in toks} >= {"中华", "人民", "共和国", "中华人民共和国"}
    assert {t[1] for t in toks} == {0}


def test_word_order_does_not_change_the_terms():
    assert set(texts("报表导出")) == set(texts("导出报表")) == {"报表", "导出"}
    assert texts("报表") == ["报表"]


def test_english_is_lowercased_and_stemmed():
    assert texts("Exporting REPORTS") == ["export", "report"]
    assert texts("exported") == texts("export")


def test_one_character_latin_and_digit_tokens_are_kept():
    assert texts("Plan B") == ["plan", "b"]
    assert texts("a 3D x 7") == ["a", "3d", "x", "7"]


def test_mixed_text_positions_and_offsets():
    assert tokens("报表导出 Excel 失败") == [
        ("报表", 0, 0, 2),
        ("导出", 1, 2, 4),
        ("excel", 2, 5, 10),
        ("失败", 3, 11, 13),
    ]


def test_punctuation_whitespace_and_symbols_make_no_tokens():
    assert texts(' "*():…，。！？ \t\n😀\x00 ') == []


def test_full_width_latin_is_normalised():
    assert texts("Ｅｘｃｅｌ ３Ｄ") == ["excel", "3d"]


def test_stop_words_are_dropped_and_positions_close_up():
    assert tokens("我忘记了密码") == [("忘记", 1, 1, 3), ("密码", 2, 4, 6)]
    assert texts("how to export the report") == ["how", "export", "report"]
    # Negation is content.
    assert texts("不能导出") == ["不能", "导出"]
    assert texts("没有权限") == ["没有", "权限"]


def test_stop_words_are_kept_marked_when_asked():
    stream = make_analyzer()("the 的 export", removestops=False)
    assert [(t.text, t.stopped) for t in stream] == [("the", True), ("的", True), ("export", False)]


def test_normalize_query_text_is_t2s_plus_nfkc_and_drops_control_chars():
    assert normalize_query_text("報表 ＡＢＣ") == "报表 ABC"
    assert "\x00" not in normalize_query_text("a\x00b")
    assert normalize_query_text("x\ud800y") == "x y"  # lone surrogate: OpenCC would raise


def test_length_changing_conversion_falls_back_to_per_char(monkeypatch):
    class PhraseRuleConverter:
        """Shortens 報表 as a phrase, converts single chars normally."""

        def convert(self, text: str) -> str:
            return (
                text.replace("報表", "报")
                if len(text) > 1
                else {"報": "报", "表": "表"}.get(text, text)
            )

    monkeypatch.setattr(analysis, "_converter", PhraseRuleConverter())
    text = "看報表吧"
    for word, _, start, end in tokens(text):
        assert len(text[start:end]) == len(word)
    assert "报表" in texts(text)


def test_tokenize_false_yields_the_whole_normalised_value():
    stream = make_analyzer()("導出 Excel", tokenize=False)
    assert [t.text for t in stream] == ["导出 excel"]


def test_jieba_is_quiet_and_lazy_initialisation_is_thread_safe():
    script = """
import threading
from app.search.analysis import make_analyzer
results = []
def work():
    results.append([t.text for t in make_analyzer()("报表导出失败 Exporting")])
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert len(results) == 8 and all(r == results[0] for r in results), results
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    # jieba's own log lines; other stderr output (e.g. a setuptools warning
    # about jieba importing pkg_resources) is not ours to police.
    for line in ("Building prefix dict", "Loading model", "Prefix dict has been built"):
        assert line not in done.stderr


@pytest.mark.parametrize("text", ["", " ", "😀" * 100, "\ud800", "a" * 5000, "报" * 5000])
def test_odd_input_never_raises(text):
    tokens(text)
