"""Which articles a question may be answered from: article ids and a date range, as Chroma filters and record tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qa.store.records import ArticleRecord, date_to_int


@dataclass(frozen=True)
class Filters:
    article_ids: tuple[str, ...] | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.article_ids is not None:
            clauses.append({"article_id": {"$in": list(self.article_ids)}})
        if self.since:
            clauses.append({"date_int": {"$gte": date_to_int(self.since)}})
        if self.until:
            clauses.append({"date_int": {"$lte": date_to_int(self.until)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self, record: ArticleRecord) -> bool:
        if self.article_ids is not None and record.id not in self.article_ids:
            return False
        if self.since and record.date_int < date_to_int(self.since):
            return False
        if self.until and record.date_int > date_to_int(self.until):
            return False
        return True
