"""Reading and writing Chroma collections in pages and batches (its SQL-variable and write-size limits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import chromadb  # types only: importing it costs a reader ~0.3 s

WRITE_BATCH = 2000
"""Rows per write: Chroma caps one write; stay well below it."""
IN_BATCH = 500
"""Article ids per `$in` filter (each is an SQL variable; Chroma's SQLite allows 32,766 per statement)."""
READ_PAGE = 5000
"""Rows per read: one unpaged `get` of a large collection fails in Chroma ("too many SQL variables", >32k rows)."""


def get_all(col: chromadb.Collection, include: list[str]) -> dict[str, list[Any]]:
    """Every row of `col` (ids plus `include` fields), read in pages."""
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        got = col.get(include=include, limit=READ_PAGE, offset=offset)  # type: ignore[arg-type]
        out["ids"] += got["ids"]
        for key in include:
            out[key] += got.get(key) or []  # type: ignore[operator]
        if len(got["ids"]) < READ_PAGE:
            return out
        offset += READ_PAGE


def add_rows(col: chromadb.Collection, *, ids: list[str], embeddings: list[list[float]], documents: list[str], metadatas: list[dict[str, Any]]) -> None:
    for i in range(0, len(ids), WRITE_BATCH):
        sl = slice(i, i + WRITE_BATCH)
        if ids[sl]:
            col.upsert(ids=ids[sl], embeddings=embeddings[sl], documents=documents[sl], metadatas=metadatas[sl])  # type: ignore[arg-type]
