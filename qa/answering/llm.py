"""Optional generative answers: a chat model writes the answer, we check every citation.

`--llm openai:<model>` (any OpenAI-compatible server, e.g. vLLM or llama.cpp, via
`--llm-base-url`) or `--llm ollama:<model>`. The prompt lives in qa/prompts/answer.txt. The
retrieved passages are numbered and sent as delimited data, so instructions inside an article
are text, not commands. After generation every ``[n]`` is checked: markers that point to no
passage are removed and reported, and sentences without a valid marker are flagged. Each cited
sentence is then checked against its cited passages with the `qa verify` logic (qa/verification.py:
stored sentence embeddings, character-bigram coverage, numbers compared as values, speakers);
sentences it labels unsupported or contradicted are flagged. (Without a verifier, e.g. on plain
passages, a word-overlap test stands in.) If the model fails or times out, the extractive answer
is returned with a notice — never a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from qa.answering.answer import Answer, Citation
from qa.errors import QAError
from qa.settings import Settings
from qa.text.sentences import split_sentences
from qa.text.tokens import tokenize

if TYPE_CHECKING:
    from qa.verification import Verifier

SUPPORT_MIN_OVERLAP = 0.3
"""Without a verifier: a cited sentence must share at least this fraction of its search terms with its cited passages."""

_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*\]")
_TRAILING_MARKERS = re.compile(r"([。！？!?；;.]+)\s*((?:\[\d+\])+)")
_SEPARATOR = "=== USER ==="


class LLMError(QAError):
    """The generative backend is misconfigured (the message says how to fix it)."""


@dataclass
class GeneratedAnswer(Answer):
    """An `Answer` plus what the citation check found and any notice for the user."""

    backend: str = "extractive"
    notices: list[str] = field(default_factory=list)
    removed_markers: list[int] = field(default_factory=list)
    flagged_sentences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update(backend=self.backend, notices=self.notices, removed_markers=self.removed_markers,
                   flagged_sentences=self.flagged_sentences)
        return out


@lru_cache(maxsize=1)
def prompt_parts() -> tuple[str, str]:
    text = resources.files("qa").joinpath("prompts/answer.txt").read_text(encoding="utf-8")
    system, _, user = text.partition(_SEPARATOR)
    return system.strip(), user.strip()


def format_passages(docs: Sequence[Document]) -> str:
    """Numbered, delimited passages; tag-like text inside a passage cannot close its tag."""
    out = []
    for n, doc in enumerate(docs, start=1):
        m = doc.metadata
        body = doc.page_content.replace("<", "‹").replace(">", "›")
        title = str(m.get("title", "")).replace('"', "'")
        out.append(f'<passage n="{n}" title="{title}" date="{m.get("date", "")}">\n{body}\n</passage>')
    return "\n".join(out)


def build_messages(question: str, docs: Sequence[Document]) -> list[Any]:
    system, user = prompt_parts()
    user = user.replace("{passages}", format_passages(docs)).replace("{question}", question)
    return [SystemMessage(system), HumanMessage(user)]


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by `settings.llm` ('openai:<model>' or 'ollama:<model>')."""
    spec = (settings.llm or "").strip()
    backend, _, model = spec.partition(":")
    if not model:
        raise LLMError(f"bad --llm {spec!r}: use openai:<model> or ollama:<model>")
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    try:
        if backend == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=model, base_url=settings.llm_base_url, api_key=key or "not-needed",  # type: ignore[arg-type]
                              timeout=settings.llm_timeout, max_retries=0, temperature=0)
        if backend == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(model=model, base_url=settings.llm_base_url, temperature=0,
                              client_kwargs={"timeout": settings.llm_timeout})
    except ImportError as exc:
        raise LLMError(f"the {backend} backend is not installed ({exc.name}); run `pip install 'article-qa[llm]'`") from None
    raise LLMError(f"unknown LLM backend {backend!r}: use openai:<model> or ollama:<model>")


@dataclass
class CitationCheck:
    text: str
    cited: list[int]
    removed: list[int]
    flagged: list[str]


def check_citations(text: str, docs: Sequence[Document], verifier: Verifier | None = None,
                    question: str | None = None) -> CitationCheck:
    """Drop markers that point to no passage; flag sentences no valid marker supports.

    With `verifier` (the `qa verify` checker of the same index), a cited sentence is labelled against
    exactly the passages it cites, and flagged when found unsupported or contradicted."""
    n_passages = len(docs)
    removed: list[int] = []

    def fix(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,，、]\s*", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= n_passages]
        removed.extend(n for n in numbers if not 1 <= n <= n_passages)
        return "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(fix, text).strip()
    # "句子。[1]" — a marker after the full stop belongs to the sentence before it.
    checked = _TRAILING_MARKERS.sub(r"\2\1", cleaned)
    cited: list[int] = []
    flagged: list[str] = []
    for span in split_sentences(checked):
        sentence = checked[span.start : span.end]
        numbers = [int(x) for x in re.findall(r"\[(\d+)\]", sentence)]
        claim = _MARKER.sub("", sentence).strip()
        if not claim or not tokenize(claim):
            continue
        if not numbers:
            flagged.append(f"{claim} — no citation")
            continue
        cited.extend(n for n in numbers if n not in cited)
        problem = (_verify_claim(verifier, claim, [docs[n - 1] for n in numbers], question) if verifier is not None
                   else _overlap_problem(claim, [docs[n - 1] for n in numbers]))
        if problem:
            flagged.append(f"{claim} — {problem}")
    return CitationCheck(cleaned, sorted(cited), removed, flagged)


def _overlap_problem(claim: str, cited: Sequence[Document]) -> str | None:
    terms = set(tokenize(claim))
    evidence = set(tokenize(" ".join(d.page_content for d in cited)))
    return "the cited passage does not support it" if len(terms & evidence) / len(terms) < SUPPORT_MIN_OVERLAP else None


def _verify_claim(verifier: Verifier, claim: str, cited: Sequence[Document], question: str | None) -> str | None:
    """The verifier's verdict on `claim` with only the cited passages as evidence (None: supported or partly)."""
    from qa.verification import CONTRADICTED, UNSUPPORTED

    checks = verifier.verify(claim, question, passages=cited).sentences
    for check in checks:
        if check.label == CONTRADICTED:
            what = "; ".join(f"{c.kind}: the answer says {c.claim}, the passage says {c.source}" for c in check.contradictions)
            return f"the cited passage contradicts it ({what})"
    if checks and all(c.label == UNSUPPORTED for c in checks):
        missing = [m for c in checks for m in c.missing]
        return "the cited passage does not support it" + (f" (not in it: {', '.join(missing)})" if missing else "")
    return None


def _citation(n: int, doc: Document) -> Citation:
    m = doc.metadata
    return Citation(n=n, article_id=m["article_id"], title=m["title"], date=m["date"], chunk_id=m["chunk_id"],
                    chunk_start=m["start"], chunk_end=m["end"], chunk_text=doc.page_content,
                    sentence_start=m["start"], sentence_end=m["end"], sentence=doc.page_content,
                    score=float(m.get("rrf_score") or 0.0), source_file=m.get("path", ""),
                    location=m.get("location", ""), url=m.get("url", ""))


def as_generated(extractive: Answer, notices: list[str] | None = None) -> GeneratedAnswer:
    base = {f: getattr(extractive, f) for f in ("question", "text", "citations", "refused", "passages", "evidence", "span")}
    return GeneratedAnswer(**base, backend="extractive", notices=notices or [])


def _fallback(extractive: Answer, backend: str, exc: BaseException) -> GeneratedAnswer:
    reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}" if str(exc) else exc.__class__.__name__
    return as_generated(extractive, [f"the language model ({backend}) failed ({reason}); showing the extractive answer"])


def _finish(raw: str, extractive: Answer, docs: Sequence[Document], backend: str,
            verifier: Verifier | None = None) -> GeneratedAnswer:
    check = check_citations(raw, docs, verifier, extractive.question)
    notices = []
    if check.removed:
        notices.append(f"removed citation(s) to passages that do not exist: {', '.join(f'[{n}]' for n in check.removed)}")
    if check.flagged:
        notices.append(f"{len(check.flagged)} sentence(s) lack a supporting citation")
    citations = [_citation(n, docs[n - 1]) for n in check.cited]
    return GeneratedAnswer(question=extractive.question, text=check.text, citations=citations,
                           refused=not citations, passages=list(docs), evidence=extractive.evidence,
                           backend=backend, notices=notices, removed_markers=check.removed,
                           flagged_sentences=check.flagged)


def generate(chat: BaseChatModel, backend: str, extractive: Answer, verifier: Verifier | None = None) -> GeneratedAnswer:
    """Answer from `extractive.passages` with the chat model; the extractive answer if it fails.
    `verifier`: checks each cited sentence against its passages (see `check_citations`)."""
    docs = extractive.passages
    if extractive.refused or not docs or not all("chunk_id" in d.metadata for d in docs):
        return as_generated(extractive)  # the evidence is too weak: refuse rather than let the model guess
    try:
        raw = chat.invoke(build_messages(extractive.question, docs)).content
    except Exception as exc:  # network, timeout, HTTP and model errors all end the same way for the user
        return _fallback(extractive, backend, exc)
    return _finish(str(raw), extractive, docs, backend, verifier)


def stream(chat: BaseChatModel, backend: str, extractive: Answer,
           verifier: Verifier | None = None) -> Iterator[str | GeneratedAnswer]:
    """Yields text pieces as the model writes them, then the checked `GeneratedAnswer` (always last)."""
    docs = extractive.passages
    if extractive.refused or not docs or not all("chunk_id" in d.metadata for d in docs):
        yield generate(chat, backend, extractive, verifier)
        return
    pieces: list[str] = []
    try:
        for chunk in chat.stream(build_messages(extractive.question, docs)):
            piece = str(chunk.content)
            if piece:
                pieces.append(piece)
                yield piece
    except Exception as exc:
        yield _fallback(extractive, backend, exc)
        return
    yield _finish("".join(pieces), extractive, docs, backend, verifier)
