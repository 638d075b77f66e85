"""The page's plain functions: follow-up resolution, upload saving, escaped rendering (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.articles import MAX_UPLOAD_BYTES, load_articles, safe_article_name, save_upload
from qa.text.conversation import Turn, answer_focus, contextualize, is_follow_up
from qa.errors import ArticleError

GOOD = " date 2025-02-03\n乌兹别克斯坦与塔吉克斯坦签署了边境贸易协定。".encode()


# ---------------------------------------------------------------- follow-ups
@pytest.mark.parametrize(
    "previous, question, must_contain",
    [
        ("托卡耶夫对乌兹别克斯坦说了什么？", "他还说了什么？", "托卡耶夫对乌兹别克斯坦"),
        ("托卡耶夫对乌兹别克斯坦说了什么？", "那贸易呢？", "乌兹别克斯坦"),
        ("What share of Pakistan's taxi market does InDrive hold?", "and what about trade?", "Pakistan InDrive"),
        ("What did Tokayev say about Uzbekistan?", "What else did he say?", "Tokayev Uzbekistan"),
    ],
)
def test_follow_ups_carry_the_previous_subject(previous: str, question: str, must_contain: str) -> None:
    query = contextualize(question, [Turn(previous)])
    assert must_contain in query and query.endswith(question)


@pytest.mark.parametrize(
    "question",
    ["哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？", "What share of Pakistan's taxi market does InDrive hold?"],
)
def test_self_contained_questions_pass_through(question: str) -> None:
    assert not is_follow_up(question)
    assert contextualize(question, [Turn("托卡耶夫对乌兹别克斯坦说了什么？")]) == question


def test_no_history_no_change_and_chains_keep_the_topic() -> None:
    assert contextualize("他还说了什么？", []) == "他还说了什么？"
    first = Turn("托卡耶夫对乌兹别克斯坦说了什么？")
    second = Turn("他还说了什么？", query=contextualize("他还说了什么？", [first]))
    assert "乌兹别克斯坦" in contextualize("那贸易呢？", [first, second])


def test_answer_focus_keeps_a_new_topic_and_falls_back_to_the_query() -> None:
    assert answer_focus("那贸易呢？", "乌兹别克斯坦 那贸易呢？") == "那贸易呢？"
    assert answer_focus("他还说了什么？", "托卡耶夫 他还说了什么？") == "托卡耶夫 他还说了什么？"
    assert answer_focus("what else?", "Tokayev what else?") == "Tokayev what else?"


# ---------------------------------------------------------------- uploads
@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../escape.txt", "escape.txt"),
        ("/etc/cron.d/evil.txt", "evil.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("a/../../b.TXT", "b.txt"),
        ("<img src=x onerror=alert(1)>.txt", "img src_x onerror_alert_1.txt"),
        ("新闻 稿.txt", "新闻 稿.txt"),
        ("..hidden..txt", "hidden.txt"),
    ],
)
def test_safe_article_name(name: str, expected: str) -> None:
    assert safe_article_name(name) == expected


@pytest.mark.parametrize("name", ["report.exe", "noext", "../..", ".txt", "///.md", "x.txt.exe"])
def test_unusable_names_are_refused(name: str) -> None:
    with pytest.raises(ArticleError):
        safe_article_name(name)


def test_save_upload_validates_and_never_leaves_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    saved = save_upload(folder, "../../../outside.txt", GOOD)
    assert saved == folder.resolve() / "outside.txt" and saved.read_bytes() == GOOD
    assert not (tmp_path / "outside.txt").exists()
    assert [a.id for a in load_articles(folder).articles] == ["outside.txt"]  # the loader accepts what was saved
    for bad, reason in [(b"", "empty"), (b"\x00\x01" * 10, "binary"), (b" date 2025-99-01\nx", "date")]:
        with pytest.raises(ArticleError, match=reason):
            save_upload(folder, "bad.txt", bad)
    with pytest.raises(ArticleError, match="too large"):
        save_upload(folder, "big.txt", b"a" * (MAX_UPLOAD_BYTES + 1))
    assert sorted(p.name for p in folder.iterdir()) == ["outside.txt"]  # nothing half-written


def test_save_upload_refuses_silent_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    save_upload(folder, "a.txt", GOOD)
    assert save_upload(folder, "a.txt", GOOD).read_bytes() == GOOD  # same bytes: a no-op
    changed = GOOD + "第二句。".encode()
    with pytest.raises(ArticleError, match="already exists"):
        save_upload(folder, "a.txt", changed)
    assert save_upload(folder, "a.txt", changed, replace=True).read_bytes() == changed


def test_save_upload_does_not_write_through_a_planted_link(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (folder / "link.txt").symlink_to(victim)
    with pytest.raises(ArticleError, match="outside"):
        save_upload(folder, "link.txt", GOOD, replace=True)
    assert victim.read_text() == "keep me"


# ---------------------------------------------------------------- rendering
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>[x](javascript:alert(3))"


def _answer(text: str) -> dict:
    return {
        "answer": f"{text}[1] and [7]",
        "refused": False,
        "citations": [{
            "n": 1, "article_id": "<b>id</b>.txt", "title": HOSTILE, "date": "2025-01-01", "chunk_start": 10,
            "chunk_end": 10 + len(text), "chunk_text": text, "sentence_start": 10, "sentence_end": 10 + len(text),
            "sentence": text,
        }],
    }


def test_rendering_escapes_everything_from_articles_and_questions() -> None:
    from qa.ui.render import conversation_html

    out = conversation_html([{"question": HOSTILE, "query": HOSTILE, "answer": _answer(HOSTILE)}])
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(2)&gt;" in out
    # Our markers are buttons; a number the answer does not cite stays literal text.
    assert "data-cite='t0-1'" in out and "[7]" in out and "t0-7" not in out
    assert "<mark class='qa-hit'>" in out


def test_the_articles_listing_is_capped_and_filterable(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    from qa.ui.logic import article_choices
    from qa.ui.render import articles_table_html

    records = sorted(seed_pipeline.index.records().values(), key=lambda r: (r.date, r.id), reverse=True)
    newest, older = records[0], records[1]
    capped = articles_table_html(seed_pipeline, limit=1)
    assert "2 articles indexed; showing the 1 newest" in capped
    assert newest.id in capped and older.id not in capped
    assert [v for _, v in article_choices(seed_pipeline, limit=1)] == [newest.id]
    # the filter finds the older one by a piece of its title, and a chosen article stays choosable
    piece = older.title[2:8]
    found = articles_table_html(seed_pipeline, piece, limit=1)
    assert older.id in found and newest.id not in found and "1 match" in found
    assert [v for _, v in article_choices(seed_pipeline, piece, keep=[newest.id], limit=1)] == [older.id, newest.id]
    assert "none matches" in articles_table_html(seed_pipeline, "不存在的标题xyz")
    assert older.id in articles_table_html(seed_pipeline, older.date, limit=5)  # by date
