"""The hybrid search as a LangChain `BaseRetriever` (for chains and LangChain users; the pipeline uses `HybridSearch`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from qa.retrieval.filters import Filters
from qa.retrieval.hybrid import FETCH_K, HybridSearch
from qa.retrieval.snapshot import KeywordSnapshot
from qa.store.store import ArticleIndex


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over the article index, fused with reciprocal rank fusion (`HybridSearch`).

    Each returned `Document` is a chunk; its metadata carries the chunk's offsets into its
    article, the article's title and date, and the dense / keyword / fused scores.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: ArticleIndex
    k: int = 5
    fetch_k: int = FETCH_K
    mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    article_ids: list[str] | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    tags: list[str] | None = Field(default=None)

    _search: HybridSearch | None = PrivateAttr(default=None)

    @property
    def search(self) -> HybridSearch:
        """The search with this retriever's settings (rebuilt if they were changed)."""
        wanted = (self.index, self.k, self.fetch_k, self.mode, self.article_ids, self.since, self.until)
        s = self._search
        if s is None or (s.index, s.k, s.fetch_k, s.mode, s.article_ids, s.since, s.until) != wanted:
            self._search = HybridSearch(self.index, self.k, fetch_k=self.fetch_k, mode=self.mode,
                                        article_ids=self.article_ids, since=self.since, until=self.until)
        return self._search

    def snapshot(self) -> KeywordSnapshot:
        return self.search.snapshot()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None,
                                **options: Any) -> list[Document]:
        return self.search.invoke(query, **options)

    def exact_dense(self, query: str, dense: list[tuple[str, float]], candidates: Sequence[str], fetch: int) -> list[tuple[str, float]]:
        return self.search.exact_dense(query, dense, candidates, fetch)

    def _dense(self, query: str, fetch: int, filters: Filters, snap: KeywordSnapshot) -> list[tuple[str, float]]:
        return self.search._dense(query, fetch, filters, snap)
