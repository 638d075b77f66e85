"""Which countries a question and a sentence are about (qa/subjects.py), on real article text."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.articles import load_article
from qa.extraction.quotes import extract_quotes
from qa.text.countries import (
    article_subjects,
    bilateral,
    gazetteer,
    introduced_country,
    located_countries,
    sentence_countries,
    subject_conflict,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PAKISTAN = SEEDS / "000_5e0bde8b062db4d5.txt"
UZBEKISTAN = SEEDS / "003_49e32907c8abc917.txt"


def _context(path: Path):  # type: ignore[no-untyped-def]
    article = load_article(path)
    quotes = [(q.start, q.end, q.raw_speaker) for q in extract_quotes(article)]
    return article, article_subjects(article.text, quotes)


def _sentence(text: str, needle: str) -> tuple[str, int, int]:
    start = text.index(needle)
    end = text.index("。", start) + 1
    return text[start:end], start, end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("哈萨克斯坦与中国去年的双边贸易额是多少？", {"KZ", "CN"}),
        ("巴基斯坦去年的經濟增長率是多少？", {"PK"}),  # traditional characters
        ("哈薩克的首都在哪裡？", {"KZ"}),  # the Taiwanese short form
        ("What was Uzbekistan's GDP growth rate last year?", {"UZ"}),
        ("How many Kazakh-owned companies operate there?", {"KZ"}),
        ("内蒙古自治区的首府是哪里？", set()),  # not Mongolia
        ("欧盟和联合国的立场是什么？", set()),  # organisations, not countries
        ("中欧班列每周开行几列？", set()),
    ],
)
def test_countries_named(text: str, expected: set[str]) -> None:
    assert gazetteer().countries(text) == expected


def test_speaker_country_comes_from_how_the_article_introduces_them() -> None:
    text = load_article(PAKISTAN).text
    assert introduced_country(text, "卡西姆-若马尔特·托卡耶夫") == "KZ"
    assert introduced_country(text, "夏巴兹·谢里夫") == "PK"
    assert introduced_country(text, "阿科尔达") is None


def test_first_person_nation_and_pair_resolve_inside_the_article() -> None:
    article, ctx = _context(PAKISTAN)
    assert ctx.pair == {"KZ", "PK"}
    growth = _sentence(article.text, "去年我国经济增长")
    assert sentence_countries(*growth, ctx) == {"KZ"}  # 我国 in Tokayev's speech
    trade = _sentence(article.text, "去年两国贸易额")
    assert sentence_countries(*trade, ctx) == {"KZ", "PK"}
    # without the article's context nothing is guessed
    assert sentence_countries(growth[0], 0, 0, None) == set()


def test_the_other_article_has_its_own_pair() -> None:
    _, ctx = _context(UZBEKISTAN)
    assert ctx.pair == {"KZ", "UZ"}


def test_conflicts_on_the_seed_articles() -> None:
    article, ctx = _context(PAKISTAN)
    growth = _sentence(article.text, "去年我国经济增长")
    trade = _sentence(article.text, "去年两国贸易额")
    companies = _sentence(article.text, "目前已有200多家巴基斯坦资本企业")
    # the same sentence answers the question about its subject and refuses another subject
    assert not subject_conflict("哈萨克斯坦的人均GDP达到了多少？", *growth, ctx)
    assert subject_conflict("巴基斯坦去年的经济增长率是多少？", *growth, ctx)
    assert subject_conflict("What was Uzbekistan's GDP growth rate last year?", *growth, ctx)
    # a question about a pair needs the sentence's pair
    assert not subject_conflict("哈萨克斯坦与巴基斯坦去年的贸易额增长了多少？", *trade, ctx)
    assert subject_conflict("哈萨克斯坦与中国去年的双边贸易额是多少？", *trade, ctx)
    # where: companies in Pakistan are not the Pakistani companies in Kazakhstan
    assert not subject_conflict("目前有多少家巴基斯坦资本的企业在哈萨克斯坦经营？", *companies, ctx)
    assert subject_conflict("在巴基斯坦经营的乌兹别克斯坦企业有多少家？", *companies, ctx)
    # a question naming no country, or a sentence naming none, never conflicts
    assert not subject_conflict("去年的经济增长率是多少？", *growth, ctx)
    assert not subject_conflict("巴基斯坦去年的经济增长率是多少？", "经济增长了6.5%。", 0, 6, ctx)


def test_bilateral_and_located() -> None:
    assert bilateral("哈萨克斯坦与中国去年的双边贸易额是多少？")
    assert bilateral("trade between Kazakhstan and China")
    assert not bilateral("在巴基斯坦经营的乌兹别克斯坦企业有多少家？")
    assert located_countries("在巴基斯坦经营的乌兹别克斯坦企业有多少家？") == {"PK"}
    assert located_countries("How many companies operate in Uzbekistan?") == {"UZ"}
    assert located_countries("乌兹别克斯坦的企业") == set()
    assert located_countries("1773年在西班牙和法国的影响下") == {"ES", "FR"}
    assert located_countries("为何不在泰国也可以吃到泰国米？") == set()
    assert located_countries("rice not in Thailand") == set()


@pytest.mark.parametrize("text, expected", [
    ("清朝时哪一机构会管理青海地区？", set()),      # 海地 (Haiti) across 青海|地区
    ("上海地区的经济增长", set()),
    ("增加纳税人数", set()),                         # 加纳 (Ghana) across 增加|纳税
    ("海地的首都是太子港", {"HT"}),
    ("赴美国留学", {"US"}),                          # jieba writes 赴美|国: starts inside a word, still a mention
    ("韩国和日本在建立邦交之前", {"KR", "JP"}),
])
def test_a_country_name_straddling_two_words_is_not_a_mention(text: str, expected: set[str]) -> None:
    assert gazetteer().countries(text) == expected
