"""A derived folder next to a local store (the keyword snapshot, the read model): a folder per state, a pointer naming the current one.

Derived data, never the source of truth: keyed by the store's generation and counts, written to
a new folder that is renamed into place before the pointer file is replaced (the commit point),
so an interrupted save leaves the previous snapshot. What goes into the folder (the BM25 index,
the tokens) is the retriever's business (`qa.retrieval.snapshot`); the rows file is kept here. The
read model (`qa.store.read_model`) is saved the same way under its own name (`kind`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class KeywordFile:
    """The saved snapshot of one collection prefix in `folder` (None: a Chroma server, no folder of ours);
    `kind` names which derived folder ('keyword': the retriever's snapshot, 'read': the read model)."""

    def __init__(self, folder: Path | None, prefix: str, kind: str = "keyword") -> None:
        self.folder = folder
        self.prefix = f"{prefix}_{kind}"

    @property
    def pointer(self) -> Path:
        assert self.folder is not None
        return self.folder / f"{self.prefix}.json"

    def latest(self) -> tuple[dict[str, Any], Path] | None:
        """The saved rows (ids, article ids, dates, key) and folder the pointer names, whatever its key;
        None if there is none. Raises OSError / ValueError / KeyError / TypeError when it is damaged."""
        if self.folder is None:
            return None
        try:
            pointer = json.loads(self.pointer.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        saved = self.folder / str(pointer["dir"])
        rows = json.loads((saved / "rows.json").read_text(encoding="utf-8"))
        return rows, saved

    def current(self, key: str) -> tuple[dict[str, Any], Path] | None:
        """The saved rows and folder if the saved snapshot has this key (same exceptions as `latest`)."""
        if self.folder is None or not key:
            return None
        try:
            pointer = json.loads(self.pointer.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if pointer.get("key") != key:
            return None
        saved = self.folder / str(pointer["dir"])
        rows = json.loads((saved / "rows.json").read_text(encoding="utf-8"))
        return (rows, saved) if rows.get("key") == key else None

    def is_current(self, key: str) -> bool:
        """Cheap: the pointer names this key and its folder has its rows (nothing is read)."""
        if self.folder is None:
            return False
        try:
            pointer = json.loads(self.pointer.read_text(encoding="utf-8"))
            return pointer.get("key") == key and (self.folder / str(pointer["dir"]) / "rows.json").is_file()
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def save(self, key: str, rows: dict[str, Any], fill: Callable[[Path], None]) -> None:
        """Write a new snapshot: `fill(folder)` writes its parts, `rows` (with `key`) goes next to them;
        then the pointer is switched to it and older folders removed. A failure is logged, not raised
        (the snapshot is then rebuilt per process)."""
        folder = self.folder
        if folder is None or not key or not folder.is_dir():
            return
        prefix = self.prefix
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{prefix}.tmp-", dir=folder))
            try:
                fill(tmp)
                (tmp / "rows.json").write_text(json.dumps({"key": key, **rows}, ensure_ascii=False), encoding="utf-8")
                final = folder / f"{prefix}-{uuid.uuid4().hex[:12]}"
                os.replace(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            pointer = self.pointer
            staged = pointer.with_name(f".{pointer.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
            staged.write_text(json.dumps({"key": key, "dir": final.name}), encoding="utf-8")
            os.replace(staged, pointer)  # the commit point: readers now find the new snapshot
            for old in folder.glob(f"{prefix}-*"):
                if old != final and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            for stale in folder.glob(f".{prefix}.tmp-*"):
                if time.time() - stale.stat().st_mtime > 3600:  # left by a crash long ago
                    shutil.rmtree(stale, ignore_errors=True)
        except OSError as exc:
            log.warning("could not save the %s file next to the store (%s); readers use the store", self.prefix, exc)
