"""The page's "Check an answer" and "Who said what" tabs."""

from __future__ import annotations

import html
from typing import Any

from qa.errors import QAError
from qa.pipeline import Pipeline

import gradio as gr

from qa.ui.render import quotes_html, speakers_html, verification_html
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
