"""The Gradio page: its layout, events and API endpoints, and serving it.

Thin: every action calls the same functions as the CLI and the tests (`Pipeline.ask`,
`add_uploads`, `ArticleIndex.records`); the HTML is built in qa.ui.render.

Safety: nothing from an article, a file name or a question reaches the page as markup.
The chat, the source cards, the article reader and the article list are built here as HTML
in which every such string went through `html.escape`; the only markup is our own. The
small click handler (`CHAT_JS`) only moves our own pre-rendered, escaped fragments around
and asks the server (`open_article`) for an article rendered the same way.

API endpoints (stable names, documented in the README): /ask, /articles, /article, /upload.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from qa.ui.gradio_import import skip_stubs  # noqa: E402

skip_stubs()  # before Gradio's first import: over half of it is rewriting type stubs
import gradio as gr  # noqa: E402
from gradio.themes.utils import fonts  # noqa: E402

from qa.articles import ARTICLE_SUFFIXES, MAX_UPLOAD_BYTES, load_article  # noqa: E402
from qa.articles.uploads import MAX_BINARY_UPLOAD_BYTES  # noqa: E402
from qa.text.conversation import Turn, contextualize  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.security import server_auth  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.ui.assets import CHAT_JS, CSS  # noqa: E402
from qa.ui.logic import article_choices, history_turns, parse_date, record_dict, upload_pairs  # noqa: E402
from qa.ui.render import (  # noqa: E402
    ARTICLES_SHOWN, article_html, articles_table_html, conversation_html, upload_results_html,
)
from qa.ui.tabs import quotes_tab, verify_tab  # noqa: E402
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
ASK_CONCURRENCY = 4
"""Questions answered at once; more wait in Gradio's queue (2 cores: more would only thrash)."""



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
        return {"articles": [record_dict(r) for r in records]}

    def article_api(article_id: str) -> dict[str, Any]:
        """The full text of one indexed article (citation offsets point into `text`)."""
        record = pipeline.index.records().get(str(article_id))
        if record is None:
            return {"error": f"no indexed article named {article_id!r}; see /articles", "text": ""}
        try:
            return {**record_dict(record), "text": load_article(Path(record.path), record.id).text, "error": ""}
        except QAError as exc:
            return {**record_dict(record), "text": "", "error": str(exc)}

    def upload_api(files: list[Any] | None, replace: bool = False, progress: gr.Progress = gr.Progress()) -> dict[str, Any]:
        """Add article files (any format `qa index` reads): validated, saved into the articles folder, indexed incrementally."""
        results = _do_upload(files, replace, progress)
        return {"results": [vars(r) | {"ok": r.ok} for r in results], "articles": len(pipeline.index.records())}

    def _do_upload(files: Sequence[Any] | None, replace: bool, progress: gr.Progress) -> list[Any]:
        progress(0, desc="Checking files")
        return add_uploads(
            pipeline, upload_pairs(files), replace=bool(replace),
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
            report = f"<div class='qa-error'>{html.escape(str(exc))}</div>"
        return report, articles_table_html(pipeline), gr.update(choices=article_choices(pipeline)), None

    def find_articles(query: str | None, chosen: list[str] | None) -> tuple[Any, ...]:
        query = query or ""  # None on a page's load event
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
                    picker = gr.Dropdown(choices=[], multiselect=True,
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
                articles_view = gr.HTML("<div class='qa-empty'>Listing the articles…</div>", elem_id="qa-articles")
                # Also narrows the chat's "only these articles" list to the matches (chosen ones stay).
                find.change(find_articles, [find, picker], [articles_view, picker], api_visibility="private")
                gr.Markdown(
                    f"**Add articles** — text (.txt, .md; UTF-8 or GB18030, up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB), "
                    f"saved web pages (.html), PDF, Word (.docx) or exports (.csv, .jsonl: one article per row), up to "
                    f"{MAX_BINARY_UPLOAD_BYTES // (1024 * 1024)} MB. New files are indexed right away; nothing already indexed is lost."
                )
                files = gr.File(file_count="multiple", file_types=list(ARTICLE_SUFFIXES), type="filepath", label="Article files")
                replace = gr.Checkbox(False, label="Replace an existing article with the same file name")
                add_btn = gr.Button("Add to the index", variant="primary")
                upload_report = gr.HTML("", elem_id="qa-upload-report")
                add_btn.click(upload_ui, [files, replace], [upload_report, articles_view, picker, files], api_visibility="private")
            with gr.Tab("Check an answer", id="verify"):
                verify_tab(pipeline)
            # Other tabs (quotes, verification) are added below.
            with gr.Tab("Who said what", id="quotes") as quotes:
                quotes_tab(pipeline, quotes.select)

        # The article list and the picker are filled when a page loads, not when the page is built: the
        # server listens sooner (reading every record takes a while at 10k articles) and each visitor sees
        # the articles indexed now, uploads from other pages included. The quotes tab loads when opened.
        app.load(find_articles, [find, picker], [articles_view, picker], api_visibility="private")

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



def serve(pipeline: Pipeline, *, host: str | None = None, port: int | None = None, block: bool = True,
          quiet: bool | None = None) -> gr.Blocks:
    """Build and launch the page for `pipeline` (tests call this with block=False)."""
    auth = server_auth(pipeline.settings, host)  # refuses an unprotected non-loopback address
    return listen(build_app(pipeline), pipeline.settings, auth=auth, host=host, port=port, block=block, quiet=quiet)


def listen(app: gr.Blocks, settings: Settings, *, auth: list[tuple[str, str]] | None, host: str | None = None,
           port: int | None = None, block: bool = True, quiet: bool | None = None) -> gr.Blocks:
    """Start Gradio's server for a built page (`serve` checks `auth` first). `quiet`: no "Running on"
    lines (default: when not blocking)."""
    app.launch(
        auth=auth,
        server_name=host or settings.host,
        server_port=port or settings.port,
        theme=THEME,
        css=CSS,
        prevent_thread_lock=not block,
        show_error=False,
        max_file_size=MAX_BINARY_UPLOAD_BYTES,  # text files are held to MAX_UPLOAD_BYTES by save_upload
        ssr_mode=False,
        quiet=not block if quiet is None else quiet,
    )
    return app
