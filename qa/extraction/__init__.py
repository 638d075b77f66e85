"""Pure extractors over an article's text (statements and their speakers), called at index time."""
