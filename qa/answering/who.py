"""Who-questions ("谁说……？", "What did X say about Y?") answered from the quote records, with one citation."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from qa.answering.answer import Answer, Citation
from qa.extraction.quotes import Quote, surname
from qa.quotes.search import QuoteBook, paragraph_text
from qa.quotes.speakers import short_name
from qa.store.store import ArticleIndex
from qa.text.question import WhoQuestion
from qa.text.tokens import tokenize

W_KEYWORD = 0.10
"""Weight of the keyword coverage added to a quote sentence's cosine with the topic."""
WHO_MIN_SCORE = 0.80
"""Below this (e5 cosine + keyword bonus) no quote is close enough: fall back to the normal answer chain."""



def answer_who_question(index: ArticleIndex, quote_book: Callable[[], QuoteBook], question: str,
                        parsed: WhoQuestion | None) -> Answer | None:
    """If `question` asks who said something (or what X said), answer it from the quote records.

    Returns None when it is not such a question, the person is unknown, or no quote is close
    enough — the caller then runs the normal answer chain.
    """
    if parsed is None:
        return None
    book = quote_book()
    if not book.all:
        return None
    speaker = None
    if parsed.speaker:
        speaker = book.directory.resolve(parsed.speaker)
        if speaker is None:
            return None
    topic = parsed.topic or (question if speaker is None else "")
    candidates = book.search(speaker=speaker, query=topic or None, limit=10 if topic else 50)
    candidates = [q for q in candidates if q.resolved]  # "他说" with nobody behind it answers no who-question
    if not candidates:
        return None
    # Choose the best sentence inside the best quotes (a long speech answers with its relevant part).
    if topic:
        ranked = _best_sentences(index, candidates, topic, tokenize)
    else:  # "what did X say?": their first own words, not a paraphrase
        first = next((q for q in candidates if q.kind == "direct"), candidates[0])
        ranked = [(first, first.start, first.end, 1.0)]
    if not ranked:
        return None
    quote, s, e, score = ranked[0]
    if topic and score < WHO_MIN_SCORE:
        return None
    rec = index.records([quote.article_id]).get(quote.article_id)
    article_text_para = paragraph_text(index, quote)
    sentence = article_text_para[s - quote.para_start : e - quote.para_start]
    members = book.directory.members.get(quote.speaker, [])
    chinese = parsed.chinese
    short = short_name(quote.speaker, members, chinese=True)
    if chinese:
        stop = "" if sentence[-1:] in "。！？!?…" else "。"
        text = f"{short}说：“{sentence}”[1]" if quote.kind == "direct" else f"{short}{quote.verb}，{sentence}{stop}[1]"
    else:
        latin = next((n for n in [quote.speaker, *members] if not re.search(r"[\u4e00-\u9fff]", n)), None)
        label = f"{surname(latin)} ({short})" if latin else short
        text = f"{label} said: “{sentence}”[1]" if quote.kind == "direct" else f"{label} said (reported): {sentence}[1]"
    citation = Citation(
        n=1, article_id=quote.article_id, title=rec.title if rec else quote.title, date=quote.date, chunk_id=quote.id,
        chunk_start=quote.para_start, chunk_end=quote.para_end, chunk_text=article_text_para, sentence_start=s,
        sentence_end=e, sentence=sentence, score=round(score, 4), source_file=rec.path if rec else "",
        location=rec.location(s, e) if rec else "", url=rec.url if rec else "",
    )
    return Answer(question, text, [citation], False, [], score)



def _best_sentences(index: ArticleIndex, quotes: Sequence[Quote], topic: str, tokenize) -> list[tuple[Quote, int, int, float]]:  # type: ignore[no-untyped-def]
    records = index.records(list({q.article_id for q in quotes}))
    q_vec = np.asarray(index.embeddings.embed_query(topic), dtype=np.float32)
    q_terms = set(tokenize(topic))
    out = []
    by_article: dict[str, list[Quote]] = defaultdict(list)
    for q in quotes:
        by_article[q.article_id].append(q)
    for aid, qs in by_article.items():
        rec = records.get(aid)
        if rec is None:
            continue
        # Through the index's sentence file: touching the sentences collection would load its whole
        # vector index into this (reader) process.
        got = index.article_sentences(rec)
        embs = got["embeddings"] if got["embeddings"] is not None else []
        for emb, doc, meta in zip(embs, got["documents"] or [], got["metadatas"] or []):
            ss, se = int(meta["start"]), int(meta["end"])
            for q in qs:
                s, e = max(ss, q.start), min(se, q.end)
                if e - s < max(4, (se - ss) // 3):
                    continue
                terms = set(tokenize(str(doc)))
                coverage = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
                score = float(np.asarray(emb, dtype=np.float32) @ q_vec) + W_KEYWORD * coverage
                out.append((q, s, e, score))
    out.sort(key=lambda t: -t[3])
    return out
