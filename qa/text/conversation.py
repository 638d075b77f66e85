"""Follow-up questions: resolve "他还说了什么？" or "and what about trade?" against the previous turn.

The answerer is extractive and stateless, so a follow-up has to carry its subject into the
retrieval query itself. `contextualize` does that with a cheap, predictable rule instead of
an LLM rewrite: when the new question is short or opens with a pronoun/connective, the
previous turn's subject (its names, or its question stripped of interrogatives) is put in
front of it. A self-contained question passes through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.text.normalise import is_chinese


@dataclass(frozen=True)
class Turn:
    question: str
    """What the user typed."""
    answer: str = ""
    query: str = ""
    """The resolved query the turn was answered with (its own follow-up resolution); "" = the question."""

    @property
    def resolved(self) -> str:
        return self.query or self.question


SHORT_ZH = 8
"""A Chinese question of at most this many characters (punctuation excluded) is treated as a follow-up."""
SHORT_EN = 4
"""An English question of at most this many words is treated as a follow-up."""

_LEAD_ZH = re.compile(r"^\s*(他们|她们|它们|他|她|它|其|此|该|这|那|那么|还有|另外|此外|还|再|而|并且|那个|这个)")
_LEAD_EN = re.compile(
    r"^\s*(and|but|also|then|so|what about|how about|and what|he|she|it|they|his|her|its|their|them|him|"
    r"this|that|these|those|there|what else|anything else|why|how come)\b",
    re.IGNORECASE,
)
_PRONOUN_EN = re.compile(r"\b(he|she|it|they|him|her|his|its|their|them|this|that|these|those)\b", re.IGNORECASE)
_PRONOUN_ZH = re.compile(r"(他们|她们|它们|他|她|它)")
_INTERROGATIVE_ZH = re.compile(r"(说了什么|说了些什么|是什么|是多少|有多少|有哪些|是哪些|为什么|怎么样|怎样|如何|什么|多少|哪些|哪个|哪里|是否|吗|呢|吧|呀)")
_QUESTION_WORDS_EN = frozenset(
    "what which who whom whose when where why how does do did is are was were will would can could should "
    "and but also then so the a an".split()
)
_CAPITALISED = re.compile(r"\b[A-Z][\w\-]*(?:\s+[A-Z][\w\-]*)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def is_follow_up(question: str) -> bool:
    """True for questions that lean on the previous turn: short, or opening with a pronoun or connective."""
    text = question.strip()
    if not text:
        return False
    if _LEAD_ZH.match(text) or _LEAD_EN.match(text):
        return True
    if is_chinese(text):
        return len(_PUNCT.sub("", text)) <= SHORT_ZH or bool(_PRONOUN_ZH.search(text)) and len(text) <= 2 * SHORT_ZH
    words = text.split()
    return len(words) <= SHORT_EN or (len(words) <= 2 * SHORT_EN and bool(_PRONOUN_EN.search(text)))


def subject_of(question: str) -> str:
    """The part of a question that names what it is about.

    English: its capitalised names ("Pakistan", "InDrive") and any Chinese in it.
    Chinese: the question with interrogative words and punctuation removed.
    """
    text = question.strip()
    if is_chinese(text):
        stripped = _PRONOUN_ZH.sub(" ", _INTERROGATIVE_ZH.sub(" ", text))
        return " ".join(p for p in _PUNCT.sub(" ", stripped).split() if p)
    names: list[str] = []
    for match in _CAPITALISED.finditer(text):
        words = [w for w in re.sub(r"'s\b", "", match.group(0)).split() if w.lower() not in _QUESTION_WORDS_EN]
        if words:
            names.append(" ".join(words))
    names += _CJK_RUN.findall(text)
    if names:
        return " ".join(dict.fromkeys(names))
    # No names: the content words carry the topic.
    return " ".join(w for w in re.findall(r"[\w\-]+", text) if w.lower() not in _QUESTION_WORDS_EN)


def contextualize(question: str, history: Sequence[Turn]) -> str:
    """The retrieval query for `question` given earlier turns (oldest first).

    A follow-up gets the previous turn's subject in front; the subject is taken from that
    turn's resolved query, so a chain of follow-ups keeps its topic.
    """
    if not history or not is_follow_up(question):
        return question
    subject = subject_of(history[-1].resolved)
    if not subject or subject in question:
        return question
    return f"{subject} {question.strip()}"


# Words that make a follow-up ("他还说了什么？", "what else?") without naming a topic of its own.
_GENERIC = frozenset(
    "还 再 又 也 说 讲 谈 提 提到 谈到 表示 指出 别的 其他 其它 另外 此外 还有 那么 呢 else more other also say said "
    "tell told mention mentioned about anything something again further".split()
)


def answer_focus(question: str, query: str) -> str:
    """What the answer sentences are scored against.

    Retrieval uses the resolved `query` (it finds the previous turn's articles); the sentence
    choice uses the follow-up itself when it names a new topic ("那贸易呢？" → trade), so the
    previous subject does not drown it, and the resolved query when it names none ("他还说了什么？").
    """
    if query == question:
        return question
    from qa.text.tokens import tokenize

    topic = [t for t in tokenize(question)
             if t not in _GENERIC and not _PRONOUN_ZH.fullmatch(t) and (len(t) > 1 or is_chinese(t))]
    return question if topic else query
