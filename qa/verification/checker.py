"""The checker: each sentence of an answer against the articles — evidence, facts compared, a label.

Each sentence (``[n]`` markers stripped) is matched to the article sentence that states the same
fact — retrieved with the answerer's hybrid retriever, scored with the stored sentence embeddings,
word overlap and how many of the claim's names, figures and dates it speaks to. The claim's facts
(qa.verification.facts) are then looked up in the evidence articles (qa.verification.compare) and
the sentence is labelled (qa.verification.labels): supported, partly supported, unsupported or
contradicted, with the conflicting words and the article's value.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.documents import Document

from qa.errors import QAError
from qa.retrieval.context import Searchable
from qa.retrieval.sentences import SentenceCandidates
from qa.text.sentences import split_sentences
from qa.verification.compare import ArticleFacts, Conflict, Sentence, compare, related_sentences
from qa.verification.evidence import answer_sentences, claim_content, content_length, coverage, rank
from qa.verification.facts import analyse, word_coverage
from qa.verification.labels import Similarity, decide
from qa.verification.results import UNSUPPORTED, Contradiction, Evidence, SentenceCheck, Verification
from qa.verification.speakers import ArticleText, claim_speaker, same_person


RETRIEVE_K = 5
EVIDENCE_SHOWN = 3
MAX_TEXT_CHARS = 20000
MORE_ARTICLES = 2
W_COVERAGE = 0.3
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


class Verifier:
    """Checks claims against the pipeline's index (or against given passages)."""

    def __init__(self, pipeline: Searchable) -> None:
        self.pipeline = pipeline
        self._articles: dict[tuple[str, str], ArticleText] = {}
        self._facts: dict[tuple[str, str, tuple[tuple[int, int], ...] | None], ArticleFacts] = {}
        self._lock = threading.Lock()

    def article(self, article_id: str, version: str) -> ArticleText:
        key = (article_id, version)
        with self._lock:
            if key not in self._articles:
                self._articles[key] = ArticleText(self.pipeline.index.article_text(article_id, version))
            return self._articles[key]

    def article_facts(self, article_id: str, version: str, date: str,
                      spans: tuple[tuple[int, int], ...] | None = None) -> ArticleFacts:
        """The article's facts; with `spans` (the cited passages), only what those passages state."""
        key = (article_id, version, spans)
        text = self.article(article_id, version).text
        with self._lock:
            if key not in self._facts:
                spans_all = [(s.start, s.end) for s in split_sentences(text)]
                if len(self._facts) > 4096:
                    self._facts.clear()
                self._facts[key] = ArticleFacts.read(article_id, text, _date(date), spans_all, spans)
            return self._facts[key]

    def verify(self, text: str, question: str | None = None, passages: Sequence[Document] | None = None) -> Verification:
        """Label every sentence of `text`. With `passages`, only those chunks count as evidence
        (e.g. an answer's cited passages); otherwise evidence is retrieved from the whole index."""
        text = (text or "").strip()
        if not text:
            raise QAError("there is no answer text to check: pass the answer as an argument, with --file, or on stdin")
        text = text[:MAX_TEXT_CHARS]
        question = question.strip() if question and question.strip() else None
        self.pipeline.index.check_compatible()
        composer = SentenceCandidates(self.pipeline.index)
        return Verification(text, question, [self._check(s, question, composer, passages) for s in answer_sentences(text)])

    def _check(self, sentence: str, question: str | None, composer: SentenceCandidates,
               passages: Sequence[Document] | None) -> SentenceCheck:
        # A bare short answer ("10亿美元。") only means something together with its question.
        short = question is not None and content_length(sentence) < 12
        query = f"{question} {sentence}" if short else sentence
        docs = list(passages) if passages is not None else self.pipeline.retriever.invoke(query, k=RETRIEVE_K)
        cands = composer.candidates(query, docs) if docs else []
        if not cands:
            return SentenceCheck(sentence, UNSUPPORTED, 0.0)
        chinese = bool(_CJK.search(sentence))
        content = claim_content(sentence)
        ranked = rank(sentence, content, cands)
        best_c, best_cov = ranked[0]
        best_meta = best_c.doc.metadata
        # Relative dates in the claim ("去年", "当天") mean what they mean in the article it is about.
        claim = analyse(sentence, _date(best_meta["date"]))
        if not chinese:  # names are compared as written: an English claim's are not looked up in Chinese text
            claim = type(claim)(claim.text, claim.words, tuple(f for f in claim.facts if not f.is_name), claim.content, ())

        evidence: list[Evidence] = []
        sentences: list[Sentence] = []
        for i, (c, cov) in enumerate(ranked[:EVIDENCE_SHOWN]):
            m = c.doc.metadata
            art = self.article(c.article_id, m["version"])
            evidence.append(Evidence(c.article_id, m["title"], m["date"], c.start, c.end, c.text, round(c.cosine, 4),
                                     round(cov, 4), art.speaker_at(c.start)))
            # Checking citations: a fact counts as stated only where the cited passages state it.
            spans = None if passages is None else tuple(sorted(
                (int(d.metadata["start"]), int(d.metadata["end"])) for d in docs if d.metadata["article_id"] == c.article_id))
            facts = self.article_facts(c.article_id, m["version"], m["date"], spans)
            sentences.append(Sentence(facts, c.start, c.end, word_coverage(claim, c.text) if chinese else cov, best=i == 0))
        best = evidence[0]
        sim = Similarity(best.cosine, best.coverage, chinese)
        # Facts are looked up in the articles the evidence comes from (the best one, and any other close one).
        articles = list({s.article.article_id: s.article for s in sentences
                         if s.best or sim.related_to(evidence[sentences.index(s)].cosine, evidence[sentences.index(s)].coverage)}.values())
        seen = {(s.article.article_id, s.start) for s in sentences}
        # Where the article's own value may be: the sentences of the evidence articles that share the claim's words.
        more = [r for a in articles[:MORE_ARTICLES] for r in related_sentences(claim, a, seen)] if chinese else []
        comparison = compare(claim, sentences, articles, more, cross_lingual=not chinese)
        conflicts = list(comparison.conflicts)
        speaker = self._speaker_conflict(sentence, ranked, evidence)
        if speaker:
            conflicts.append(speaker)
        contradictions = [self._contradiction(c, evidence, ranked, content) for c in conflicts]
        if contradictions and contradictions[0].evidence != 0:
            # The sentence that states the same fact (with the article's value) is the evidence shown first.
            first = contradictions[0].evidence
            order = [first] + [i for i in range(len(evidence)) if i != first]
            evidence = [evidence[i] for i in order]
            for c in contradictions:
                c.evidence = order.index(c.evidence)
        numbers_agree = any(f.quantity is not None for f in comparison.present) and not any(
            f.quantity is not None for f in comparison.missing)
        label = decide(sim, comparison, bool(contradictions), numbers_agree)
        return SentenceCheck(sentence, label, round(best.cosine + W_COVERAGE * best.coverage, 4), evidence,
                             contradictions if label == "contradicted" else [],
                             [f.text for f in comparison.missing if f.quantity is not None],
                             [f.text for f in comparison.missing], [f.text for f in comparison.present])

    def _contradiction(self, c: Conflict, evidence: list[Evidence], ranked: list[tuple[Any, float]],
                       content: str) -> Contradiction:
        """The conflict with the sentence that states the article's value among the evidence (added if need be)."""
        for i, e in enumerate(evidence):
            if e.article_id == c.article_id and e.start == c.start:
                return Contradiction(c.kind, c.claim, c.source, i)
        ref = next((e for e in evidence if e.article_id == c.article_id), evidence[0])
        # A sentence of the retrieved chunks has its cosine already; one from elsewhere in the article has none (0).
        cosine = next((cand.cosine for cand, _ in ranked if cand.article_id == c.article_id and cand.start == c.start), 0.0)
        version = next((cand.doc.metadata["version"] for cand, _ in ranked if cand.article_id == c.article_id), None)
        speaker = self.article(c.article_id, version).speaker_at(c.start) if version else None
        evidence.append(Evidence(c.article_id, ref.title, ref.date, c.start, c.end, c.sentence, round(cosine, 4),
                                 round(coverage(content, c.sentence), 4), speaker))
        return Contradiction(c.kind, c.claim, c.source, len(evidence) - 1)

    def _speaker_conflict(self, sentence: str, ranked: list[tuple[Any, float]], evidence: list[Evidence]) -> Conflict | None:
        known = set().union(*(self.article(c.article_id, c.doc.metadata["version"]).names for c, _ in ranked[:EVIDENCE_SHOWN]))
        said_by = claim_speaker(sentence, known)
        best = evidence[0]
        # The same words may be said by several people: only the evidence close to the best counts.
        close = [e for e in evidence if e.coverage >= best.coverage - 0.1 or e.cosine >= best.cosine - 0.01]
        speakers = [e.speaker for e in close if e.speaker]
        if said_by and best.speaker and not any(same_person(said_by, sp) for sp in speakers):
            return Conflict("speaker", said_by, best.speaker, best.sentence, best.article_id, best.start, best.end)
        return None
