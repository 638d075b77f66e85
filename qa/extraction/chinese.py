"""Chinese statements in a paragraph: cue verbs and frames on LAC's words, the subject NP before, the span after."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from qa.extraction import cues_zh as L
from qa.extraction.statement import OPENERS, quote_pairs
from qa.text.entities import Token

Tokenizer = Callable[[str], Sequence[Token]]

BOUNDARY = set("，,。！？!?；;：:“”「」『』\"\n【】")
SENT_END = set("。！？!?")
NOMINAL_TAGS = {"n", "nr", "ns", "nt", "nz", "nw", "PER", "LOC", "ORG", "vn", "an", "j", "eng", "s", "nrt", "nrfg", "x"}
NP_TAGS = NOMINAL_TAGS | {"m", "q", "u", "c", "w", "a", "r", "f", "b", "mq", "TIME", "t"}
HEAD_CLOSERS = set("》）)")


@dataclass
class Raw:
    """A statement before its speaker is resolved: span, cue and the mention's words."""

    start: int
    end: int
    kind: str
    cue: str
    cue_pos: int
    mention: list[Token]
    in_quote: bool = False
    para: int = 0
    zero: bool = False
    extra: dict = field(default_factory=dict)


def _tokenize(text: str, ps: int, pe: int, tokenizer: Tokenizer) -> list[Token]:
    """Words of one paragraph with article offsets, tagged sentence by sentence (LAC is fastest on short input)."""
    out: list[Token] = []
    pos = ps
    while pos < pe:
        end = pos
        while end < pe and (text[end] not in SENT_END or end - pos < 1):
            end += 1
        end = min(pe, end + 1)
        while end < pe and text[end] in "”」』\"":  # a closing mark belongs to the sentence it closes
            end += 1
        seg = text[pos:end]
        off = pos
        for t in tokenizer(seg):
            w = t.text
            pron = next((p for p in ("他们", "她们", "他", "她", "话") if w.startswith(p) and w[len(p) :] in L.CUE_VERBS), None)
            if pron and len(w) > len(pron):  # LAC sometimes keeps 她说 as one word
                out.append(Token(pron, "r" if pron != "话" else "n", t.start + off, t.start + off + len(pron)))
                out.append(Token(w[len(pron) :], "v", t.start + off + len(pron), t.end + off))
                continue
            out.append(Token(t.text, t.tag, t.start + off, t.end + off))
        pos = end
    return out


def _nominal(t: Token) -> bool:
    return t.tag in NOMINAL_TAGS or t.text in HEAD_CLOSERS or (t.tag == "r" and t.text not in ("这", "那", "此"))


def _is_boundary(t: Token) -> bool:
    return t.tag in ("w", "x") and any(c in BOUNDARY for c in t.text) or t.text in BOUNDARY


class _Para:
    """One paragraph's words, quote marks and the helpers that read them."""

    def __init__(self, text: str, ps: int, pe: int, toks: list[Token], index: int) -> None:
        self.text, self.ps, self.pe, self.toks, self.index = text, ps, pe, toks, index
        self.pairs = quote_pairs(text, ps, pe)

    def quote_at(self, pos: int) -> tuple[int, int] | None:
        return next(((o, c) for o, c in self.pairs if o == pos), None)

    def quote_closing(self, pos: int) -> tuple[int, int] | None:
        return next(((o, c) for o, c in self.pairs if c == pos), None)

    def inside(self, pos: int) -> tuple[int, int] | None:
        return next(((o, c) for o, c in self.pairs if o < pos < c), None)

    def sentence_end(self, pos: int) -> int:
        q = self.inside(pos)
        for i in range(pos, q[1] if q else self.pe):
            if self.text[i] in SENT_END and self.inside(i) == q:
                return i
        return q[1] if q else self.pe

    def sentence_start(self, pos: int) -> int:
        i = pos
        while i > self.ps and not (self.text[i - 1] in SENT_END and self.inside(i - 1) is None):
            i -= 1
        return i


STOP_TAGS = {"TIME", "t", "p", "d", "ad"}
PER_TAGS = {"PER", "nr", "nrfg", "nrt"}
JOINERS = set("·•‧・-")


def _verb(t: Token) -> bool:
    return t.tag.startswith("v") and t.tag != "vn"


def _subject_end(r: list[Token]) -> int | None:
    """Where the subject NP ends: after the first name followed by an adverbial or verb, else after the first
    noun so followed outside a relative clause (一名从校园出来的志愿者 keeps its modifier)."""
    for k, t in enumerate(r):
        if t.tag in PER_TAGS:
            m = k + 1
            while m < len(r) and (r[m].tag in PER_TAGS or r[m].text in JOINERS):
                m += 1
            if m == len(r) or ((r[m].tag in STOP_TAGS or _verb(r[m])) and r[m].text not in ("的", "和", "与", "、", "及")):
                return m
    for k, t in enumerate(r[:-1]):
        nx = r[k + 1]
        if _nominal(t) and (nx.tag in STOP_TAGS or _verb(nx)) and not any(x.text == "的" for x in r[k + 2 :]):
            return k + 1
    return None


def _clean_subject(region: list[Token]) -> tuple[list[Token], str]:
    """The subject NP of a cue from the words between the clause start and the cue: (NP, 'ok'), 'zero' or 'reject'."""
    r = list(region)
    skip_lead = {"c", "d", "TIME", "t", "xc", "ad"}
    while r and (r[0].tag in skip_lead or r[0].text in ("对此", "此外", "另外", "同时", "其中", "而")):
        r = r[1:]
    if not r:
        return [], "zero"
    has_de = any(x.text == "的" for x in r) or any(x.tag in PER_TAGS for x in r)
    if r[0].tag == "p" and not has_de:
        ends = [k for k, t in enumerate(r) if t.text in ("时", "后", "上", "中", "期间", "前", "之际", "之后", "时候", "以来")]
        if r[0].text in ("在", "当") and ends and ends[0] + 1 < len(r):
            return _clean_subject(r[ends[0] + 1 :])
        return [], "reject"
    if _verb(r[0]) and not has_de:
        return [], "zero"
    cut = _subject_end(r)
    if cut is not None:
        rest = r[cut:]
        if rest and _verb(rest[0]) and rest[0].text not in ("在", "对", "向"):
            return [], "reject"  # 有责任明确回答, 拒绝回答: the cue hangs under another verb
        r = r[:cut]
    while r and r[-1].tag in ("TIME", "t", "d", "u", "c", "w") and r[-1].text not in HEAD_CLOSERS:
        r = r[:-1]
    if not r or not _nominal(r[-1]):
        return [], "reject"
    words = "".join(t.text for t in r)
    if vague(r) or "%" in words or words in L.FIRST_PERSON or not plausible_source(r):
        return [], "reject"
    return r, "ok"


def plausible_source(r: list[Token]) -> bool:
    """A subject that can speak: a name, a pronoun, or a noun whose head is a person, body, outlet or document."""
    words = "".join(t.text for t in r)
    if any(t.tag in ("PER", "ORG", "LOC", "nr", "nt", "ns", "nz", "nw", "eng") for t in r) or r[-1].tag == "r":
        return words not in L.EVENT_NOUNS
    return words.endswith(L.SOURCE_HEADS) and not words.endswith(L.EVENT_NOUNS)


def vague(mention: list[Token]) -> bool:
    words = "".join(t.text for t in mention)
    return words in L.VAGUE_SUBJECTS or words.endswith(L.EVENT_NOUNS) or (bool(mention) and mention[0].text == "有") or any(t.text in L.VAGUE_ADVERBS for t in mention)


def strip_dateline(region: list[Token]) -> list[Token]:
    """新华社布鲁塞尔1月30日电（记者…）X称: the dateline and byline are not the subject."""
    for k, t in enumerate(region):
        if t.text.endswith("电") and any(x.tag in ("TIME", "t") for x in region[max(0, k - 3) : k]):
            rest = region[k + 1 :]
            if rest and rest[0].text in ("（", "("):
                close = next((j for j, x in enumerate(rest) if x.text in ("）", ")")), None)
                rest = rest[close + 1 :] if close is not None else rest
            return rest
    return region


def _is_cue(toks: list[Token], i: int) -> str:
    """The cue as written when ``toks[i]`` starts a reporting predicate, else ''."""
    t = toks[i]
    w = t.text
    base = w[:-1] if len(w) > 1 and w[-1] in L.SUFFIXES and w[:-1] in L.CUE_VERBS else w
    if base not in L.CUE_VERBS and not (len(w) == 2 and w[1] == "称" and w[0] in "并还又则亦也"):
        return ""
    if t.tag not in ("v", "vd", "vn", "n") and not t.tag.startswith("v"):
        return ""
    prev = toks[i - 1].text if i > 0 else ""
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if prev in ("的", "被", "据", "所", "之", "未", "没有", "没", "不", "拒绝", "无法", "不愿", "不便", "尚未", "并未"):
        return ""
    if nxt is not None and nxt.text in ("的", "者", "后", "时", "之后", "以后", "前", "之前", "时候"):
        return ""
    if base in L.DUAL_NOUNS and (t.tag != "v" or (i > 0 and toks[i - 1].tag.startswith("v"))):
        return ""  # 发表声明, 俱乐部声明长达…: the noun, not the verb
    if t.tag in ("n", "vn") and nxt is not None and (nxt.text in L.CUE_VERBS or nxt.tag == "d"):
        return ""  # 报道称, 声明还说: the noun is the source, the next word the cue
    return w


def _leading_np(toks: list[Token]) -> list[Token]:
    """The NP that opens a clause when a verb follows it (the overt subject a zero subject shares)."""
    r = list(toks)
    while r and (r[0].tag in ("c", "d", "TIME", "t") or r[0].text in ("并", "而", "同时")):
        r = r[1:]
    np: list[Token] = []
    for t in r:
        if t.tag in NP_TAGS and t.tag not in ("TIME", "t") or t.text in HEAD_CLOSERS:
            np.append(t)
        else:
            break
    while np and not _nominal(np[-1]):
        np.pop()
    rest = r[len(np) :]
    if np and rest and (rest[0].tag.startswith("v") or rest[0].tag in ("d", "ad", "p", "TIME", "t")):
        return np
    if np and not rest and any(x.tag in PER_TAGS or x.text.endswith(L.PERSON_HEADS) for x in np[-1:]):
        return np  # 一名…的学生，3日…时说: a clause that is only the subject
    return []


def _clause_level(para: _Para, o: int, c: int, after_colon: bool) -> bool:
    """A quotation that is a whole clause (not a quoted term built into the sentence)."""
    inner = para.text[o + 1 : c]
    if len(inner.strip()) < 2:
        return False
    if after_colon:
        return True
    nxt = para.text[c + 1 : c + 2]
    if len(inner) >= 4 and _preceded_clause_start(para, o) and (c >= para.pe - 1 or nxt in ("。", "！", "？", "")):
        return True
    return any(ch in inner for ch in "，。！？,.!?；…") or len(inner) >= 10


def _preceded_clause_start(para: _Para, o: int) -> bool:
    j = o - 1
    while j >= para.ps and para.text[j] in " \t\u3000":
        j -= 1
    return j < para.ps or para.text[j] in "，,。！？!?：:；;”」』\"—…"


def _span_reported(para: _Para, s: int, cut_points: set[int]) -> tuple[int, int, int | None]:
    """(start, end, quote opener that ends the span early) of a reported span starting at ``s``."""
    e = para.sentence_end(s)
    text = para.text
    for i in range(s, e):
        if para.inside(i) is not None:
            continue
        if text[i] in "，,；;":
            j = i + 1
            if j < e and text[j] in OPENERS:
                q = para.quote_at(j)
                if q and _clause_level(para, *q, after_colon=False):
                    return s, i, j
            if j in cut_points:
                return s, i, None
            if any(text.startswith(link, j) for link in L.NARRATOR_LINKS):
                return s, i, None
    return s, e, None


def extract_paragraph(para: _Para, raws_so_far: list[Raw]) -> list[Raw]:
    """Statements of one paragraph, in order of their cues."""
    toks, text = para.toks, para.text
    out: list[Raw] = []
    cands: list[tuple[int, str, list[Token], str, Token | None]] = []
    for i in range(len(toks)):
        cue = _is_cue(toks, i)
        frame_noun = toks[i].text in L.FRAME_NOUNS and not cue
        if not cue and not frame_noun:
            continue
        j = i - 1
        while j >= 0 and not _is_boundary(toks[j]):
            j -= 1
        region = strip_dateline(toks[j + 1 : i])
        boundary = toks[j] if j >= 0 else None
        if region and region[0].text in L.FRAME_OPENERS:
            mention = region[1:]
            if mention and mention[-1].text == "的":
                mention = mention[:-1]
            if toks[i].text == "说法" and len(region) < 2:
                continue
            if not mention:
                continue
            cands.append((i, toks[i].text, mention, "frame", boundary))
            continue
        if frame_noun:
            continue
        if any(t.text == "援引" for t in region):
            k = next(k for k, t in enumerate(region) if t.text == "援引")
            src = region[k + 1 :]
            if src and src[-1].text == "话":
                src = src[:-1]
            if src and src[-1].text == "的":
                src = src[:-1]
            if src:
                cands.append((i, "援引", src, "frame", boundary))
            continue
        mention, status = _clean_subject(region)
        if status == "reject":
            continue
        cands.append((i, cue, mention, status, boundary))
    # A comma that opens another attribution's clause ends the reported span before it.
    cut_points = {b.end for i, _, _, st, b in cands if b is not None and b.text in "，,；;"}
    consumed: set[int] = set()
    for i, cue, mention, status, boundary in cands:
        if i in consumed:
            continue
        t = toks[i]
        in_quote = para.inside(t.start) is not None
        if in_quote:
            continue  # a speaker's own words that report someone else stay inside that speaker's quote
        k = i + 1
        cue_text = cue
        while k < len(toks) and toks[k].text in (*L.SUFFIXES, "指出") and toks[k].start == toks[k - 1].end and len(cue_text) < 5:
            cue_text += toks[k].text
            consumed.add(k)
            k += 1
        while k < len(toks) and toks[k].text in ("了", "过", "着", "道"):
            k += 1
        base = cue_text.rstrip("说道") or cue_text
        if base in L.RECIPIENT_VERBS:
            m = k
            while m < len(toks) and m - k < 6 and (_nominal(toks[m]) or toks[m].tag in ("u", "m", "q")):
                m += 1
            if m < len(toks) and toks[m].text in ("，", ",", "：", ":"):
                k = m
            elif base in ("告诉", "警告", "提醒", "奉劝", "告知") and m > k:
                k += 1
        after_colon = False
        comma_after = False
        if k < len(toks) and toks[k].text in ("，", ",", "：", ":"):
            after_colon = toks[k].text in "：:"
            comma_after = True
            k += 1
        s = toks[k].start if k < len(toks) else para.pe
        zero = status == "zero"
        if zero:
            mention = _zero_subject(para, i, out)
            if not mention or vague(mention):
                continue
        before: list[tuple[int, int]] = []
        if boundary is not None and status in ("ok",) and not in_quote:
            close_pos = boundary.start if boundary.text in "”」』\"" else -1
            if boundary.text in "，," and boundary.start > para.ps and text[boundary.start - 1] in "”」』\"":
                close_pos = boundary.start - 1
            q = para.quote_closing(close_pos) if close_pos >= 0 else None
            while q and _preceded_clause_start(para, q[0]) and _clause_level(para, *q, after_colon=False):
                before.insert(0, q)
                prev = q[0] - 1
                while prev >= para.ps and text[prev] in " \t\u3000":
                    prev -= 1
                q = para.quote_closing(prev) if prev >= para.ps else None
        made: list[Raw] = []
        for o, c in before:
            made.append(Raw(o + 1, c, "direct", cue_text, t.start, mention, in_quote, para.index, zero))
        if s < para.pe and text[s] in OPENERS and (q := para.quote_at(s)) and _clause_level(para, *q, after_colon=after_colon or comma_after):
            made.append(Raw(q[0] + 1, q[1], "direct", cue_text, t.start, mention, in_quote, para.index, zero))
            nxt = q[1] + 1
            while nxt < para.pe and text[nxt] in OPENERS and (q2 := para.quote_at(nxt)):
                made.append(Raw(q2[0] + 1, q2[1], "direct", cue_text, t.start, mention, in_quote, para.index, zero))
                nxt = q2[1] + 1
            if nxt < para.pe and text[nxt] in "，," and nxt + 1 < para.pe and text[nxt + 1] not in OPENERS:
                rs, re_, _ = _span_reported(para, nxt + 1, cut_points)  # X说，“A”，B: B is reported speech too
                if re_ - rs >= 6 and _content_ok(cue_text, text[rs:re_]):
                    made.append(Raw(rs, re_, "indirect", cue_text, t.start, mention, in_quote, para.index, zero))
        elif s < para.pe and not before:
            if (base in L.NEEDS_CLAUSE or base not in L.BARE_COMPLEMENT) and not comma_after:
                continue
            rs, re_, opener = _span_reported(para, s, cut_points - {s})
            if in_quote:
                re_ = min(re_, para.inside(t.start)[1])  # type: ignore[index]
            content = text[rs:re_].strip(" \t\u3000")
            if not _content_ok(cue_text, content):
                continue
            if not comma_after and base not in ("强调", "重申", "呼吁", "要求", "敦促", "说", "表示", "称", "认为"):
                first = [x for x in toks if rs <= x.start < re_ and para.inside(x.start) is None]
                first = first[: next((n for n, x in enumerate(first) if x.text in "，,；;"), len(first))]
                if not any(_verb(x) for x in first):
                    continue  # 宣布新任主教练的人选: a topic, not content
            kind = "mixed" if any(ch in content for ch in "“”「」") else "indirect"
            made.append(Raw(rs, rs + len(text[rs:re_].rstrip(" \t\u3000")), kind, cue_text, t.start, mention, in_quote, para.index, zero))
            if opener is not None and (q := para.quote_at(opener)):
                made.append(Raw(q[0] + 1, q[1], "direct", cue_text, t.start, mention, in_quote, para.index, zero))
        out.extend(made)
    return out


def _content_ok(cue: str, content: str) -> bool:
    if len(content) < 2:
        return False
    if any(content[i:].startswith(L.ATTITUDE_WORDS) for i in range(3)) and "，" not in content and len(content) <= 12:
        return False
    if content.startswith(L.ATTITUDE_WORDS) and content[2:3] in ("，", "。", ""):
        return False  # 表示感谢，感谢他们…: thanks, not content
    if content.startswith(L.ANAPHORIC_OPENERS) and "，" not in content and len(content) <= 10:
        return False
    return True


def _zero_subject(para: _Para, i: int, out: list[Raw]) -> list[Token]:
    """The overt subject a zero-subject cue shares: the NP opening the nearest earlier clause of its sentence."""
    toks = para.toks
    s0 = para.sentence_start(toks[i].start)
    clause_end = i
    j = i - 1
    while j >= 0 and toks[j].start >= s0:
        if _is_boundary(toks[j]) and toks[j].text in "，,；;":
            k = j - 1
            while k >= 0 and toks[k].start >= s0 and not _is_boundary(toks[k]):
                k -= 1
            clause = toks[k + 1 : j]
            prev = next((r for r in reversed(out) if r.cue_pos >= (clause[0].start if clause else 0) and r.cue_pos < toks[j].start), None)
            if prev is not None:
                return prev.mention
            np = _leading_np(clause)
            if np:
                return np
            clause_end = j
        j -= 1
    del clause_end
    return []
