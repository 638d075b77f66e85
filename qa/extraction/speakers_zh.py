"""Who a Chinese mention is: LAC's names, pronouns and descriptions resolved to the source in focus, and its type.

Types: person, organisation, government, media, document, group.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.extraction import cues_zh as L
from qa.extraction.statement import Statement
from qa.text.entities import Token

NAME_JOINERS = set("·•‧・-－")
TITLE_SUFFIXES = ("总统", "总理", "主席", "首相", "国王", "部长", "外长", "大使", "秘书长", "议长", "先生", "女士")


@dataclass
class _Source:
    name: str
    type: str
    pos: int
    mention: str


def _join_names(toks: list[Token]) -> list[tuple[str, int, int]]:
    """PER words joined across name separators (赛义夫 · 伊萨姆), with offsets."""
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(toks):
        if toks[i].tag in ("PER", "nr", "nrfg", "nrt"):
            s, e, name = toks[i].start, toks[i].end, toks[i].text
            j = i + 1
            while j + 1 < len(toks) and toks[j].text in NAME_JOINERS and toks[j].start == e:
                # 卡西姆-若|马尔特·托卡耶夫: short pieces after a joiner run on to the next name
                m = j + 1
                while m < len(toks) and m - j <= 3 and toks[m].tag not in ("PER", "nr", "nrfg", "nrt") and len(toks[m].text) <= 2 and toks[m].text not in NAME_JOINERS and toks[m].tag != "w":
                    m += 1
                if m < len(toks) and toks[m].tag in ("PER", "nr", "nrfg", "nrt", "LOC", "nz") and all(toks[x].start == toks[x - 1].end for x in range(j + 1, m + 1)):
                    name += "".join(t.text for t in toks[j : m + 1])
                    e = toks[m].end
                    j = m + 1
                else:
                    break
            while j < len(toks) and toks[j].start == e and toks[j].tag in ("PER", "nr"):
                name += toks[j].text
                e = toks[j].end
                j += 1
            for title in TITLE_SUFFIXES:  # LAC sometimes keeps the title: 托卡耶夫总统
                if name.endswith(title) and len(name) > len(title) + 1:
                    name, e = name[: -len(title)], e - len(title)
                    break
            out.append((name, s, e))
            i = j
        else:
            i += 1
    return out


def speaker_type(toks: list[Token], text: str) -> str:
    """The kind of source a mention names, from its head word and entity tags."""
    if not toks:
        return "person"
    last = toks[-1]
    persons = _join_names(toks)
    if text.endswith(L.GROUP_MARKERS) or any(text.startswith(m) or m in text for m in ("多名", "一些", "双方", "各方", "多位")):
        return "group"
    if len(persons) >= 2 and any(t.text in ("和", "与", "、", "及") for t in toks):
        return "group"
    if last.tag in ("PER", "nr", "nrfg", "nrt") or (persons and persons[-1][2] == last.end):
        return "person"
    if text.endswith("》") or text.startswith("《") and text.endswith(L.MEDIA_HEADS):
        return "media" if not text.endswith(L.DOCUMENT_HEADS) else "document"
    if text.endswith(L.DOCUMENT_HEADS) and last.tag != "ORG":
        return "document"
    if text.endswith(L.GROUP_HEADS):
        return "group"
    if last.tag == "ORG":
        if last.text.endswith(L.MEDIA_HEADS):
            return "media"
        if last.text.endswith(L.GOVERNMENT_HEADS):
            return "government"
        return "organisation"
    if text.endswith(L.MEDIA_HEADS):
        return "media"
    if text.endswith(L.PERSON_HEADS):
        return "person"
    if last.tag in ("LOC", "ns") or text.endswith(L.GOVERNMENT_HEADS):
        return "government"
    return "organisation"


class _Article:
    """The article's names and sources, read top to bottom."""

    def __init__(self, text: str, paras: list) -> None:  # type: ignore[type-arg]
        self.text = text
        self.toks = [t for p in paras for t in p.toks]
        self.names = _join_names(self.toks)
        self.sources: list[_Source] = []
        self.focus_people: list[tuple[int, str]] = []
        self.abbreviations: dict[str, str] = {}
        for i in range(len(self.toks) - 3):  # 国际货币基金组织（IMF）: the short form names the full one
            a, o, b, c = self.toks[i : i + 4]
            if a.tag in ("ORG", "nt", "LOC") and o.text in ("（", "(") and c.text in ("）", ")") and b.end - b.start <= 8:
                self.abbreviations.setdefault(b.text, a.text)

    def expand(self, name: str) -> str:
        """The full form of an abbreviation the article defines, or a 日媒-style short country form."""
        if name in self.abbreviations:
            return self.abbreviations[name]
        if len(name) == 2 and name[1] == "媒" and name[0] in L.COUNTRY_SHORT:
            return L.COUNTRY_SHORT[name[0]] + "媒体"
        return name

    def full_name(self, name: str) -> str:
        """The fullest form of a person's name in the article (伊马姆 → 侯赛因·图菲克·伊马姆)."""
        best = name
        for n, _, _ in self.names:
            parts = [p for p in _split(n)]
            if len(n) > len(best) and (n.endswith(name) and (len(parts) > 1 and parts[-1] == name or name == n)):
                best = n
            elif len(n) > len(best) and len(parts) > 1 and _split(best)[-1] == parts[-1] and len(_split(best)) < len(parts):
                best = n
        return best

    def introduced(self, head: str, pos: int) -> str | None:
        """Where the article first brought in what a 这项研究-style mention points back to: 一项…研究."""
        import re

        found = None
        for m in re.finditer("一[项份篇个名位家][^，。；：“”\\s]{0,16}?" + re.escape(head), self.text[:pos]):
            found = m.group(0)
        return found

    def complete(self, name: str, end: int) -> str:
        """A name the tagger cut short (马英|九): the longer name of the article that the text goes on to spell."""
        for n, _, _ in self.names:
            if len(n) > len(name) and n.startswith(name) and self.text.startswith(n[len(name) :], end):
                return n
        return name

    def named_after(self, description: str) -> str | None:
        """The person the article names right after this description (英国首相卡梅伦)."""
        for n, s, _ in self.names:
            if self.text[max(0, s - len(description)) : s] == description:
                return self.full_name(n)
        title = next((t for t in sorted(L.RANK_TITLES, key=len, reverse=True) if description.endswith(t)), None)
        if title and not any(c in description for c in "和与、及"):  # 北约秘书长 → the one person the article writes as …秘书长X
            owners = {self.full_name(n) for n, s, _ in self.names if self.text[max(0, s - len(title)) : s] == title}
            if len(owners) == 1:
                return owners.pop()
        return None

    def last_outlet(self, pos: int) -> str | None:
        """The nearest media outlet written before ``pos`` (报道称 refers back to it)."""
        found = None
        for i, t in enumerate(self.toks):
            if t.start >= pos:
                break
            dateline = any(x.text.endswith("电") for x in self.toks[i + 1 : i + 4])
            if (t.tag in ("ORG", "nt", "nz", "n") and t.text.endswith(L.MEDIA_HEADS) and len(t.text) > 2 and t.text != "报道"
                    and not dateline):
                name = t.text
                if i > 0 and self.toks[i - 1].tag in ("ORG", "LOC", "nz") and self.toks[i - 1].end == t.start:
                    name = self.toks[i - 1].text + name
                found = name
        return found

    def learn_gender(self) -> None:
        """他 or 她 in the sentence after a name, outside quotes, votes on that person's gender."""
        self.gender: dict[str, int] = {}
        text = self.text
        for n, _, e in self.names:
            stop = min([i for i in (text.find(c, e) for c in "。！？\n“") if i >= 0] or [len(text)])
            seg = text[e:stop]
            he, she = seg.count("他") - seg.count("他们"), seg.count("她") - seg.count("她们")
            if he or she:
                key = _split(self.full_name(n))[-1]
                self.gender[key] = self.gender.get(key, 0) + (1 if he > she else -1 if she > he else 0)

    def fits(self, name: str, pronoun: str) -> bool:
        g = getattr(self, "gender", {}).get(_split(name)[-1], 0)
        return not ((pronoun == "他" and g < 0) or (pronoun == "她" and g > 0))

    def person_before(self, pos: int, pronoun: str = "") -> _Source | None:
        cands = [s for s in self.sources if s.type == "person" and s.pos < pos and self.fits(s.name, pronoun)]
        people = [(p, n) for p, n in self.focus_people if p < pos and self.fits(self.full_name(n), pronoun)]
        last_src = cands[-1] if cands else None
        last_np = people[-1] if people else None
        if last_np and (last_src is None or last_np[0] > last_src.pos):
            return _Source(self.full_name(last_np[1]), "person", last_np[0], last_np[1])
        return last_src

    def titled(self, title: str, pos: int) -> str | None:
        """The person written with this title before ``pos`` (总统 → 托卡耶夫 from 哈萨克斯坦总统托卡耶夫)."""
        found = None
        for n, s, e in self.names:
            if s >= pos:
                break
            before = self.text[max(0, s - len(title) - 6) : s]
            after = self.text[e : e + len(title)]
            if title in before or after == title:
                found = n
        return self.full_name(found) if found else None

    def fuller_form(self, noun: str, pos: int) -> str | None:
        """The last earlier NP that ends with a bare noun and names its owner (警方 → 孟加拉国警方)."""
        found = None
        for i, t in enumerate(self.toks):
            if t.start >= pos:
                break
            if t.text == noun and i > 0 and self.toks[i - 1].tag in ("LOC", "ORG", "ns", "nt") and self.toks[i - 1].end == t.start:
                found = self.toks[i - 1].text + noun
            elif t.text.endswith(noun) and len(t.text) > len(noun) and t.tag in ("ORG", "n", "nt"):
                found = found or t.text
        return found


def _split(name: str) -> list[str]:
    parts, cur = [], ""
    for ch in name:
        if ch in NAME_JOINERS:
            if cur:
                parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts or [name]


_BARE_PERSON_TITLES = ("总统", "总理", "国家元首", "元首", "首相", "秘书长", "主席", "外长", "部长", "发言人", "国王", "总书记", "大使")
_BARE_SOURCES = ("报道", "报告", "声明", "研究", "文章", "公报", "调查", "论文")
_BARE_BODIES = ("警方", "政府", "军方", "当局", "校方", "法院", "议会", "国会", "军队")


def _resolve_one(art: _Article, raw, mention: str, toks: list[Token]) -> tuple[str, str, bool, str]:  # type: ignore[no-untyped-def]
    """(speaker, type, resolved, role) for one mention."""
    pos = raw.cue_pos
    names = _join_names(toks)
    if names:
        if len(names) >= 2 and any(t.text in ("和", "与", "、", "及") for t in toks):
            return "和".join(art.full_name(n) for n, _, _ in names), "group", True, ""
        name, s, e = names[-1]
        name = art.complete(name, e)
        role = mention[: s - toks[0].start].rstrip("的") if toks else ""
        tail = [t for t in toks if t.start >= e]
        if toks and (not tail or all(t.tag == "n" and t.text.endswith(L.PERSON_HEADS) for t in tail)):
            return art.full_name(name), "person", True, role
    if mention in L.PRONOUNS_SINGULAR:
        src = art.person_before(pos, mention)
        return (src.name, "person", True, "") if src else (mention, "person", False, "")
    if mention in L.PRONOUNS_PLURAL:
        if raw.in_quote:
            prev = [t for t in art.toks if t.start < pos and t.tag in ("n", "ORG", "nt") and t.start > pos - 40
                    and (t.tag != "n" or t.text.endswith(L.SOURCE_HEADS))]
            if prev:
                return prev[-1].text, speaker_type([prev[-1]], prev[-1].text), True, ""
        cands = [s for s in art.sources if s.type in ("group", "organisation", "government") and s.pos < pos]
        return (cands[-1].name, cands[-1].type, True, "") if cands else (mention, "group", False, "")
    for d in sorted(L.DEMONSTRATIVES, key=len, reverse=True):
        if mention.startswith(d) and len(mention) > len(d):
            head = mention[len(d) :]
            kind = speaker_type(toks[1:] or toks, head)
            same = [s for s in art.sources if s.pos < pos and (s.mention.endswith(head[-2:]) or s.name.endswith(head[-2:]))]
            if same:
                return same[-1].name, same[-1].type, True, head
            if kind == "person":
                src = art.person_before(pos)
                if src:
                    return src.name, "person", True, head
            typed = [s for s in art.sources if s.pos < pos and s.type == kind]
            if typed:
                return typed[-1].name, typed[-1].type, True, head
            first = art.introduced(head, pos)
            if first:
                return first, kind, True, head
            return mention, kind, False, head
    if (not names and mention.endswith(L.PERSON_HEADS) and not mention.startswith(tuple(L.DEMONSTRATIVES))
            and speaker_type(toks, mention) == "person"):
        named = art.named_after(mention)  # 英国首相 → the 卡梅伦 of 英国首相卡梅伦 (anywhere in the article)
        if named:
            return named, "person", True, mention
    if mention in _BARE_PERSON_TITLES:
        name = art.titled(mention, pos)
        if name is None:
            src = art.person_before(pos)
            name = src.name if src else None
        return (name, "person", True, mention) if name else (mention, "person", False, mention)
    if mention == "报道":
        media = [x for x in art.sources if x.pos < pos and x.type == "media"]
        if media:
            return media[-1].name, "media", True, ""
        outlet = art.last_outlet(pos)
        if outlet:
            return outlet, "media", True, ""
    if mention in _BARE_SOURCES:
        want = "media" if mention == "报道" else "document"
        typed = [s for s in art.sources if s.pos < pos and s.type in (want, "media" if want == "document" else want)]
        if typed:
            return typed[-1].name, typed[-1].type, True, ""
        fuller = art.fuller_form(mention, pos)
        return (fuller, want, True, "") if fuller else (mention, want, False, "")
    if mention in _BARE_BODIES:
        fuller = art.fuller_form(mention, pos)
        return (fuller or mention), "government", True, ""
    kind = speaker_type(toks, mention)
    name = mention
    if kind in ("organisation", "government", "media") and "的" in mention:
        name = mention.rsplit("的", 1)[1] or mention
    expanded = art.expand(name)
    if expanded != name:
        return expanded, speaker_type(toks, expanded) if kind == "person" else kind, True, ""
    return name, kind, True, ""


def resolve(text: str, paras: list, raws: list) -> list[Statement]:  # type: ignore[type-arg]
    """Statements with speakers: each mention tied to a source of the article, read in the order of the cues."""
    art = _Article(text, paras)
    art.learn_gender()
    spans = [(r.start, r.end) for r in raws]
    for p in paras:  # named subjects of clauses outside quotes and statements take the focus
        toks = p.toks
        for i, t in enumerate(toks):
            if t.tag not in ("PER", "nr") or p.inside(t.start) is not None or any(a <= t.start < b for a, b in spans):
                continue
            j = i - 1
            while j >= 0 and toks[j].text not in "，。！？；：“”\n" and not toks[j].tag.startswith("v") and toks[j].tag != "p":
                j -= 1
            naming = j >= 0 and toks[j].text in ("名为", "名叫", "叫做", "叫", "即", "就是")
            if j >= 0 and (toks[j].tag.startswith("v") or toks[j].tag == "p") and not naming:
                continue  # an object or a modifier, not the subject
            k = i + 1
            while k < len(toks) and (toks[k].tag in ("PER", "nr") or toks[k].text in NAME_JOINERS):
                k += 1
            if naming or k < len(toks) and (toks[k].tag.startswith("v") or toks[k].tag in ("d", "p", "TIME", "t")) and toks[k].text != "的":
                art.focus_people.append((t.start, "".join(x.text for x in toks[i:k])))
    out: list[Statement] = []
    done: dict[tuple[int, int], tuple[str, str, bool, str]] = {}
    for raw in sorted(raws, key=lambda r: (r.cue_pos, r.start)):
        toks = [t for t in raw.mention if t.text.strip()]
        mention = "".join(t.text for t in toks)
        mstart = toks[0].start if toks else -1
        key = (raw.cue_pos, mstart)  # one resolution per attribution (a split quote shares its cue)
        if key not in done:
            done[key] = _resolve_one(art, raw, mention, toks)
            if done[key][2]:
                art.sources.append(_Source(done[key][0], done[key][1], raw.cue_pos, mention))
        speaker, kind, resolved, role = done[key]
        end = raw.end
        while end > raw.start and text[end - 1] in "\n\r \t\u3000":
            end -= 1
        start = raw.start
        while start < end and text[start] in "\n\r \t\u3000":
            start += 1
        if end <= start:
            continue
        out.append(Statement(start, end, text[start:end], raw.kind, raw.cue, speaker, kind, mention,  # type: ignore[arg-type]
                             mstart, resolved, role, "zh"))
    return out
