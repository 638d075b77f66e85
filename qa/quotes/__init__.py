"""Who said what, at question time: quote search and the speaker directory (extraction is qa.extraction.quotes)."""
