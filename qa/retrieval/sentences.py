"""The sentences of retrieved chunks as candidates, each with its stored vector's cosine with a query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.documents import Document

from qa.store.store import ArticleIndex
from qa.text.tokens import tokenize


@dataclass
class SentenceCandidate:
    article_id: str
    start: int
    end: int
    text: str
    cosine: float
    doc: Document
    terms: frozenset[str]
    score: float = 0.0
    evidence: float = 0.0
    n: int = -1
    """The sentence's number in its article (consecutive numbers are adjacent sentences)."""


class SentenceCandidates:
    """Reads the sentences of retrieved chunks (from the store's sentence file or collection) and
    scores each by the cosine of its stored embedding with the query's."""

    def __init__(self, index: ArticleIndex) -> None:
        self.index = index

    def candidates(self, question: str, docs: Sequence[Document]) -> list[SentenceCandidate]:
        wanted: dict[str, Document] = {}
        for doc in docs:
            meta = doc.metadata
            for n in meta["sentence_numbers"]:
                wanted.setdefault(f"{meta['article_id']}#{meta['version']}#s{n}", doc)
        if not wanted:
            return []
        got = self.index.sentence_rows(list(wanted))
        q = np.asarray(self.index.embeddings.embed_query(question), dtype=np.float32)
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        cosines = vectors @ q if len(vectors) else np.zeros(0)
        out = []
        for sid, text, meta, cosine in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], cosines):
            out.append(
                SentenceCandidate(str(meta["article_id"]), int(meta["start"]), int(meta["end"]), str(text), float(cosine),
                                  wanted[sid], frozenset(tokenize(str(text))), n=int(meta["n"]))
            )
        return out
