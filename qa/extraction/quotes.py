"""Quotes of one `Article` for the index: its attributed statements (qa.extraction.statements) as `Quote` rows.

Speakers are resolved inside the article (fullest name form there, ``raw_speaker``), typed (person, organisation,
government, media, document, group) and kept with the mention as written. A mention that could not be tied to a
source (他 with nobody in focus) stays unresolved: it is stored, shown with its mention, and never merged into a
person. Merging name variants across articles and the user's aliases file happen at read time
(`qa.quotes.speakers`), so editing ``speakers.json`` takes effect without re-indexing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from qa.articles import Article
from qa.extraction.statements import EXTRACTOR_VERSION, extract_statements, paragraphs

QUOTES_EXTRACTOR = EXTRACTOR_VERSION
"""Bump (in statements.py) when extraction changes: `sync_quotes` then re-extracts every article (no chunk
re-embedding). 1 was the rule-based extractor written on the seed articles."""

NAME_SEP = "-·‧•・"
TITLE_RE = re.compile("国家元首|元首|总统|总理|首相|秘书长|主席|发言人")
PRONOUNS_ZH = {"他": "m", "她": "f", "他们": "p", "她们": "p"}
PRONOUNS_EN = {"he", "she", "they", "it", "him", "her"}


@dataclass(frozen=True)
class Quote:
    id: str
    article_id: str
    date: str
    speaker: str
    """The canonical source (after name-variant merging and the aliases file); the mention when unresolved."""
    mention: str
    """How the speaker is referred to at the quote, as written (托卡耶夫, 他, 国家元首, the president)."""
    verb: str
    """The cue as written (说, 介绍说, 报道, said, according to); '' for an uncued continuation."""
    text: str
    """The quoted (or reported) words: ``article.text[start:end] == text``."""
    kind: str
    """``direct`` (the speaker's own words), ``mixed`` (reported with quoted parts) or ``indirect`` (reported)."""
    start: int
    end: int
    raw_speaker: str = ""
    """The source as resolved inside the article (its fullest name form there)."""
    para_start: int = 0
    para_end: int = 0
    title: str = ""
    score: float | None = None
    speaker_type: str = "person"
    """person, organisation, government, media, document or group."""
    role: str = ""
    """A description kept apart from the name (外交部发言人, a senior economic analyst at …)."""
    resolved: bool = True
    """False when the mention could not be tied to a source: kept as written, never merged into a person."""

    @property
    def reported(self) -> bool:
        return self.kind != "direct"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def surname(name: str) -> str:
    parts = re.split(f"[{NAME_SEP}\\s]+", name.strip())
    return parts[-1] if parts else name


def extract_quotes(article: Article) -> list[Quote]:
    """Every attributed statement of `article` (direct, mixed, indirect), speakers resolved inside the article."""
    text = article.text
    paras = paragraphs(text)
    out: list[Quote] = []
    for st in extract_statements(text, article_id=article.id, date=article.date_str):
        ps, pe = next(((s, e) for s, e in paras if s <= st.start < e), (st.start, st.end))
        out.append(Quote(
            id="", article_id=article.id, date=article.date_str, speaker=st.speaker, mention=st.mention, verb=st.cue,
            text=st.text, kind=st.kind, start=st.start, end=st.end, raw_speaker=st.speaker, para_start=ps,
            para_end=max(pe, st.end), title=article.title, speaker_type=st.speaker_type, role=st.role,
            resolved=st.resolved,
        ))
    return [Quote(**{**q.to_dict(), "id": f"{article.id}#q{n}"}) for n, q in enumerate(out)]
