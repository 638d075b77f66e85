"""Claims and evidence sentences as checkable facts: names (LAC NER), figures, dates, content words."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from qa.text.dates import DateExpr, dates
from qa.text.entities import Token, tokens
from qa.text.normalise import normalize
from qa.text.quantities import Quantity, quantities

FactKind = str
"""'person', 'organisation', 'place', 'term' (a proper noun LAC tags nz/nw), 'number' or 'date'."""

_ENTITY_TAGS = {"PER": "person", "ORG": "organisation", "LOC": "place", "nz": "term", "nw": "term"}
_CONTENT_TAGS = {"n", "nz", "nw", "vn", "v", "a", "an", "PER", "ORG", "LOC", "s", "ns", "nt", "nr", "ad", "vd"}
_NOUN_TAGS = {"n", "nz", "nw", "PER", "ORG", "LOC", "s", "an", "vn"}
# Words that carry no fact of their own even where LAC tags them content words.
_LIGHT = {"表示", "认为", "指出", "称", "说", "强调", "介绍", "进行", "成为", "实现", "发展", "问题", "方面", "工作", "情况",
          "有关", "相关", "报道", "消息", "记者", "新华社", "目前", "已经", "正在", "没有", "可以", "能够", "需要", "通过", "为了"}


_NAME_TAGS = {"PER", "LOC", "ORG"}
CONTEXT_WITHOUT_NAMES = True


@dataclass(frozen=True)
class Fact:
    """One checkable piece of a sentence: a name, a figure or a date, with its offsets."""

    kind: FactKind
    text: str
    start: int
    end: int
    quantity: Quantity | None = None
    date: DateExpr | None = None

    @property
    def is_name(self) -> bool:
        return self.kind in ("person", "organisation", "place", "term")


@dataclass(frozen=True)
class Analysis:
    """A sentence analysed once: its LAC words, its facts and its content words."""

    text: str
    words: tuple[Token, ...]
    facts: tuple[Fact, ...]
    content: tuple[str, ...]
    nouns: tuple[str, ...] = field(default=())


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=16384)
def analyse(text: str, reference: dt.date | None = None) -> Analysis:
    """Facts of `text` (dates resolved against `reference`, the article's date)."""
    text = _clean(text)
    words = tokens(text)
    found: list[Fact] = []
    date_exprs = dates(text, reference)
    for d in date_exprs:
        if d.fields():
            found.append(Fact("date", d.text, d.start, d.end, date=d))
    spans = [(d.start, d.end) for d in date_exprs]
    for q in quantities(text):
        if any(a <= q.start < b or a < q.end <= b for a, b in spans):
            continue  # a figure that is part of a date: the date carries it
        found.append(Fact("number", q.text, q.start, q.end, quantity=q))
    for t in words:
        kind = _ENTITY_TAGS.get(t.tag)
        if kind is None or len(t.text) < 2 or re.fullmatch(r"[\d.%]+", t.text):
            continue
        if any(a <= t.start < b for a, b in spans) or any(f.start <= t.start < f.end for f in found if f.kind == "number"):
            continue
        found.append(Fact(kind, t.text, t.start, t.end))
    found.sort(key=lambda f: f.start)
    content = tuple(dict.fromkeys(t.text for t in words if t.tag in _CONTENT_TAGS and len(t.text) >= 2 and t.text not in _LIGHT))
    nouns = tuple(dict.fromkeys(t.text for t in words if t.tag in _NOUN_TAGS and len(t.text) >= 2 and t.text not in _LIGHT))
    return Analysis(text, words, tuple(found), content, nouns)


@lru_cache(maxsize=16384)
def figures(text: str, reference: dt.date | None = None) -> tuple[tuple[Quantity, ...], tuple[DateExpr, ...]]:
    """The figures and dates of a sentence without the LAC pass (enough to see whether it states a claim's)."""
    text = _clean(text)
    found = dates(text, reference)
    spans = [(d.start, d.end) for d in found]
    qs = tuple(q for q in quantities(text) if not any(a <= q.start < b or a < q.end <= b for a, b in spans))
    return qs, tuple(d for d in found if d.fields())


def name_key(text: str) -> str:
    """A name as compared: normalised, without the dots and spaces between its parts."""
    return re.sub(r"[·•・\s\-‧]", "", normalize(text))


def name_in(name: str, haystack_key: str) -> bool:
    """Whether the name (or, for a long one LAC may have merged with its neighbours, most of it) is in the text."""
    key = name_key(name)
    if key in haystack_key:
        return True
    if len(key) >= 5:
        grams = [key[i:i + 2] for i in range(len(key) - 1)]
        return sum(g in haystack_key for g in grams) / len(grams) >= 0.8
    return False


def word_coverage(claim: Analysis, sentence: str) -> float:
    """Share of the claim's content words found in `sentence` (normalised, as substrings)."""
    if not claim.content:
        return 0.0
    key = normalize(_clean(sentence))
    return sum(normalize(w) in key for w in claim.content) / len(claim.content)


def context_words(analysis: Analysis, start: int, end: int, width: int = 2) -> set[str]:
    """The content words right before and after a span (the figure's or name's role in the sentence;
    speech verbs count here: 王继才表示 and 陈贵斌表示 fill the same role)."""
    tags = _CONTENT_TAGS - _NAME_TAGS if CONTEXT_WITHOUT_NAMES else _CONTENT_TAGS
    before = [t.text for t in analysis.words if t.end <= start and t.tag in tags]
    after = [t.text for t in analysis.words if t.start >= end and t.tag in tags]
    return {normalize(w) for w in before[-width:] + after[:width]}


def context_overlap(a: set[str], b: set[str]) -> int:
    """Context words in common; a word inside a longer one counts (中央代表团 in 中央代表团分团)."""
    return sum(any(x == y or (len(x) >= 2 and len(y) >= 2 and (x in y or y in x)) for y in b) for x in a)
