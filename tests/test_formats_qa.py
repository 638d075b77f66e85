"""A question answered and cited from each article format (one small shared index), `qa add URL`, and
`qa index` naming the articles it could not date."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from format_files import csv_text, docx_bytes, jsonl_text, page_html, pdf_bytes, write
from qa.cli import cli
from qa.pipeline import Pipeline
from qa.settings import Settings

pytestmark = pytest.mark.slow

FOLDER = {
    "agency.txt": "中德签署机械贸易协定\n2015-01-22 12:16:02\n新华社柏林1月22日电 中国和德国22日在柏林签署了一项机械贸易协定，金额为30亿欧元。\n"
                  "双方官员表示，协定涵盖机床、汽车零部件和风力发电设备。\n",
    "museum.html": page_html("Tbilisi opens a glass museum", [
        "TBILISI, March 3 (Kazinform) -- A new glass museum opened in the old town of Tbilisi on Tuesday.",
        "The museum received 4,200 visitors on its opening day, the city's culture office said.",
        "Its collection of about 900 pieces was donated by local families."], date="2016-03-03",
        saved_from="https://news.example.org/2016/03/museum.html"),
    "ferry.pdf": pdf_bytes([
        "Caspian ferry report\n\n2017-06-10\n\nThe port authority published its yearly report on the Caspian ferry services on Friday.",
        "The new Baku ferry terminal will handle 1.5 million passengers a year once it is finished."]),
    "hospital.docx": docx_bytes(["12.09.2018", "A new hospital wing opened in Dushanbe on Wednesday.",
                                 "The Dushanbe hospital wing has 320 beds and two operating theatres, the health ministry said."],
                                title="Dushanbe hospital wing opens"),
    "schools.csv": csv_text(["标题", "发布时间", "正文"], [
        ["塔什干修建新桥", "2019-04-01", "塔什干市政府宣布，将在奇尔奇克河上修建一座新桥。"],
        ["比什凯克新建职业学校", "2019-05-20", "比什凯克新建的职业学校于5月20日落成，可容纳1800名学生。"]]),
    "feed.jsonl": jsonl_text([{"headline": "Ulaanbaatar data centre", "body": "The Ulaanbaatar data centre uses 40 megawatts of "
                               "power, its operator said on Monday.", "meta": {"published": "2020-02-10T09:00:00Z"},
                               "link": "https://db.example.org/ub-data-centre"}]),
    "undated.txt": "一篇没有日期的短讯：阿拉木图的新公园将种植三千棵树。\n",
}


@pytest.fixture(scope="module")
def formats_pipeline(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Pipeline:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("formats")
    for name, data in FOLDER.items():
        write(folder / name, data)
    settings = Settings(articles_dir=folder, vectorstore_dir=tmp_path_factory.mktemp("formats-vs"))
    pipeline = Pipeline(settings, embeddings)
    report = pipeline.build()
    assert not report.problems, report.problems
    return pipeline


@pytest.mark.parametrize(("question", "article_id", "answer", "location", "date"), [
    ("中国和德国签署的机械贸易协定金额是多少？", "agency.txt", "30亿欧元", "", "2015-01-22"),
    ("How many visitors did the Tbilisi glass museum receive on its opening day?", "museum.html", "4,200", "", "2016-03-03"),
    ("How many passengers a year will the Baku ferry terminal handle?", "ferry.pdf", "1.5 million", "p. 2", "2017-06-10"),
    ("How many beds does the Dushanbe hospital wing have?", "hospital.docx", "320 beds", "", "2018-09-12"),
    ("比什凯克新建的职业学校可容纳多少名学生？", "schools.csv#2", "1800名学生", "row 2", "2019-05-20"),
    ("How much power does the Ulaanbaatar data centre use?", "feed.jsonl#1", "40 megawatts", "row 1", "2020-02-10"),
])
def test_each_format_answers_and_cites_its_source(formats_pipeline: Pipeline, question: str, article_id: str, answer: str,
                                                  location: str, date: str) -> None:
    got = formats_pipeline.ask(question)
    assert not got.refused and answer in got.text, got.text
    cited = got.citations[0]
    assert cited.article_id == article_id and cited.location == location and cited.date == date
    if article_id == "museum.html":
        assert cited.url == "https://news.example.org/2016/03/museum.html"
    if article_id == "feed.jsonl#1":
        assert cited.url == "https://db.example.org/ub-data-centre"


def test_cli_shows_the_location_and_reports_undated_articles(formats_pipeline: Pipeline) -> None:
    s = formats_pipeline.settings
    base = ["--articles", str(s.articles_dir), "--vectorstore", str(s.vectorstore_dir)]
    out = CliRunner().invoke(cli, [*base, "ask", "How many passengers a year will the Baku ferry terminal handle?"])
    assert out.exit_code == 0 and "ferry.pdf, p. 2" in out.output, out.output
    out = CliRunner().invoke(cli, [*base, "index"])
    assert out.exit_code == 0 and "undated undated.txt: no date found" in out.output, out.output
    assert "1 article could not be dated" in out.output


@pytest.fixture
def site(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "site"
    write(root / "news" / "kyrgyz-dam.html", page_html("Kyrgyz dam completed", [
        "BISHKEK, Aug. 8 (Kazinform) -- Engineers finished the Naryn river dam on Thursday.",
        "The Naryn river dam will produce 240 megawatts of electricity, the energy ministry said."], date="2021-08-08"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_qa_add_url_fetches_indexes_and_cites_the_page(site: str, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    base = ["--articles", str(articles), "--vectorstore", str(tmp_path / "vs")]
    url = f"{site}/news/kyrgyz-dam.html"
    out = CliRunner().invoke(cli, [*base, "add", url, f"{site}/missing.html"])
    assert out.exit_code == 1, out.output  # one of the two failed: said, and the exit status says so
    assert f"added as 127.0.0.1-kyrgyz-dam.html (1 passages) — {url}" in out.output and "missing.html: the server answered 404" in out.output
    out = CliRunner().invoke(cli, [*base, "ask", "How much electricity will the Naryn river dam produce?", "--json"])
    assert out.exit_code == 0 and "240 megawatts" in out.output and url in out.output, out.output


def test_a_record_from_before_the_readers_gets_their_fields_without_re_embedding(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    from qa.articles import READER_VERSION

    folder = tmp_path / "articles"
    write(folder / "hospital.docx", FOLDER["hospital.docx"])
    pipeline = Pipeline(Settings(articles_dir=folder, vectorstore_dir=tmp_path / "vs"), embeddings)
    pipeline.build()
    # As an index written before the format readers left it: no source fields, another title, reader 0.
    pipeline.index.update_records(["hospital.docx"], [{"title": "A new hospital wing opened in Dushanbe on Wednesday",
                                                       "source_kind": "", "date_source": "", "reader": 0}])
    report = pipeline.build()
    assert report.unchanged == ["hospital.docx"] and report.chunks_written == 0
    record = pipeline.index.records()["hospital.docx"]
    assert (record.title, record.source_kind, record.reader) == ("Dushanbe hospital wing opens", "docx", READER_VERSION)
    assert record.date_source == "date line '12.09.2018'"
    again = pipeline.build()  # and from now on the file is not even read (its stat and reader match)
    assert again.unchanged == ["hospital.docx"]


def test_an_export_file_name_restricts_the_search_to_its_rows(formats_pipeline: Pipeline) -> None:
    got = formats_pipeline.ask("比什凯克新建的职业学校可容纳多少名学生？", article_ids=["schools.csv"])
    assert got.citations and {c.article_id for c in got.citations} <= {"schools.csv#1", "schools.csv#2"}
    other = formats_pipeline.ask("比什凯克新建的职业学校可容纳多少名学生？", article_ids=["feed.jsonl"])
    assert {c.article_id for c in other.citations} <= {"feed.jsonl#1"}  # only that export's rows, if anything
