"""Quote search: live quotes with canonical speakers, found by person, date and meaning."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace

import numpy as np

from qa.errors import QAError
from qa.extraction.quotes import Quote
from qa.quotes.speakers import Aliases, Speaker, SpeakerDirectory, aggregate_speakers
from qa.store.quote_records import quote_from
from qa.store.store import ArticleIndex


def load_quotes(index: ArticleIndex) -> list[Quote]:
    """Every live quote (its article record points at its version), speaker = raw speaker."""
    if not index.exists() or not index.has_quotes():
        return []
    live = index.live_quote_rows()  # the read model holds only live quotes
    if live is not None:
        out = [quote_from(qid, doc, meta) for qid, doc, meta in live]
        out.sort(key=lambda q: (q.date, q.article_id, q.start))
        return out
    records = index.records()
    got = index.collection("quotes").get(include=["metadatas", "documents"])
    out = []
    for qid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or []):
        meta = dict(meta or {})
        rec = records.get(str(meta.get("article_id")))
        if rec is None or rec.version != meta.get("version"):
            continue
        out.append(quote_from(qid, str(doc), meta))
    out.sort(key=lambda q: (q.date, q.article_id, q.start))
    return out



class QuoteBook:
    """The read side: live quotes with canonical speakers, searchable by person and meaning."""

    def __init__(self, index: ArticleIndex, aliases: Aliases) -> None:
        self.index = index
        raw = load_quotes(index)
        counts = Counter(q.raw_speaker for q in raw if q.resolved)  # an unresolved 他 never joins a person
        self.directory = SpeakerDirectory(dict(counts), aliases)
        self.all = [replace(q, speaker=(self.directory.canonical(q.raw_speaker) or q.raw_speaker) if q.resolved else q.mention)
                    for q in raw]
        self.by_id = {q.id: q for q in self.all}

    def speakers(self, speaker_type: str | None = None) -> list[Speaker]:
        return aggregate_speakers(self.all, self.directory, _checked_type(speaker_type))

    def search(self, speaker: str | None = None, query: str | None = None, since: dt.date | None = None,
               until: dt.date | None = None, limit: int = 20, speaker_type: str | None = None,
               latest: bool = False) -> list[Quote]:
        """Quotes by a speaker (any of their names) and/or of a speaker type, in a date range; nearest in meaning to
        ``query`` first when given, else in article order (``latest``: newest first)."""
        # newest article first, each article's statements in text order
        pool = sorted(self.all, key=lambda q: (q.date, q.article_id), reverse=True) if latest else self.all
        if speaker:
            canonical = self.directory.resolve(speaker)
            if canonical is None:
                known = ", ".join(s.name for s in self.speakers()[:8])
                raise QAError(f"no speaker called {speaker!r}; run `qa speakers` to list them (e.g. {known})")
            pool = [q for q in pool if q.speaker == canonical and q.resolved]
        if speaker_type:
            wanted = _checked_type(speaker_type)
            pool = [q for q in pool if q.speaker_type == wanted]
        if since:
            pool = [q for q in pool if q.date and q.date >= since.isoformat()]
        if until:
            pool = [q for q in pool if q.date and q.date <= until.isoformat()]
        if not query or not query.strip():
            return pool[:limit] if limit else pool
        allowed = {q.id for q in pool}
        if not allowed:
            return []
        vector = self.index.embeddings.embed_query(query.strip())
        scored = []
        for qid, score in self.index.nearest_quotes(vector, min(len(self.all), max(limit * 5, 50)) or 1):
            if qid in allowed:
                scored.append(replace(self.by_id[qid], score=round(score, 4)))
        if len(scored) < min(limit, len(allowed)):  # the nearest-neighbour cut missed some: score the rest
            seen = {q.id for q in scored}
            rest = [qid for qid in allowed if qid not in seen]
            q = np.asarray(vector, dtype=np.float32)
            for qid, emb in self.index.quote_vectors(rest).items():
                scored.append(replace(self.by_id[qid], score=round(float(np.asarray(emb, dtype=np.float32) @ q), 4)))
        scored.sort(key=lambda q: -(q.score or 0.0))
        return scored[:limit] if limit else scored



def _checked_type(speaker_type: str | None) -> str | None:
    from qa.extraction.statements import SPEAKER_TYPES

    if speaker_type is None or speaker_type == "":
        return None
    if speaker_type not in SPEAKER_TYPES:
        raise QAError(f"unknown speaker type {speaker_type!r}: use one of {', '.join(SPEAKER_TYPES)}")
    return speaker_type


def paragraph_text(index: ArticleIndex, quote: Quote) -> str:
    """The quote's paragraph, rebuilt from the stored sentences (the index never needs the files)."""
    rec = index.records([quote.article_id]).get(quote.article_id)
    got = index.article_sentences(rec) if rec else {"documents": [], "metadatas": []}
    buf = [" "] * (quote.para_end - quote.para_start)
    for doc, meta in zip(got["documents"] or [], got["metadatas"] or []):
        s, e = int(meta["start"]), int(meta["end"])
        for i in range(max(s, quote.para_start), min(e, quote.para_end)):
            buf[i - quote.para_start] = str(doc)[i - s]
    # Quote text is authoritative for its own span (sentences are trimmed of whitespace only).
    for i, ch in enumerate(quote.text):
        buf[quote.start - quote.para_start + i] = ch
    return "".join(buf)
