"""Answering: `Answer` / `Citation`, the extractive composer, the reader, who-questions, optional LLM answers, the chain."""
