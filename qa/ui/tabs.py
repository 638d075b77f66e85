"""The page's "Check an answer" and "Who said what" tabs."""

from __future__ import annotations

import html
from typing import Any

from qa.errors import QAError
from qa.pipeline import Pipeline
from qa.ui.gradio_import import skip_stubs

skip_stubs()  # before Gradio's first import (qa.ui.app does the same)
import gradio as gr  # noqa: E402

from qa.ui.render import quotes_html, speaker_rows, verification_html
from qa.ui.logic import parse_date


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



QUOTES_PAGE = 25
"""Statements shown per page of the "Who said what" results."""
TYPES = ["", "person", "organisation", "government", "media", "document", "group"]


def quotes_tab(pipeline: Pipeline, opened: Any) -> None:
    """The "Who said what" tab: opens on the latest statements; a speaker's row filters them; filters by type,
    meaning and dates; long lists come a page at a time.

    `opened`: the tab's select event. The statements and speakers are gathered when the tab is first
    opened, not when the page is built or loaded: at 10k chunks that takes seconds (every statement of
    the index), which `qa serve` paid before it listened and every page load paid again, while a
    question on the Chat tab needs none of it."""

    def speakers(kind: str | None = None) -> list[Any]:
        try:
            return pipeline.speakers(kind or None) if pipeline.index.exists() else []
        except QAError:
            return []

    def search(speaker: str | None, kind: str | None, query: str, since: str, until: str, page: int) -> tuple[Any, ...]:
        try:
            found = pipeline.quotes(speaker=speaker or None, query=query or None, since=parse_date(since, "from"),
                                    until=parse_date(until, "until"), limit=0 if not query else 200,
                                    speaker_type=kind or None, latest=True)
        except QAError as exc:
            return f"<p class='qa-error'>{html.escape(str(exc))}</p>", "", 0, gr.skip(), gr.skip()
        pages = max(1, -(-len(found) // QUOTES_PAGE))
        page = min(max(0, int(page or 0)), pages - 1)
        shown = found[page * QUOTES_PAGE : (page + 1) * QUOTES_PAGE]
        order = "nearest in meaning first" if query else "newest first"
        label = (f"Statements {page * QUOTES_PAGE + 1}–{page * QUOTES_PAGE + len(shown)} of {len(found)} ({order}) · "
                 f"page {page + 1} of {pages}") if found else ""
        listed = speakers(kind)
        return (quotes_html(pipeline, shown), label, page, speaker_rows(listed),
                gr.update(choices=[""] + [s.name for s in listed]))

    with gr.Row():
        who = gr.Dropdown(choices=[""], value="", label="Speaker", allow_custom_value=True,
                          elem_id="qa-quotes-speaker", min_width=220)
        kind = gr.Dropdown(choices=TYPES, value="", label="Speaker type", elem_id="qa-quotes-type", min_width=160)
        query = gr.Textbox(label="About (search by meaning)", placeholder="贸易 / trade target…", elem_id="qa-quotes-query",
                           min_width=220)
    with gr.Row():
        since = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="qa-quotes-since", min_width=160)
        until = gr.Textbox(label="Until (YYYY-MM-DD)", elem_id="qa-quotes-until", min_width=160)
        go = gr.Button("Search statements", variant="primary", elem_id="qa-quotes-search", min_width=160)
    with gr.Accordion("Speakers — click a row to see their statements", open=True):
        table = gr.Dataframe(value=[], headers=["Speaker", "Type", "Statements", "Articles", "Latest"],
                             datatype=["str", "str", "number", "number", "str"], interactive=False, wrap=False,
                             max_height=320, column_widths=["40%", "16%", "14%", "12%", "18%"], elem_id="qa-speakers")
    page = gr.State(0)
    label = gr.Markdown("", elem_id="qa-quotes-page")
    results = gr.HTML("", elem_id="qa-quotes-results")
    with gr.Row():
        newer = gr.Button("← Newer", elem_id="qa-quotes-prev", size="sm")
        older = gr.Button("Older →", elem_id="qa-quotes-next", size="sm")

    inputs = [who, kind, query, since, until]
    outputs = [results, label, page, table, who]

    def from_start(*args: Any) -> tuple[Any, ...]:
        return search(*args, 0)

    def pick(evt: gr.SelectData) -> Any:
        row = getattr(evt, "row_value", None)
        return gr.update(value=str(row[0])) if row else gr.skip()

    def first_open(loaded: bool, *args: Any) -> tuple[Any, ...]:
        # Once per page: coming back to the tab keeps the page of statements the reader was on.
        return (gr.skip(),) * (len(outputs) + 1) if loaded else (True, *search(*args, 0))

    loaded = gr.State(False)
    opened(first_open, [loaded, *inputs], [loaded, *outputs], api_visibility="private")
    for event in (go.click, query.submit, since.submit, until.submit, who.change, kind.change):
        event(from_start, inputs, outputs, api_visibility="private")
    newer.click(lambda *a: search(*a[:-1], a[-1] - 1), [*inputs, page], outputs, api_visibility="private")
    older.click(lambda *a: search(*a[:-1], a[-1] + 1), [*inputs, page], outputs, api_visibility="private")
    table.select(pick, None, who, api_visibility="private")
