"""Domain exceptions: library errors are translated into these, and the CLI and the page show each as one clear message."""

from __future__ import annotations


class QAError(Exception):
    """Base class: the message is meant for the user and says what to do."""


class ArticleError(QAError):
    """An article file cannot be indexed (empty, not text, malformed header...)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissingError(QAError):
    """No index has been built yet."""


class IndexMismatchError(QAError):
    """The index was built with another embedding model or schema."""


class EmbedderError(QAError):
    """An embedding model spec cannot be loaded."""
