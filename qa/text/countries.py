"""Which countries a question and an answer sentence are about (CLDR names via Babel, 我国 / 两国 resolved per article).

Press releases about bilateral visits say the same kind of thing about several countries
("去年我国经济增长了6.5%" in a Kazakh president's speech in Pakistan). The embedding of
"巴基斯坦去年的经济增长率是多少？" is close to that sentence, but the sentence is about
Kazakhstan: answering with it would be wrong. This module names the countries on each side
so the composer can refuse when they disagree:

* country names come from the CLDR territory names in Babel (simplified and traditional
  Chinese, English), plus the short forms news text uses (哈萨克 for 哈萨克斯坦, Kazakh and
  Kazakhstani for Kazakhstan);
* 我国 / 本国 / "our country" in a quotation is the speaker's country, read from how the article
  introduces the speaker ("哈萨克斯坦共和国总统卡西姆-若马尔特·托卡耶夫");
* 两国 / 双边 / 双方 is the article's pair of countries when two clearly dominate it.

A sentence that names no country (after resolution) never conflicts: the check only fires
when both sides name countries and share none, when a question about a pair of countries
meets a sentence about another pair, or when the question asks about something *in* one
country and the sentence places it in another.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from qa.text import static_cache
from qa.text.normalise import normalize

_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AQ"}
"""CLDR territory codes that are unions, organisations or pseudo-regions, not countries."""
_EN_DEMONYMS = {
    "CN": ["Chinese"], "GB": ["British"], "FR": ["French"], "DE": ["German"], "JP": ["Japanese"],
    "KR": ["Korean", "South Korean"], "US": ["American", "U.S.", "USA"], "TR": ["Turkish"], "NL": ["Dutch"],
    "CH": ["Swiss"], "ES": ["Spanish"], "TH": ["Thai"], "VN": ["Vietnamese"], "RU": ["Russian"],
    "IN": ["Indian"], "KZ": ["Kazakh", "Kazakhstani"], "UZ": ["Uzbek", "Uzbekistani"], "PK": ["Pakistani"],
    "KG": ["Kyrgyz"], "TJ": ["Tajik"], "TM": ["Turkmen"], "AF": ["Afghan"], "IR": ["Iranian"],
    "AZ": ["Azerbaijani"], "UA": ["Ukrainian"], "IT": ["Italian"], "PL": ["Polish"], "SE": ["Swedish"],
}
_AMBIGUOUS_FORMS = {"黑山", "蒙古", "关岛", "尼日", "马利", "东加", "卡达", "查德", "根息", "曼岛", "纽埃", "加彭", "贝南", "chad", "jordan", "georgia", "turkey", "jersey", "guinea"}
"""Short country forms that are more often part of other words or names here (内蒙古, 黑山县, Chad, Jordan)."""
_FIRST_PERSON_NATION = re.compile(r"我国|本国|我们国家|我们的国家|我們國家|\bour (?:country|nation)\b|\bmy country\b", re.I)
_PAIR_REFERENCE = re.compile(r"两国|双边|兩國|雙邊|\bboth countries\b|\bbilateral\b|\btwo countries\b", re.I)
_TITLE_BETWEEN = "共和国总统总理首相外长交部副主席国王统领导人元首"
"""Characters that may stand between a country and a person's name in an introduction."""


@dataclass(frozen=True)
class Gazetteer:
    """Written country forms (normalised: simplified, half-width, lower case) → ISO 3166 code."""

    forms: dict[str, str]
    _zh: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _en: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zh = sorted((f for f in self.forms if not f.isascii()), key=len, reverse=True)
        en = sorted((f for f in self.forms if f.isascii()), key=len, reverse=True)
        object.__setattr__(self, "_zh", re.compile("|".join(map(re.escape, zh))))
        # English forms whole words only ("Iran" is not in "Iranian" unless listed), case-folded.
        object.__setattr__(self, "_en", re.compile(r"(?<![a-z])(?:" + "|".join(map(re.escape, en)) + r")(?![a-z])"))

    def _matches(self, folded: str) -> list[re.Match[str]]:
        """Country forms in normalised text. A Chinese form that starts inside one word and ends inside
        the next is not a mention: 海地 (Haiti) in 上海|地区 and 青海|地区, 加纳 (Ghana) in 增加|纳税 (a
        DRCD question about 青海 was refused as being about Haiti). One that only starts inside a word
        is: jieba writes 赴美|国 for 赴美国."""
        zh = list(self._zh.finditer(folded))
        if zh:
            inside = _word_interiors(folded)
            zh = [m for m in zh if not (m.start() in inside and m.end() in inside)]
        return zh + list(self._en.finditer(folded))

    def countries(self, text: str) -> set[str]:
        return {self.forms[m.group(0)] for m in self._matches(normalize(text))}

    def mentions(self, text: str) -> Counter[str]:
        return Counter(self.forms[m.group(0)] for m in self._matches(normalize(text)))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, code) of every country form in `text` (normalisation keeps offsets:
        it maps character to character)."""
        folded = normalize(text)
        if len(folded) != len(text):  # pragma: no cover - NFKC expanding a character; rare in news text
            return []
        return [(m.start(), m.end(), self.forms[m.group(0)]) for m in self._matches(folded)]


@lru_cache(maxsize=4096)
def _word_interiors(text: str) -> frozenset[int]:
    """Offsets that fall strictly inside a jieba word of `text` (not at its start)."""
    from qa.text.jieba_tables import jieba_ready as _jieba

    inside: set[int] = set()
    for _, start, end in _jieba().tokenize(text):
        inside.update(range(start + 1, end))
    return frozenset(inside)


def _short_forms_zh(name: str) -> list[str]:
    # 哈萨克斯坦 → 哈萨克, 乌兹别克斯坦 → 乌兹别克; 巴基斯坦 keeps its name (巴基 is not a word).
    if name.endswith("斯坦") and len(name) - 2 >= 3:
        return [name[:-2]]
    return []


GAZETTEER_RULES = 1
"""Bump when the way country forms are derived from CLDR changes (the stored table is then rebuilt)."""


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The country forms from CLDR (Babel), built once and stored next to the model cache (`static_cache`)."""
    from importlib.metadata import version

    rules = repr((GAZETTEER_RULES, sorted(_NOT_COUNTRIES), _EN_DEMONYMS, sorted(_AMBIGUOUS_FORMS)))
    return Gazetteer(static_cache.cached("gazetteer", f"{rules}|babel-{version('babel')}|zhconv-{version('zhconv')}", _country_forms))


def _country_forms() -> dict[str, str]:
    from babel import Locale

    forms: dict[str, str] = {}
    for locale in ("zh", "zh_Hant", "zh_Hant_HK"):
        for code, name in Locale.parse(locale).territories.items():
            if len(code) != 2 or code in _NOT_COUNTRIES or "特别行政区" in normalize(name):
                continue
            base = normalize(re.sub(r"[（(].*?[)）]", "", name)).strip()
            if len(base) < 2:
                continue
            for form in [base, *_short_forms_zh(base)]:
                if form not in _AMBIGUOUS_FORMS:
                    forms.setdefault(form, code)
    for code, name in Locale.parse("en").territories.items():
        if len(code) != 2 or code in _NOT_COUNTRIES:
            continue
        base = normalize(re.sub(r"\s*\(.*?\)", "", name)).strip()
        if len(base) >= 4 and base not in _AMBIGUOUS_FORMS:
            forms.setdefault(base, code)
    for code, names in _EN_DEMONYMS.items():
        for name in names:
            forms.setdefault(normalize(name), code)
    return forms


# --------------------------------------------------------------------------- articles
@dataclass(frozen=True)
class ArticleSubjects:
    """What an article's country references resolve to."""

    pair: frozenset[str] = frozenset()
    """The two countries a "两国" sentence means: the article's two most-named countries, when
    they clearly dominate it (each named at least twice, and twice as often as any third)."""
    speakers: tuple[tuple[int, int, str], ...] = ()
    """(start, end, country) of every quotation whose speaker's country is known."""

    def speaker_country(self, start: int, end: int) -> str | None:
        for s, e, country in self.speakers:
            if s <= start < e or start <= s < end:
                return country
        return None


def introduced_country(text: str, name: str) -> str | None:
    """The country written just before a person's name where the article introduces them
    ("巴基斯坦总理夏巴兹·谢里夫" → PK), or None."""
    if not name:
        return None
    gaz = gazetteer()
    head = re.escape(name[:2])
    for m in re.finditer(head, text):
        window = text[max(0, m.start() - 24) : m.start()]
        best = None
        for s, e, code in gaz.spans(window):
            if all(ch in _TITLE_BETWEEN for ch in window[e:]):
                best = code
        if best:
            return best
    return None


def article_subjects(text: str, quotes: Iterable[tuple[int, int, str]] = ()) -> ArticleSubjects:
    """`quotes`: (start, end, speaker name) of the article's quotations."""
    counts = gazetteer().mentions(text).most_common(3)
    pair: frozenset[str] = frozenset()
    if len(counts) >= 2 and counts[1][1] >= 2 and (len(counts) < 3 or counts[1][1] >= 2 * counts[2][1]):
        pair = frozenset((counts[0][0], counts[1][0]))
    known: dict[str, str | None] = {}
    speakers = []
    for start, end, name in quotes:
        if name not in known:
            known[name] = introduced_country(text, name)
        if known[name]:
            speakers.append((start, end, known[name]))
    return ArticleSubjects(pair, tuple(speakers))  # type: ignore[arg-type]


def sentence_countries(sentence: str, start: int, end: int, context: ArticleSubjects | None) -> set[str]:
    """Countries a sentence is about: those it names, 我国 as its speaker's, 两国 as the article's pair."""
    found = gazetteer().countries(sentence)
    if context is not None:
        if _FIRST_PERSON_NATION.search(sentence):
            country = context.speaker_country(start, end)
            if country:
                found.add(country)
        if _PAIR_REFERENCE.search(sentence):
            found |= context.pair
    return found


def bilateral(question: str) -> bool:
    """The question is about a relation between countries ("哈萨克斯坦与中国的贸易额", 两国, bilateral)."""
    if _PAIR_REFERENCE.search(question):
        return True
    folded = normalize(question)
    spans = sorted(gazetteer().spans(question))
    return any(re.fullmatch(r"\s*(?:与|和|同|及|跟|、|,|and|&)\s*", folded[a[1]:b[0]]) for a, b in zip(spans, spans[1:]))


_LOCATIVE = re.compile(r"(?<![不没沒未非])(?:在|于|於)\s*$|(?<!not )\b(?:in(?: the)?|within|inside)\s*$")
_AND = re.compile(r"\s*(?:与|和|同|及|跟|、|,|and|or)\s*")


def located_countries(text: str) -> set[str]:
    """Countries the text puts something *in* (在巴基斯坦, in Uzbekistan, 在西班牙和法国);
    不在泰国 puts nothing there."""
    folded = normalize(text)
    found: set[str] = set()
    previous: tuple[int, bool] | None = None
    for start, end, code in sorted(gazetteer().spans(text)):
        located = bool(_LOCATIVE.search(folded[max(0, start - 12):start])) or (
            previous is not None and previous[1] and bool(_AND.fullmatch(folded[previous[0]:start])))
        if located:
            found.add(code)
        previous = (end, located)
    return found


def subject_conflict(question: str, sentence: str, start: int, end: int, context: ArticleSubjects | None) -> bool:
    """True when the question asks about countries the sentence is not about: it names none of
    them, or (for a question about a relation between countries) not all of them."""
    asked = gazetteer().countries(question)
    if not asked:
        return False
    about = sentence_countries(sentence, start, end, context)
    if not about:
        return False
    if len(asked) >= 2 and bilateral(question):
        return not asked <= about
    if not asked & about:
        return True
    # "在巴基斯坦经营的乌兹别克斯坦企业" against "巴基斯坦资本企业在哈萨克斯坦": both name Pakistan,
    # but the question asks about companies in Pakistan and the sentence counts those in Kazakhstan.
    where_asked, where_said = located_countries(question), located_countries(sentence)
    return bool(where_asked and where_said and not where_asked & where_said)
