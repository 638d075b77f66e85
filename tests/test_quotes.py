"""Who said what: extraction quality on hand-labelled seed quotes, speaker merging and the
aliases file, the quotes collection kept in step with the articles, chat routing, the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.articles import load_articles
from qa.cli import cli
from qa.errors import QAError
from qa.pipeline import Pipeline
from qa.extraction.quotes import Quote, extract_quotes
from qa.quotes.speakers import ALIASES_FILE, Aliases, SpeakerDirectory
from qa.text.question import parse_who_question
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GOLD = Path(__file__).resolve().parent / "data" / "quotes_gold.jsonl"
MIN_OVERLAP = 0.8


def _gold() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def _seed_quotes() -> tuple[list[Quote], SpeakerDirectory]:
    """Extraction over both seeds, speakers canonicalised the way the index's read side does."""
    from dataclasses import replace

    raw = [q for a in load_articles(ROOT / "seeds").articles for q in extract_quotes(a)]
    directory = SpeakerDirectory(dict(Counter(q.raw_speaker for q in raw)))
    return [replace(q, speaker=directory.canonical(q.raw_speaker) or q.raw_speaker) for q in raw], directory


def _overlap(a: str, b: str) -> float:
    """Longest common substring relative to the longer text: 1.0 = same span."""
    from difflib import SequenceMatcher

    m = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return m.size / max(len(a), len(b))


def test_attribution_precision_recall_on_hand_labelled_seed_quotes() -> None:
    """Match rule: same article, same canonical speaker, quote texts overlap ≥ 0.8 (one-to-one)."""
    gold = _gold()
    assert len(gold) >= 20
    predicted, directory = _seed_quotes()
    matched_pred: set[str] = set()
    hits = 0
    for g in gold:
        want = directory.resolve(g["speaker"])
        assert want is not None, g["speaker"]
        for q in predicted:
            if q.id not in matched_pred and q.article_id == g["article"] and q.speaker == want and _overlap(q.text, g["text"]) >= MIN_OVERLAP:
                matched_pred.add(q.id)
                hits += 1
                break
    precision, recall = hits / len(predicted), hits / len(gold)
    print(f"\nquotes: {len(predicted)} extracted, {len(gold)} gold, precision {precision:.3f}, recall {recall:.3f}")
    assert precision == 1.0
    assert recall == 1.0


def test_kinds_and_mentions_follow_the_gold_labels() -> None:
    """Gold kinds are direct/reported; reported speech is extracted as indirect, or mixed when it quotes a phrase."""
    predicted, _ = _seed_quotes()
    for g in _gold():
        q = max(predicted, key=lambda q: _overlap(q.text, g["text"]) if q.article_id == g["article"] else 0)
        kind = "direct" if q.kind == "direct" else "reported"
        assert (kind, q.mention) == (g["kind"], g["mention"]), g["text"][:30]
        assert q.speaker_type == "person" and q.resolved


def test_offsets_map_back_exactly() -> None:
    for article in load_articles(ROOT / "seeds").articles:
        quotes = extract_quotes(article)
        assert quotes
        for q in quotes:
            assert article.text[q.start : q.end] == q.text
            assert q.para_start <= q.start < q.end <= q.para_end
            assert "\n" not in article.text[q.para_start : q.para_end]


def test_pronouns_titles_and_dash_attributions_resolve_to_the_right_person() -> None:
    predicted, directory = _seed_quotes()
    tokayev, mirziyoyev = directory.resolve("托卡耶夫"), directory.resolve("米尔济约耶夫")

    def quote(start: str) -> Quote:
        return next(q for q in predicted if q.text.startswith(start))

    # 他 after a reported paragraph that names 米尔济约耶夫 as its topic: still the speaker, 托卡耶夫
    assert quote("在米尔济约耶夫总统的坚定领导下").speaker == tokayev
    # the quote names 托卡耶夫, but the attribution at its end is 米尔济约耶夫
    assert quote("哈萨克斯坦总统哈斯穆-卓玛尔特").speaker == mirziyoyev
    assert quote("他已指示政府").mention == "总统" and quote("他已指示政府").speaker == tokayev
    assert quote("在哈萨克斯坦，有超过6000家").mention == "国家元首"
    assert quote("我们始终高度关注中亚").kind == "direct"  # "……，—托卡耶夫表示。"
    assert quote("今天我们一致同意").speaker == directory.resolve("谢里夫") != tokayev


def test_name_variants_merge_into_one_speaker() -> None:
    _, directory = _seed_quotes()
    names = {directory.resolve(n) for n in ("托卡耶夫", "卡西姆-若马尔特·托卡耶夫", "哈斯穆-卓玛尔特·托卡耶夫")}
    assert len(names) == 1 and None not in names
    assert directory.resolve("夏巴兹·谢里夫") == directory.resolve("谢里夫") not in names
    assert directory.resolve("nobody") is None


def test_aliases_file_merges_renames_and_separates(tmp_path: Path) -> None:
    raw = {"卡西姆-若马尔特·托卡耶夫": 10, "哈斯穆-卓玛尔特·托卡耶夫": 20, "Kassym-Jomart Tokayev": 3, "Shehbaz Sharif": 1}
    auto = SpeakerDirectory(raw)
    assert auto.canonical("Kassym-Jomart Tokayev") != auto.canonical("卡西姆-若马尔特·托卡耶夫")  # no cross-script guess
    (tmp_path / ALIASES_FILE).write_text(json.dumps({
        "merge": {"卡西姆-若马尔特·托卡耶夫": ["Kassym-Jomart Tokayev"]},
        "rename": {"卡西姆-若马尔特·托卡耶夫": "Kassym-Jomart Tokayev"},
    }, ensure_ascii=False), encoding="utf-8")
    merged = SpeakerDirectory(raw, Aliases.load(tmp_path))
    assert {merged.canonical(n) for n in ("卡西姆-若马尔特·托卡耶夫", "哈斯穆-卓玛尔特·托卡耶夫", "Kassym-Jomart Tokayev")} == {"Kassym-Jomart Tokayev"}
    assert merged.resolve("tokayev") == merged.resolve("托卡耶夫") == "Kassym-Jomart Tokayev"
    (tmp_path / ALIASES_FILE).write_text(json.dumps({"separate": [["卡西姆-若马尔特·托卡耶夫", "哈斯穆-卓玛尔特·托卡耶夫"]]}, ensure_ascii=False), encoding="utf-8")
    apart = SpeakerDirectory(raw, Aliases.load(tmp_path))
    assert apart.canonical("卡西姆-若马尔特·托卡耶夫") == "卡西姆-若马尔特·托卡耶夫"
    assert apart.canonical("哈斯穆-卓玛尔特·托卡耶夫") == "哈斯穆-卓玛尔特·托卡耶夫"
    (tmp_path / ALIASES_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(QAError, match="speakers.json"):
        Aliases.load(tmp_path)


def test_aliases_file_is_not_an_article(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("托卡耶夫表示：“好。”", encoding="utf-8")
    (tmp_path / ALIASES_FILE).write_text("{}", encoding="utf-8")
    loaded = load_articles(tmp_path)
    assert [a.id for a in loaded.articles] == ["a.txt"] and not loaded.problems


def test_english_quotes_and_speakers() -> None:
    from qa.articles import parse_article

    article = parse_article(ENGLISH, "en.txt")
    quotes = extract_quotes(article)
    got = [(q.raw_speaker, q.mention, q.text) for q in quotes]
    assert got == [
        ("Shehbaz Sharif", "Sharif", "We will double our trade within two years"),
        ("Kassym-Jomart Tokayev", "Tokayev", "Kazakhstan is the largest economy in Central Asia."),
        ("Kassym-Jomart Tokayev", "the president", "Our digital platforms will simplify business"),
        ("Kassym-Jomart Tokayev", "he", "We invite Pakistani partners to use these opportunities"),
    ]
    for q in quotes:
        assert article.text[q.start : q.end] == q.text


@pytest.mark.parametrize(
    ("question", "speaker", "topic"),
    [
        ("谁说哈萨克斯坦是中亚最大经济体？", None, "哈萨克斯坦是中亚最大经济体"),
        ("是谁表示要成立双边工作组？", None, "要成立双边工作组"),
        ("托卡耶夫对乌兹别克斯坦说了什么？", "托卡耶夫", "乌兹别克斯坦"),
        ("米尔济约耶夫说了什么关于访问？", "米尔济约耶夫", "访问"),
        ("Who said that trade would double?", None, "trade would double"),
        ("What did Tokayev say about InDrive?", "Tokayev", "InDrive"),
    ],
)
def test_who_questions_are_recognised(question: str, speaker: str | None, topic: str) -> None:
    parsed = parse_who_question(question)
    assert parsed is not None and (parsed.speaker, parsed.topic) == (speaker, topic)


def test_ordinary_questions_are_not_who_questions() -> None:
    for q in ("哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？", "What share of Pakistan's taxi market does InDrive hold?"):
        assert parse_who_question(q) is None


# ------------------------------------------------------------------ through the real index
@pytest.mark.slow
def test_chat_routes_chinese_who_question_to_the_quote(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("谁说哈萨克斯坦是中亚最大经济体？")
    assert answer.text.startswith("托卡耶夫说：“哈萨克斯坦作为中亚最大经济体")
    c = answer.citations[0]
    assert c.article_id.startswith("000_") and "#q" in c.chunk_id
    assert c.chunk_text[c.sentence_in_chunk[0] : c.sentence_in_chunk[1]] == c.sentence
    assert c.sentence in answer.text

    sharif = seed_pipeline.ask("谁表示要成立双边工作组？")
    assert sharif.text.startswith("谢里夫说：“我们决定成立一个双边工作组")

    about = seed_pipeline.ask("米尔济约耶夫对托卡耶夫的访问说了什么？")
    assert about.text.startswith("米尔济约耶夫") and about.citations[0].article_id.startswith("003_")


@pytest.mark.slow
def test_chat_routes_english_who_question_and_leaves_other_questions_alone(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("Who said that Kazakhstan is the largest economy in Central Asia?")
    assert "托卡耶夫" in answer.text and " said: “哈萨克斯坦作为中亚最大经济体" in answer.text
    assert "#q" in answer.citations[0].chunk_id
    normal = seed_pipeline.ask("哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？")
    assert all("#q" not in c.chunk_id for c in normal.citations)


@pytest.mark.slow
def test_speakers_and_quote_search_over_the_seed_index(seed_pipeline: Pipeline) -> None:
    speakers = seed_pipeline.speakers()
    top = speakers[0]
    assert "托卡耶夫" in top.aliases or top.name.endswith("托卡耶夫")
    assert top.quote_count == 30 and len(top.articles) == 2 and top.type == "person" and (top.first_date, top.last_date) == ("2025-11-15", "2026-02-07")
    by_person = seed_pipeline.quotes(speaker="米尔济约耶夫")
    assert len(by_person) == 2 and {q.kind for q in by_person} == {"direct", "indirect"}
    by_meaning = seed_pipeline.quotes(query="双边工作组 五年计划", limit=3)
    assert by_meaning[0].text.startswith("今天我们一致同意") and by_meaning[0].score is not None
    both = seed_pipeline.quotes(speaker="托卡耶夫", query="粮食安全 农业", limit=3)
    assert all(q.speaker == top.name for q in both) and any("农" in q.text for q in both)
    assert seed_pipeline.quotes(speaker="托卡耶夫", since=__import__("datetime").date(2026, 1, 1), limit=100)[0].date == "2026-02-07"
    with pytest.raises(QAError, match="qa speakers"):
        seed_pipeline.quotes(speaker="nobody")


@pytest.mark.slow
def test_quotes_follow_article_changes_and_the_aliases_file(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a1.txt").write_text(CHINESE, encoding="utf-8")
    (folder / "a2.txt").write_text(ENGLISH, encoding="utf-8")
    settings = Settings(articles_dir=folder, vectorstore_dir=tmp_path / "vs")
    pipeline = Pipeline(settings, embeddings)
    pipeline.build()
    col = pipeline.index.collection("quotes")
    assert col.count() == 6
    names = {s.name: s.quote_count for s in pipeline.speakers()}
    assert names == {"卡西姆-若马尔特·托卡耶夫": 2, "Kassym-Jomart Tokayev": 3, "Shehbaz Sharif": 1}

    # The aliases file takes effect at read time, without re-indexing.
    (folder / ALIASES_FILE).write_text(json.dumps({"merge": {"Kassym-Jomart Tokayev": ["卡西姆-若马尔特·托卡耶夫"]}}), encoding="utf-8")
    assert {s.name: s.quote_count for s in pipeline.speakers()} == {"Kassym-Jomart Tokayev": 5, "Shehbaz Sharif": 1}
    answer = pipeline.ask("What did Tokayev say about digital platforms?")
    assert answer.text.startswith("Tokayev (托卡耶夫) said: “Our digital platforms will simplify business")

    # A changed article: its new quotes replace the old ones; a removed article takes its quotes along.
    (folder / "a1.txt").write_text(CHINESE + "\n她说：“这是新的引语。”\n", encoding="utf-8")
    (folder / "a2.txt").unlink()
    report = pipeline.build()
    assert report.updated == ["a1.txt"] and report.removed == ["a2.txt"]
    got = col.get(include=["metadatas"])
    live = pipeline.index.records()["a1.txt"].version
    assert {m["version"] for m in got["metadatas"]} == {live} and {m["article_id"] for m in got["metadatas"]} == {"a1.txt"}
    assert [q.text for q in pipeline.quotes(speaker="托卡耶夫")][-1] == "这是新的引语。"

    # An index from before quotes existed gets them backfilled by the next update, nothing else re-embedded.
    pipeline.index.client.delete_collection(pipeline.index.names["quotes"])
    report = pipeline.build()
    assert report.unchanged == ["a1.txt"] and report.chunks_written == 0
    assert pipeline.index.collection("quotes").count() == 3


@pytest.mark.slow
def test_cli_speakers_and_quotes(seed_pipeline: Pipeline, seed_settings: Settings) -> None:
    runner = CliRunner()
    base = ["--articles", str(seed_settings.articles_dir), "--vectorstore", str(seed_settings.vectorstore_dir)]
    table = runner.invoke(cli, [*base, "speakers"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split()[:5] == ["speaker", "type", "quotes", "articles", "dates"]
    assert "30" in lines[1].split() and "person" in lines[1].split() and "2025-11-15 – 2026-02-07" in lines[1]
    as_json = runner.invoke(cli, [*base, "speakers", "--json"])
    assert [(s["quote_count"], s["type"]) for s in json.loads(as_json.output)] == [(30, "person"), (2, "person"), (2, "person")]
    assert runner.invoke(cli, [*base, "speakers", "--type", "media", "--json"]).output.strip() == "[]"

    found = runner.invoke(cli, [*base, "quotes", "--speaker", "米尔济约耶夫", "--json"])
    rows = json.loads(found.output)
    assert len(rows) == 2 and all(r["speaker"] == "米尔济约耶夫" for r in rows)
    searched = runner.invoke(cli, [*base, "quotes", "--limit", "1", "双边工作组"])
    assert searched.exit_code == 0 and "今天我们一致同意" in searched.output
    unknown = runner.invoke(cli, [*base, "quotes", "--speaker", "nobody"])
    assert unknown.exit_code == 1 and "qa speakers" in unknown.output


CHINESE = """ date 2025-03-01
阿斯塔纳消息，哈萨克斯坦总统卡西姆-若马尔特·托卡耶夫会见了来访的客人。
托卡耶夫表示：“我们愿意扩大贸易合作。”
他强调，双方应加强交通联系。
"""

ENGLISH = """ date 2025-04-02
Prime Minister Shehbaz Sharif met President Kassym-Jomart Tokayev in Islamabad.
"We will double our trade within two years," Sharif said.
Tokayev said: "Kazakhstan is the largest economy in Central Asia."
"Our digital platforms will simplify business," the president added.
"We invite Pakistani partners to use these opportunities," he said.
"""


@pytest.mark.slow
def test_quotes_tab_renders_article_text_as_text(seed_pipeline: Pipeline) -> None:
    from dataclasses import replace

    from qa.ui import app as ui, render

    ui.build_app(seed_pipeline)  # the tab builds inside the real page
    q = seed_pipeline.quotes(speaker="米尔济约耶夫")[0]
    page = render.quotes_html(seed_pipeline, [replace(q, speaker="<b>x</b>", title="<script>alert(1)</script>")])
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x" in page
    assert f"<mark>{q.text}</mark>" in page  # the quote highlighted inside its source paragraph
    assert "米尔济约耶夫" in render.speakers_html(seed_pipeline.speakers())
