"""The analysed question: language, normalised text, tokens, characters, answer type, names, countries, follow-up.

A question is analysed once (`analyse`) and the `Question` flows through retrieval and answering:
`query` is what retrieval searches (a follow-up resolved against the previous turn), `focus` what
the answer sentences are scored against, and every other field is computed from `focus` (the
expensive ones, names and countries, on first use).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from qa.text.conversation import Turn, answer_focus, contextualize
from qa.text.countries import gazetteer
from qa.text.normalise import is_chinese, normalize
from qa.text.quantities import expected_answer_type
from qa.text.jieba_tables import pos_tagger
from qa.text.tokens import STOPWORDS, question_characters, tokenize

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




_PARTICLES = frozenset(w for w in STOPWORDS if len(w) == 1 and is_chinese(w))
"""One-character function words (和, 了, 与…) that jieba's name tags sometimes take in."""


@dataclass(frozen=True)
class Question:
    text: str
    """The question as asked (cleaned)."""
    query: str
    """What retrieval searches: `text`, or for a follow-up the previous turn's subject plus `text`."""
    focus: str
    """What answer sentences are scored against (`text`, or `query` for a follow-up naming no new topic)."""
    who: WhoQuestion | None = None
    """Set when the question asks who said something or what someone said."""
    normalised: str = ""
    tokens: tuple[str, ...] = ()
    """Search tokens of `focus` (normalised jieba words, no stopwords)."""
    characters: frozenset[str] = field(default_factory=frozenset)
    """`focus`'s Chinese characters and Latin words that can appear in its answer."""
    answer_type: str | None = None
    """'date' or 'number' when `focus` plainly asks for one."""

    @property
    def chinese(self) -> bool:
        """The language the question is asked in (refusals answer in it)."""
        return is_chinese(self.text)

    @property
    def language(self) -> str:
        return "zh" if self.chinese else "en"

    @property
    def follow_up(self) -> bool:
        return self.query != self.text

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Place and person names (jieba's ns / nr tags, Latin words) of at least 3 characters in a
        Chinese `focus`. Two-character names are too often abbreviations the articles spell
        differently (中国 vs 中欧, 巴方); organisation tags (nt) are left out: jieba gives them to
        ordinary compounds such as 联合开发."""
        return tuple(word for word, _ in self.name_forms)

    @cached_property
    def name_forms(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each name with the forms it may be written in (a particle jieba glued to it dropped: 和浩汉)."""
        if not is_chinese(self.focus):
            return ()
        out = []
        for pair in pos_tagger().lcut(self.normalised):
            word, flag = pair.word, pair.flag
            if len(word) < 3 or not (flag.startswith(("ns", "nr")) or flag == "eng"):
                continue
            forms = [word] + [w for w in (word[1:] if word[0] in _PARTICLES else "", word[:-1] if word[-1] in _PARTICLES else "") if len(w) >= 2]
            out.append((word, tuple(forms)))
        return tuple(out)

    @cached_property
    def countries(self) -> frozenset[str]:
        """The countries `focus` names (CLDR names, see qa.text.countries)."""
        return frozenset(gazetteer().countries(self.focus))


def analyse(text: str, history: Sequence[Turn] = ()) -> Question:
    """Analyse `text` once, resolving a follow-up against `history` (earlier turns, oldest first)."""
    query = contextualize(text, history)
    focus = answer_focus(text, query)
    return Question(text=text, query=query, focus=focus, who=parse_who_question(text), normalised=normalize(focus),
                    tokens=tuple(dict.fromkeys(tokenize(focus))), characters=frozenset(question_characters(focus)),
                    answer_type=expected_answer_type(focus))
