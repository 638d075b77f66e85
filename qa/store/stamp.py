"""The stamp file next to a local store: what a reader needs to trust the derived files without opening Chroma.

``<prefix>_stamp.json`` in the store folder holds the stored generation, the article and chunk counts
(together: the key the derived files carry, see `ArticleIndex.derived_key`), the embedding model id and
the schema version (what `check_compatible` checks). The protocol:

* a writer REMOVES it before its first write of a run (`qa index`, an upload, a backfill);
* after the run's last committed write and after its derived files are saved, the writer writes it
  again, atomically (a temporary file renamed into place), from what Chroma then holds;
* a reader that finds a stamp takes the generation, counts and manifest from it and reads the derived
  files keyed by it; one that finds none (a writer is running, a writer crashed mid-run, a store from
  before stamps) reads Chroma exactly as before. A Chroma server (`QA_CHROMA_URL`) never has one.

Chroma stays the source of truth: the stamp only says "nothing was written since these figures were
read". It is also tied, cheaply, to the file it stamps: the size of Chroma's ``chroma.sqlite3`` and its
SQLite header are checked on every read (a stat and 16 bytes), so a store that was replaced, truncated or
overwritten since is not trusted and Chroma reports what is wrong (its mtime is no use: Chroma touches it
on reads). Two writers at once (an upload while `qa index` runs) can leave the first one's stamp in place
while the second is still writing, for the moment until the second one finishes and stamps; readers
then answer from the first one's consistent state, never from a half-written one.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

STAMP_FORMAT = 1
STORE_FILE = "chroma.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Stamp:
    generation: str
    articles: int
    chunks: int
    embedding_model: str
    schema_version: int
    prefix: str
    store_size: int
    """Bytes of the store's `STORE_FILE` when stamped."""
    format: int = STAMP_FORMAT

    @property
    def derived_key(self) -> str:
        return f"{self.generation}|{self.articles}|{self.chunks}"


def stamp_path(folder: Path, prefix: str) -> Path:
    return Path(folder) / f"{prefix}_stamp.json"


def read_stamp(folder: Path, prefix: str) -> Stamp | None:
    """The stamp of this collection prefix, or None (none, unreadable, another format or prefix: a reader
    then uses Chroma)."""
    try:
        data = json.loads(stamp_path(folder, prefix).read_text(encoding="utf-8"))
        stamp = Stamp(generation=str(data["generation"]), articles=int(data["articles"]), chunks=int(data["chunks"]),
                      embedding_model=str(data["embedding_model"]), schema_version=int(data["schema_version"]),
                      prefix=str(data["prefix"]), store_size=int(data["store_size"]), format=int(data["format"]))
        if stamp.format != STAMP_FORMAT or stamp.prefix != prefix or not stamp.generation:
            return None
        return stamp if store_file_size(folder) == stamp.store_size else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_file_size(folder: Path) -> int:
    """The size of the store's SQLite file, -1 unless it starts with SQLite's header."""
    path = Path(folder) / STORE_FILE
    with open(path, "rb") as fh:
        if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            return -1
        return os.fstat(fh.fileno()).st_size


def write_stamp(folder: Path, stamp: Stamp) -> None:
    path = stamp_path(folder, stamp.prefix)
    staged = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    staged.write_text(json.dumps(asdict(stamp)), encoding="utf-8")
    os.replace(staged, path)


def remove_stamp(folder: Path, prefix: str) -> None:
    try:
        stamp_path(folder, prefix).unlink()
    except FileNotFoundError:
        pass
