"""Text analysis: pure functions of strings (normalisation, tokens, sentences, entities), the bottom layer."""
