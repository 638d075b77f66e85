"""Quote records: how an extracted `Quote` is stored in the quotes collection and read back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa.extraction.quotes import QUOTES_EXTRACTOR, Quote
from qa.store.manifest import COSINE

if TYPE_CHECKING:
    import chromadb  # types only: importing it costs a reader ~0.3 s


def quote_metadata(q: Quote, version: str, date_int: int) -> dict[str, Any]:
    return {
        "article_id": q.article_id, "version": version, "date": q.date, "date_int": date_int, "title": q.title,
        "start": q.start, "end": q.end, "para_start": q.para_start, "para_end": q.para_end, "mention": q.mention,
        "raw_speaker": q.raw_speaker, "verb": q.verb, "kind": q.kind, "extractor": QUOTES_EXTRACTOR,
        "speaker_type": q.speaker_type, "role": q.role, "resolved": q.resolved,
    }


def quote_record_id(article_id: str, version: str, n: int) -> str:
    return f"{article_id}#{version}#q{n}"



def quotes_collection(index: Any) -> chromadb.Collection:
    """The quotes collection of `index` (an `ArticleIndex`), created when missing."""
    return index.client.get_or_create_collection(
        name=index.names["quotes"], configuration=COSINE, metadata={"extractor": QUOTES_EXTRACTOR}, embedding_function=None  # type: ignore[arg-type]
    )



def quote_from(qid: str, text: str, meta: dict[str, Any], score: float | None = None) -> Quote:
    return Quote(id=qid, article_id=str(meta["article_id"]), date=str(meta.get("date", "")), speaker=str(meta["raw_speaker"]),
                 mention=str(meta.get("mention", "")), verb=str(meta.get("verb", "")), text=text, kind=str(meta.get("kind", "")),
                 start=int(meta["start"]), end=int(meta["end"]), raw_speaker=str(meta["raw_speaker"]),
                 para_start=int(meta.get("para_start", meta["start"])), para_end=int(meta.get("para_end", meta["end"])),
                 title=str(meta.get("title", "")), score=score, speaker_type=str(meta.get("speaker_type", "person")),
                 role=str(meta.get("role", "")), resolved=bool(meta.get("resolved", True)))




class QuoteRecords:
    """Mixin of `ArticleIndex`: reading quote records."""

    def has_quotes(self) -> bool:
        """Is there a quotes collection (an index from before quotes has none)?"""
        read = self.read_model()
        if read is not None:
            return read.has_quotes
        return self.names["quotes"] in self._existing()

    def quote_spans(self, article_id: str, version: str) -> list[tuple[int, int, str]]:
        """(start, end, raw speaker) of every quote of one article version (from the read model when it has it)."""
        read = self.read_model()
        spans = read.quote_spans(article_id, version) if read is not None else None
        if spans is not None:
            return spans
        if not self.has_quotes():
            return []
        got = self.collection("quotes").get(
            where={"$and": [{"article_id": article_id}, {"version": version}]}, include=["metadatas"])
        return [(int(m["start"]), int(m["end"]), str(m["raw_speaker"])) for m in got["metadatas"] or []]

    def live_quote_rows(self) -> list[tuple[str, str, dict[str, Any]]] | None:
        """(id, text, metadata) of every live quote from the read model; None without one (then the
        caller reads the quotes collection and keeps the quotes whose record points at their version)."""
        read = self.read_model()
        return read.quote_rows() if read is not None else None

    def nearest_quotes(self, vector: Any, n: int) -> list[tuple[str, float]]:
        """The `n` quotes nearest to `vector` with their cosines, best first: exact over the read model's
        vectors, else Chroma's (approximate) search."""
        read = self.read_model()
        if read is not None:
            return read.nearest_quotes(vector, n)
        got = self.collection("quotes").query(query_embeddings=[vector], n_results=n, include=["distances"])
        return [(str(qid), 1.0 - float(dist)) for qid, dist in zip(got["ids"][0], (got["distances"] or [[]])[0])]

    def quote_vectors(self, ids: list[str]) -> dict[str, Any]:
        """The stored vectors of these quotes (those found)."""
        read = self.read_model()
        if read is not None:
            return read.quote_vector_rows(ids)
        got = self.collection("quotes").get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"] if got["embeddings"] is not None else []))
