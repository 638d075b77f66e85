"""A small thread-safe LRU of query embeddings: the retriever and the answer composer embed the same question."""

from __future__ import annotations

import threading
from collections import OrderedDict

_QUERY_CACHE_SIZE = 256


class QueryCache:
    """Small LRU: the retriever and the answer composer embed the same question."""

    def __init__(self, size: int = _QUERY_CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> list[float] | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: list[float]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
