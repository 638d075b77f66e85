"""The wired system — settings → embedder → index → retriever → answer chain.

The CLI, the page, the evaluation and the tests all go through `Pipeline`, so they answer
with exactly the same code.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from qa.answer import Answer, ExtractiveComposer, calibration_for, refusal_text
from qa.conversation import Turn, answer_focus, contextualize
from qa.embeddings import load_embeddings
from qa.errors import QAError
from qa.index import ArticleIndex, IndexReport, build_index
from qa.quotes import ALIASES_FILE, Aliases, Quote, QuoteBook, Speaker, answer_who_question
from qa.retrieval import HybridRetriever
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.verification import Verification, Verifier

MAX_QUESTION_CHARS = 2000


class Pipeline:
    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings or load_embeddings(settings)
        self.index = ArticleIndex(settings, self.embeddings)
        self.retriever = HybridRetriever(index=self.index, k=settings.k)
        self._lock = threading.Lock()

    def build(self, *, rebuild: bool = False, progress: Any = None) -> IndexReport:
        with self._lock:
            report = build_index(self.settings, self.embeddings, rebuild=rebuild, progress=progress,
                                 index=None if rebuild else self.index)
            if rebuild:
                self.index = ArticleIndex(self.settings, self.embeddings)
                self.retriever = HybridRetriever(index=self.index, k=self.settings.k)
            return report

    def ask(self, question: str, **options: Any) -> Answer:
        """Answer `question` (options as for `extractive_answer`); with `settings.llm` a chat model writes it
        from the same passages, its citations checked (qa/llm.py)."""
        answer = self.extractive_answer(question, **options)
        if not self.settings.llm:
            return answer
        from qa import llm

        return llm.generate(self.chat_model(), self.settings.llm, answer, self.verifier())

    def stream(self, question: str, **options: Any) -> Iterator[str | Answer]:
        """Text pieces as they are generated, then the final `Answer` (only that without an LLM)."""
        answer = self.extractive_answer(question, **options)
        if not self.settings.llm:
            yield answer
            return
        from qa import llm

        yield from llm.stream(self.chat_model(), self.settings.llm, answer, self.verifier())

    def chat_model(self) -> Any:
        if getattr(self, "_chat_model", None) is None:
            from qa.llm import make_chat_model

            self._chat_model = make_chat_model(self.settings)
        return self._chat_model

    def extractive_answer(
        self,
        question: str,
        *,
        k: int | None = None,
        article_ids: Sequence[str] | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        """Answer `question`; with `history` (earlier turns, oldest first) a follow-up is resolved against them."""
        question = clean_question(question)
        query = contextualize(question, history)
        self.index.check_compatible()
        who = answer_who_question(self, question)  # "谁说……？" / "What did X say about Y?": from the quote records
        if who is not None:
            return who
        composer = self._composer()
        inputs = {"question": query, "k": k or self.settings.k, "article_ids": list(article_ids) if article_ids else None,
                  "since": since, "until": until}
        options = {key: inputs[key] for key in ("k", "article_ids", "since", "until") if inputs[key] is not None}
        # Retrieve, then compose, in this thread: what `build_answer_chain` does, without the
        # thread the chain starts per call (~7 ms, and a new thread per question for the embedder).
        docs = self.retriever.invoke(query, **options)
        if query == question:
            return composer.compose(question, docs)
        # Follow-up: retrieved with the resolved query, sentences chosen for what is newly asked.
        answer = composer.compose(answer_focus(question, query), docs)
        answer.question = question
        if answer.refused:
            answer.text = refusal_text(question)
        return answer

    def _composer(self) -> ExtractiveComposer:
        """One composer per index snapshot (it caches per-article work across questions)."""
        snapshot = self.retriever.snapshot()
        calibration = calibration_for(self.index.model_id).shifted(self.settings.min_relevance)
        cached = getattr(self, "_composer_cache", None)
        if cached is None or cached[0] is not snapshot or cached[1] != calibration:
            cached = (snapshot, calibration, ExtractiveComposer(self.index, snapshot.keyword, calibration=calibration))
            self._composer_cache = cached
        return cached[2]

    def quote_book(self) -> QuoteBook:
        """Live quotes with canonical speakers; rebuilt when the index or speakers.json changes."""
        path = self.settings.articles_dir / ALIASES_FILE
        stat = path.stat() if path.is_file() else None
        key = (self.index.generation(), (stat.st_mtime_ns, stat.st_size) if stat else None)
        cached = getattr(self, "_quote_book", None)
        if cached is None or cached[0] != key:
            cached = (key, QuoteBook(self.index, Aliases.load(self.settings.articles_dir)))
            self._quote_book = cached
        return cached[1]

    def speakers(self) -> list[Speaker]:
        """Everyone quoted in the articles, most quoted first."""
        self.index.check_compatible()
        return self.quote_book().speakers()

    def quotes(self, speaker: str | None = None, query: str | None = None, since: dt.date | None = None,
               until: dt.date | None = None, limit: int = 20) -> list[Quote]:
        """Quotes by `speaker` (any of their names), nearest in meaning to `query` first when given."""
        self.index.check_compatible()
        return self.quote_book().search(speaker=speaker, query=query, since=since, until=until, limit=limit)

    def verify(self, text: str, question: str | None = None) -> Verification:
        """Check an answer against the articles sentence by sentence (see qa/verification.py)."""
        return self.verifier().verify(text, question)

    def verifier(self) -> Verifier:
        """The `qa verify` checker of this pipeline (also checks generated answers' citations)."""
        from qa.verification import Verifier

        if getattr(self, "_verifier", None) is None:
            self._verifier = Verifier(self)
        return self._verifier


def clean_question(question: str) -> str:
    """Strip control characters and bound the length; raise a user-facing error if nothing is left."""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question or "").strip()
    if not text:
        raise QAError("the question is empty: type a question about the articles")
    if len(text) > MAX_QUESTION_CHARS:
        # Refused, not cut: a silently truncated question would be answered as a different one.
        raise QAError(
            f"the question is too long ({len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,}): "
            "ask about one thing at a time"
        )
    if not any(ch.isalnum() for ch in text):
        # Only emoji or punctuation: there is nothing to search for, and a guess would still cite a source.
        raise QAError("the question has no words in it: ask about the articles in Chinese or English")
    return text
