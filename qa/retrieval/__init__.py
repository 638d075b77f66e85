"""Retrieval: the hybrid retriever (dense + BM25, fused by RRF), its keyword snapshot, filters and sentence candidates."""
