"""Keeping the store in step with a folder of articles: changed files, extraction, embedding, writing, repair."""
