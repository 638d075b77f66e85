"""The wired system — settings → embedder → store → retriever → answerers; the CLI, page, evaluation and tests all call it.

The CLI, the page, the evaluation and the tests all go through `Pipeline`, so they answer
with exactly the same code.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from qa.answering.answer import Answer
from qa.answering.composer import READER_CALIBRATION, ExtractiveComposer
from qa.answering.reader import Reader
from qa.answering.who import answer_who_question
from qa.articles import Article, ArticleProblem, is_export
from qa.errors import QAError
from qa.extraction.quotes import Quote
from qa.indexing import build as indexing
from qa.indexing.update import IndexReport, update_index
from qa.models.bundled_model import default_cache_dir
from qa.models.embeddings import load_embeddings
from qa.quotes.search import QuoteBook
from qa.quotes.speakers import ALIASES_FILE, Aliases, Speaker
from qa.retrieval.hybrid import HybridSearch
from qa.retrieval.snapshot import warm_snapshot
from qa.settings import Settings
from qa.store.store import ArticleIndex
from qa.text import static_cache
from qa.text.conversation import Turn
from qa.text.question import analyse

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from qa.verification import Verification, Verifier

MAX_QUESTION_CHARS = 2000


class Pipeline:
    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        # Tables built from static data (CLDR country names) are stored next to the model cache.
        static_cache.use_folder(settings.model_cache or default_cache_dir())
        self.embeddings = embeddings or load_embeddings(settings)
        self.index = ArticleIndex(settings, self.embeddings)
        self.retriever = HybridSearch(self.index, k=settings.k)
        self.reader = Reader(cache_dir=settings.model_cache)  # loads on the first question
        self._lock = threading.Lock()

    def build(self, *, rebuild: bool = False, progress: Any = None) -> IndexReport:
        with self._lock:
            report = build_index(self.settings, self.embeddings, rebuild=rebuild, progress=progress,
                                 index=None if rebuild else self.index)
            if rebuild:
                self.index = ArticleIndex(self.settings, self.embeddings)
                self.retriever = HybridSearch(self.index, k=self.settings.k)
            return report

    def ask(self, question: str, **options: Any) -> Answer:
        """Answer `question` (options as for `extractive_answer`); with `settings.llm` a chat model writes it
        from the same passages, its citations checked (qa/answering/llm.py)."""
        answer = self.extractive_answer(question, **options)
        if not self.settings.llm:
            return answer
        from qa.answering import llm

        return llm.generate(self.chat_model(), self.settings.llm, answer, self.verifier())

    def stream(self, question: str, **options: Any) -> Iterator[str | Answer]:
        """Text pieces as they are generated, then the final `Answer` (only that without an LLM)."""
        answer = self.extractive_answer(question, **options)
        if not self.settings.llm:
            yield answer
            return
        from qa.answering import llm

        yield from llm.stream(self.chat_model(), self.settings.llm, answer, self.verifier())

    def chat_model(self) -> Any:
        if getattr(self, "_chat_model", None) is None:
            from qa.answering.llm import make_chat_model

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
        self.index.check_compatible()
        q = analyse(question, history)
        # "谁说……？" / "What did X say about Y?": from the quote records.
        who = answer_who_question(self.index, self.quote_book, q.text, q.who)
        if who is not None:
            return who
        composer = self._composer()
        options = {"k": k or self.settings.k, "article_ids": self._article_ids(article_ids),
                   "since": since, "until": until}
        # Retrieve, then compose, in this thread: what `build_answer_chain` does, without the
        # thread the chain starts per call (~7 ms, and a new thread per question for the embedder).
        # A follow-up is retrieved with the resolved query, its sentences chosen for what is newly asked.
        docs = self.retriever.invoke(q.query, **{key: v for key, v in options.items() if v is not None})
        return composer.compose(q, docs)

    def _article_ids(self, ids: Sequence[str] | None) -> list[str] | None:
        """The ids to search, an export's file name standing for all of its rows (`--article export.csv`)."""
        if not ids:
            return None
        files = {i for i in ids if "#" not in i and is_export(i)}
        if not files:
            return list(ids)
        rows = [rid for rid in self.index.records() if rid.split("#", 1)[0] in files]
        return [i for i in ids if i not in files] + rows or list(ids)  # nothing indexed: match nothing, not everything

    def update(self, articles: Sequence[Article], *, problems: Sequence[ArticleProblem] = (), remove_missing: bool = True,
               progress: Any = None) -> IndexReport:
        """Bring the index in line with `articles` (e.g. uploads), embedding only what changed, then save the
        derived files of the new state and its stamp (so fresh `qa ask` processes need not open Chroma)."""
        report = update_index(self.index, articles, problems=problems, remove_missing=remove_missing, progress=progress)
        indexing.save_derived(self.index, (warm_snapshot,), refresh=set(report.added) | set(report.updated))
        return report

    def _composer(self) -> ExtractiveComposer:
        """One composer per index snapshot (it caches per-article work across questions)."""
        snapshot = self.retriever.snapshot()
        calibration = READER_CALIBRATION.shifted(self.settings.min_relevance)
        cached = getattr(self, "_composer_cache", None)
        if cached is None or cached[0] is not snapshot or cached[1] != calibration:
            cached = (snapshot, calibration, ExtractiveComposer(self.index, snapshot.keyword, reader=self.reader,
                                                                calibration=calibration, evidence_shift=self.settings.min_relevance))
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

    def speakers(self, speaker_type: str | None = None) -> list[Speaker]:
        """Everyone quoted in the articles (of one type when given: person, organisation, …), most quoted first."""
        self.index.check_compatible()
        return self.quote_book().speakers(speaker_type)

    def quotes(self, speaker: str | None = None, query: str | None = None, since: dt.date | None = None,
               until: dt.date | None = None, limit: int = 20, speaker_type: str | None = None,
               latest: bool = False) -> list[Quote]:
        """Quotes by `speaker` (any of their names) or of `speaker_type`, nearest in meaning to `query` first when
        given, else in article order (`latest`: newest first)."""
        self.index.check_compatible()
        return self.quote_book().search(speaker=speaker, query=query, since=since, until=until, limit=limit,
                                        speaker_type=speaker_type, latest=latest)

    def verify(self, text: str, question: str | None = None) -> Verification:
        """Check an answer against the articles sentence by sentence (see qa/verification.py)."""
        return self.verifier().verify(text, question)

    def verifier(self) -> Verifier:
        """The `qa verify` checker of this pipeline (also checks generated answers' citations)."""
        from qa.verification import Verifier

        if getattr(self, "_verifier", None) is None:
            self._verifier = Verifier(self)
        return self._verifier


def build_index(settings: Settings, embeddings: Embeddings, **options: Any) -> IndexReport:
    """`qa index` (`qa.indexing.build.build_index`) with the retriever's keyword snapshot among the
    files derived from the store, so the first question after it does not tokenize the corpus."""
    return indexing.build_index(settings, embeddings, derived=(warm_snapshot,), **options)


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
