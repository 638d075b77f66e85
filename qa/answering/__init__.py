"""Answering: the extractive reader (and, after the house refactor, the composer)."""
