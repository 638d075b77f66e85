"""Every article format read from real files: text, title, date (and how it was found), source location, reasons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from format_files import CJK_FONT, csv_text, docx_bytes, image_pdf_bytes, jsonl_text, page_html, pdf_bytes, write
from qa.articles import (
    ExportColumns,
    find_dateline,
    load_article,
    load_articles,
    parse_article,
    parse_date_line,
    parse_docx,
    parse_export,
    parse_html,
    parse_pdf,
    read_file,
    save_upload,
)
from qa.articles.model import MAX_ARTICLE_BYTES
from qa.errors import ArticleError

D = dt.date
AGENCY_ZH = "中德签署机械贸易协定\n2015-01-22 12:16:02\n新华社柏林1月22日电 中国和德国22日在柏林签署了一项机械贸易协定，金额为30亿欧元。\n双方官员表示，协定涵盖机床、汽车零部件和风力发电设备。\n"
PARAS_EN = [
    "BERLIN, Jan. 22 (Xinhua) -- China and Germany signed a machinery trade agreement worth three billion euros on Thursday, officials said.",
    "The agreement covers machine tools, car parts and wind turbines, the German economics ministry said in a statement.",
    "Both sides expect bilateral trade in machinery to grow by a fifth within two years, according to the statement.",
]


# ---------------------------------------------------------------- plain text: title line, date line, dateline
def test_agency_text_title_and_timestamp_line() -> None:
    a = parse_article(AGENCY_ZH, "agency.txt")
    assert a.title == "中德签署机械贸易协定"
    assert a.date == D(2015, 1, 22) and a.date_source == "date line '2015-01-22 12:16:02'"
    assert "12:16:02" not in a.text  # the timestamp is metadata, like the header
    first, second = a.text.split("\n")[:2]
    assert first == "中德签署机械贸易协定" and second.startswith("新华社柏林1月22日电")  # the title is its own line


@pytest.mark.parametrize(("line", "date"), [
    ("2015-01-22 12:16:02", D(2015, 1, 22)), ("2015年1月22日", D(2015, 1, 22)), ("2015年1月22日 10:30", D(2015, 1, 22)),
    ("22.01.2015", D(2015, 1, 22)), ("２０１５年１月２２日　星期四", D(2015, 1, 22)), ("发布时间：2015-01-22 来源：新华网", D(2015, 1, 22)),
    ("January 22, 2015", D(2015, 1, 22)), ("22 января 2015", D(2015, 1, 22)), ("2015/1/22", D(2015, 1, 22)),
    ("Published: Thursday, 22 January 2015", D(2015, 1, 22)),
    ("中德两国2015年1月22日签署协定", None), ("2015-13-45", None), ("Trade to reach 200 billion euros by 2020", None),
])
def test_date_lines(line: str, date: D | None) -> None:
    assert parse_date_line(line) == date


@pytest.mark.parametrize(("text", "month_day_year"), [
    ("新华社柏林1月22日电 中国和德国……", (1, 22, None)), ("本报北京2015年1月22日讯 记者……", (1, 22, 2015)),
    ("BERLIN, Jan. 22 (Xinhua) -- China and ...", (1, 22, None)), ("ASTANA, January 22, 2015 (Reuters) - Kazakhstan", (1, 22, 2015)),
    ("中国和德国22日签署协定。", None),
])
def test_datelines(text: str, month_day_year: tuple | None) -> None:
    found = find_dateline(text)
    assert (found.month, found.day, found.year) == month_day_year if month_day_year else found is None


def test_dateline_year_from_the_other_dates_in_the_text() -> None:
    a = parse_article("新华社柏林1月2日电 中德两国在2014年12月30日草签的协定今天正式签署。\n", "berlin.txt")
    assert a.date == D(2015, 1, 2) and "year from the date 2014-12-30 in the text" in a.date_source


def test_dateline_year_from_the_file_name() -> None:
    a = parse_article("BERLIN, Jan. 22 (Xinhua) -- China and Germany signed a deal.\n", "2015-01-23_berlin.txt")
    assert a.date == D(2015, 1, 22) and "file name" in a.date_source


def test_dateline_without_any_year_is_undated_with_the_reason() -> None:
    a = parse_article("新华社柏林1月22日电 中国和德国22日签署协定。\n", "berlin.txt")
    assert a.date is None and "has no year" in a.undated_reason


def test_own_header_and_seed_layout_unchanged() -> None:
    a = parse_article(" date 2026-02-07 Фото: Akorda\n\n阿斯塔纳消息，两国总统举行会谈，签署了合作文件。\n第二段。", "s.txt")
    assert a.date == D(2026, 2, 7) and a.date_source == "header" and a.title == "阿斯塔纳消息，两国总统举行会谈，签署了合作文件"


def test_markdown_heading_is_the_title() -> None:
    a = parse_article("# Machinery deal signed\n\n22.01.2015\n\nChina and Germany signed a deal on Thursday.\n", "m.md")
    assert a.title == "Machinery deal signed" and a.date == D(2015, 1, 22) and a.text.startswith("# Machinery deal signed\n")


# ---------------------------------------------------------------- web pages
def test_html_main_text_without_boilerplate_with_metadata() -> None:
    page = page_html("China and Germany sign machinery deal", PARAS_EN, date="2015-01-22T12:16:02+08:00",
                     author="Li Wei", saved_from="https://news.example.com/2015/01/22/deal.html")
    a = parse_html(page.encode(), "deal.html")
    assert a.title == "China and Germany sign machinery deal"
    assert a.date == D(2015, 1, 22) and a.date_source == "page metadata (htmldate)"
    assert a.author == "Li Wei" and a.source.url == "https://news.example.com/2015/01/22/deal.html"
    assert all(p in a.text for p in PARAS_EN)
    for boilerplate in ("Subscribe", "ADVERTISEMENT", "Related stories", "First! Totally agree", "Copyright", "tracking"):
        assert boilerplate not in a.text
    assert a.text.startswith("China and Germany sign machinery deal\n")


def test_html_without_date_metadata_is_dated_from_its_text() -> None:
    page = page_html("中德签署机械贸易协定", ["2015年1月22日", "新华社柏林1月22日电 中国和德国22日在柏林签署了一项机械贸易协定，金额为30亿欧元。",
                                          "双方官员表示，协定涵盖机床、汽车零部件和风力发电设备。双方还同意扩大人员交流。"])
    a = parse_html(page.encode(), "zh.html")
    assert a.date == D(2015, 1, 22) and a.date_source.startswith("date line")
    assert "30亿欧元" in a.text and "Copyright" not in a.text


def test_short_chinese_page_is_not_padded_with_its_menus() -> None:
    page = page_html("中德签署机械贸易协定", ["新华社柏林1月22日电 中国和德国22日在柏林签署了一项机械贸易协定，金额为30亿欧元。",
                                          "双方官员表示，协定涵盖机床、汽车零部件和风力发电设备。"], date="2015-01-22")
    a = parse_html(page.encode("gbk").replace(b'charset="utf-8"', b'charset="gbk"'), "gbk.html")
    assert a.text.startswith("中德签署机械贸易协定\n新华社柏林") and "30亿欧元" in a.text
    for boilerplate in ("Home", "Subscribe", "ADVERTISEMENT", "Related", "First!", "Copyright"):
        assert boilerplate not in a.text


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "empty"), (b"\x00\x01binary", "binary"), (b"just words, no markup at all", "not a web page"),
    (b"<html><head><script>render()</script></head><body><nav><a href='/'>Home</a></nav></body></html>", "no article text"),
])
def test_broken_pages_have_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse_html(raw, "bad.html")


# ---------------------------------------------------------------- PDF
def test_pdf_pages_title_date_and_reading_order() -> None:
    page1 = "Machinery deal signed in Berlin\n\n2015-01-22\n\n" + " ".join(PARAS_EN[:2])
    page2 = PARAS_EN[2] + "\n\nOfficials will meet again in the spring to review progress."
    raw = pdf_bytes([page1, page2], title="Machinery deal signed in Berlin", header="Daily Wire Test - World", numbers=True)
    a = parse_pdf(raw, "deal.pdf")
    assert a.title == "Machinery deal signed in Berlin" and a.date == D(2015, 1, 22)
    assert "Daily Wire Test - World" not in a.text  # running header
    assert "\n2\n" not in a.text and not a.text.rstrip().endswith("2")  # page numbers
    # Wrapped lines are one paragraph again: the first paragraph's sentences are on one line.
    assert PARAS_EN[0] in a.text.replace("\n", " ") and PARAS_EN[0][:60] in a.text
    lines = a.text.split("\n")
    assert any(PARAS_EN[0][:40] in line and "wind turbines" in line for line in lines)
    at = a.text.index("Both sides expect")
    assert a.location(at, at + 20) == "p. 2" and a.location(0, 10) == "p. 1"
    assert a.location(a.text.index("wind turbines"), at + 5) == "pp. 1–2"
    assert a.source.kind == "pdf" and a.source.page_at(at) == 2


@pytest.mark.skipif(not CJK_FONT.exists(), reason="fonts-noto-cjk not installed")
def test_chinese_pdf() -> None:
    raw = pdf_bytes([AGENCY_ZH.replace("\n", "\n\n")], cjk=True)
    a = parse_pdf(raw, "zh.pdf")
    assert a.title == "中德签署机械贸易协定" and a.date == D(2015, 1, 22)
    assert "金额为30亿欧元。" in a.text and "\x00" not in a.text


def test_unreadable_pdfs_have_their_reason() -> None:
    with pytest.raises(ArticleError, match="no text layer.*OCR"):
        parse_pdf(image_pdf_bytes(), "scan.pdf")
    with pytest.raises(ArticleError, match="password-protected"):
        parse_pdf(pdf_bytes(["Secret minutes of the meeting."], password="s3cret"), "locked.pdf")
    with pytest.raises(ArticleError, match="damaged"):
        parse_pdf(pdf_bytes(["Some text here."])[:300], "cut.pdf")
    with pytest.raises(ArticleError, match="not a PDF"):
        parse_pdf(b"<html>not a pdf</html>", "fake.pdf")


def test_pdf_with_empty_user_password_is_read() -> None:
    a = parse_pdf(pdf_bytes(["Open minutes: the committee approved the budget."], password=""), "open.pdf")
    assert "approved the budget" in a.text


# ---------------------------------------------------------------- Word
def test_docx_title_paragraphs_table_and_date() -> None:
    raw = docx_bytes(["22.01.2015", *PARAS_EN], title="Machinery deal signed", author="Li Wei",
                     table=[["Sector", "Share"], ["Machine tools", "40%"]])
    a = parse_docx(raw, "deal.docx")
    assert a.title == "Machinery deal signed" and a.date == D(2015, 1, 22) and a.author == "Li Wei"
    assert a.text.startswith("Machinery deal signed\nBERLIN, Jan. 22") and "Machine tools\t40%" in a.text
    assert "22.01.2015" not in a.text


def test_docx_without_a_date_is_undated_not_dated_by_the_template() -> None:
    a = parse_docx(docx_bytes(PARAS_EN[1:]), "nodate.docx")
    assert a.date is None  # python-docx's template 'created' (2013) is not the article's date


@pytest.mark.parametrize(("raw", "name", "reason"), [
    (b"PK\x03\x04 broken zip", "broken.docx", "not a readable .docx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old word", "old.doc", "save it as .docx"),
])
def test_unreadable_word_files(raw: bytes, name: str, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse_docx(raw, name)


# ---------------------------------------------------------------- exports
def test_csv_export_odd_columns_and_bad_rows() -> None:
    header = ["ID", "Headline", "Published At", "Body", "Link"]
    rows = [["1", "Machinery deal signed", "2015-01-22T12:16:02Z", PARAS_EN[0], "https://e.x/1"],
            ["2", "Empty one", "2015-01-23", "  ", "https://e.x/2"],
            ["3", "Bad date", "sometime", PARAS_EN[1], ""],
            ["4", "Too many", "2015-01-24", "text", "u", "extra"],
            ["5", "", "1421929800", PARAS_EN[2], ""]]
    read = parse_export(csv_text(header, rows, delimiter=";").encode(), "export.csv")
    assert read.columns == {"text": "Body", "title": "Headline", "date": "Published At", "url": "Link"}
    by_id = {a.id: a for a in read.articles}
    assert set(by_id) == {"export.csv#1", "export.csv#3", "export.csv#5"}
    first = by_id["export.csv#1"]
    assert first.title == "Machinery deal signed" and first.date == D(2015, 1, 22) and first.source.url == "https://e.x/1"
    assert first.location() == "row 1" and first.text.startswith("Machinery deal signed\n" + PARAS_EN[0][:20])
    assert by_id["export.csv#3"].date is None and "'sometime' is not understood" in by_id["export.csv#3"].undated_reason
    assert by_id["export.csv#5"].date == D(2015, 1, 22)  # epoch seconds
    problems = {p.id: p.reason for p in read.problems}
    assert "row 2: no text" in problems["export.csv#2"] and "6 fields" in problems["export.csv#4"]


def test_jsonl_export_nested_keys_bad_lines_and_configured_columns() -> None:
    objs = [{"headline": "Deal signed", "story": PARAS_EN[0], "meta": {"when": "22 January 2015", "src": "https://e.x/a"}},
            {"headline": "No story"},
            {"headline": "Second", "story": PARAS_EN[1], "meta": {"when": "2015年1月23日"}}]
    raw = jsonl_text(objs, bad_lines={1: "{not json", 3: "[1, 2]"}).encode()
    columns = ExportColumns(text="story", title="headline", date="meta.when", url="meta.src")
    read = parse_export(raw, "feed.jsonl", columns=columns)
    assert [(a.id, a.date) for a in read.articles] == [("feed.jsonl#1", D(2015, 1, 22)), ("feed.jsonl#5", D(2015, 1, 23))]
    assert read.articles[0].source.url == "https://e.x/a" and read.articles[0].location() == "row 1"
    reasons = sorted(p.reason for p in read.problems)
    assert reasons[0].startswith("line 2: not valid JSON") and reasons[1].startswith("line 3: no text")
    assert reasons[2].startswith("line 4: not a JSON object")
    with pytest.raises(ArticleError, match="has no column 'content'.*columns are"):
        parse_export(raw, "feed.jsonl", columns=ExportColumns(text="content"))


def test_export_text_column_guessed_when_no_known_name() -> None:
    read = parse_export(csv_text(["k", "blob"], [["a", PARAS_EN[0]], ["b", PARAS_EN[1]]]).encode(), "x.csv")
    assert read.columns["text"] == "blob" and len(read.articles) == 2


def test_size_limit_applies_to_the_text_of_each_row() -> None:
    big = "很长的文章。" * (MAX_ARTICLE_BYTES // 18 + 10)
    read = parse_export(csv_text(["title", "text"], [["big", big], ["ok", "短文章。"]]).encode(), "big.csv")
    assert [a.id for a in read.articles] == ["big.csv#2"]
    assert "too large" in read.problems[0].reason and "of text" in read.problems[0].reason


# ---------------------------------------------------------------- the folder: every format at once
@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    write(folder / "agency.txt", AGENCY_ZH)
    write(folder / "deal.html", page_html("Machinery deal signed", PARAS_EN, date="2015-01-22"))
    write(folder / "deal.pdf", pdf_bytes(["Machinery deal\n\n" + PARAS_EN[0], PARAS_EN[1]]))
    write(folder / "deal.docx", docx_bytes(PARAS_EN[1:], title="Word copy"))
    write(folder / "rows.csv", csv_text(["title", "date", "text"], [["A", "2015-01-20", "第一行文章。"], ["B", "2015-01-21", ""]]))
    write(folder / "scan.pdf", image_pdf_bytes())
    write(folder / "z-copy.jsonl", jsonl_text([{"text": "第一行文章。", "title": "A", "date": "2015-01-20"}]))
    write(folder / "notes.xlsx", b"PK not read")
    return folder


def test_folder_reads_every_format_and_reports_each_problem(mixed_folder: Path) -> None:
    loaded = load_articles(mixed_folder)
    kinds = {a.id: a.source.kind for a in loaded.articles}
    assert kinds == {"agency.txt": "text", "deal.html": "html", "deal.pdf": "pdf", "deal.docx": "docx", "rows.csv#1": "csv"}
    problems = {p.id: p.reason for p in loaded.problems}
    assert set(problems) == {"rows.csv#2", "scan.pdf"} and "OCR" in problems["scan.pdf"]
    assert [(p.id, p.reason) for p in loaded.duplicates] == [("z-copy.jsonl#1", "same text as rows.csv#1; indexed once, under rows.csv#1")]
    assert loaded.undated == [a for a in loaded.articles if a.id == "deal.docx"]


def test_one_row_of_an_export_is_loaded_by_its_id(mixed_folder: Path) -> None:
    assert load_article(mixed_folder / "rows.csv", "rows.csv#1").text.endswith("第一行文章。")
    with pytest.raises(ArticleError, match="no text"):
        load_article(mixed_folder / "rows.csv", "rows.csv#2")
    assert read_file(mixed_folder / "notes.xlsx")[1][0].reason.startswith(".xlsx cannot be read")


# ---------------------------------------------------------------- uploads: same formats, same sanitising
def test_uploads_accept_every_format_with_the_same_checks(tmp_path: Path) -> None:
    pdf = pdf_bytes(["Uploaded report\n\n" + PARAS_EN[0]])
    assert save_upload(tmp_path, "../../etc/report.pdf", pdf).name == "report.pdf"
    assert save_upload(tmp_path, "C:\\Users\\me\\deal (1).docx", docx_bytes(PARAS_EN)).name == "deal _1.docx"
    assert save_upload(tmp_path, "page.HTML", page_html("T", PARAS_EN).encode()).name == "page.html"
    assert save_upload(tmp_path, "rows.csv", csv_text(["text"], [["一行。"], [""]]).encode()).name == "rows.csv"
    with pytest.raises(ArticleError, match="OCR"):
        save_upload(tmp_path, "scan.pdf", image_pdf_bytes())
    with pytest.raises(ArticleError, match="no row could be read"):
        save_upload(tmp_path, "empty.csv", csv_text(["title", "text"], [["a", ""], ["b", " "]]).encode())
    with pytest.raises(ArticleError, match="only .txt"):
        save_upload(tmp_path, "macro.docm", b"x")
    assert not (tmp_path / "scan.pdf").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "deal _1.docx", "page.html", "report.pdf", "rows.csv"]


# ---------------------------------------------------------------- fetching a page by URL (a real server on 127.0.0.1)
@pytest.fixture(scope="module")
def news_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import functools
    import http.server
    import threading

    root = tmp_path_factory.mktemp("site")
    write(root / "2015" / "deal.html", page_html("Machinery deal signed", PARAS_EN, date="2015-01-22"))
    write(root / "report.pdf", pdf_bytes(["Annual machinery report\n\n" + PARAS_EN[1]]))
    write(root / "data.bin", b"\x00\x01")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_add_url_saves_the_page_as_an_article_with_its_address(news_server: str, tmp_path: Path) -> None:
    from qa.articles.web import add_url

    url = f"{news_server}/2015/deal.html"
    fetched = add_url(tmp_path, url)
    assert fetched.status == "added" and fetched.path.name == "127.0.0.1-deal.html"
    article = load_article(fetched.path)
    assert article.source.url == url and article.date == D(2015, 1, 22) and PARAS_EN[0] in article.text
    assert add_url(tmp_path, url).status == "unchanged"
    pdf = add_url(tmp_path, f"{news_server}/report.pdf")
    assert pdf.path.suffix == ".pdf" and "wind turbines" in load_article(pdf.path).text


@pytest.mark.parametrize(("path", "reason"), [("/missing.html", "answered 404"), ("/data.bin", "not a web page")])
def test_add_url_reasons(news_server: str, tmp_path: Path, path: str, reason: str) -> None:
    from qa.articles.web import add_url

    with pytest.raises(ArticleError, match=reason):
        add_url(tmp_path, news_server + path)
    assert not list(tmp_path.iterdir())


def test_add_url_refuses_other_schemes_and_unreachable_hosts(tmp_path: Path) -> None:
    from conftest import free_port
    from qa.articles.web import add_url

    with pytest.raises(ArticleError, match="only http"):
        add_url(tmp_path, "file:///etc/passwd")
    with pytest.raises(ArticleError, match="cannot fetch"):
        add_url(tmp_path, f"http://127.0.0.1:{free_port()}/x.html", timeout=5)


# ---------------------------------------------------------------- any bytes: a reason or articles, never a crash
_PDF = pdf_bytes(["A short page of text for cutting."])
_DOCX = docx_bytes(["A short paragraph for cutting."])
_MARKUP = st.lists(st.sampled_from([*'<>/"=,;\n{}[]:#pa 文章2015-01.', "<p>", "</p>", "<html>", '{"text": "', "\ttext,title\n"]),
                   max_size=80).map("".join)


@hyp_settings(max_examples=120, deadline=None)
@given(st.one_of(st.binary(max_size=300), _MARKUP.map(str.encode),
                 st.integers(0, len(_PDF)).map(lambda n: _PDF[:n]), st.integers(0, len(_DOCX)).map(lambda n: _DOCX[:n])),
       st.sampled_from(["x.csv", "x.jsonl", "x.html", "x.pdf", "x.docx"]))
def test_random_bytes_give_a_reason_or_articles(raw: bytes, name: str) -> None:
    parse = {".csv": parse_export, ".jsonl": parse_export, ".html": parse_html, ".pdf": parse_pdf, ".docx": parse_docx}
    try:
        parse[Path(name).suffix](raw, name)
    except ArticleError as exc:
        assert exc.reason
