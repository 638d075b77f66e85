"""The extractive composer: retrieved chunks → `Answer` with numbered `Citation`s, or a refusal.

The default composer is extractive and needs no LLM: it scores every sentence of the
retrieved chunks against the question (cosine of the stored sentence embedding with the
question embedding, plus IDF-weighted keyword coverage, plus the chunk's retrieval rank),
keeps the one to three best that together answer it, and prints them in source order,
each followed by its `[n]`. When even the best sentence is weak evidence it refuses and
cites nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from qa.answering.answer import Answer, Citation, refusal_text
from qa.retrieval.keywords import KeywordIndex
from qa.retrieval.sentences import SentenceCandidate, SentenceCandidates
from qa.store.store import ArticleIndex
from qa.text.countries import ArticleSubjects, article_subjects, subject_conflict
from qa.text.normalise import is_chinese, normalize
from qa.text.quantities import has_answer_type, is_comparison
from qa.text.question import Question, analyse
from qa.text.tokens import character_coverage, tokenize, units

MAX_SENTENCES = 3
# Scoring weights and thresholds, calibrated on tests/data/gold.jsonl (see README, "How answers are chosen").
W_KEYWORD = 0.10
W_RANK = 0.01
"""Weights of the evidence score (cosine + keyword coverage + rank) the refusal thresholds are calibrated on."""
W_CHARS = 0.2
W_RANK_CHOICE = 0.03
SECOND_SENTENCE_MARGIN = 0.025
"""Weights of the score that chooses answer sentences, and the margin within which the next sentence is
also shown; chosen on 400 DRCD questions (benchmarks/) and checked on tests/data/gold.jsonl."""
NEIGHBOUR_GAIN = 0.15
NEIGHBOUR_MARGIN = 0.12
"""A sentence adjacent to the best one is also shown when it adds at least this share of the question's
characters and scores within this margin of it (`completes_question`); chosen on the questions of DRCD
dev passages 0-199, confirmed on passages 200-399 (benchmarks/)."""


@dataclass(frozen=True)
class Calibration:
    """Evidence thresholds below which the composer refuses. They depend on the embedding model:
    e5 cosines are compressed (unrelated text still scores ≈ 0.80), most other models' are not."""

    refuse_below: float
    refuse_below_crosslingual: float

    def shifted(self, delta: float) -> Calibration:
        return Calibration(self.refuse_below + delta, self.refuse_below_crosslingual + delta)


E5_CALIBRATION = Calibration(refuse_below=0.87, refuse_below_crosslingual=0.785)
"""Calibrated on tests/data/gold.jsonl (see README): English questions over Chinese sentences score lower
and cannot match keywords, hence their own threshold."""
GENERIC_CALIBRATION = Calibration(refuse_below=0.45, refuse_below_crosslingual=0.35)


def calibration_for(model_id: str) -> Calibration:
    return E5_CALIBRATION if "multilingual-e5" in model_id else GENERIC_CALIBRATION


# A best sentence that refers back to something it does not name ("牠們在建造水壩的時候…",
# "這項制度的廢棄…", "雙方簽署…", "同年11月9日…") is shown with the sentence before it, which names
# it; a why-question's best sentence is shown with the next one when that one gives the reason
# ("這是為了…"). Person pronouns (他/她) are left out: in news they mostly open quotations ("他说：…"),
# whose speaker the citation already shows; only a who-question needs the name they stand for.
# Measured on 400 DRCD questions (benchmarks/): 34 of the 54 misses had the answer in the adjacent
# sentence; these rules recover the unambiguous ones.
_REFERS_BACK = re.compile(
    r"[这此该](?:项|些|种|个|一|类|条|次|座|套|批|段|部|本|场|所)|^(?:它|牠|其|此|这|该)(?!时|外|后|次|里)|"
    r"^(?:它们|牠们)|^(?:双方|两者|前者|后者|取而代|同年|同月|当年|次年|翌年)"
)
# A who-question's best sentence that names its subject only as 他/她/he/she: the name is before it.
_WHO_Q = re.compile(r"谁|何人|哪一?位|\bwho\b", re.IGNORECASE)
_PERSON_PRONOUN = re.compile(r"(?:他|她)|(?:he|she|they)\b", re.IGNORECASE)
_WHY_Q = re.compile(r"为何|为什么|原因|目的|\bwhy\b", re.IGNORECASE)
_GIVES_REASON = re.compile(r"^(?:这是|此举|这样|因为|由于|因此|所以|原因|目的)")


def refers_back(sentence: str) -> bool:
    """The sentence's first clause points at something named before it (它们, 这项制度, 此一)."""
    return bool(_REFERS_BACK.search(re.split(r"[，,；;：:]", normalize(sentence))[0]))


def completes_question(question_units: set[str], best: SentenceCandidate, neighbour: SentenceCandidate) -> bool:
    """Does the adjacent sentence hold a part of the question the best one lacks? The question's words
    split between two sentences means the fact it asks about is stated across both."""
    if not question_units:
        return False
    gained = (question_units & units(neighbour.text)) - units(best.text)
    return len(gained) >= NEIGHBOUR_GAIN * len(question_units) - 1e-9 and neighbour.score >= best.score - NEIGHBOUR_MARGIN


def context_sentences(question: Question | str, best: SentenceCandidate, cands: Sequence[SentenceCandidate]) -> list[SentenceCandidate]:
    """The retrieved neighbours that make the best sentence readable (see `_REFERS_BACK`)."""
    question = question if isinstance(question, Question) else analyse(question)
    same = sorted((c for c in cands if c.article_id == best.article_id), key=lambda c: c.start)
    at = next(i for i, c in enumerate(same) if c.start == best.start)
    out = []
    names_person_by_pronoun = bool(_WHO_Q.search(question.normalised) and _PERSON_PRONOUN.match(normalize(best.text)))
    if at > 0 and (refers_back(best.text) or names_person_by_pronoun):
        out.append(same[at - 1])
    if at + 1 < len(same) and _WHY_Q.search(question.normalised) and _GIVES_REASON.match(normalize(same[at + 1].text)):
        out.append(same[at + 1])
    return out


def completing_neighbours(question: Question | str, best: SentenceCandidate, cands: Sequence[SentenceCandidate]) -> list[SentenceCandidate]:
    """The sentences right before and after the best one that hold the rest of the question
    (`completes_question`) or, for a comparison question, the other side of the comparison."""
    question = question if isinstance(question, Question) else analyse(question)
    units = set(question.characters)
    # The best match of a comparison question is the sentence about the side it names (首尔的年平均降雨量为
    # 1370毫米); the side it asks for is listed next to it with its own figure (釜山1470毫米).
    comparison = is_comparison(question.focus)
    return [c for c in cands if c.article_id == best.article_id and c.n >= 0 and abs(c.n - best.n) == 1
            and (completes_question(units, best, c) or (comparison and has_answer_type(c.text, "number")))]


def missing_entities(question: Question | str, keyword: KeywordIndex | None, passages: Sequence[str] = ()) -> list[str]:
    """Names in a Chinese question (places, people, organisations, Latin names) that occur nowhere
    in the indexed articles: the articles cannot answer a question about something they never mention.
    A name written out in one of the retrieved `passages` is there, whatever the keyword index's
    segmentation made of it (坂里村, 伊纳拉汉); so is one jieba glued a particle to (和浩汉 in 宏碁和浩漢)."""
    q = question if isinstance(question, Question) else analyse(question)
    if keyword is None or not is_chinese(q.focus):
        return []
    retrieved = normalize("\n".join(passages))
    missing = []
    for word, forms in q.name_forms:
        if any(f in retrieved for f in forms):
            continue
        pieces = [t for t in tokenize(word) if len(t) >= 2] or [word]
        if word not in keyword.vocabulary and not all(t in keyword.vocabulary for t in pieces):
            missing.append(word)
    return missing


class ExtractiveComposer:
    """Chooses answer sentences from retrieved chunks; no LLM involved."""

    def __init__(self, index: ArticleIndex, keyword: KeywordIndex | None = None, *, calibration: Calibration | None = None) -> None:
        self.index = index
        self.keyword = keyword
        self.calibration = calibration or calibration_for(index.model_id)
        self._subjects: dict[tuple[str, str], ArticleSubjects] = {}
        self.sentences = SentenceCandidates(index)

    def subjects(self, article_id: str, version: str) -> ArticleSubjects:
        """How the article's 我国 / 两国 resolve (computed once per article version)."""
        key = (article_id, version)
        if key not in self._subjects:
            quotes = self.index.quote_spans(article_id, version)
            self._subjects[key] = article_subjects(self.index.article_text(article_id, version), quotes)
        return self._subjects[key]

    def off_subject(self, question: Question, c: SentenceCandidate) -> bool:
        """The sentence is about other countries than the question (Kazakhstan's growth rate for Pakistan's)."""
        if not question.countries:  # most questions: no article context needed
            return False
        context = self.subjects(c.article_id, str(c.doc.metadata["version"]))
        return subject_conflict(question.focus, c.text, c.start, c.end, context)

    def candidates(self, question: str, docs: Sequence[Document]) -> list[SentenceCandidate]:
        return self.sentences.candidates(question, docs)

    def compose(self, question: Question | str, docs: Sequence[Document]) -> Answer:
        """The answer to `question` (analysed, or a plain string analysed here) from the retrieved `docs`:
        sentences are scored against its `focus`; the answer and a refusal are for its `text`."""
        q = question if isinstance(question, Question) else analyse(question)
        focus = q.focus
        cands = self.candidates(focus, docs)
        weights = {t: (self.keyword.idf(t) if self.keyword else 1.0) for t in q.tokens}
        total = sum(weights.values()) or 1.0
        q_chars = set(q.characters)
        for c in cands:
            coverage = sum(w for t, w in weights.items() if t in c.terms) / total
            # Two scores on purpose: `evidence` is what the refusal thresholds are calibrated on;
            # `score` orders sentences, where character coverage beats word coverage (segmentation
            # of a question and of its answer sentence often disagree).
            c.evidence = c.cosine + W_KEYWORD * coverage + W_RANK / c.doc.metadata["rank"]
            c.score = c.cosine + W_CHARS * character_coverage(q_chars, c.text) + W_RANK_CHOICE / c.doc.metadata["rank"]
        cands.sort(key=lambda c: -c.score)
        typed = [c for c in cands if has_answer_type(c.text, q.answer_type)]
        crosslingual = not is_chinese(focus) and any(is_chinese(c.text) for c in cands[:1])
        threshold = self.calibration.refuse_below_crosslingual if crosslingual else self.calibration.refuse_below
        best_evidence = max((c.evidence for c in typed), default=0.0)
        if typed and self.off_subject(q, typed[0]):
            return Answer(q.text, refusal_text(q.text), [], True, list(docs), best_evidence)
        if best_evidence < threshold or missing_entities(q, self.keyword, [d.page_content for d in docs]):
            return Answer(q.text, refusal_text(q.text), [], True, list(docs), best_evidence)
        # The best sentence, plus the next ones while they score within the margin: when two
        # sentences are that close the embedding cannot tell which one answers, so both are shown.
        chosen = [typed[0], *context_sentences(q, typed[0], cands)]
        for c in typed[1:]:
            if len(chosen) >= MAX_SENTENCES or c.score < typed[0].score - SECOND_SENTENCE_MARGIN:
                break
            if all((c.article_id, c.start) != (o.article_id, o.start) for o in chosen):
                chosen.append(c)
        # Then the best sentence's neighbours that complete it, while there is room.
        for c in completing_neighbours(q, typed[0], cands):
            if len(chosen) < MAX_SENTENCES and all((c.article_id, c.start) != (o.article_id, o.start) for o in chosen):
                chosen.append(c)
        article_order = {a: i for i, a in enumerate(dict.fromkeys(c.article_id for c in chosen))}
        chosen.sort(key=lambda c: (article_order[c.article_id], c.start))
        citations = []
        for n, c in enumerate(chosen, start=1):
            m = c.doc.metadata
            citations.append(
                Citation(n=n, article_id=c.article_id, title=m["title"], date=m["date"], chunk_id=m["chunk_id"],
                         chunk_start=m["start"], chunk_end=m["end"], chunk_text=c.doc.page_content,
                         sentence_start=c.start, sentence_end=c.end, sentence=c.text, score=round(c.score, 4),
                         source_file=m.get("path", ""),
                         location=m["source"].location(c.start, c.end) if m.get("source") else "",
                         url=m.get("url", ""))
            )
        sep = "" if is_chinese(focus) or all(is_chinese(c.text) for c in chosen) else " "
        text = sep.join(f"{c.sentence}[{c.n}]" for c in citations)
        return Answer(q.text, text, citations, False, list(docs), best_evidence)
