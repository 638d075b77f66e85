"""The store: Chroma collections, article records, manifest and generation, the write protocol and derived files."""
