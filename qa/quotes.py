"""Who said what: quotes and their speakers, extracted from the article text at index time.

Extraction (per article, regex + a small discourse model, no LLM):

* direct quotes — ``托卡耶夫表示：“……”`` (also ASCII ``"…"``), ``“……”，他说。``, dash-led
  paragraphs closed by an attribution (``—……-托卡耶夫表示。`` / ``……，—托卡耶夫表示。``), and
  English ``"…," X said`` / ``X said: "…"``;
* reported speech — ``X强调，……。`` / ``总统宣布，……`` (kind ``"reported"``).

Speakers: a mention (name, 他/她, 国家元首/总统/总理, he/she, "the president") is resolved
inside its article to a person: pronouns → the person in focus (the last speaker or
sentence-initial named subject; names inside quotes never take the focus), 总统/国家元首 → the
president in focus, 总理 → the prime minister mentioned. The in-article result (fullest
name form in that article) is stored as ``raw_speaker`` next to the ``mention``.

Merging name variants across articles (surname only ↔ full name, different transliterations
of one full name) and the user's aliases file are applied at read time (`SpeakerDirectory`),
so editing ``speakers.json`` takes effect on the next query without re-indexing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.articles import Article
from qa.errors import QAError

if TYPE_CHECKING:  # pragma: no cover
    from qa.answer import Answer
    from qa.index import ArticleIndex
    from qa.pipeline import Pipeline

QUOTES_EXTRACTOR = 1
"""Bump when extraction changes: `sync_quotes` then re-extracts every article (no chunk re-embedding)."""

ALIASES_FILE = "speakers.json"
"""Optional, in the articles folder. ``.json`` is not an article suffix, so the loader skips it."""

# Characters used by Chinese transliterations of foreign names (Xinhua usage). A run of them
# next to a title or a speech verb is taken as a name; ordinary words rarely consist only of them.
_TRANSLIT = (
    "阿埃艾爱安昂敖奥澳巴拜班邦包保鲍贝本比彼毕庇宾滨波伯勃博布卜茨查察柴昌楚达戴丹德道登迪狄"
    "蒂丁东杜敦顿多厄恩尔法凡范菲费芬丰夫弗伏福富盖甘冈高戈哥格根古瓜圭贵哈海汉豪赫亨洪侯胡华"
    "怀霍基吉济加嘉佳贾杰捷金津久卡凯坎康考柯科可克肯库夸奎昆拉莱赖兰郎朗劳勒雷蕾黎里丽利莉"
    "列林琳铃留柳隆卢鲁陆路伦罗洛马玛迈麦曼芒毛梅门蒙孟米敏明缪摩莫默姆穆纳娜奈南瑙内尼妮涅宁"
    "纽努诺欧帕派潘庞佩彭皮珀坡普奇齐契恰乔切钦琴琼丘屈让热茹瑞若萨塞赛桑瑟森沙莎尚绍舍申什史"
    "舒斯松苏索塔泰坦汤唐陶特提廷图托瓦万旺威韦维温翁沃乌伍西希锡夏谢辛欣休许雅亚延扬耶叶"
    "伊依因英尤于约扎泽詹兹佐卓祖哲"
)
_T = f"[{_TRANSLIT}]"
_NAME_SEP = "-·‧•・"
_FULL_NAME = re.compile(f"{_T}{{1,8}}(?:[{_NAME_SEP}]{_T}{{1,8}})+")
_TITLES = {"国家元首": "president", "元首": "president", "总统": "president", "总理": "prime_minister", "首相": "prime_minister"}
_TITLE_RE = re.compile("|".join(sorted(_TITLES, key=len, reverse=True)))
# Place names made of transliteration characters must not become people ("巴基斯坦总理").
_PLACES = {
    "哈萨克斯坦", "巴基斯坦", "乌兹别克斯坦", "吉尔吉斯斯坦", "塔吉克斯坦", "土库曼斯坦", "阿富汗", "俄罗斯", "白俄罗斯",
    "乌克兰", "阿塞拜疆", "亚美尼亚", "格鲁吉亚", "蒙古", "伊朗", "伊拉克", "叙利亚", "土耳其", "印度", "印度尼西亚",
    "马来西亚", "新加坡", "泰国", "越南", "菲律宾", "澳大利亚", "新西兰", "加拿大", "墨西哥", "巴西", "阿根廷", "智利",
    "秘鲁", "哥伦比亚", "委内瑞拉", "古巴", "埃及", "南非", "尼日利亚", "肯尼亚", "埃塞俄比亚", "摩洛哥", "阿尔及利亚",
    "沙特", "沙特阿拉伯", "阿联酋", "卡塔尔", "科威特", "阿曼", "约旦", "以色列", "巴勒斯坦", "黎巴嫩", "德国", "法国",
    "英国", "意大利", "西班牙", "葡萄牙", "荷兰", "比利时", "瑞士", "瑞典", "挪威", "芬兰", "丹麦", "波兰", "捷克",
    "匈牙利", "罗马尼亚", "保加利亚", "希腊", "塞尔维亚", "奥地利", "爱尔兰", "美国", "日本", "韩国", "朝鲜",
    "阿斯塔纳", "阿拉木图", "塔什干", "撒马尔罕", "比什凯克", "杜尚别", "阿什哈巴德", "伊斯兰堡", "卡拉奇", "拉合尔",
    "莫斯科", "北京", "上海", "华盛顿", "伦敦", "巴黎", "柏林", "阿拉套", "杰特苏", "里海", "欧亚", "中亚", "欧洲",
    "亚洲", "非洲", "美洲", "伊斯兰", "乌兹别克", "哈萨克", "巴哈",
}
_VERBS_ZH = ["强调指出", "表示", "指出", "强调", "宣布", "认为", "说道", "说", "称", "谈到", "提到", "补充说", "补充道",
             "介绍说", "透露", "坦言", "写道", "回应说", "回答说", "呼吁"]
_VERB_ZH = "|".join(sorted(_VERBS_ZH, key=len, reverse=True))
_PRONOUNS_ZH = {"他": "m", "她": "f"}
_OPEN_Q = {"“": "”", "「": "」", "『": "』", '"': '"'}
_DASHES = "—–-"
_SENT_END = "。！？!?"

# English
_VERBS_EN = r"said|says|added|noted|stressed|told reporters|explained|declared|announced|emphasized|emphasised|insisted|warned"
_EN_TITLES = {"president": "president", "prime minister": "prime_minister", "premier": "prime_minister", "head of state": "president"}
_EN_NAME = r"(?:[A-Z][\w'’]*(?:-[A-Z][\w'’]*)*)(?:\s+[A-Z][\w'’]*(?:-[A-Z][\w'’]*)*){0,3}"
_EN_NAME_RE = re.compile(_EN_NAME)
_EN_HONORIFIC = re.compile(r"^(?:(?:President|Prime Minister|Premier|Minister|Chancellor|King|Mr\.?|Mrs\.?|Ms\.?|Dr\.?)\s+)+")
_EN_NOT_NAMES = {"The", "He", "She", "It", "They", "We", "I", "In", "On", "At", "This", "That", "But", "And", "As", "A"}


@dataclass(frozen=True)
class Quote:
    id: str
    article_id: str
    date: str
    speaker: str
    """The canonical person (after name-variant merging and the aliases file)."""
    mention: str
    """How the speaker is referred to at the quote, as written (托卡耶夫, 他, 国家元首, the president)."""
    verb: str
    text: str
    """The quoted (or reported) words: ``article.text[start:end] == text``."""
    kind: str
    """``direct`` (the speaker's own words) or ``reported`` (paraphrase: X强调，……)."""
    start: int
    end: int
    raw_speaker: str = ""
    """The person as resolved inside the article (its fullest name form there)."""
    para_start: int = 0
    para_end: int = 0
    title: str = ""
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Speaker:
    name: str
    aliases: list[str]
    quote_count: int
    articles: list[str]
    first_date: str
    last_date: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# ============================================================================ extraction
@dataclass
class _Person:
    key: str
    """Surname (last name segment) — how variants inside one article meet."""
    name: str
    role: str = ""


@dataclass
class _Candidate:
    kind: str
    verb: str
    start: int
    end: int
    anchor: int
    """Where the attribution sits: the discourse state at this point resolves the mention."""
    region: str
    """Text around the speech verb that names the speaker."""
    region_start: int
    lang: str = "zh"


def _surname(name: str) -> str:
    parts = re.split(f"[{_NAME_SEP}\\s]+", name.strip())
    return parts[-1] if parts else name


def _is_place(name: str) -> bool:
    return name in _PLACES or name.endswith(("斯坦", "国", "省", "州", "市"))


class _Registry:
    """The people of one article: full names, surnames, roles."""

    def __init__(self) -> None:
        self.people: dict[str, _Person] = {}

    def add(self, name: str, role: str = "") -> _Person:
        key = _surname(name)
        person = self.people.get(key)
        if person is None:
            person = self.people[key] = _Person(key, name, role)
        else:
            if len(name) > len(person.name) and (len(re.split(f"[{_NAME_SEP}\\s]+", name)) > 1):
                person.name = name
            if role and not person.role:
                person.role = role
        return person

    def names(self) -> list[str]:
        """Every written form that identifies a person, longest first."""
        forms: set[str] = set()
        for p in self.people.values():
            forms.add(p.key)
            forms.add(p.name)
        return sorted(forms, key=len, reverse=True)

    def lookup(self, form: str) -> _Person | None:
        return self.people.get(_surname(form))


def _title_before(text: str, pos: int) -> str:
    m = re.search(f"({_TITLE_RE.pattern})$", text[max(0, pos - 4) : pos])
    return _TITLES[m.group(1)] if m else ""


def _title_after(text: str, pos: int) -> str:
    m = _TITLE_RE.match(text, pos)
    return _TITLES[m.group(0)] if m else ""


def _build_registry_zh(text: str) -> _Registry:
    reg = _Registry()
    for m in _FULL_NAME.finditer(text):
        reg.add(m.group(0), _title_before(text, m.start()) or _title_after(text, m.end()))
    # name + title (米尔济约耶夫总统) and title + name (总理夏巴兹)
    for m in re.finditer(f"(?<!{_T})({_T}{{2,8}})(?={_TITLE_RE.pattern})", text):
        if not _is_place(m.group(1)) and (m.start() == 0 or text[m.start() - 1] not in _NAME_SEP):
            reg.add(m.group(1), _title_after(text, m.end()))
    for m in re.finditer(f"(?:{_TITLE_RE.pattern})({_T}{{2,8}})(?!{_T}|[{_NAME_SEP}])", text):
        if not _is_place(m.group(1)):
            reg.add(m.group(1), _title_before(text, m.start(1)))
    return reg


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        s, e = pos, pos + len(line)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
        pos += len(line) + 1
    return out


def _close_quote(text: str, open_pos: int, limit: int) -> int:
    """Offset of the quote mark closing the one at `open_pos` (nesting “ ” aware), or -1."""
    opener = text[open_pos]
    closer = _OPEN_Q[opener]
    if opener == '"':
        return text.find('"', open_pos + 1, limit)
    depth = 0
    for i in range(open_pos, limit):
        if text[i] == opener:
            depth += 1
        elif text[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _sentence_end(text: str, pos: int, limit: int) -> int:
    """End (exclusive, before the terminator) of the sentence starting at `pos`, skipping quoted parts."""
    depth = 0
    for i in range(pos, limit):
        ch = text[i]
        if ch in "“「『":
            depth += 1
        elif ch in "”」』":
            depth = max(0, depth - 1)
        elif ch in _SENT_END and depth == 0:
            return i
    return limit


def _strip_span(text: str, s: int, e: int, chars: str = " \t　") -> tuple[int, int]:
    while s < e and text[s] in chars:
        s += 1
    while e > s and text[e - 1] in chars:
        e -= 1
    return s, e


def _candidates_zh(text: str) -> list[_Candidate]:
    cands: list[_Candidate] = []
    verb_then_open = re.compile(f"({_VERB_ZH})(?:道)?\\s*[：:]\\s*([“\"「『])")
    attribution_end = re.compile(
        f"(?:[{_DASHES}]{{1,2}}|[，,]\\s*[{_DASHES}]{{1,2}})\\s*(?P<subj>[^{_DASHES}。，,“”\"]{{1,20}}?)(?P<verb>{_VERB_ZH})(?:道)?[。.！!]?\\s*$"
    )
    quote_then_attr = re.compile(f"^[，,]?\\s*(?P<subj>[^。，,“”\"]{{1,20}}?)(?P<verb>{_VERB_ZH})(?:道)?[。.！!]?\\s*$")
    for ps, pe in _paragraphs(text):
        para = text[ps:pe]
        # dash-led paragraph: —……-托卡耶夫表示。
        if para[0] in _DASHES:
            m = attribution_end.search(para)
            if m:
                qs = ps + len(para) - len(para.lstrip(_DASHES + " \t　"))
                qe = ps + m.start()
                qs, qe = _strip_span(text, qs, qe, " \t　，,")
                if qe > qs:
                    cands.append(_Candidate("direct", m.group("verb"), qs, qe, ps + m.start("subj"), m.group("subj"), ps + m.start("subj")))
            continue
        # “……”，他说。
        if para[0] in _OPEN_Q:
            close = _close_quote(text, ps, pe)
            if close > 0:
                m = quote_then_attr.match(text, close + 1, pe)
                if m:
                    cands.append(_Candidate("direct", m.group("verb"), ps + 1, close, m.start("subj"), m.group("subj"), m.start("subj")))
                    continue
        # X表示：“……”
        for m in verb_then_open.finditer(text, ps, pe):
            open_pos = m.start(2)
            close = _close_quote(text, open_pos, pe)
            if close < 0:
                close = pe  # unclosed: the quote runs to the end of the paragraph
            region_start = _clause_start(text, m.start(1), ps)
            cands.append(_Candidate("direct", m.group(1), open_pos + 1, close, m.start(1), text[region_start : m.start(1)], region_start))
    direct_spans = [(c.start, c.end) for c in cands]
    for ps, pe in _paragraphs(text):
        if text[ps] in _DASHES:
            continue
        for m in re.finditer(f"({_VERB_ZH})[，,]", text[ps:pe]):
            vpos = ps + m.start(1)
            if any(a <= vpos < b for a, b in direct_spans) or _inside_quote_marks(text, ps, vpos):
                continue
            region_start = _clause_start(text, vpos, ps)
            qs = ps + m.end()
            qe = _sentence_end(text, qs, pe)
            qs, qe = _strip_span(text, qs, qe)
            if qe > qs:
                cands.append(_Candidate("reported", m.group(1), qs, qe, vpos, text[region_start:vpos], region_start))
    return cands


def _inside_quote_marks(text: str, ps: int, pos: int) -> bool:
    depth = 0
    for ch in text[ps:pos]:
        if ch in "“「『":
            depth += 1
        elif ch in "”」』":
            depth = max(0, depth - 1)
    return depth > 0 or text[ps:pos].count('"') % 2 == 1


def _clause_start(text: str, pos: int, floor: int) -> int:
    i = pos
    while i > floor and text[i - 1] not in "。！？!?；;，,：:\n" and pos - i < 24:
        i -= 1
    return i


def _candidates_en(text: str) -> list[_Candidate]:
    cands: list[_Candidate] = []
    after = re.compile(
        rf"[\"“](?P<q>[^\"”]{{2,}}?)[,.!?]?[\"”]\s*(?:(?P<subj1>[^.!?\"“”]{{1,40}}?)\s+(?P<verb1>{_VERBS_EN})|(?P<verb2>{_VERBS_EN})\s+(?P<subj2>[^.!?\"“”,]{{1,40}}?))\s*[.,]"
    )
    before = re.compile(rf"(?P<subj>[A-Za-z][^.!?\"“”:]{{0,40}}?)\s+(?P<verb>{_VERBS_EN})\s*[:,]\s*[\"“](?P<q>[^\"”]{{2,}}?)[\"”]")
    for ps, pe in _paragraphs(text):
        for m in after.finditer(text, ps, pe):
            subj, verb = (m.group("subj1"), m.group("verb1")) if m.group("verb1") else (m.group("subj2"), m.group("verb2"))
            skey = "subj1" if m.group("verb1") else "subj2"
            qs, qe = m.start("q"), m.end("q")
            qe = qs + len(text[qs:qe].rstrip(",.!? "))
            cands.append(_Candidate("direct", verb, qs, qe, m.start(skey), subj, m.start(skey), "en"))
        for m in before.finditer(text, ps, pe):
            if any(c.start <= m.start("q") < c.end for c in cands):
                continue
            cands.append(_Candidate("direct", m.group("verb"), m.start("q"), m.end("q"), m.start("subj"), m.group("subj"), m.start("subj"), "en"))
    return cands


@dataclass
class _Discourse:
    """Who is in focus while reading an article from top to bottom."""

    events: list[tuple[int, str, bool]] = field(default_factory=list)
    """(offset, person key, is focus event: a sentence-initial subject or a quote's speaker)."""

    def focus(self, pos: int, role: str = "", people: dict[str, _Person] | None = None) -> str | None:
        for want_focus in (True, False):
            for off, key, is_focus in reversed(self.events):
                if off >= pos or (want_focus and not is_focus):
                    continue
                if role and people is not None and people[key].role != role:
                    continue
                return key
        return None


def _mentions(text: str, reg: _Registry, quote_spans: list[tuple[int, int]], lang: str) -> list[tuple[int, str, bool]]:
    out = []
    forms = reg.names()
    if not forms:
        return out
    pattern = re.compile("|".join(re.escape(f) for f in forms)) if lang == "zh" else re.compile(
        r"\b(?:" + "|".join(re.escape(f) for f in forms) + r")\b"
    )
    for m in pattern.finditer(text):
        if any(a <= m.start() < b for a, b in quote_spans):
            continue
        person = reg.lookup(m.group(0))
        if person is None:
            continue
        before = text[max(0, m.start() - 12) : m.start()]
        lead = re.sub(r"^.*[。！？!?\n.]", "", before, flags=re.S)
        lead = re.sub(_EN_HONORIFIC.pattern.lstrip("^"), "", lead) if lang == "en" else lead
        is_subject = lead.strip(" \t　" + _DASHES) == "" or (lang == "en" and lead.strip() in ("", "The"))
        out.append((m.start(), person.key, is_subject))
    return out


def _resolve_mention(cand: _Candidate, reg: _Registry, disc: _Discourse) -> tuple[str, str] | None:
    """(mention as written, person key) for the speaker named in the candidate's region."""
    region = cand.region
    if cand.lang == "zh":
        best: tuple[int, str, str] | None = None  # (position, mention, key)
        for form in reg.names():
            i = region.rfind(form)
            # the name ending last (nearest the verb); of those, the fullest form (夏巴兹·谢里夫 over 谢里夫)
            if i >= 0 and (best is None or (i + len(form), len(form)) > (best[0] + len(best[1]), len(best[1]))):
                best = (i, form, reg.lookup(form).key)  # type: ignore[union-attr]
        if best is None:
            m = re.match(f"^({_T}{{3,8}})(?:总统|总理|还|也|则|再次|随后|同时|进一步)?$", region.strip())
            if m and not _is_place(m.group(1)):
                person = reg.add(m.group(1))
                return m.group(1), person.key
        if best is not None:
            return best[1], best[2]
        stripped = region.strip(" \t　" + _DASHES)
        if re.match(r"^(?:他们|她们)", stripped):
            return None
        for pron in _PRONOUNS_ZH:
            if stripped.startswith(pron):
                key = disc.focus(cand.anchor)
                return (pron, key) if key else None
        t = _TITLE_RE.search(stripped)
        if t and t.start() <= 8:
            role = _TITLES[t.group(0)]
            key = disc.focus(cand.anchor, role, reg.people)
            mention = stripped[: t.end()]
            return (mention, key) if key else None
        return None
    # English
    region = region.strip()
    low = region.lower()
    if low in ("he", "she"):
        key = disc.focus(cand.anchor)
        return (region, key) if key else None
    for title, role in _EN_TITLES.items():
        if low in (f"the {title}", title):
            key = disc.focus(cand.anchor, role, reg.people)
            return (region, key) if key else None
    name = _EN_HONORIFIC.sub("", region)
    m = _EN_NAME_RE.fullmatch(name)
    if m and name.split()[0] not in _EN_NOT_NAMES:
        person = reg.lookup(name) or reg.add(name)
        return region, person.key
    return None


def _build_registry_en(text: str, reg: _Registry) -> None:
    for m in re.finditer(rf"(?:(?P<t>President|Prime Minister|Premier)\s+)?(?P<n>{_EN_NAME})", text):
        name = m.group("n")
        words = name.split()
        if words[0] in _EN_NOT_NAMES or _EN_HONORIFIC.match(name + " "):
            continue
        if len(words) >= 2 or m.group("t"):
            role = _EN_TITLES.get((m.group("t") or "").lower(), "")
            reg.add(name, role)


def extract_quotes(article: Article) -> list[Quote]:
    """Every direct and reported quote of `article`, speakers resolved inside the article."""
    text = article.text
    reg = _build_registry_zh(text)
    cands = _candidates_zh(text)
    en = _candidates_en(text)
    if en:
        _build_registry_en(text, reg)
        cands += [c for c in en if not any(o.start < c.end and c.start < o.end for o in cands)]
    quote_spans = [(c.start, c.end) for c in cands]
    disc = _Discourse()
    for lang in ("zh", "en") if en else ("zh",):
        disc.events.extend(_mentions(text, reg, quote_spans, lang))
    disc.events.sort()
    paragraphs = _paragraphs(text)
    quotes: list[Quote] = []
    for cand in sorted(cands, key=lambda c: c.anchor):
        resolved = _resolve_mention(cand, reg, disc)
        if resolved is None:
            continue
        mention, key = resolved
        disc.events.append((cand.anchor, key, True))
        disc.events.sort()
        ps, pe = next(((s, e) for s, e in paragraphs if s <= cand.start < e), (cand.start, cand.end))
        quotes.append(
            Quote(id="", article_id=article.id, date=article.date_str, speaker=reg.people[key].name, mention=mention,
                  verb=cand.verb, text=text[cand.start : cand.end], kind=cand.kind, start=cand.start, end=cand.end,
                  raw_speaker=reg.people[key].name, para_start=ps, para_end=max(pe, cand.end), title=article.title)
        )
    quotes.sort(key=lambda q: q.start)
    return [replace(q, id=f"{article.id}#q{n}") for n, q in enumerate(quotes)]


# ============================================================================ speakers
@dataclass
class Aliases:
    """The user's corrections, from ``speakers.json`` in the articles folder::

        {
          "merge":    {"卡西姆-若马尔特·托卡耶夫": ["Kassym-Jomart Tokayev", "Tokayev"]},
          "rename":   {"卡西姆-若马尔特·托卡耶夫": "Kassym-Jomart Tokayev"},
          "separate": [["卡西姆-若马尔特·托卡耶夫", "哈斯穆-卓玛尔特·托卡耶夫"]]
        }

    ``merge``: these names are one person (the key is also the display name unless renamed);
    ``rename``: show the person known by the key under the new name; ``separate``: never merge
    these names automatically (undoes a wrong automatic merge).
    """

    merge: dict[str, list[str]] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    separate: list[list[str]] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> Aliases:
        path = folder / ALIASES_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise QAError(f"{path}: not valid JSON ({exc}); fix it or delete it") from None
        if not isinstance(data, dict) or set(data) - {"merge", "rename", "separate"}:
            raise QAError(f"{path}: expected an object with only the keys 'merge', 'rename', 'separate'")
        try:
            merge = {str(k): [str(x) for x in v] for k, v in (data.get("merge") or {}).items()}
            rename = {str(k): str(v) for k, v in (data.get("rename") or {}).items()}
            separate = [[str(x) for x in group] for group in (data.get("separate") or [])]
        except (AttributeError, TypeError):
            raise QAError(
                f"{path}: 'merge' maps a name to a list of names, 'rename' maps a name to a name, "
                "'separate' is a list of lists of names"
            ) from None
        return cls(merge, rename, separate)


class SpeakerDirectory:
    """Groups the raw speaker names of all quotes into people, then applies the aliases file.

    Automatic merging: a surname-only name joins the one full name with that surname; full
    names with the same surname and the same number of parts are one person written in
    different transliterations (卡西姆-若马尔特·托卡耶夫 / 哈斯穆-卓玛尔特·托卡耶夫).
    """

    def __init__(self, raw_counts: dict[str, int], aliases: Aliases | None = None, mentions: Iterable[str] = ()) -> None:
        aliases = aliases or Aliases()
        names = set(raw_counts) | {n for v in aliases.merge.values() for n in v} | set(aliases.merge)
        parent = {n: n for n in names}

        def find(n: str) -> str:
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        def union(a: str, b: str) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[rb] = ra

        kept_apart = [set(g) for g in aliases.separate]

        def apart(a: str, b: str) -> bool:
            return any(a in g and b in g for g in kept_apart)

        by_surname: dict[str, list[str]] = defaultdict(list)
        for n in sorted(names):
            by_surname[_surname(n).lower()].append(n)
        for group in by_surname.values():
            full = [n for n in group if _parts(n) > 1]
            short = [n for n in group if _parts(n) == 1]
            for i, a in enumerate(full):
                for b in full[i + 1 :]:
                    if _parts(a) == _parts(b) and not apart(a, b):
                        union(a, b)
            for s in short:
                roots = {find(f) for f in full if not apart(s, f)}
                if len(roots) == 1:
                    union(next(iter(roots)), s)
        for canonical, others in aliases.merge.items():
            for o in others:
                union(canonical, o)
        members: dict[str, list[str]] = defaultdict(list)
        for n in names:
            members[find(n)].append(n)
        self.display: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        for root, group in members.items():
            merge_keys = [k for k in aliases.merge if k in group]
            if merge_keys:
                name = merge_keys[0]
            else:
                name = max(group, key=lambda n: (_parts(n) > 1, raw_counts.get(n, 0), -len(n), n))
            for old, new in aliases.rename.items():
                if old in group or old == name:
                    name = new
            self.display[root] = name
            self.members[name] = sorted(set(group) | {name})
        self._root = {n: find(n) for n in names}
        self._lookup: dict[str, str] = {}
        for name, group in self.members.items():
            for n in group:
                self._lookup.setdefault(n.lower(), name)
            self._lookup[name.lower()] = name
        for old, new in aliases.rename.items():
            self._lookup.setdefault(old.lower(), self.canonical(old) or new)

    def canonical(self, raw: str) -> str | None:
        root = self._root.get(raw)
        return self.display[root] if root is not None else None

    def resolve(self, name: str) -> str | None:
        """A person's canonical name from any of their names (or a unique part of one)."""
        wanted = re.sub(r"\s+", " ", name.strip().strip("?？。.")).lower()
        wanted = re.sub(r"^(?:president|prime minister|mr\.?|ms\.?)\s+", "", wanted)
        wanted = re.sub("(?:总统|总理|国家元首)$", "", wanted)
        if not wanted:
            return None
        if wanted in self._lookup:
            return self._lookup[wanted]
        hits = {canon for n, canon in self._lookup.items() if len(wanted) >= 2 and (wanted in n or n in wanted) and len(n) >= 2}
        return hits.pop() if len(hits) == 1 else None


def _parts(name: str) -> int:
    return len([p for p in re.split(f"[{_NAME_SEP}\\s]+", name.strip()) if p])


def short_name(speaker: str, aliases: Sequence[str] = (), *, chinese: bool = True) -> str:
    """托卡耶夫 for 卡西姆-若马尔特·托卡耶夫; the CJK surname for Chinese text when the display name is Latin."""
    pool = [speaker, *aliases]
    if chinese:
        cjk = [n for n in pool if re.search(r"[\u4e00-\u9fff]", n)]
        if cjk:
            return _surname(cjk[0])
    return _surname(speaker) if _parts(speaker) > 1 and chinese else speaker


def aggregate_speakers(quotes: Sequence[Quote], directory: SpeakerDirectory) -> list[Speaker]:
    by: dict[str, list[Quote]] = defaultdict(list)
    for q in quotes:
        by[q.speaker].append(q)
    out = []
    for name, qs in by.items():
        dates = sorted(q.date for q in qs if q.date)
        mentions = {q.mention for q in qs if q.mention not in _PRONOUNS_ZH and not _TITLE_RE.fullmatch(q.mention)
                    and q.mention.lower() not in ("he", "she") and not q.mention.lower().startswith("the ")}
        aliases = sorted((set(directory.members.get(name, [])) | mentions) - {name})
        out.append(Speaker(name, aliases, len(qs), sorted({q.article_id for q in qs}), dates[0] if dates else "",
                           dates[-1] if dates else ""))
    out.sort(key=lambda s: (-s.quote_count, s.name))
    return out


# ============================================================================ storage
def quote_metadata(q: Quote, version: str, date_int: int) -> dict[str, Any]:
    return {
        "article_id": q.article_id, "version": version, "date": q.date, "date_int": date_int, "title": q.title,
        "start": q.start, "end": q.end, "para_start": q.para_start, "para_end": q.para_end, "mention": q.mention,
        "raw_speaker": q.raw_speaker, "verb": q.verb, "kind": q.kind, "extractor": QUOTES_EXTRACTOR,
    }


def quote_record_id(article_id: str, version: str, n: int) -> str:
    return f"{article_id}#{version}#q{n}"


class QuoteBatch:
    """Quotes of a group of articles being written, embedded in one call (as passages)."""

    def __init__(self, index: ArticleIndex, articles: Sequence[Article]) -> None:
        self.index = index
        self.quotes = {a.id: extract_quotes(a) for a in articles}
        texts = [q.text for qs in self.quotes.values() for q in qs]
        vectors = index.embeddings.embed_documents(texts) if texts else []
        self.vectors: dict[str, list[list[float]]] = {}
        i = 0
        for aid, qs in self.quotes.items():
            self.vectors[aid] = vectors[i : i + len(qs)]
            i += len(qs)

    def write(self, article: Article, version: str) -> int:
        """Write before the article's commit point; old versions are deleted with its chunks."""
        from qa.index import date_to_int

        qs = self.quotes.get(article.id, [])
        if not qs:
            return 0
        col = quotes_collection(self.index)
        col.upsert(
            ids=[quote_record_id(article.id, version, n) for n in range(len(qs))],
            embeddings=self.vectors[article.id],  # type: ignore[arg-type]
            documents=[q.text for q in qs],
            metadatas=[quote_metadata(q, version, date_to_int(article.date)) for q in qs],  # type: ignore[misc]
        )
        return len(qs)


def quotes_collection(index: ArticleIndex):  # type: ignore[no-untyped-def]
    from qa.index import COSINE

    return index.client.get_or_create_collection(
        name=index.names["quotes"], configuration=COSINE, metadata={"extractor": QUOTES_EXTRACTOR}, embedding_function=None  # type: ignore[arg-type]
    )


def sync_quotes(index: ArticleIndex, articles: Sequence[Article], versions: dict[str, str]) -> int:
    """Backfill quotes for live articles whose current version has none from this extractor
    (an index built before quotes existed, or after `QUOTES_EXTRACTOR` changed)."""
    col = quotes_collection(index)
    got = col.get(include=["metadatas"])
    have = {(str(m.get("article_id")), str(m.get("version"))) for m in (got["metadatas"] or []) if m and m.get("extractor") == QUOTES_EXTRACTOR}
    stale = [qid for qid, m in zip(got["ids"], got["metadatas"] or []) if not m or m.get("extractor") != QUOTES_EXTRACTOR]
    if stale:
        col.delete(ids=stale)
    todo = [a for a in articles if a.id in versions and (a.id, versions[a.id]) not in have]
    if not todo:
        return len(stale)
    batch = QuoteBatch(index, todo)
    return len(stale) + sum(batch.write(a, versions[a.id]) for a in todo)


def load_quotes(index: ArticleIndex) -> list[Quote]:
    """Every live quote (its article record points at its version), speaker = raw speaker."""
    if not index.exists() or index.names["quotes"] not in index._existing():
        return []
    records = index.records()
    got = index.collection("quotes").get(include=["metadatas", "documents"])
    out = []
    for qid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or []):
        meta = dict(meta or {})
        rec = records.get(str(meta.get("article_id")))
        if rec is None or rec.version != meta.get("version"):
            continue
        out.append(_quote_from(qid, str(doc), meta))
    out.sort(key=lambda q: (q.date, q.article_id, q.start))
    return out


def _quote_from(qid: str, text: str, meta: dict[str, Any], score: float | None = None) -> Quote:
    return Quote(id=qid, article_id=str(meta["article_id"]), date=str(meta.get("date", "")), speaker=str(meta["raw_speaker"]),
                 mention=str(meta.get("mention", "")), verb=str(meta.get("verb", "")), text=text, kind=str(meta.get("kind", "")),
                 start=int(meta["start"]), end=int(meta["end"]), raw_speaker=str(meta["raw_speaker"]),
                 para_start=int(meta.get("para_start", meta["start"])), para_end=int(meta.get("para_end", meta["end"])),
                 title=str(meta.get("title", "")), score=score)


class QuoteBook:
    """The read side: live quotes with canonical speakers, searchable by person and meaning."""

    def __init__(self, index: ArticleIndex, aliases: Aliases) -> None:
        self.index = index
        raw = load_quotes(index)
        counts = Counter(q.raw_speaker for q in raw)
        self.directory = SpeakerDirectory(dict(counts), aliases)
        self.all = [replace(q, speaker=self.directory.canonical(q.raw_speaker) or q.raw_speaker) for q in raw]
        self.by_id = {q.id: q for q in self.all}

    def speakers(self) -> list[Speaker]:
        return aggregate_speakers(self.all, self.directory)

    def search(self, speaker: str | None = None, query: str | None = None, since: dt.date | None = None,
               until: dt.date | None = None, limit: int = 20) -> list[Quote]:
        pool = self.all
        if speaker:
            canonical = self.directory.resolve(speaker)
            if canonical is None:
                known = ", ".join(s.name for s in self.speakers()[:8])
                raise QAError(f"no speaker called {speaker!r}; run `qa speakers` to list them (e.g. {known})")
            pool = [q for q in pool if q.speaker == canonical]
        if since:
            pool = [q for q in pool if q.date and q.date >= since.isoformat()]
        if until:
            pool = [q for q in pool if q.date and q.date <= until.isoformat()]
        if not query or not query.strip():
            return pool[:limit] if limit else pool
        allowed = {q.id for q in pool}
        if not allowed:
            return []
        vector = self.index.embeddings.embed_query(query.strip())
        got = self.index.collection("quotes").query(query_embeddings=[vector], n_results=min(len(self.all), max(limit * 5, 50)) or 1,
                                                    include=["distances"])
        scored = []
        for qid, dist in zip(got["ids"][0], (got["distances"] or [[]])[0]):
            if qid in allowed:
                scored.append(replace(self.by_id[qid], score=round(1.0 - float(dist), 4)))
        if len(scored) < min(limit, len(allowed)):  # the nearest-neighbour cut missed some: score the rest
            seen = {q.id for q in scored}
            rest = [qid for qid in allowed if qid not in seen]
            rec = self.index.collection("quotes").get(ids=rest, include=["embeddings"])
            q = np.asarray(vector, dtype=np.float32)
            for qid, emb in zip(rec["ids"], rec["embeddings"] if rec["embeddings"] is not None else []):
                scored.append(replace(self.by_id[qid], score=round(float(np.asarray(emb, dtype=np.float32) @ q), 4)))
        scored.sort(key=lambda q: -(q.score or 0.0))
        return scored[:limit] if limit else scored


# ============================================================================ chat routing
_WHO_ZH = re.compile(
    r"^(?:请问)?(?P<pre>[^谁]*?)(?:是)?谁(?:在[^说表指强认宣提谈称]{0,10})?(?:曾|曾经)?"
    r"(?P<verb>说|表示|指出|强调|认为|宣布|提到|谈到|称)(?:过|了)?[，,:：]?(?P<topic>.*?)[？?。！!]*$"
)
_ABOUT_ZH = [
    re.compile(r"^(?P<who>.{2,30}?)(?:对|关于|就|谈到|针对)(?P<topic>.+?)(?:都)?(?:说了什么|说了些什么|说过什么|怎么说|有何表示|表示了什么|发表了什么看法|有什么看法|怎么看)[？?。]*$"),
    re.compile(r"^(?P<who>.{2,30}?)(?:说了什么|说了些什么|说过什么|都说了什么|表示了什么)(?:关于|有关)?(?P<topic>.*?)[？?。]*$"),
]
_WHO_EN = re.compile(r"^\s*who\s+(?:said|says|stated|declared|announced|stressed|noted|claimed|has said)\s+(?:that\s+)?(?P<topic>.+?)[?.!\s]*$", re.I)
_ABOUT_EN = re.compile(
    r"^\s*what\s+(?:did|does|has)\s+(?P<who>.+?)\s+(?:say|said|tell\s+\w+|stress|announce)(?:\s+(?:about|on|regarding)\s+(?P<topic>.+?))?[?.!\s]*$", re.I
)
WHO_MIN_SCORE = 0.80
"""Below this (e5 cosine + keyword bonus) no quote is close enough: fall back to the normal answer chain."""


@dataclass
class WhoQuestion:
    speaker: str | None
    topic: str
    chinese: bool


def parse_who_question(question: str) -> WhoQuestion | None:
    q = question.strip()
    m = _WHO_ZH.match(q)
    if m:
        topic = (m.group("pre").strip("是的 ") + m.group("topic")).strip(" ，,:：“”\"")
        return WhoQuestion(None, topic, True)
    for pattern in _ABOUT_ZH:
        m = pattern.match(q)
        if m:
            return WhoQuestion(m.group("who").strip(), (m.group("topic") or "").strip(" ，,:：“”\""), True)
    m = _WHO_EN.match(q)
    if m:
        return WhoQuestion(None, m.group("topic").strip(" \"“”"), False)
    m = _ABOUT_EN.match(q)
    if m:
        return WhoQuestion(m.group("who").strip(), (m.group("topic") or "").strip(" \"“”"), False)
    return None


def answer_who_question(pipeline: Pipeline, question: str) -> Answer | None:
    """If `question` asks who said something (or what X said), answer it from the quote records.

    Returns None when it is not such a question, the person is unknown, or no quote is close
    enough — the caller then runs the normal answer chain.
    """
    from qa.answer import Answer, Citation
    from qa.keywords import tokenize

    parsed = parse_who_question(question)
    if parsed is None:
        return None
    book = pipeline.quote_book()
    if not book.all:
        return None
    speaker = None
    if parsed.speaker:
        speaker = book.directory.resolve(parsed.speaker)
        if speaker is None:
            return None
    topic = parsed.topic or (question if speaker is None else "")
    candidates = book.search(speaker=speaker, query=topic or None, limit=10 if topic else 50)
    if not candidates:
        return None
    # Choose the best sentence inside the best quotes (a long speech answers with its relevant part).
    if topic:
        ranked = _best_sentences(pipeline.index, candidates, topic, tokenize)
    else:  # "what did X say?": their first own words, not a paraphrase
        first = next((q for q in candidates if q.kind == "direct"), candidates[0])
        ranked = [(first, first.start, first.end, 1.0)]
    if not ranked:
        return None
    quote, s, e, score = ranked[0]
    if topic and score < WHO_MIN_SCORE:
        return None
    records = pipeline.index.records()
    rec = records.get(quote.article_id)
    article_text_para = _paragraph_text(pipeline.index, quote)
    sentence = article_text_para[s - quote.para_start : e - quote.para_start]
    members = book.directory.members.get(quote.speaker, [])
    chinese = parsed.chinese
    short = short_name(quote.speaker, members, chinese=True)
    if chinese:
        stop = "" if sentence[-1:] in "。！？!?…" else "。"
        text = f"{short}说：“{sentence}”[1]" if quote.kind == "direct" else f"{short}{quote.verb}，{sentence}{stop}[1]"
    else:
        latin = next((n for n in [quote.speaker, *members] if not re.search(r"[\u4e00-\u9fff]", n)), None)
        label = f"{_surname(latin)} ({short})" if latin else short
        text = f"{label} said: “{sentence}”[1]" if quote.kind == "direct" else f"{label} said (reported): {sentence}[1]"
    citation = Citation(
        n=1, article_id=quote.article_id, title=rec.title if rec else quote.title, date=quote.date, chunk_id=quote.id,
        chunk_start=quote.para_start, chunk_end=quote.para_end, chunk_text=article_text_para, sentence_start=s,
        sentence_end=e, sentence=sentence, score=round(score, 4), source_file=rec.path if rec else "",
    )
    return Answer(question, text, [citation], False, [], score)


def _paragraph_text(index: ArticleIndex, quote: Quote) -> str:
    """The quote's paragraph, rebuilt from the stored sentences (the index never needs the files)."""
    rec = index.records().get(quote.article_id)
    got = index.article_sentences(rec) if rec else {"documents": [], "metadatas": []}
    buf = [" "] * (quote.para_end - quote.para_start)
    for doc, meta in zip(got["documents"] or [], got["metadatas"] or []):
        s, e = int(meta["start"]), int(meta["end"])
        for i in range(max(s, quote.para_start), min(e, quote.para_end)):
            buf[i - quote.para_start] = str(doc)[i - s]
    # Quote text is authoritative for its own span (sentences are trimmed of whitespace only).
    for i, ch in enumerate(quote.text):
        buf[quote.start - quote.para_start + i] = ch
    return "".join(buf)


def _best_sentences(index: ArticleIndex, quotes: Sequence[Quote], topic: str, tokenize) -> list[tuple[Quote, int, int, float]]:  # type: ignore[no-untyped-def]
    from qa.answer import W_KEYWORD

    records = index.records()
    q_vec = np.asarray(index.embeddings.embed_query(topic), dtype=np.float32)
    q_terms = set(tokenize(topic))
    out = []
    by_article: dict[str, list[Quote]] = defaultdict(list)
    for q in quotes:
        by_article[q.article_id].append(q)
    for aid, qs in by_article.items():
        rec = records.get(aid)
        if rec is None:
            continue
        # Through the index's sentence file: touching the sentences collection would load its whole
        # vector index into this (reader) process.
        got = index.article_sentences(rec)
        embs = got["embeddings"] if got["embeddings"] is not None else []
        for emb, doc, meta in zip(embs, got["documents"] or [], got["metadatas"] or []):
            ss, se = int(meta["start"]), int(meta["end"])
            for q in qs:
                s, e = max(ss, q.start), min(se, q.end)
                if e - s < max(4, (se - ss) // 3):
                    continue
                terms = set(tokenize(str(doc)))
                coverage = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
                score = float(np.asarray(emb, dtype=np.float32) @ q_vec) + W_KEYWORD * coverage
                out.append((q, s, e, score))
    out.sort(key=lambda t: -t[3])
    return out
