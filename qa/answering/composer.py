"""The extractive composer: retrieved chunks → the reader's short answer, the sentence stating it with its `[n]`, or a refusal.

No LLM: the trained reader (`qa.answering.reader`) reads the best sentences of the retrieved chunks and gives
the most probable answer span with its probability and each window's no-answer probability. The answer is the
span, then the one sentence of its passage that contains it, cited (a second sentence from another passage
stating the same answer on its own: `SECOND_SOURCE`, off until a reader makes it pay). When the reader finds no answer probable enough (thresholds
calibrated on tests/data/gold.jsonl) it refuses and cites nothing; so it does when even the best retrieved
sentence is weak evidence, or the answer's sentence is about other countries than the question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from qa.answering.answer import Answer, AnswerSpan, Citation, refusal_text
from qa.answering.reader import Passage, Reader, Span
from qa.retrieval.keywords import KeywordIndex
from qa.store.store import ArticleIndex
from qa.text.countries import ArticleSubjects, article_subjects, subject_conflict
from qa.text.normalise import is_chinese, normalize
from qa.text.quantities import has_answer_type
from qa.text.question import Question, analyse
from qa.text.sentences import split_sentences
from qa.retrieval.sentences import SentenceCandidate, SentenceCandidates
from qa.text.tokens import character_coverage

READ_PASSAGES = 5
"""Retrieved chunks the reader looks in (all of the default k)."""
WINDOW_SENTENCES = 3
"""The reader reads windows around this many best sentences (by their stored vectors' cosine with the question
and the question's characters they hold); 0 = it reads the chunks whole."""
WINDOW_CONTEXT = 0
"""Sentences of the chunk on each side of a best sentence in its window. 0: with one sentence of context the
reader (one span per window) often answered from the neighbour (gold set: the cited sentence held the answer
0.208 of the time against 0.750 without, intermediate reader of step 169)."""
W_CHARS = 0.2
W_RANK = 0.03
W_TERMS = 0.1
"""Weights of the sentence score that chooses the windows (cosine + character coverage + IDF-weighted coverage of
the question's words + retrieval rank). The words' term was added when the seeds' "哈萨克斯坦去年的经济增长率是多少？"
cited "去年，我们启动了两台超级计算机…" (characters alike, scores 2.003 vs 2.002) over "去年我国经济增长了6.5%…": with it,
gold-set containment 0.875 → 0.896 (0.2 and 0.3: the same), DRCD 300-question sample 0.813 → 0.813 (0.2: 0.807)."""
TYPE_BONUS = 1.0
"""Added to the score of a sentence holding the quantity or date a question plainly asks for ("多少", "哪一年")."""
W_READER = 0.02
"""The answer is the span with the best `sentence score + W_READER * ln(span probability)`: the retriever's and
the reader's evidence interpolated (as BERTserini does), so a reader unsure between two spans defers to the
sentence that matches the question better. Chosen on tests/data/gold.jsonl (benchmarks/bench_answers.py gold) with
the step-1,960 reader: 0.02 gives containment 0.896 and short-answer EM / F1 45.8 / 71.2 (the reader alone: 0.521,
35.4 / 48.6; 0.05: 0.812, 45.8 / 66.8; 0.1: 0.708, 39.6 / 59.5)."""
SECOND_SOURCE = False
SECOND_SOURCE_RATIO = 0.5
"""With SECOND_SOURCE, another passage's span for the same answer is shown as a second source when at least this
share as probable. Off: with the step-414 reader the agreeing spans are too often the same wrong name (DRCD sample:
shown sentences holding the answer 0.783 with it, 0.822 without, containment 0.817 either way)."""


@dataclass(frozen=True)
class Calibration:
    """When the reader's best span is too weak to answer with: calibrated on tests/data/gold.jsonl."""

    min_probability: float
    """Refuse when the best span's probability is below this."""
    max_no_answer: float
    """... or when even the most answerable passage's no-answer probability is above this."""

    def shifted(self, delta: float) -> Calibration:
        """Stricter by `delta` (settings.min_relevance: positive = refuse more)."""
        return Calibration(min(1.0, max(0.0, self.min_probability + delta)), min(1.0, max(0.0, self.max_no_answer - delta)))


READER_CALIBRATION = Calibration(min_probability=0.113, max_no_answer=0.2754)
"""The step-1,960 reader on the gold set (benchmarks/bench_answers.py gold): the strictest thresholds that refuse no
answerable question (its no-answer head separates answerable from unrelated passages now: ROC AUC 0.964 on DRCD
gold passages vs BM25 negatives, MODEL_CARD.md)."""

W_KEYWORD = 0.10
W_EVIDENCE_RANK = 0.01
EVIDENCE_BELOW = {"e5": (0.87, 0.785), "other": (0.45, 0.35)}
"""The retrieval evidence check: refuse when even the best sentence's evidence (cosine + IDF-weighted keyword
coverage + rank) is below this (same language, English question over Chinese sentences). e5 cosines are
compressed (unrelated text still scores ≈ 0.80), most other models' are not; English questions over Chinese
sentences score lower and cannot match keywords. Calibrated on tests/data/gold.jsonl."""


_PUNCT = re.compile(r"[\s\W_]+")


def same_answer(a: str, b: str) -> bool:
    """Two spans give the same answer (normalised, punctuation and spaces ignored; one inside the other)."""
    x, y = _PUNCT.sub("", normalize(a)), _PUNCT.sub("", normalize(b))
    return bool(x and y) and (x in y or y in x)


@dataclass(frozen=True)
class Stated:
    """A span and the sentence of its passage that contains it (article offsets)."""

    span: Span
    doc: Document
    start: int
    end: int
    text: str


def sentence_of(span: Span, doc: Document) -> Stated:
    """The sentence (or run of sentences, for a span across a boundary) of the chunk holding the span."""
    chunk, base = doc.page_content, int(doc.metadata["start"])
    a, b = span.start - base, span.end - base
    sents = split_sentences(chunk) or []
    inside = [s for s in sents if s.end > a and s.start < b]
    start, end = (inside[0].start, inside[-1].end) if inside else (0, len(chunk))
    return Stated(span, doc, base + start, base + end, chunk[start:end])


class ExtractiveComposer:
    """Answers from retrieved chunks with the trained reader; no LLM involved."""

    def __init__(self, index: ArticleIndex, keyword: KeywordIndex | None = None, *, reader: Reader,
                 calibration: Calibration | None = None, evidence_shift: float = 0.0) -> None:
        self.index = index
        self.keyword = keyword
        self.reader = reader
        self.calibration = calibration or READER_CALIBRATION
        self.evidence_shift = evidence_shift
        self.sentences = SentenceCandidates(index)
        # What benchmarks/bench_answers.py switches to measure each part (the defaults are what it chose).
        self.read = READ_PASSAGES
        self.window_sentences = WINDOW_SENTENCES
        self.window_context = WINDOW_CONTEXT
        self.w_reader: float | None = W_READER  # None: the reader's probability alone chooses the span
        self.typed = True
        self.evidence_check = True
        self.subject_check = True
        self.second_source = SECOND_SOURCE
        self._subjects: dict[tuple[str, str], ArticleSubjects] = {}

    def subjects(self, article_id: str, version: str) -> ArticleSubjects:
        """How the article's 我国 / 两国 resolve (computed once per article version)."""
        key = (article_id, version)
        if key not in self._subjects:
            quotes = self.index.quote_spans(article_id, version)
            self._subjects[key] = article_subjects(self.index.article_text(article_id, version), quotes)
        return self._subjects[key]

    def off_subject(self, question: Question, s: Stated) -> bool:
        """The sentence is about other countries than the question (Kazakhstan's growth rate for Pakistan's)."""
        if not question.countries:  # most questions: no article context needed
            return False
        context = self.subjects(s.span.article_id, str(s.doc.metadata["version"]))
        return subject_conflict(question.focus, s.text, s.start, s.end, context)

    def windows(self, question: Question, docs: Sequence[Document]) -> tuple[list[tuple[Passage, Document]], list[SentenceCandidate]]:
        """What the reader reads (the chunks whole, or windows around their best sentences), and the scored sentences."""
        if not self.window_sentences:
            return [(Passage(d.page_content, str(d.metadata["article_id"]), int(d.metadata["start"])), d) for d in docs], []
        cands = self.sentences.candidates(question.focus, docs)
        chars = set(question.characters)
        weights = {t: (self.keyword.idf(t) if self.keyword else 1.0) for t in question.tokens}
        total = sum(weights.values()) or 1.0
        for c in cands:
            coverage = sum(w for t, w in weights.items() if t in c.terms) / total
            c.score = (c.cosine + W_CHARS * character_coverage(chars, c.text) + W_TERMS * coverage
                       + W_RANK / c.doc.metadata["rank"])
            c.evidence = c.cosine + W_KEYWORD * coverage + W_EVIDENCE_RANK / c.doc.metadata["rank"]
        ranges: dict[str, tuple[Document, list[list[int]]]] = {}
        seen: set[tuple[str, int]] = set()
        # For a question plainly asking for a quantity or a date, sentences holding one come first.
        if self.typed and question.answer_type:
            for c in cands:
                c.score += TYPE_BONUS * has_answer_type(c.text, question.answer_type)
        for c in sorted(cands, key=lambda c: -c.score):
            if len(seen) >= self.window_sentences:
                break
            if (c.article_id, c.start) in seen:
                continue
            seen.add((c.article_id, c.start))
            doc, base = c.doc, int(c.doc.metadata["start"])
            sents = split_sentences(doc.page_content)
            at = next((i for i, s in enumerate(sents) if base + s.start <= c.start < base + s.end), None)
            if at is None:
                continue
            lo, hi = sents[max(0, at - self.window_context)].start, sents[min(len(sents) - 1, at + self.window_context)].end
            spans = ranges.setdefault(str(doc.metadata["chunk_id"]), (doc, []))[1]
            for r in spans:  # overlapping windows of one chunk are read once
                if lo < r[1] and r[0] < hi:
                    r[0], r[1] = min(r[0], lo), max(r[1], hi)
                    break
            else:
                spans.append([lo, hi])
        out = []
        for doc, spans in ranges.values():
            base, aid = int(doc.metadata["start"]), str(doc.metadata["article_id"])
            out += [(Passage(doc.page_content[a:b], aid, base + a), doc) for a, b in spans]
        return out, cands

    def weak_evidence(self, q: Question, scored: Sequence[SentenceCandidate]) -> bool:
        """Even the best retrieved sentence (of the asked type, if any) is weak evidence for the question."""
        typed = [c for c in scored if has_answer_type(c.text, q.answer_type)] or list(scored)
        crosslingual = not is_chinese(q.focus) and any(is_chinese(c.text) for c in typed)
        same, across = EVIDENCE_BELOW["e5" if "multilingual-e5" in self.index.model_id else "other"]
        threshold = (across if crosslingual else same) + self.evidence_shift
        return max((c.evidence for c in typed), default=0.0) < threshold

    def combined(self, span: Span, scored: Sequence[SentenceCandidate]) -> float:
        """The span's sentence score (its retrieved sentence's) plus the reader's log-probability, weighted."""
        prior = max((c.score for c in scored if c.article_id == span.article_id and c.start <= span.start < c.end),
                    default=min((c.score for c in scored), default=0.0))
        return prior + (self.w_reader or 0.0) * math.log(max(span.probability, 1e-9))

    def compose(self, question: Question | str, docs: Sequence[Document]) -> Answer:
        """The answer to `question` (analysed, or a plain string analysed here) from the retrieved `docs`:
        the reader reads the best `read` of them for its `focus`; the answer and a refusal are for its `text`."""
        q = question if isinstance(question, Question) else analyse(question)
        windows, scored = self.windows(q, docs[: self.read])
        readings = self.reader.read_passages(q.focus, [w for w, _ in windows]) if windows else []
        read = [d for _, d in windows]
        spans = sorted((s for r in readings for s in r.spans), key=lambda s: -s.probability)
        no_answer = min((r.no_answer for r in readings), default=1.0)

        def refuse(evidence: float) -> Answer:
            return Answer(q.text, refusal_text(q.text), [], True, list(docs), evidence)

        if not spans:
            return refuse(0.0)
        cal = self.calibration
        if spans[0].probability < cal.min_probability or no_answer > cal.max_no_answer:
            return refuse(spans[0].probability)
        if self.evidence_check and self.weak_evidence(q, scored):
            return refuse(spans[0].probability)
        if self.window_sentences and self.w_reader is not None:
            spans.sort(key=lambda s: -self.combined(s, scored))
        best = spans[0]
        first = sentence_of(best, read[best.passage])
        if self.subject_check and self.off_subject(q, first):
            return refuse(best.probability)
        stated = [first]
        # A second sentence only from another passage that states the same answer independently
        # (overlapping chunks share a sentence: that is the same statement, not a second one).
        for s in spans[1:] if self.second_source else []:
            same_chunk = read[s.passage].metadata["chunk_id"] == read[best.passage].metadata["chunk_id"]
            if same_chunk or s.probability < SECOND_SOURCE_RATIO * best.probability:
                continue
            if not same_answer(s.text, best.text):
                continue
            other = sentence_of(s, read[s.passage])
            if other.span.article_id == first.span.article_id and other.start < first.end and first.start < other.end:
                continue
            if not (self.subject_check and self.off_subject(q, other)):
                stated.append(other)
                break
        citations = [self._citation(n, s) for n, s in enumerate(stated, start=1)]
        sep = "" if is_chinese(q.focus) or all(is_chinese(c.sentence) for c in citations) else " "
        text = best.text + "\n" + sep.join(f"{c.sentence}[{c.n}]" for c in citations)
        span = AnswerSpan(best.text, best.article_id, best.start, best.end, best.probability, no_answer, 1)
        return Answer(q.text, text, citations, False, list(docs), best.probability, span)

    @staticmethod
    def _citation(n: int, s: Stated) -> Citation:
        m = s.doc.metadata
        return Citation(n=n, article_id=s.span.article_id, title=m["title"], date=m["date"], chunk_id=m["chunk_id"],
                        chunk_start=m["start"], chunk_end=m["end"], chunk_text=s.doc.page_content,
                        sentence_start=s.start, sentence_end=s.end, sentence=s.text, score=round(s.span.probability, 4),
                        source_file=m.get("path", ""),
                        location=m["source"].location(s.start, s.end) if m.get("source") else "",
                        url=m.get("url", ""), span_start=s.span.start, span_end=s.span.end)
