"""`Article` → `Chunk`s: whole sentences packed to a size, with character offsets into `Article.text`."""

from __future__ import annotations

from dataclasses import dataclass

from qa.articles import Article
from qa.text.sentences import Span, split_sentences


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    index: int
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]
    """Sentence spans inside this chunk, as offsets into the article text."""


def chunk_article(article: Article, chunk_size: int = 300, overlap: int = 1) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `chunk_size` characters (a sentence is
    never cut unless it alone is longer), repeating `overlap` sentences between neighbours."""
    text = article.text
    sentences = split_sentences(text, max_chars=chunk_size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j = i + 1
        while j < len(sentences) and sentences[j].end - sentences[i].start <= chunk_size:
            j += 1
        start, end = sentences[i].start, sentences[j - 1].end
        index = len(chunks)
        chunks.append(
            Chunk(
                id=chunk_id(article, index),
                article_id=article.id,
                index=index,
                start=start,
                end=end,
                text=text[start:end],
                sentences=tuple(sentences[i:j]),
            )
        )
        if j >= len(sentences):
            break
        i = max(i + 1, j - overlap)
    return chunks


def chunk_id(article: Article, index: int) -> str:
    """Stable across runs for the same content; a changed article gets new ids, which lets an
    interrupted re-index leave the previous chunks intact (see qa.store.writes)."""
    return f"{article.id}#{article.content_hash[:12]}#{index}"
