"""Words and characters of a text: normalised jieba search tokens, stopwords, and question characters."""

from __future__ import annotations

import re
from functools import lru_cache

from qa.text.jieba_tables import jieba_ready
from qa.text.normalise import normalize

# Function words that carry no retrieval signal; kept short on purpose (BM25's IDF does the rest).
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 并 之 其 这 那 为 对 将 把 被 从 向 于 以 等 中 上 下 "
    "吗 呢 吧 啊 什么 哪些 哪个 哪 谁 多少 几 如何 怎么 怎样 为什么 是否 有 没有 a an the of to in on "
    "for and or is are was were be been by with at as from that this what which who whom how why when "
    "where did does do said says it its his her he she they their them".split()
)
_WORD = re.compile(r"\w", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Search tokens: normalised jieba words (with their sub-words), minus punctuation and stopwords."""
    if len(text) > _CACHED_CHARS:
        return _tokenize(text)
    return list(_tokenize_cached(text))


_CACHED_CHARS = 400
"""Texts up to this length (questions, sentences, chunks) are remembered: the answer composer
tokenizes every candidate sentence of every question (~1 ms each with jieba), and the same
sentences come back for related questions."""


@lru_cache(maxsize=20_000)
def _tokenize_cached(text: str) -> tuple[str, ...]:
    return tuple(_tokenize(text))


def _tokenize(text: str) -> list[str]:
    words = jieba_ready().lcut_for_search(normalize(text))
    return [w for w in (w.strip() for w in words) if w and _WORD.search(w) and w not in STOPWORDS]


TOKENIZER = 1
"""Bump when `tokenize` changes in a way its inputs do not show (saved tokens are then not reused)."""


@lru_cache(maxsize=1)
def tokenizer_stamp() -> str:
    """What saved tokens must match to be reused: this module's rules, jieba's and zhconv's versions."""
    import hashlib
    from importlib.metadata import version

    import jieba

    rules = hashlib.sha1(("|".join(sorted(STOPWORDS)) + _WORD.pattern).encode()).hexdigest()[:10]
    return f"{TOKENIZER}|{rules}|jieba-{jieba.__version__}|zhconv-{version('zhconv')}"


QUESTION_WORDS = frozenset("什么哪谁几多少何时候怎样如为吗呢请问是")
_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[a-z0-9]+(?:\.[0-9]+)?%?")


def units(text: str) -> set[str]:
    """Chinese characters one by one, Latin words and numbers whole (letters alone mean nothing)."""
    return set(_UNIT.findall(normalize(text)))


def question_characters(question: str) -> set[str]:
    """The question's units that can appear in its answer: no punctuation, no question or stop words."""
    return {u for u in units(question) if u not in QUESTION_WORDS and u not in STOPWORDS}


def character_coverage(question_units: set[str], sentence: str) -> float:
    if not question_units:
        return 0.0
    return len(question_units & units(sentence)) / len(question_units)
