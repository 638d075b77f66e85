"""Who says what: the speaker an article attributes words to, and the speaker a claim names."""

from __future__ import annotations

import re

from qa.text.entities import entities
from qa.text.normalise import normalize

SPEECH = r"(?:则|也|还|再次|进一步)?(?:表示|说|指出|强调|宣布|认为|称|介绍|提到|谈到)"
_SPEECH = SPEECH
_TITLES = ("总统", "总理", "主席", "部长", "先生", "女士", "阁下")
_NOT_NAMES = {"他", "她", "他们", "她们", "国家元首", "双方", "两国", "我", "我们", "总统", "总理", "两国领导人", "报道", "消息"}
_END_ATTRIBUTION = re.compile(r"[-—–]\s*([^\s，。、：:“”\"'\-—–]{1,20}?)" + _SPEECH + r"[。.]?\s*$")
_LEAD_ATTRIBUTION = re.compile(r"^\s*(?:据)?([^\s，。、：:“”\"'—–]{1,20}?)" + _SPEECH + r"[，,：:]")
_CLAIM_SPEAKER = re.compile(r"([\u4e00-\u9fff·\-]{2,20}?)" + _SPEECH)
_EN_SPEAKER = re.compile(r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*)\s+(?:said|says|stated|noted|told|stressed|announced)\b")


def _strip_title(name: str) -> str:
    name = name.lstrip("据")
    changed = True
    while changed:
        changed = False
        for t in _TITLES:
            if name.endswith(t) and len(name) > len(t):
                name, changed = name[: -len(t)], True
    return name


def _is_name(name: str) -> bool:
    return bool(name) and name not in _NOT_NAMES and not any(name == t for t in _TITLES)


def same_person(a: str, b: str) -> bool:
    a, b = normalize(a), normalize(b)
    return a in b or b in a


class ArticleText:
    """Full article text rebuilt from its chunks (offsets as in the index), plus who speaks where."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: list[tuple[int, int]] = []
        pos = 0
        for line in text.split("\n"):
            self.lines.append((pos, pos + len(line)))
            pos += len(line) + 1
        self.names = {n for a, b in self.lines if (n := self._attributed(a, b)) and _is_name(n)}

    def _attributed(self, a: int, b: int) -> str | None:
        line = self.text[a:b]
        m = _END_ATTRIBUTION.search(line) or _LEAD_ATTRIBUTION.search(line)
        return _strip_title(m.group(1)) if m else None

    def speaker_at(self, offset: int) -> str | None:
        """The person the words at `offset` are attributed to (pronouns resolved backwards)."""
        idx = next((i for i, (a, b) in enumerate(self.lines) if a <= offset <= b), None)
        if idx is None:
            return None
        name = self._attributed(*self.lines[idx])
        if name is None:
            return None
        i = idx
        while not _is_name(name) and i > 0:
            i -= 1
            earlier = self._attributed(*self.lines[i])
            if earlier is None:
                earlier = next((n for n in sorted(self.names, key=len, reverse=True)
                                if n in self.text[self.lines[i][0]:self.lines[i][1]]), None)
            if earlier:
                name = earlier
        return name if _is_name(name) else None


def claim_speaker(claim: str, known: set[str]) -> str | None:
    """Who the claim says is speaking: a known speaker before a speech verb, or the words that
    open the sentence before one ("谢里夫说，…"); None when the claim attributes nothing."""
    m = _CLAIM_SPEAKER.search(claim) or _EN_SPEAKER.search(claim)
    if not m:
        return None
    before = claim[: m.end(1)]
    hits = [n for n in known if n in before]
    if hits:
        return max(hits, key=lambda n: (before.rfind(n), len(n)))
    # The person LAC finds nearest before the speech verb ("河北省文物研究所所长张国胜在接受采访时表示").
    people = [e for e in entities(before) if e.kind == "person" and len(e.text) >= 2]
    if people:
        return people[-1].text
    lead = _LEAD_ATTRIBUTION.match(claim) or _EN_SPEAKER.match(claim.strip())
    if not lead:
        return None
    name = _strip_title(lead.group(1))
    for t in _TITLES:  # "巴基斯坦总理谢里夫" → "谢里夫"
        if t in name:
            name = name.split(t)[-1]
    return name if _is_name(name) and len(name) <= 12 and not re.search(r"[的和与了在对]", name) else None
