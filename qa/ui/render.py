"""The page's HTML, built from answers, articles, quotes and checks with every outside string escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.articles import load_article
from qa.errors import QAError
from qa.pipeline import Pipeline
from qa.quotes.search import paragraph_text

_MARKER = re.compile(r"\[(\d{1,3})\]")
_esc = html.escape
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def _show(text: str) -> str:
    """Escaped text for a pre-wrap block; runs of blank lines (common in scraped news) shown as one."""
    return _esc(_BLANK_LINES.sub("\n\n", text))


def _citation_key(turn: int, n: int) -> str:
    return f"t{turn}-{n}"


def _marked(text: str, a: int, b: int, cls: str, inner: str = "") -> str:
    """`text` escaped with [a, b) wrapped in <mark class=cls>; `inner`: that part's own markup instead."""
    return f"{_show(text[:a])}<mark class='{cls}'>{inner or _show(text[a:b])}</mark>{_show(text[b:])}"


def _sentence_html(c: dict[str, Any]) -> str:
    """The cited sentence, escaped, with the short answer inside it highlighted (when it is there)."""
    sentence = c["sentence"]
    a, b = int(c.get("span_start", -1)) - int(c["sentence_start"]), int(c.get("span_end", -1)) - int(c["sentence_start"])
    if int(c.get("span_start", -1)) >= 0 and 0 <= a < b <= len(sentence):
        return _marked(sentence, a, b, "qa-span")
    return _show(sentence)


def _passage_html(c: dict[str, Any]) -> str:
    text = c["chunk_text"]
    a, b = c["sentence_start"] - c["chunk_start"], c["sentence_end"] - c["chunk_start"]
    return _marked(text, a, b, "qa-hit", _sentence_html(c))


def _url_html(url: str) -> str:
    """A source's URL as a link (only http/https: a file may hold any string)."""
    if not url:
        return ""
    if url.startswith(("http://", "https://")):
        return f" · <a class='qa-url' href='{_esc(url)}' target='_blank' rel='noopener noreferrer'>{_esc(url)}</a>"
    return f" · {_esc(url)}"


def citation_detail_html(c: dict[str, Any], markers: Sequence[int] = ()) -> str:
    """One cited passage: title, date, file, the passage with its supporting sentence (and short answer) marked."""
    ns = "".join(f"[{int(n)}]" for n in (markers or [c["n"]]))
    return (
        f"<div class='qa-detail-head'><span class='qa-n'>{ns}</span> <b class='qa-title'>{_esc(c['title'])}</b></div>"
        f"<div class='qa-meta'>{_esc(c['date'] or 'undated')} · <code>{_esc(c['article_id'])}</code>"
        + (f" · {_esc(c['location'])}" if c.get("location") else "")
        + f" · chars {int(c['chunk_start'])}–{int(c['chunk_end'])}{_url_html(c.get('url', ''))}</div>"
        f"<blockquote class='qa-passage'>{_passage_html(c)}</blockquote>"
        f"<button type='button' class='qa-open' data-article='{_esc(c['article_id'])}' "
        f"data-start='{int(c['sentence_start'])}' data-end='{int(c['sentence_end'])}'>Open the whole article</button>"
    )


def answer_html(answer: dict[str, Any], turn: int) -> str:
    """The short answer, then the sentence stating it (answer highlighted) with each [n] a marker button,
    then one source card per cited passage, however many markers point at it."""
    citations = answer.get("citations", [])
    # One card per passage: every marker of a passage opens that passage's card.
    cards: dict[str, list[dict[str, Any]]] = {}
    for c in citations:
        cards.setdefault(str(c.get("chunk_id") or c["n"]), []).append(c)
    key_of = {int(c["n"]): _citation_key(turn, int(group[0]["n"])) for group in cards.values() for c in group}

    def marker(n: int) -> str:
        return f"<button type='button' class='qa-cite' data-cite='{key_of[n]}' title='Show source {n}'>[{n}]</button>"

    span = answer.get("span")
    cls = "qa-answer qa-refused" if answer.get("refused") else "qa-answer"
    if span and citations and not answer.get("refused"):
        sep = "" if all(re.search(r"[\u4e00-\u9fff]", c["sentence"]) for c in citations) else " "
        stated = sep.join(f"<span class='qa-sentence'>{_sentence_html(c)}</span>{marker(int(c['n']))}" for c in citations)
        body = f"<div class='qa-short'><mark class='qa-span'>{_esc(span['text'])}</mark></div><div class='qa-stated'>{stated}</div>"
    else:
        body = _MARKER.sub(lambda m: marker(int(m.group(1))) if int(m.group(1)) in key_of else m.group(0), _esc(answer.get("answer", "")))
    parts = [f"<div class='{cls}'>{body}</div>"]
    if cards:
        parts.append("<div class='qa-cards'>")
        for group in cards.values():
            c = group[0]
            key = _citation_key(turn, int(c["n"]))
            ns = [int(g["n"]) for g in group]
            parts.append(
                f"<button type='button' class='qa-card' data-cite='{key}'><span class='qa-n'>{''.join(f'[{n}]' for n in ns)}</span> "
                f"{_esc(c['title'])} <span class='qa-meta'>{_esc(c['date'] or 'undated')}</span></button>"
                f"<template data-detail='{key}'>{citation_detail_html(c, ns)}</template>"
            )
        parts.append("</div>")
    return "".join(parts)


def conversation_html(turns: Sequence[dict[str, Any]]) -> str:
    """The whole chat: turns on the left, the source reader on the right (stacked on phones)."""
    if not turns:
        conv = (
            "<div class='qa-empty'>Ask a question about the articles — in Chinese or English. "
            "Follow-up questions (“他还说了什么？”, “and what about trade?”) use the conversation. "
            "Click a [n] marker to read its source.</div>"
        )
    else:
        items = []
        for i, t in enumerate(turns):
            items.append(f"<div class='qa-msg qa-user'><div class='qa-bubble'>{_esc(t['question'])}</div></div>")
            if t.get("pending"):
                inner = f"<div class='qa-answer qa-pending'>{_esc(t.get('partial', ''))}…</div>"
            elif t.get("error"):
                inner = f"<div class='qa-answer qa-error'>{_esc(t['error'])}</div>"
            else:
                inner = answer_html(t["answer"], i)
            if t.get("query") and t["query"] != t["question"]:
                inner += f"<div class='qa-query'>searched for: {_esc(t['query'])}</div>"
            items.append(f"<div class='qa-msg qa-bot'><div class='qa-bubble'>{inner}</div></div>")
        conv = "".join(items)
    reader = "<div class='qa-empty'>Sources appear here.</div>"
    last = turns[-1] if turns else None
    if last and last.get("answer") and last["answer"].get("citations"):
        reader = citation_detail_html(last["answer"]["citations"][0])
    return (
        "<div class='qa-layout'>"
        f"<section class='qa-conv' aria-label='Conversation'>{conv}</section>"
        f"<aside class='qa-reader' aria-label='Source'><div class='qa-reader-cite'>{reader}</div>"
        "<div class='qa-reader-article'></div></aside></div>"
    )


def article_html(pipeline: Pipeline, article_id: str, start: int = -1, end: int = -1) -> str:
    """A whole indexed article, escaped, with characters [start, end) marked (if given)."""
    record = pipeline.index.records().get(str(article_id))
    if record is None:  # only indexed articles can be opened; the id never becomes a path on its own
        return f"<div class='qa-error'>No indexed article named {_esc(str(article_id))}.</div>"
    try:
        article = load_article(Path(record.path), record.id)
    except QAError as exc:
        return f"<div class='qa-error'>{_esc(str(exc))}</div>"
    text = article.text
    note = ""
    if article.content_hash != record.content_hash:
        note = "<div class='qa-error'>The file has changed since it was indexed; re-index to refresh the highlight.</div>"
        start = end = -1
    if 0 <= start < end <= len(text):
        body = f"{_show(text[:start])}<mark class='qa-hit' id='qa-article-hit'>{_show(text[start:end])}</mark>{_show(text[end:])}"
    else:
        body = _show(text)
    return (
        f"{note}<div class='qa-article-head'><b>{_esc(record.title)}</b><div class='qa-meta'>{_esc(record.date or 'undated')}"
        + (f" <span class='qa-date-source'>({_esc(record.date_source)})</span>" if record.date_source else "")
        + f" · <code>{_esc(record.id)}</code>{_url_html(record.url)}</div></div><div class='qa-article-text'>{body}</div>"
    )



ARTICLES_SHOWN = 200
"""Articles the page lists at once (newest first; the filter finds the others). An archive of 62,000
articles listed whole made a 10 MB table and dropdown that every browser had to load."""


def matching_records(records: dict[str, Any], query: str = "") -> list[Any]:
    """Article records, newest first; with `query`, only those whose title, file name or date contains it."""
    records = sorted(records.values(), key=lambda r: (r.date, r.id), reverse=True)
    needle = (query or "").strip().casefold()
    if needle:
        records = [r for r in records if needle in r.title.casefold() or needle in r.id.casefold() or needle in (r.date or "")]
    return records


def articles_table_html(pipeline: Pipeline, query: str = "", limit: int = ARTICLES_SHOWN,
                        every: dict[str, Any] | None = None) -> str:
    """`every`: the records if the caller just read them (reading 62,000 takes seconds)."""
    every = pipeline.index.records() if every is None else every
    total = len(every)
    if not total:
        return "<div class='qa-empty'>No articles indexed yet.</div>"
    records = matching_records(every, query)
    if not records:
        return f"<p>{total:,} articles indexed; none matches {_esc(query.strip())!s}.</p>"
    rows = "".join(
        f"<tr><td>{_esc(r.title)}</td><td>{_esc(r.date or '—')}</td><td>{r.n_chunks}</td><td><code>{_esc(r.id)}</code></td></tr>"
        for r in records[:limit]
    )
    what = f"{len(records):,} match “{_esc(query.strip())}”" if query.strip() else ""
    shown = f"showing the {limit:,} newest" if len(records) > limit else ""
    note = "; ".join(x for x in (what, shown) if x)
    return (
        f"<p>{total:,} articles indexed{'; ' + note if note else ''}.</p><table class='qa-articles'><thead><tr><th>Title</th><th>Date</th>"
        f"<th>Passages</th><th>File</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def upload_results_html(results: Sequence[Any]) -> str:
    if not results:
        return "<div class='qa-empty'>Choose article files first (.txt, .md, .html, .pdf, .docx, .csv, .jsonl).</div>"
    items = "".join(
        f"<li class='qa-up-{'ok' if r.ok else 'bad'}'><b>{_esc(Path(r.name).name)}</b>: {_esc(r.status)} — {_esc(r.message)}</li>"
        for r in results
    )
    return f"<ul class='qa-uploads'>{items}</ul>"



_VERIFY_COLOURS = {"supported": "#d9f2d9", "partly supported": "#fff3c4", "unsupported": "#eeeeee", "contradicted": "#ffd6d6"}


def _marks(text: str, words: Sequence[str], cls: str) -> str:
    """`text` escaped, with every occurrence of each of `words` wrapped in <mark class=cls>."""
    spans: list[tuple[int, int]] = []
    for w in sorted({w for w in words if w}, key=len, reverse=True):
        start = text.find(w)
        while start >= 0:
            if not any(a < start + len(w) and start < b for a, b in spans):
                spans.append((start, start + len(w)))
            start = text.find(w, start + len(w))
    out, at = [], 0
    for a, b in sorted(spans):
        out.append(f"{_esc(text[at:a])}<mark class='{cls}'>{_esc(text[a:b])}</mark>")
        at = b
    return "".join(out) + _esc(text[at:])


def verification_html(result: Any) -> str:
    """Each answer sentence coloured by its label, as `qa verify` prints it: what conflicts (the answer's words
    and the article's, both marked, the evidence sentence that states the article's numbered), what no article
    states, and the best evidence with its article, date and place."""
    e = _esc
    parts = [f"<p class='qa-verify-score'><b>Score {result.score:.2f}</b> — "
             + ", ".join(f"{n} {e(label)}" for label, n in result.counts.items() if n) + "</p>"]
    for i, s in enumerate(result.sentences, start=1):
        claimed = [c.claim for c in s.contradictions] + (s.missing if s.label != "supported" else [])
        block = [f"<div class='qa-verify-sentence' data-label='{e(s.label)}' style='background:{_VERIFY_COLOURS[s.label]};"
                 f"border-radius:6px;padding:6px 10px;margin-bottom:8px'>{i}. <b>[{e(s.label)}]</b> "
                 f"<span class='qa-verify-claim'>{_marks(s.sentence, claimed, 'qa-claim')}</span>"]
        if s.contradictions:
            rows = "".join(f"<tr><td>{e(c.kind)}</td><td>{e(c.claim)}</td><td>{e(c.source)}</td><td>[{c.evidence + 1}]</td></tr>"
                           for c in s.contradictions)
            block.append("<table class='qa-verify-conflicts'><tr><th></th><th>the answer says</th><th>the article says</th>"
                         f"<th>evidence</th></tr>{rows}</table>")
        if s.missing and s.label != "supported":
            block.append(f"<div class='qa-verify-missing'>Not in the articles: {e(', '.join(s.missing))}</div>")
        # The best evidence, and every sentence a contradiction quotes (its value marked), each with its citation.
        shown = sorted({0, *(c.evidence for c in s.contradictions)}) if s.label != "unsupported" else []
        for n in shown:
            if n >= len(s.evidence):
                continue
            ev = s.evidence[n]
            values = [c.source for c in s.contradictions if c.evidence == n]
            who = f" · said by {e(ev.speaker)}" if ev.speaker else ""
            block.append(f"<div class='qa-verify-evidence' style='margin-top:4px;font-size:90%'>[{n + 1}] "
                         f"<b>{e(ev.title or ev.article_id)}</b> · <code>{e(ev.article_id)}</code> · {e(ev.date or 'undated')} · "
                         f"chars {ev.start}–{ev.end}{who}<br>{_marks(ev.sentence, values, 'qa-source')}</div>")
        block.append("</div>")
        parts.append("".join(block))
    return "\n".join(parts)



def speakers_html(speakers: Sequence[Any]) -> str:
    """The speakers as a plain table (type, statements, articles, dates): for pages without the interactive one."""
    if not speakers:
        return "<p class='qa-empty'>No quotes found in the indexed articles.</p>"
    rows = "".join(
        f"<tr><td class='qa-who'><b>{_esc(s.name)}</b><div class='qa-aliases'>{_esc(', '.join(s.aliases))}</div></td>"
        f"<td>{_esc(getattr(s, 'type', 'person'))}</td><td>{s.quote_count}</td><td>{len(s.articles)}</td>"
        f"<td class='qa-nowrap'>{_esc(s.first_date if s.first_date == s.last_date else f'{s.first_date} – {s.last_date}')}</td></tr>"
        for s in speakers
    )
    return ("<table class='qa-table' id='qa-speakers-table'><thead><tr><th>Speaker</th><th>Type</th><th>Statements</th>"
            f"<th>Articles</th><th>Dates</th></tr></thead><tbody>{rows}</tbody></table>")


def speaker_rows(speakers: Sequence[Any]) -> list[list[Any]]:
    """Rows of the interactive speakers table: name, type, statements, articles, latest date."""
    return [[s.name, s.type, s.quote_count, len(s.articles), s.last_date or ""] for s in speakers]


def quotes_html(pipeline: Pipeline, quotes: Sequence[Any]) -> str:
    """Results table; each row opens its source paragraph with the quote highlighted (all text escaped)."""
    if not quotes:
        return "<p class='qa-empty'>No matching quotes.</p>"
    rows = []
    for q in quotes:
        para = paragraph_text(pipeline.index, q)
        a, b = q.start - q.para_start, q.end - q.para_start
        source = f"{_esc(para[:a])}<mark>{_esc(para[a:b])}</mark>{_esc(para[b:])}"
        score = f" · {q.score:.3f}" if q.score is not None else ""
        resolved = getattr(q, "resolved", True)
        who = _esc(q.speaker) if resolved else f"{_esc(q.mention)} <span class='qa-meta'>(unresolved)</span>"
        mention = f"as “{_esc(q.mention)}”" if q.mention and q.mention != q.speaker else ""
        role = getattr(q, "role", "")
        rows.append(
            f"<tr class='qa-quote-row'><td class='qa-who'><b>{who}</b> <span class='qa-type'>{_esc(getattr(q, 'speaker_type', 'person'))}</span>"
            f"<div class='qa-aliases'>{mention}{(' · ' + _esc(role)) if role and role != q.mention else ''}</div></td>"
            f"<td><details><summary>{_esc(q.text)}</summary><div class='qa-passage' style='white-space:pre-wrap'>{source}</div>"
            f"</details></td><td>{_esc(q.kind)}<div class='qa-meta'>{_esc(q.verb)}</div></td><td class='qa-src'>{_esc(q.title)}<div><code>{_esc(q.article_id)}</code>"
            f"</div></td><td class='qa-nowrap'>{_esc(q.date or 'undated')}{_esc(score)}</td></tr>"
        )
    return ("<table class='qa-table' id='qa-quotes-table'><thead><tr><th>Speaker</th><th>Statement (click for the source)</th>"
            f"<th>Kind</th><th>Article</th><th>Date</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
