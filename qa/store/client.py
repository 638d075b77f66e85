"""The Chroma client: a local persistent store or a Chroma server, opened with telemetry off.

chromadb is imported only when a client is made: a reader that answers from the derived files next to a
local store (see `qa.store.stamp`) never imports it (~0.3 s of imports, ~0.1 s to open the store)."""

from __future__ import annotations

import logging
import os
import shutil
import time

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from typing import TYPE_CHECKING  # noqa: E402

from qa.errors import QAError  # noqa: E402
from qa.settings import Settings  # noqa: E402

if TYPE_CHECKING:
    import chromadb

log = logging.getLogger(__name__)


def not_found() -> tuple[type[Exception], ...]:
    """What Chroma raises for a missing collection (a `NotFoundError`, a `ValueError` in older versions)."""
    from chromadb.errors import NotFoundError

    return (NotFoundError, ValueError)


def make_client(settings: Settings) -> chromadb.ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise QAError(f"bad Chroma URL {settings.chroma_url!r}: expected http://host:port")
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise QAError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}); "
                "start it with `chroma run --path <dir> --port <port>` or unset QA_CHROMA_URL"
            ) from None
        return client
    path = settings.vectorstore_dir
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        # Chroma caches the half-started system per path; drop it so a rebuilt store can be opened.
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
        raise QAError(
            f"the index in {path} cannot be opened ({exc.__class__.__name__}: {exc}); "
            "rebuild it with `qa index --rebuild`"
        ) from None


def client_for_rebuild(settings: Settings) -> chromadb.ClientAPI:
    """A store that cannot even be opened is moved aside, so `--rebuild` always recovers."""
    try:
        return make_client(settings)
    except QAError:
        if settings.chroma_url:
            raise
        broken = settings.vectorstore_dir.with_name(settings.vectorstore_dir.name + f".broken-{int(time.time())}")
        shutil.move(str(settings.vectorstore_dir), broken)
        log.warning("moved the unreadable index to %s", broken)
        return make_client(settings)
