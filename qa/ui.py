"""The Gradio chat page. Thin: it calls `Pipeline.ask`, the same function as the CLI.

All article text and questions are rendered as text: everything user- or article-supplied
goes through `html.escape` (sources panel) or `escape_markdown` (chat bubbles).
"""

from __future__ import annotations

import html
import os
import re
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402

from qa.answer import Answer  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import Settings  # noqa: E402

EXAMPLES = [
    "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？",
    "托卡耶夫对乌兹别克斯坦说了什么？",
    "What share of Pakistan's taxi market does InDrive hold?",
]
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&\"'$])")


def escape_markdown(text: str) -> str:
    """Backslash-escape every Markdown/HTML-significant character so text renders literally."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def answer_markdown(answer: Answer) -> str:
    return escape_markdown(answer.text)


def sources_html(answer: Answer) -> str:
    if not answer.citations:
        return "<p class='qa-empty'>No sources cited.</p>"
    parts = []
    for c in answer.citations:
        a, b = c.sentence_in_chunk
        t = c.chunk_text
        passage = f"{html.escape(t[:a])}<mark>{html.escape(t[a:b])}</mark>{html.escape(t[b:])}"
        parts.append(
            f"<div class='qa-source' id='source-{c.n}'><div class='qa-source-head'><b>[{c.n}]</b> "
            f"{html.escape(c.title)} · {html.escape(c.date or 'undated')} · <code>{html.escape(c.article_id)}</code></div>"
            f"<div class='qa-passage' style='white-space:pre-wrap'>{passage}</div></div>"
        )
    return "\n".join(parts)


CSS = """
.qa-source { border: 1px solid #ddd; border-radius: 6px; padding: 8px; margin-bottom: 8px; }
.qa-source mark { background: #ffe58a; }
.qa-source-head { margin-bottom: 4px; }
"""


def build_app(pipeline: Pipeline) -> gr.Blocks:
    def ask_api(question: str, k: int = 5) -> dict[str, Any]:
        """Answer a question; returns the answer text and structured citations."""
        try:
            return pipeline.ask(question, k=int(k)).to_dict()
        except QAError as exc:
            return {"question": question, "answer": "", "error": str(exc), "citations": [], "refused": True}

    def respond(question: str, history: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], str]:
        history = list(history or [])
        try:
            answer = pipeline.ask(question)
        except QAError as exc:
            history += [{"role": "user", "content": escape_markdown(question)}, {"role": "assistant", "content": escape_markdown(str(exc))}]
            return "", history, ""
        history += [
            {"role": "user", "content": escape_markdown(question)},
            {"role": "assistant", "content": answer_markdown(answer)},
        ]
        return "", history, sources_html(answer)

    with gr.Blocks(title="article-qa") as app:
        gr.Markdown("## article-qa — ask the articles")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=480, sanitize_html=True)
                box = gr.Textbox(placeholder="Ask a question in Chinese or English…", label="Question", lines=1)
                gr.Examples(EXAMPLES, inputs=box)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML("<p class='qa-empty'>Ask a question to see the cited passages.</p>")
        box.submit(respond, [box, chat], [box, chat, sources], api_visibility="private")
        # Stable API endpoint: /ask → {"answer", "citations": [...], ...}
        api_in = gr.Textbox(visible=False)
        api_k = gr.Number(value=pipeline.settings.k, visible=False, precision=0)
        api_out = gr.JSON(visible=False)
        api_btn = gr.Button(visible=False)
        api_btn.click(ask_api, [api_in, api_k], api_out, api_name="ask")
    return app


def ensure_index(pipeline: Pipeline) -> None:
    """First start: build the index so the page can answer right away."""
    if not pipeline.index.exists():
        report = pipeline.build()
        print(f"Built the index: {report.summary()}")
        for problem in report.problems:
            print(f"skipped {problem}")


def launch(settings: Settings, *, block: bool = True) -> Any:
    pipeline = Pipeline(settings)
    ensure_index(pipeline)
    pipeline.index.check_compatible()
    app = build_app(pipeline)
    return app.launch(server_name=settings.host, server_port=settings.port, css=CSS, prevent_thread_lock=not block, show_error=False)
