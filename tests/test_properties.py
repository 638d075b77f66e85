"""Property-based tests (hypothesis) for the article loader and the chunker.

For arbitrary Unicode text — CJK, curly and straight quotes, dashes, ellipses, newlines,
odd whitespace — the loader either returns an article or raises `ArticleError`, and the
chunker's offsets always map back exactly onto `Article.text`.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from qa.articles import Article, decode_text, parse_article
from qa.extraction.chunks import chunk_article
from qa.text.sentences import split_sentences
from qa.errors import ArticleError

# Characters the splitter treats specially, mixed with CJK, Latin and whitespace.
_SPECIAL = list("。！？；!?;…，、：,:.“”‘’「」『』《》（）()[]【】\"'—–-") + ["\n", "\n\n", " ", "\t", "\u3000", "\r\n"]
_pieces = st.one_of(
    st.sampled_from(_SPECIAL),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=30),
    st.text(alphabet="abcdefgXYZ .", min_size=1, max_size=20),
    st.sampled_from(["Mr.", "U.S.", "3.14", "e.g.", "date 2025-01-02", "Фото: Akorda", "托卡耶夫表示：", "-托卡耶夫表示。"]),
    st.text(max_size=10),  # any Unicode (hypothesis excludes surrogates)
)
article_texts = st.lists(_pieces, min_size=1, max_size=60).map("".join)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _article(text: str) -> Article | None:
    try:
        return parse_article(text, "a.txt")
    except ArticleError:
        return None


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _covered(length: int, spans: list[tuple[int, int]]) -> list[bool]:
    mask = [False] * length
    for s, e in spans:
        for i in range(s, e):
            mask[i] = True
    return mask


@PROPS
@given(article_texts)
@example("“好。我同意。”他说。\n")
@example(" date 2025-13-40 x")
@example("……！？”」\n\n-托卡耶夫表示。")
def test_parse_article_returns_or_raises_article_error(text: str) -> None:
    article = _article(text)
    if article is None:
        return
    assert article.text == article.text.strip() and article.text
    assert len(article.title) <= 40
    assert parse_article(text, "a.txt") == article  # deterministic


@PROPS
@given(article_texts, st.sampled_from([None, 50, 80, 300]))
def test_sentence_spans_are_exact_ordered_and_cover_all_text(text: str, max_chars: int | None) -> None:
    spans = split_sentences(text, max_chars=max_chars)
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip() and piece
        if max_chars:
            assert span.end - span.start <= max_chars
        previous_end = span.end
    mask = _covered(len(text), [(s.start, s.end) for s in spans])
    missing = [ch for ch, hit in zip(text, mask) if not hit and not ch.isspace()]
    assert not missing, f"characters in no sentence: {missing!r}"


@PROPS
@given(article_texts, st.sampled_from([50, 120, 300]), st.integers(0, 2))
def test_chunks_cover_the_text_and_offsets_map_back(text: str, chunk_size: int, overlap: int) -> None:
    article = _article(text)
    if article is None:
        return
    chunks = chunk_article(article, chunk_size, overlap)
    assert chunks, "a non-empty article yields at least one chunk"
    body = article.text
    for n, chunk in enumerate(chunks):
        assert chunk.index == n and chunk.article_id == article.id
        assert body[chunk.start : chunk.end] == chunk.text
        assert chunk.end - chunk.start <= chunk_size
        assert chunk.sentences and chunk.sentences[0].start == chunk.start and chunk.sentences[-1].end == chunk.end
        for s in chunk.sentences:
            assert chunk.start <= s.start < s.end <= chunk.end
            assert body[s.start : s.end] == body[s.start : s.end].strip()
    mask = _covered(len(body), [(c.start, c.end) for c in chunks])
    missing = [ch for ch, hit in zip(body, mask) if not hit and not ch.isspace()]
    assert not missing, f"characters in no chunk: {missing!r}"
    # Ids: unique, and stable for the same content (a re-run re-embeds nothing).
    ids = [c.id for c in chunks]
    assert len(set(ids)) == len(ids)
    assert [c.id for c in chunk_article(parse_article(text, "a.txt"), chunk_size, overlap)] == ids


@PROPS
@given(article_texts)
def test_chunk_ids_change_with_the_content(text: str) -> None:
    article = _article(text)
    changed = _article(text + "\n新增一句。")
    if article is None or changed is None:
        return
    assert chunk_article(article)[0].id != chunk_article(changed)[0].id


@PROPS
@given(article_texts, st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_decode_round_trips_utf8_and_gb18030_text(text: str, encoding: str) -> None:
    """Text that is plausible in its encoding decodes back to itself (newlines normalised), never to mojibake."""
    raw = text.encode(encoding)
    if encoding == "gb18030":
        # A few GB18030 characters are also valid UTF-8 ('一' is b"\xd2\xbb" = 'һ'); such bytes are
        # genuinely ambiguous and read as UTF-8. Real articles are long enough never to be.
        assume(not _valid_utf8(raw))
    try:
        decoded = decode_text(raw, "a.txt")
    except ArticleError:
        return  # refused (empty, control characters...) is allowed; a wrong decoding is not
    assert decoded == text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=4096))
def test_random_bytes_are_refused_or_decoded_faithfully(raw: bytes) -> None:
    try:
        decoded = decode_text(raw, "a.bin")
    except ArticleError:
        return
    # Accepted: then it must be what UTF-8 or GB18030 says those bytes are, nothing invented.
    try:
        expected = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        expected = raw.decode("gb18030")
    assert decoded == expected.replace("\r\n", "\n").replace("\r", "\n")
