"""Tables computed once from static data (CLDR country names, zhconv's characters, jieba's dictionary and tags), kept next to the model cache."""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_folder: Path | None = None


def use_folder(folder: Path | str | None) -> None:
    """Where the tables are kept (`qa.pipeline` passes the model cache's folder; None: nowhere, built per process)."""
    global _folder
    _folder = Path(folder).expanduser() / "static" if folder is not None else None


def cached(name: str, key: str, build: Callable[[], Any]) -> Any:
    """`build()` (a value `marshal` can store: dicts, lists, strings, numbers), read from the folder when a
    table of this `name` and `key` was stored there, else built and stored (atomically). `key` names
    everything the table depends on (the data's package version, the rules' own version)."""
    if _folder is None:
        return build()
    stamp = hashlib.sha1(f"{key}|python-{sys.version_info[:2]}".encode()).hexdigest()[:12]
    path = _folder / f"{name}-{stamp}.marshal"
    try:
        with path.open("rb") as fh:
            return marshal.load(fh)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, EOFError, TypeError) as exc:
        log.warning("rebuilding the %s table (%s: %s)", name, exc.__class__.__name__, exc)
    value = build()
    try:
        _folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=_folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                marshal.dump(value, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("could not store the %s table in %s (%s); it is built in every process", name, _folder, exc)
    return value


def cached_folder(name: str, key: str, fill: Callable[[Path], None]) -> Path | None:
    """A folder of files built once by `fill(folder)` (e.g. .npy arrays to memory-map), renamed into place
    when complete; None when there is no cache folder or it cannot be written (the caller builds in memory)."""
    if _folder is None:
        return None
    stamp = hashlib.sha1(f"{key}|python-{sys.version_info[:2]}".encode()).hexdigest()[:12]
    final = _folder / f"{name}-{stamp}"
    if (final / ".complete").is_file():
        return final
    try:
        _folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=_folder))
        try:
            fill(tmp)
            (tmp / ".complete").write_text(key, encoding="utf-8")
            os.replace(tmp, final)
        except OSError:
            if (final / ".complete").is_file():  # another process finished it first
                return final
            raise
        finally:
            if tmp.exists():
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        log.warning("could not store the %s table in %s (%s); it is built in every process", name, _folder, exc)
        return None
    return final
