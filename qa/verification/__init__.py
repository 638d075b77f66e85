"""Checking answers against the articles, sentence by sentence (`qa verify`, faithfulness, citation checks)."""

from qa.verification.checker import *  # noqa: F401,F403
from qa.verification.checker import _ArticleText  # noqa: F401
