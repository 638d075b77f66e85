from pathlib import Path

import pytest

from qa.articles import Article, decode_text, load_articles, make_title, parse_article
from qa.errors import ArticleError


def test_header_with_photo_credit_is_metadata() -> None:
    a = parse_article(" date 2026-02-07 Фото: Akorda\n\n正文第一句。第二句。", "a.txt")
    assert a.date is not None and a.date.isoformat() == "2026-02-07"
    assert a.photo_credit == "Фото: Akorda"
    assert a.text == "正文第一句。第二句。"
    assert a.title == "正文第一句"


def test_text_after_date_is_kept_as_article_text() -> None:
    a = parse_article(" date 2025-11-15 托卡耶夫总统首先表示感谢。\n\n第二段。", "b.txt")
    assert a.text.startswith("托卡耶夫总统首先表示感谢。")
    assert a.photo_credit is None


def test_no_header_means_undated() -> None:
    a = parse_article("No header here. Just text.", "c.md")
    assert a.date is None and a.text == "No header here. Just text."


@pytest.mark.parametrize("header", [" date 2026-13-45 x", " date yesterday", " date 2026/02/07"])
def test_malformed_header_is_rejected_with_reason(header: str) -> None:
    with pytest.raises(ArticleError, match="header|date"):
        parse_article(header + "\n正文。", "bad.txt")


def test_content_hash_changes_with_content_and_id_is_file_name() -> None:
    a = parse_article("一。", "x.txt")
    b = parse_article("二。", "x.txt")
    assert a.id == b.id == "x.txt" and a.content_hash != b.content_hash


def test_title_is_shortened() -> None:
    assert len(make_title("很" * 100 + "。")) <= 40


def test_decode_rejects_empty_and_binary_and_accepts_gb18030() -> None:
    with pytest.raises(ArticleError, match="empty"):
        decode_text(b"  \n", "e.txt")
    with pytest.raises(ArticleError, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "p.txt")
    assert decode_text("哈萨克斯坦总统表示。".encode("gb18030"), "g.txt") == "哈萨克斯坦总统表示。"


def test_folder_load_reports_bad_files_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(" date 2026-01-01\n好文章。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bad-date.md").write_text(" date 2026-02-30\n正文。", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")  # not an article suffix
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["good.txt"]
    reasons = {p.path.name: p.reason for p in result.problems}
    assert set(reasons) == {"empty.txt", "bad-date.md", "image.txt"}
    assert "empty" in reasons["empty.txt"] and "valid date" in reasons["bad-date.md"]


def test_seed_articles_load() -> None:
    result = load_articles(Path(__file__).resolve().parent.parent / "seeds")
    assert len(result.articles) == 2 and not result.problems
    assert all(isinstance(a, Article) and a.date is not None for a in result.articles)
