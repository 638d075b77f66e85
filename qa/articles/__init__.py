"""Article files → `Article` records (the package that the readers for each format grow in)."""

from qa.articles.text import (
    ARTICLE_SUFFIXES,
    MAX_ARTICLE_BYTES,
    MAX_UPLOAD_BYTES,
    TITLE_MAX_CHARS,
    Article,
    ArticleProblem,
    LoadResult,
    article_paths,
    decode_text,
    load_article,
    load_articles,
    make_title,
    parse_article,
    safe_article_name,
    save_upload,
)
