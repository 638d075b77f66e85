"""Pure extractors over one `Article`: chunks, quotes and statements with their speakers (they know nothing of the store)."""
