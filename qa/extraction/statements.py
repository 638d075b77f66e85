"""Every attributed statement of an article's text: Chinese paragraphs through LAC, English through spaCy."""

from __future__ import annotations

from typing import Any

from qa.extraction import chinese, english
from qa.extraction.layout_zh import colon_statements, dash_paragraph, implicit_quotes, uncued_continuation
from qa.extraction.speakers_zh import resolve
from qa.extraction.statement import (OPENERS, SPEAKER_TYPES, SpeakerType, Statement, StatementKind, is_chinese,
                                     paragraphs, quote_pairs)

__all__ = ["EXTRACTOR_VERSION", "OPENERS", "SPEAKER_TYPES", "SpeakerType", "Statement", "StatementKind",
           "extract_statements", "paragraphs", "quote_pairs"]

EXTRACTOR_VERSION = 2
"""Bump when extraction changes: indexing then re-extracts every article."""


def extract_statements(text: str, article_id: str = "", date: str = "", tokenizer: Any = None) -> list[Statement]:
    """Every attributed statement of an article's text, in text order (Chinese and English paragraphs).

    ``tokenizer`` replaces the Chinese word/POS/NER tagger (LAC by default) — the benchmark uses it to compare taggers.
    """
    paras = paragraphs(text)
    zh = [(s, e) for s, e in paras if is_chinese(text[s:e])]
    en = [(s, e) for s, e in paras if not is_chinese(text[s:e])]
    out: list[Statement] = []
    if zh:
        out.extend(_chinese(text, zh, tokenizer))
    if en and sum(e - s for s, e in en) >= 40:
        out.extend(english.extract(text, en))
    out.sort(key=lambda st: (st.start, st.end))
    return out


def _chinese(text: str, paras: list[tuple[int, int]], tokenizer: Any = None) -> list[Statement]:
    """Statements of the Chinese paragraphs, speakers resolved inside the article."""
    from qa.text.entities import tokens

    tok = tokenizer or tokens
    parsed: list[chinese._Para] = []
    raws: list[chinese.Raw] = []
    for n, (ps, pe) in enumerate(paras):
        para = chinese._Para(text, ps, pe, chinese._tokenize(text, ps, pe, tok), n)
        parsed.append(para)
        found = dash_paragraph(para) or chinese.extract_paragraph(para, raws)
        taken = [(r.start, r.end) for r in found]
        found += [r for r in colon_statements(para, n) if not any(a < r.end and r.start < b for a, b in taken)]
        found += uncued_continuation(para, found, raws)
        found += implicit_quotes(para, found)
        raws.extend(found)
    return resolve(text, parsed, raws)
