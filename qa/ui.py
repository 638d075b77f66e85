"""The Gradio page. Thin: every action calls the same functions as the CLI and the tests
(`Pipeline.ask`, `add_uploads`, `ArticleIndex.records`).

Safety: nothing from an article, a file name or a question reaches the page as markup.
The chat, the source cards, the article reader and the article list are built here as HTML
in which every such string went through `html.escape`; the only markup is our own. The
small click handler (`CHAT_JS`) only moves our own pre-rendered, escaped fragments around
and asks the server (`open_article`) for an article rendered the same way.

API endpoints (stable names, documented in the README): /ask, /articles, /article, /upload.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
from gradio.themes.utils import fonts  # noqa: E402

from qa.articles import MAX_UPLOAD_BYTES, load_article  # noqa: E402
from qa.conversation import Turn, contextualize  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.security import server_auth  # noqa: E402
from qa.uploads import add_uploads  # noqa: E402

EXAMPLES = [
    "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？",
    "托卡耶夫对乌兹别克斯坦说了什么？",
    "What share of Pakistan's taxi market does InDrive hold?",
    "How much did Kazakhstan's economy grow last year?",
]
MAX_K = 20
# Local and system fonts only: the page must render (Chinese included) with no internet.
THEME = gr.themes.Default(
    font=[fonts.LocalFont("Source Sans Pro"), "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"],
    font_mono=[fonts.LocalFont("IBM Plex Mono"), "Noto Sans Mono CJK SC", "ui-monospace", "monospace"],
)
_MARKER = re.compile(r"\[(\d{1,3})\]")
_esc = html.escape
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def _show(text: str) -> str:
    """Escaped text for a pre-wrap block; runs of blank lines (common in scraped news) shown as one."""
    return _esc(_BLANK_LINES.sub("\n\n", text))


# ---------------------------------------------------------------- rendering (pure)
def _citation_key(turn: int, n: int) -> str:
    return f"t{turn}-{n}"


def _passage_html(c: dict[str, Any]) -> str:
    text = c["chunk_text"]
    a, b = c["sentence_start"] - c["chunk_start"], c["sentence_end"] - c["chunk_start"]
    return f"{_show(text[:a])}<mark class='qa-hit'>{_show(text[a:b])}</mark>{_show(text[b:])}"


def citation_detail_html(c: dict[str, Any]) -> str:
    """One cited passage: title, date, file, the passage with its supporting sentence marked."""
    return (
        f"<div class='qa-detail-head'><span class='qa-n'>[{int(c['n'])}]</span> <b class='qa-title'>{_esc(c['title'])}</b></div>"
        f"<div class='qa-meta'>{_esc(c['date'] or 'undated')} · <code>{_esc(c['article_id'])}</code>"
        f" · chars {int(c['chunk_start'])}–{int(c['chunk_end'])}</div>"
        f"<blockquote class='qa-passage'>{_passage_html(c)}</blockquote>"
        f"<button type='button' class='qa-open' data-article='{_esc(c['article_id'])}' "
        f"data-start='{int(c['sentence_start'])}' data-end='{int(c['sentence_end'])}'>Open the whole article</button>"
    )


def answer_html(answer: dict[str, Any], turn: int) -> str:
    """The answer text with each [n] turned into a marker button, then its source cards."""
    cited = {int(c["n"]) for c in answer.get("citations", [])}

    def marker(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in cited:
            return m.group(0)
        return f"<button type='button' class='qa-cite' data-cite='{_citation_key(turn, n)}' title='Show source {n}'>[{n}]</button>"

    body = _MARKER.sub(marker, _esc(answer.get("answer", "")))
    cls = "qa-answer qa-refused" if answer.get("refused") else "qa-answer"
    parts = [f"<div class='{cls}'>{body}</div>"]
    if answer.get("citations"):
        parts.append("<div class='qa-cards'>")
        for c in answer["citations"]:
            key = _citation_key(turn, int(c["n"]))
            parts.append(
                f"<button type='button' class='qa-card' data-cite='{key}'><span class='qa-n'>[{int(c['n'])}]</span> "
                f"{_esc(c['title'])} <span class='qa-meta'>{_esc(c['date'] or 'undated')}</span></button>"
                f"<template data-detail='{key}'>{citation_detail_html(c)}</template>"
            )
        parts.append("</div>")
    return "".join(parts)


ASK_CONCURRENCY = 4
"""Questions answered at once; more wait in Gradio's queue (2 cores: more would only thrash)."""


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
        article = load_article(Path(record.path))
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
        f" · <code>{_esc(record.id)}</code></div></div><div class='qa-article-text'>{body}</div>"
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
        return "<div class='qa-empty'>Choose .txt or .md files first.</div>"
    items = "".join(
        f"<li class='qa-up-{'ok' if r.ok else 'bad'}'><b>{_esc(Path(r.name).name)}</b>: {_esc(r.status)} — {_esc(r.message)}</li>"
        for r in results
    )
    return f"<ul class='qa-uploads'>{items}</ul>"


# ---------------------------------------------------------------- logic shared by page and API
def parse_date(text: str | None, label: str) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise QAError(f"{label} date {text!r} is not a date: use YYYY-MM-DD, e.g. 2025-11-15") from None


def history_turns(questions: Sequence[str]) -> list[Turn]:
    """Earlier questions (oldest first) → turns carrying their own resolved queries."""
    turns: list[Turn] = []
    for q in questions:
        q = str(q).strip()
        if q:
            turns.append(Turn(q, query=contextualize(q, turns)))
    return turns


def article_choices(pipeline: Pipeline, query: str = "", keep: Sequence[str] = (), limit: int = ARTICLES_SHOWN,
                    every: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """Choices for "only these articles": the newest `limit` matching `query`, plus those already chosen."""
    every = pipeline.index.records() if every is None else every
    records = matching_records(every, query)[:limit]
    listed = {r.id for r in records}
    records += [every[i] for i in keep if i in every and i not in listed]
    return [(f"{r.title} · {r.date or 'undated'} ({r.id})", r.id) for r in records]


def _upload_pairs(files: Sequence[Any] | None) -> list[tuple[str, bytes]]:
    pairs = []
    for f in files or []:
        p = Path(f if isinstance(f, (str, Path)) else getattr(f, "name", "") or f["path"])
        pairs.append((p.name, p.read_bytes()))
    return pairs


def _record_dict(r: Any) -> dict[str, Any]:
    # No "path" key: gradio_client would try to download anything that has one.
    return {"id": r.id, "title": r.title, "date": r.date, "chunks": r.n_chunks, "sentences": r.n_sentences, "file": Path(r.path).name}


CSS = """
.qa-layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; align-items: start; }
@media (max-width: 900px) { .qa-layout { grid-template-columns: minmax(0, 1fr); } }
.qa-conv { display: flex; flex-direction: column; gap: 10px; min-height: 200px; }
.qa-msg { display: flex; }
.qa-user { justify-content: flex-end; }
.qa-bubble { max-width: 92%; padding: 10px 12px; border-radius: 12px; line-height: 1.6; overflow-wrap: anywhere; white-space: pre-wrap; }
.qa-user .qa-bubble { background: var(--color-accent-soft, #e8efff); }
.qa-bot .qa-bubble { background: var(--block-background-fill, #f6f6f6); border: 1px solid var(--border-color-primary, #ddd); }
.qa-cite { border: none; background: none; color: var(--color-accent, #2563eb); font-weight: 600; cursor: pointer; padding: 0 1px; font: inherit; }
.qa-cite.active, .qa-card.active { outline: 2px solid var(--color-accent, #2563eb); border-radius: 4px; }
.qa-cards { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; white-space: normal; }
.qa-card { border: 1px solid var(--border-color-primary, #ccc); border-radius: 8px; padding: 4px 8px; background: var(--background-fill-primary, #fff); cursor: pointer; text-align: left; font-size: 0.9em; max-width: 100%; }
.qa-n { color: var(--color-accent, #2563eb); font-weight: 600; }
.qa-meta { color: var(--body-text-color-subdued, #666); font-size: 0.85em; }
.qa-query { color: var(--body-text-color-subdued, #666); font-size: 0.8em; margin-top: 6px; }
.qa-refused, .qa-pending { color: var(--body-text-color-subdued, #666); }
.qa-error { color: #b91c1c; }
.qa-reader { position: sticky; top: 8px; border: 1px solid var(--border-color-primary, #ddd); border-radius: 10px; padding: 12px; max-height: 85vh; overflow: auto; overflow-wrap: anywhere; }
.qa-passage { margin: 8px 0; padding: 8px 10px; border-left: 3px solid var(--color-accent, #2563eb); white-space: pre-wrap; line-height: 1.7; }
mark.qa-hit { background: #ffe58a; color: inherit; padding: 0 1px; }
.qa-open { margin-top: 4px; border: 1px solid var(--color-accent, #2563eb); color: var(--color-accent, #2563eb); background: none; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
.qa-reader-article:not(:empty) { margin-top: 12px; border-top: 1px solid var(--border-color-primary, #ddd); padding-top: 10px; }
.qa-article-text { white-space: pre-wrap; line-height: 1.8; max-height: 60vh; overflow: auto; margin-top: 8px; }
.qa-empty { color: var(--body-text-color-subdued, #666); padding: 8px 0; }
.qa-articles { width: 100%; border-collapse: collapse; }
.qa-articles td, .qa-articles th { border-bottom: 1px solid var(--border-color-primary, #ddd); padding: 4px 6px; text-align: left; overflow-wrap: anywhere; }
.qa-up-ok { color: #15803d; } .qa-up-bad { color: #b91c1c; }
"""

# Runs once when the chat component mounts; the handler is delegated, so it survives re-renders.
CHAT_JS = """
const show = (key) => {
  const tpl = Array.from(element.querySelectorAll('template[data-detail]')).find(t => t.dataset.detail === key);
  const reader = element.querySelector('.qa-reader-cite');
  if (!tpl || !reader) return;
  reader.replaceChildren(tpl.content.cloneNode(true));
  element.querySelector('.qa-reader-article').replaceChildren();
  element.querySelectorAll('.active').forEach(b => b.classList.remove('active'));
  element.querySelectorAll('[data-cite]').forEach(b => { if (b.dataset.cite === key) b.classList.add('active'); });
  reader.scrollIntoView({block: 'nearest'});
};
const openArticle = async (btn) => {
  const box = element.querySelector('.qa-reader-article');
  box.textContent = 'Loading…';
  try {
    // The server escapes the article; this is our own markup.
    box.innerHTML = await server.open_article({article_id: btn.dataset.article, start: Number(btn.dataset.start), end: Number(btn.dataset.end)});
  } catch (e) { box.textContent = 'Could not open the article.'; return; }
  const hit = box.querySelector('#qa-article-hit');
  if (hit) hit.scrollIntoView({block: 'center'});
};
element.addEventListener('click', (ev) => {
  const cite = ev.target.closest('[data-cite]');
  if (cite && element.contains(cite)) { ev.preventDefault(); show(cite.dataset.cite); return; }
  const open = ev.target.closest('.qa-open');
  if (open && element.contains(open)) { ev.preventDefault(); openArticle(open); }
});
"""


# ---------------------------------------------------------------- the page
def build_app(pipeline: Pipeline) -> gr.Blocks:
    settings = pipeline.settings

    def ask_api(question: str, k: float | None = None, article_ids: Any = None, since: str = "", until: str = "",
                history: Any = None) -> dict[str, Any]:
        """Answer a question. `history`: earlier questions, oldest first (for follow-ups).
        Returns the answer text, `query` (what was searched), `citations` and `passages`."""
        try:
            turns = history_turns(history or [])
            answer = pipeline.ask(
                question, k=int(k) if k else None, article_ids=list(article_ids or []) or None,
                since=parse_date(since, "from"), until=parse_date(until, "until"), history=turns,
            )
            return {**answer.to_dict(), "query": contextualize(answer.question, turns), "error": ""}
        except QAError as exc:
            return {"question": question, "answer": "", "query": question, "error": str(exc), "citations": [],
                    "passages": [], "refused": True}

    def articles_api() -> dict[str, Any]:
        """Every indexed article: id, title, date, chunks, sentences, file."""
        records = sorted(pipeline.index.records().values(), key=lambda r: (r.date, r.id))
        return {"articles": [_record_dict(r) for r in records]}

    def article_api(article_id: str) -> dict[str, Any]:
        """The full text of one indexed article (citation offsets point into `text`)."""
        record = pipeline.index.records().get(str(article_id))
        if record is None:
            return {"error": f"no indexed article named {article_id!r}; see /articles", "text": ""}
        try:
            return {**_record_dict(record), "text": load_article(Path(record.path)).text, "error": ""}
        except QAError as exc:
            return {**_record_dict(record), "text": "", "error": str(exc)}

    def upload_api(files: list[Any] | None, replace: bool = False, progress: gr.Progress = gr.Progress()) -> dict[str, Any]:
        """Add .txt/.md articles: validated, saved into the articles folder, indexed incrementally."""
        results = _do_upload(files, replace, progress)
        return {"results": [vars(r) | {"ok": r.ok} for r in results], "articles": len(pipeline.index.records())}

    def _do_upload(files: Sequence[Any] | None, replace: bool, progress: gr.Progress) -> list[Any]:
        progress(0, desc="Checking files")
        return add_uploads(
            pipeline, _upload_pairs(files), replace=bool(replace),
            progress=lambda done, total: progress(done / max(total, 1), desc=f"Indexed {done}/{total} articles"),
        )

    def respond(question: str, turns: list[dict[str, Any]], k: float, article_ids: list[str] | None, since: str,
                until: str) -> Iterator[tuple[Any, ...]]:
        # A generator, so a streaming (generative) answerer can yield partial text here later.
        turns = list(turns or [])
        question = (question or "").strip()
        if not question:
            yield gr.update(), turns, conversation_html(turns)
            return
        history = [Turn(t["question"], query=t.get("query", "")) for t in turns if t.get("answer")]
        query = contextualize(question, history)
        pending = {"question": question, "query": query, "pending": True}
        yield "", turns, conversation_html(turns + [pending])
        try:
            options = dict(k=int(k) if k else None, article_ids=article_ids or None,
                           since=parse_date(since, "from"), until=parse_date(until, "until"), history=history)
            # With a generative backend the text arrives piece by piece; the extractive answer
            # (the default) is a single final item.
            partial = ""
            answer = None
            for item in pipeline.stream(question, **options):
                if isinstance(item, str):
                    partial += item
                    yield "", turns, conversation_html(turns + [{**pending, "partial": partial}])
                else:
                    answer = item
            if answer is None:
                raise QAError("the answerer returned nothing; try again")
            turn = {"question": question, "query": query, "answer": answer.to_dict()}
        except QAError as exc:
            turn = {"question": question, "query": query, "error": str(exc)}
        turns.append(turn)
        yield "", turns, conversation_html(turns)

    def clear() -> tuple[list[Any], str]:
        return [], conversation_html([])

    def upload_ui(files: list[Any] | None, replace: bool, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        try:
            results = _do_upload(files, replace, progress)
            report = upload_results_html(results)
        except QAError as exc:
            report = f"<div class='qa-error'>{_esc(str(exc))}</div>"
        return report, articles_table_html(pipeline), gr.update(choices=article_choices(pipeline)), None

    def find_articles(query: str, chosen: list[str] | None) -> tuple[Any, ...]:
        every = pipeline.index.records()  # once for both: a keystroke must not read every record twice
        return (articles_table_html(pipeline, query, every=every),
                gr.update(choices=article_choices(pipeline, query, keep=chosen or [], every=every)))

    def open_article(request: Any) -> str:
        request = request if isinstance(request, dict) else {}
        try:
            start, end = int(request.get("start", -1)), int(request.get("end", -1))
        except (TypeError, ValueError):
            start = end = -1
        return article_html(pipeline, str(request.get("article_id", "")), start, end)

    with gr.Blocks(title="article-qa") as app:
        gr.Markdown("## article-qa — ask the articles, read the sources")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                turns = gr.State([])
                chat = gr.HTML(conversation_html([]), elem_id="qa-chat", js_on_load=CHAT_JS, server_functions=[open_article])
                with gr.Row(equal_height=True):
                    box = gr.Textbox(placeholder="Ask a question in Chinese or English…", show_label=False, lines=1,
                                     scale=5, elem_id="qa-question", max_length=2000)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-ask")
                    clear_btn = gr.Button("New chat", scale=1, min_width=80)
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                with gr.Accordion("Filters", open=False):
                    with gr.Row():
                        since = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="2025-01-01", elem_id="qa-since")
                        until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="2026-12-31", elem_id="qa-until")
                        k = gr.Slider(1, MAX_K, value=settings.k, step=1, label="Passages to retrieve")
                    picker = gr.Dropdown(choices=article_choices(pipeline), multiselect=True,
                                         label=f"Only these articles (empty = all; lists the {ARTICLES_SHOWN} newest — "
                                               "“Find articles” on the Articles tab lists others)")
                inputs = [box, turns, k, picker, since, until]
                # Pipeline.ask is thread-safe: several people may ask at once (Gradio's default is one).
                box.submit(respond, inputs, [box, turns, chat], api_visibility="private", concurrency_limit=ASK_CONCURRENCY)
                send.click(respond, inputs, [box, turns, chat], api_visibility="private", concurrency_limit=ASK_CONCURRENCY)
                clear_btn.click(clear, None, [turns, chat], api_visibility="private")
            with gr.Tab("Articles", id="articles"):
                find = gr.Textbox(label="Find articles (title, file name or date)", elem_id="qa-find-articles",
                                  placeholder="e.g. 熊猫 or 2026-03")
                articles_view = gr.HTML(articles_table_html(pipeline), elem_id="qa-articles")
                # Also narrows the chat's "only these articles" list to the matches (chosen ones stay).
                find.change(find_articles, [find, picker], [articles_view, picker], api_visibility="private")
                gr.Markdown(
                    f"**Add articles** — .txt or .md, UTF-8 (or GB18030), up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB each; "
                    "an optional first line ` date YYYY-MM-DD`. New files are indexed right away; nothing already indexed is lost."
                )
                files = gr.File(file_count="multiple", file_types=[".txt", ".md"], type="filepath", label="Article files")
                replace = gr.Checkbox(False, label="Replace an existing article with the same file name")
                add_btn = gr.Button("Add to the index", variant="primary")
                upload_report = gr.HTML("", elem_id="qa-upload-report")
                add_btn.click(upload_ui, [files, replace], [upload_report, articles_view, picker, files], api_visibility="private")
            with gr.Tab("Check an answer", id="verify"):
                verify_tab(pipeline)
            # Other tabs (quotes, verification) are added below.
            with gr.Tab("Who said what", id="quotes"):
                quotes_tab(pipeline)

        # Stable API endpoints (hidden components; the page's own events are private).
        with gr.Group(visible=False):
            api_q = gr.Textbox()
            api_k = gr.Number(value=settings.k, precision=0)
            api_ids = gr.JSON()
            api_since = gr.Textbox()
            api_until = gr.Textbox()
            api_history = gr.JSON()
            api_out = gr.JSON()
            api_id = gr.Textbox()
            api_files = gr.File(file_count="multiple", type="filepath")
            api_replace = gr.Checkbox(False)
        btn = gr.Button(visible=False)
        btn.click(ask_api, [api_q, api_k, api_ids, api_since, api_until, api_history], api_out, api_name="ask",
                  concurrency_limit=ASK_CONCURRENCY)
        btn.click(articles_api, None, api_out, api_name="articles")
        btn.click(article_api, [api_id], api_out, api_name="article")
        btn.click(upload_api, [api_files, api_replace], api_out, api_name="upload")
    return app


_VERIFY_COLOURS = {"supported": "#d9f2d9", "partly supported": "#fff3c4", "unsupported": "#eeeeee", "contradicted": "#ffd6d6"}


def verification_html(result: Any) -> str:
    """Each answer sentence coloured by its label, with contradictions side by side and the evidence."""
    e = html.escape
    parts = [f"<p class='qa-verify-score'><b>Score {result.score:.2f}</b> — "
             + ", ".join(f"{n} {e(label)}" for label, n in result.counts.items() if n) + "</p>"]
    for s in result.sentences:
        block = [f"<div class='qa-verify-sentence' data-label='{e(s.label)}' style='background:{_VERIFY_COLOURS[s.label]};"
                 f"border-radius:6px;padding:6px 10px;margin-bottom:8px'><b>[{e(s.label)}]</b> {e(s.sentence)}"]
        if s.contradictions:
            rows = "".join(f"<tr><td>{e(c.kind)}</td><td>{e(c.claim)}</td><td>{e(c.source)}</td></tr>" for c in s.contradictions)
            block.append(f"<table class='qa-verify-conflicts'><tr><th></th><th>answer says</th><th>source says</th></tr>{rows}</table>")
        if s.unmatched_numbers:
            block.append(f"<div>Not found in the evidence: {e(', '.join(s.unmatched_numbers))}</div>")
        for ev in s.evidence[:1] if s.label != "unsupported" else []:
            who = f" · said by {e(ev.speaker)}" if ev.speaker else ""
            block.append(f"<div class='qa-verify-evidence' style='margin-top:4px;font-size:90%'>Evidence: <code>{e(ev.article_id)}</code> · "
                         f"{e(ev.date or 'undated')} · chars {ev.start}–{ev.end}{who}<br>{e(ev.sentence)}</div>")
        block.append("</div>")
        parts.append("".join(block))
    return "\n".join(parts)


def verify_tab(pipeline: Pipeline) -> None:
    """The "Check an answer" tab: built inside the caller's gr.Blocks/gr.Tab context."""

    def check(text: str, question: str) -> str:
        try:
            return verification_html(pipeline.verify(text, question or None))
        except QAError as exc:
            return f"<p class='qa-error'>{html.escape(str(exc))}</p>"

    gr.Markdown("Paste an answer (from here or anywhere else): every sentence is checked against the articles.")
    text = gr.Textbox(label="Answer to check", lines=5, elem_id="qa-verify-text")
    question = gr.Textbox(label="Question (optional)", lines=1, elem_id="qa-verify-question")
    run = gr.Button("Check", variant="primary", elem_id="qa-verify-run")
    out = gr.HTML("", elem_id="qa-verify-result")
    run.click(check, [text, question], out, api_name="verify")


def speakers_html(speakers: Sequence[Any]) -> str:
    if not speakers:
        return "<p class='qa-empty'>No quotes found in the indexed articles.</p>"
    rows = "".join(
        f"<tr><td><b>{html.escape(s.name)}</b><div class='qa-aliases'>{html.escape(', '.join(s.aliases))}</div></td>"
        f"<td>{s.quote_count}</td><td>{len(s.articles)}</td>"
        f"<td>{html.escape(s.first_date if s.first_date == s.last_date else f'{s.first_date} – {s.last_date}')}</td></tr>"
        for s in speakers
    )
    return ("<table class='qa-table' id='qa-speakers-table'><thead><tr><th>Person</th><th>Quotes</th><th>Articles</th>"
            f"<th>Dates</th></tr></thead><tbody>{rows}</tbody></table>")


def quotes_html(pipeline: Pipeline, quotes: Sequence[Any]) -> str:
    """Results table; each row opens its source paragraph with the quote highlighted (all text escaped)."""
    from qa.quotes import _paragraph_text

    if not quotes:
        return "<p class='qa-empty'>No matching quotes.</p>"
    rows = []
    for q in quotes:
        para = _paragraph_text(pipeline.index, q)
        a, b = q.start - q.para_start, q.end - q.para_start
        source = f"{html.escape(para[:a])}<mark>{html.escape(para[a:b])}</mark>{html.escape(para[b:])}"
        score = f" · {q.score:.3f}" if q.score is not None else ""
        rows.append(
            f"<tr class='qa-quote-row'><td><b>{html.escape(q.speaker)}</b><div class='qa-aliases'>{html.escape(q.mention)}</div></td>"
            f"<td><details><summary>{html.escape(q.text)}</summary><div class='qa-passage' style='white-space:pre-wrap'>{source}</div>"
            f"</details></td><td>{html.escape(q.kind)}</td><td>{html.escape(q.title)}<div><code>{html.escape(q.article_id)}</code>"
            f"</div></td><td>{html.escape(q.date or 'undated')}{html.escape(score)}</td></tr>"
        )
    return ("<table class='qa-table' id='qa-quotes-table'><thead><tr><th>Speaker</th><th>Quote (click for the source)</th>"
            f"<th>Kind</th><th>Article</th><th>Date</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def quotes_tab(pipeline: Pipeline) -> None:
    """The "Who said what" tab: speakers, and quotes searchable by person and by meaning."""

    def names() -> list[str]:
        try:
            return [s.name for s in pipeline.speakers()]
        except QAError:
            return []

    def search(speaker: str | None, query: str, since: str, until: str) -> tuple[str, str, Any]:
        try:
            found = pipeline.quotes(speaker=speaker or None, query=query or None, since=parse_date(since, "from"),
                                    until=parse_date(until, "until"), limit=50)
            return speakers_html(pipeline.speakers()), quotes_html(pipeline, found), gr.update(choices=[""] + names())
        except QAError as exc:
            return gr.skip(), f"<p class='qa-error'>{html.escape(str(exc))}</p>", gr.skip()

    with gr.Row():
        with gr.Column(scale=2):
            gr.Markdown("### Speakers")
            speakers_view = gr.HTML(speakers_html(pipeline.speakers()) if pipeline.index.exists() else "", elem_id="qa-speakers")
        with gr.Column(scale=5):
            with gr.Row():
                who = gr.Dropdown(choices=[""] + names(), value="", label="Speaker", allow_custom_value=True, elem_id="qa-quotes-speaker")
                query = gr.Textbox(label="About (search by meaning)", placeholder="贸易 / trade target…", elem_id="qa-quotes-query")
            with gr.Row():
                since = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="qa-quotes-since")
                until = gr.Textbox(label="Until (YYYY-MM-DD)", elem_id="qa-quotes-until")
                go = gr.Button("Search quotes", variant="primary", elem_id="qa-quotes-search")
            results = gr.HTML("<p class='qa-empty'>Pick a speaker or type a topic.</p>", elem_id="qa-quotes-results")
    inputs = [who, query, since, until]
    go.click(search, inputs, [speakers_view, results, who], api_visibility="private")
    query.submit(search, inputs, [speakers_view, results, who], api_visibility="private")
    who.change(search, inputs, [speakers_view, results, who], api_visibility="private")


def ensure_index(pipeline: Pipeline) -> None:
    """First start: build the index so the page can answer right away."""
    if not pipeline.index.exists():
        report = pipeline.build()
        print(f"Built the index: {report.summary()}")
        for problem in report.problems:
            print(f"skipped {problem}")


def serve(pipeline: Pipeline, *, host: str | None = None, port: int | None = None, block: bool = True) -> gr.Blocks:
    """Build and launch the page for `pipeline` (tests call this with block=False)."""
    auth = server_auth(pipeline.settings, host)  # refuses an unprotected non-loopback address
    app = build_app(pipeline)
    app.launch(
        auth=auth,
        server_name=host or pipeline.settings.host,
        server_port=port or pipeline.settings.port,
        theme=THEME,
        css=CSS,
        prevent_thread_lock=not block,
        show_error=False,
        max_file_size=MAX_UPLOAD_BYTES,
        ssr_mode=False,
        quiet=not block,
    )
    return app


def launch(settings: Settings, *, block: bool = True) -> Any:
    server_auth(settings)  # refuse an unprotected public address before spending time on the index
    pipeline = Pipeline(settings)
    ensure_index(pipeline)
    pipeline.index.check_compatible()
    return serve(pipeline, block=block)
