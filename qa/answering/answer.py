"""What an answer is: `Answer` with its short `AnswerSpan` and numbered `Citation`s, and the refusal text."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.documents import Document

from qa.text.normalise import is_chinese

REFUSAL_ZH = "文章中没有找到这个问题的答案。"
REFUSAL_EN = "The articles do not contain an answer to this question."


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    date: str
    chunk_id: str
    chunk_start: int
    chunk_end: int
    chunk_text: str
    sentence_start: int
    sentence_end: int
    sentence: str
    score: float
    source_file: str = ""
    location: str = ""
    """Where the passage is in its file: 'p. 3' (PDF), 'row 12' (an export), or ''."""
    url: str = ""
    """The page or row's URL, when the article has one."""
    span_start: int = -1
    span_end: int = -1
    """The short answer's article offsets when it lies in this sentence (-1: none; e.g. an LLM's citation)."""

    @property
    def sentence_in_chunk(self) -> tuple[int, int]:
        """The supporting sentence's offsets inside `chunk_text` (for highlighting)."""
        return self.sentence_start - self.chunk_start, self.sentence_end - self.chunk_start

    @property
    def span_in_chunk(self) -> tuple[int, int] | None:
        """The short answer's offsets inside `chunk_text`, or None."""
        if self.span_start < 0:
            return None
        return self.span_start - self.chunk_start, self.span_end - self.chunk_start


@dataclass(frozen=True)
class AnswerSpan:
    """The short answer: exact article text (`article[start:end] == text`) and how sure the reader is."""

    text: str
    article_id: str
    start: int
    end: int
    probability: float
    no_answer: float
    citation: int
    """The `n` of the citation whose sentence contains it."""


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    passages: list[Document] = field(default_factory=list)
    """Every retrieved chunk, cited or not (for display and evaluation)."""
    evidence: float = 0.0
    span: AnswerSpan | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "evidence": round(self.evidence, 4),
            "span": None if self.span is None else {**asdict(self.span), "probability": round(self.span.probability, 4),
                                                      "no_answer": round(self.span.no_answer, 4)},
            "citations": [asdict(c) for c in self.citations],
            "passages": [
                {"chunk_id": d.metadata["chunk_id"], "article_id": d.metadata["article_id"], "title": d.metadata["title"],
                 "date": d.metadata["date"], "start": d.metadata["start"], "end": d.metadata["end"],
                 "text": d.page_content, "rank": d.metadata["rank"]}
                for d in self.passages
            ],
        }


def refusal_text(question: str) -> str:
    return REFUSAL_ZH if is_chinese(question) else REFUSAL_EN
