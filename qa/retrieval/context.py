"""What layers above retrieval are handed to search the store: the store and its retriever (the pipeline is one)."""

from __future__ import annotations

from typing import Protocol

from qa.retrieval.hybrid import HybridSearch
from qa.store.store import ArticleIndex


class Searchable(Protocol):
    """Anything holding the store and a retriever over it, e.g. `qa.pipeline.Pipeline`."""

    index: ArticleIndex
    retriever: HybridSearch
