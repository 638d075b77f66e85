"""Quote extraction: who said what in one `Article` (direct and reported speech, speakers resolved in the article).

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

Merging name variants across articles and the user's aliases file happen at read time
(`qa.quotes.speakers`), so editing ``speakers.json`` takes effect without re-indexing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from qa.articles import Article

QUOTES_EXTRACTOR = 1
"""Bump when extraction changes: `sync_quotes` then re-extracts every article (no chunk re-embedding)."""

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
NAME_SEP = "-·‧•・"
_FULL_NAME = re.compile(f"{_T}{{1,8}}(?:[{NAME_SEP}]{_T}{{1,8}})+")
_TITLES = {"国家元首": "president", "元首": "president", "总统": "president", "总理": "prime_minister", "首相": "prime_minister"}
TITLE_RE = re.compile("|".join(sorted(_TITLES, key=len, reverse=True)))
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
PRONOUNS_ZH = {"他": "m", "她": "f"}
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


def surname(name: str) -> str:
    parts = re.split(f"[{NAME_SEP}\\s]+", name.strip())
    return parts[-1] if parts else name


def _is_place(name: str) -> bool:
    return name in _PLACES or name.endswith(("斯坦", "国", "省", "州", "市"))


class _Registry:
    """The people of one article: full names, surnames, roles."""

    def __init__(self) -> None:
        self.people: dict[str, _Person] = {}

    def add(self, name: str, role: str = "") -> _Person:
        key = surname(name)
        person = self.people.get(key)
        if person is None:
            person = self.people[key] = _Person(key, name, role)
        else:
            if len(name) > len(person.name) and (len(re.split(f"[{NAME_SEP}\\s]+", name)) > 1):
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
        return self.people.get(surname(form))


def _title_before(text: str, pos: int) -> str:
    m = re.search(f"({TITLE_RE.pattern})$", text[max(0, pos - 4) : pos])
    return _TITLES[m.group(1)] if m else ""


def _title_after(text: str, pos: int) -> str:
    m = TITLE_RE.match(text, pos)
    return _TITLES[m.group(0)] if m else ""


def _build_registry_zh(text: str) -> _Registry:
    reg = _Registry()
    for m in _FULL_NAME.finditer(text):
        reg.add(m.group(0), _title_before(text, m.start()) or _title_after(text, m.end()))
    # name + title (米尔济约耶夫总统) and title + name (总理夏巴兹)
    for m in re.finditer(f"(?<!{_T})({_T}{{2,8}})(?={TITLE_RE.pattern})", text):
        if not _is_place(m.group(1)) and (m.start() == 0 or text[m.start() - 1] not in NAME_SEP):
            reg.add(m.group(1), _title_after(text, m.end()))
    for m in re.finditer(f"(?:{TITLE_RE.pattern})({_T}{{2,8}})(?!{_T}|[{NAME_SEP}])", text):
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
        for pron in PRONOUNS_ZH:
            if stripped.startswith(pron):
                key = disc.focus(cand.anchor)
                return (pron, key) if key else None
        t = TITLE_RE.search(stripped)
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
