"""Retrieved chunks → `Answer` with numbered `Citation`s.

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
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from qa.index import ArticleIndex
from qa.keywords import STOPWORDS, KeywordIndex, normalize, tokenize
from qa.retrieval import HybridRetriever
from qa.subjects import ArticleSubjects, article_subjects, gazetteer, subject_conflict

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
_QUESTION_WORDS = set("什么哪谁几多少何时候怎样如为吗呢请问是")


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


REFUSAL_ZH = "文章中没有找到这个问题的答案。"
REFUSAL_EN = "The articles do not contain an answer to this question."
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

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


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    date: str
    chunk_id: str
    chunk_start: int
    chunk_end: int
    chunk_text: str
    sentence_start: int
    sentence_end: int
    sentence: str
    score: float
    source_file: str = ""

    @property
    def sentence_in_chunk(self) -> tuple[int, int]:
        """The supporting sentence's offsets inside `chunk_text` (for highlighting)."""
        return self.sentence_start - self.chunk_start, self.sentence_end - self.chunk_start


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    passages: list[Document] = field(default_factory=list)
    """Every retrieved chunk, cited or not (for display and evaluation)."""
    evidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "evidence": round(self.evidence, 4),
            "citations": [asdict(c) for c in self.citations],
            "passages": [
                {"chunk_id": d.metadata["chunk_id"], "article_id": d.metadata["article_id"], "title": d.metadata["title"],
                 "date": d.metadata["date"], "start": d.metadata["start"], "end": d.metadata["end"],
                 "text": d.page_content, "rank": d.metadata["rank"]}
                for d in self.passages
            ],
        }


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def refusal_text(question: str) -> str:
    return REFUSAL_ZH if is_chinese(question) else REFUSAL_EN


@dataclass
class _Candidate:
    article_id: str
    start: int
    end: int
    text: str
    cosine: float
    doc: Document
    terms: frozenset[str]
    score: float = 0.0
    evidence: float = 0.0
    n: int = -1
    """The sentence's number in its article (consecutive numbers are adjacent sentences)."""


# Only questions that plainly ask for a quantity or a calendar date are typed: "何时/什么时候" is
# answered by periods and events (宋代末, 秋季) as often as by dates, so it stays untyped.
_NUMBER_Q = re.compile(
    r"多少|(?<![这那隔近前])几(?![乎何])[个项家年倍次人名座所种吨成届天月号位条]?|多大|多高|多长|多远|多久|多重|"
    r"how (many|much|long|far|large|big|old)|what (percentage|share|proportion|amount|number) of",
    re.IGNORECASE,
)
_DATE_Q = re.compile(r"哪一?天|哪一?年|几月|几号|什么日期|what (date|day|year)|which (date|day|year)|in what year", re.IGNORECASE)
_CN_NUMERAL = "零一二两三四五六七八九十百千万亿"
# A numeral before any measure word counts (三班, 五架, 两艘) — except 一, which starts too many plain
# words (一些, 一致, 统一) and so needs a known measure word.
_NUMBER_A = re.compile(
    rf"\d|[{_CN_NUMERAL}]{{2,}}|[二两三四五六七八九十百千万亿][\u4e00-\u9fff]|"
    rf"一[个项家年倍次人名座所种吨成届番位条旗部本张场期代层岁班架艘辆台只批轮周天月]|分之|半|第[{_CN_NUMERAL}]"
)
_DATE_A = re.compile(
    r"\d{4}|\d{1,2}月|\d{1,2}日|[今去明前]年|[今明昨前]天|本月|上月|[元初]年|[一二三四五六七八九十]+年|"
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b"
)


_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[a-z0-9]+(?:\.[0-9]+)?%?")


def _units(text: str) -> set[str]:
    """Chinese characters one by one, Latin words and numbers whole (letters alone mean nothing)."""
    return set(_UNIT.findall(normalize(text)))


def question_characters(question: str) -> set[str]:
    """The question's units that can appear in its answer: no punctuation, no question or stop words."""
    return {u for u in _units(question) if u not in _QUESTION_WORDS and u not in STOPWORDS}


def character_coverage(question_units: set[str], sentence: str) -> float:
    if not question_units:
        return 0.0
    return len(question_units & _units(sentence)) / len(question_units)


def expected_answer_type(question: str) -> str | None:
    """'date' or 'number' when the question asks for one (then the answer sentence must contain one)."""
    folded = normalize(question)  # 幾/幾年/什麼時候 → 几/几年/什么时候
    if _DATE_Q.search(folded):
        return "date"
    if _NUMBER_Q.search(folded):
        return "number"
    return None


def has_answer_type(sentence: str, kind: str | None) -> bool:
    if kind is None:
        return True
    folded = normalize(sentence)
    if kind == "date":
        return bool(_DATE_A.search(folded))
    return bool(_NUMBER_A.search(folded))


def refers_back(sentence: str) -> bool:
    """The sentence's first clause points at something named before it (它们, 这项制度, 此一)."""
    return bool(_REFERS_BACK.search(re.split(r"[，,；;：:]", normalize(sentence))[0]))


def completes_question(question_units: set[str], best: _Candidate, neighbour: _Candidate) -> bool:
    """Does the adjacent sentence hold a part of the question the best one lacks? The question's words
    split between two sentences means the fact it asks about is stated across both."""
    if not question_units:
        return False
    gained = (question_units & _units(neighbour.text)) - _units(best.text)
    return len(gained) >= NEIGHBOUR_GAIN * len(question_units) - 1e-9 and neighbour.score >= best.score - NEIGHBOUR_MARGIN


def context_sentences(question: str, best: _Candidate, cands: Sequence[_Candidate]) -> list[_Candidate]:
    """The retrieved neighbours that make the best sentence readable (see `_REFERS_BACK`)."""
    same = sorted((c for c in cands if c.article_id == best.article_id), key=lambda c: c.start)
    at = next(i for i, c in enumerate(same) if c.start == best.start)
    out = []
    names_person_by_pronoun = bool(_WHO_Q.search(normalize(question)) and _PERSON_PRONOUN.match(normalize(best.text)))
    if at > 0 and (refers_back(best.text) or names_person_by_pronoun):
        out.append(same[at - 1])
    if at + 1 < len(same) and _WHY_Q.search(normalize(question)) and _GIVES_REASON.match(normalize(same[at + 1].text)):
        out.append(same[at + 1])
    return out


# "比首尔多100毫米" / "是X的30倍" / "more than X": the question names one side of a comparison.
_COMPARATIVE = re.compile(
    r"比(?!赛|例|较|率|重|如|方|喻)[^，,。？?]{1,20}?(?:多|少|高|低|大|小|长|短|早|晚|快|慢|强|弱|重|轻)|"
    r"[是为][^，,。？?]{1,20}?的[^，,。？?]{0,8}倍|\bthan\b", re.IGNORECASE)


def completing_neighbours(question: str, best: _Candidate, cands: Sequence[_Candidate]) -> list[_Candidate]:
    """The sentences right before and after the best one that hold the rest of the question
    (`completes_question`) or, for a comparison question, the other side of the comparison."""
    units = question_characters(question)
    # The best match of a comparison question is the sentence about the side it names (首尔的年平均降雨量为
    # 1370毫米); the side it asks for is listed next to it with its own figure (釜山1470毫米).
    comparison = bool(_COMPARATIVE.search(normalize(question)))
    return [c for c in cands if c.article_id == best.article_id and c.n >= 0 and abs(c.n - best.n) == 1
            and (completes_question(units, best, c) or (comparison and has_answer_type(c.text, "number")))]


def missing_entities(question: str, keyword: KeywordIndex | None, passages: Sequence[str] = ()) -> list[str]:
    """Names in a Chinese question (places, people, organisations, Latin names) that occur nowhere
    in the indexed articles: the articles cannot answer a question about something they never mention.
    A name written out in one of the retrieved `passages` is there, whatever the keyword index's
    segmentation made of it (坂里村, 伊纳拉汉); so is one jieba glued a particle to (和浩汉 in 宏碁和浩漢)."""
    if keyword is None or not is_chinese(question):
        return []
    import jieba.posseg

    retrieved = normalize("\n".join(passages))
    missing = []
    for pair in jieba.posseg.lcut(normalize(question)):
        word, flag = pair.word, pair.flag
        # Two-character names are too often abbreviations the articles spell differently (中国 vs 中欧, 巴方).
        # Organisation tags (nt) are left out: jieba gives them to ordinary compounds such as 联合开发.
        if len(word) < 3 or not (flag.startswith(("ns", "nr")) or flag == "eng"):
            continue
        forms = [word] + [w for w in (word[1:] if word[0] in _PARTICLES else "", word[:-1] if word[-1] in _PARTICLES else "") if len(w) >= 2]
        if any(f in retrieved for f in forms):
            continue
        pieces = [t for t in tokenize(word) if len(t) >= 2] or [word]
        if word not in keyword.vocabulary and not all(t in keyword.vocabulary for t in pieces):
            missing.append(word)
    return missing


_PARTICLES = frozenset(w for w in STOPWORDS if len(w) == 1 and is_chinese(w))
"""One-character function words (和, 了, 与…) that jieba's name tags sometimes take in."""


class ExtractiveComposer:
    """Chooses answer sentences from retrieved chunks; no LLM involved."""

    def __init__(self, index: ArticleIndex, keyword: KeywordIndex | None = None, *, calibration: Calibration | None = None) -> None:
        self.index = index
        self.keyword = keyword
        self.calibration = calibration or calibration_for(index.model_id)
        self._subjects: dict[tuple[str, str], ArticleSubjects] = {}

    def subjects(self, article_id: str, version: str) -> ArticleSubjects:
        """How the article's 我国 / 两国 resolve (computed once per article version)."""
        key = (article_id, version)
        if key not in self._subjects:
            quotes: list[tuple[int, int, str]] = []
            if self.index.names["quotes"] in self.index._existing():
                got = self.index.collection("quotes").get(
                    where={"$and": [{"article_id": article_id}, {"version": version}]}, include=["metadatas"])
                quotes = [(int(m["start"]), int(m["end"]), str(m["raw_speaker"])) for m in got["metadatas"] or []]
            self._subjects[key] = article_subjects(self.index.article_text(article_id, version), quotes)
        return self._subjects[key]

    def off_subject(self, question: str, c: _Candidate) -> bool:
        """The sentence is about other countries than the question (Kazakhstan's growth rate for Pakistan's)."""
        if not gazetteer().countries(question):  # most questions: no article context needed
            return False
        context = self.subjects(c.article_id, str(c.doc.metadata["version"]))
        return subject_conflict(question, c.text, c.start, c.end, context)

    def candidates(self, question: str, docs: Sequence[Document]) -> list[_Candidate]:
        wanted: dict[str, Document] = {}
        for doc in docs:
            meta = doc.metadata
            for n in meta["sentence_numbers"]:
                wanted.setdefault(f"{meta['article_id']}#{meta['version']}#s{n}", doc)
        if not wanted:
            return []
        got = self.index.sentence_rows(list(wanted))
        q = np.asarray(self.index.embeddings.embed_query(question), dtype=np.float32)
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        cosines = vectors @ q if len(vectors) else np.zeros(0)
        out = []
        for sid, text, meta, cosine in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], cosines):
            out.append(
                _Candidate(str(meta["article_id"]), int(meta["start"]), int(meta["end"]), str(text), float(cosine),
                           wanted[sid], frozenset(tokenize(str(text))), n=int(meta["n"]))
            )
        return out

    def compose(self, question: str, docs: Sequence[Document]) -> Answer:
        cands = self.candidates(question, docs)
        q_terms = list(dict.fromkeys(tokenize(question)))
        weights = {t: (self.keyword.idf(t) if self.keyword else 1.0) for t in q_terms}
        total = sum(weights.values()) or 1.0
        q_chars = question_characters(question)
        for c in cands:
            coverage = sum(w for t, w in weights.items() if t in c.terms) / total
            # Two scores on purpose: `evidence` is what the refusal thresholds are calibrated on;
            # `score` orders sentences, where character coverage beats word coverage (segmentation
            # of a question and of its answer sentence often disagree).
            c.evidence = c.cosine + W_KEYWORD * coverage + W_RANK / c.doc.metadata["rank"]
            c.score = c.cosine + W_CHARS * character_coverage(q_chars, c.text) + W_RANK_CHOICE / c.doc.metadata["rank"]
        cands.sort(key=lambda c: -c.score)
        kind = expected_answer_type(question)
        typed = [c for c in cands if has_answer_type(c.text, kind)]
        crosslingual = not is_chinese(question) and any(is_chinese(c.text) for c in cands[:1])
        threshold = self.calibration.refuse_below_crosslingual if crosslingual else self.calibration.refuse_below
        best_evidence = max((c.evidence for c in typed), default=0.0)
        if typed and self.off_subject(question, typed[0]):
            return Answer(question, refusal_text(question), [], True, list(docs), best_evidence)
        if best_evidence < threshold or missing_entities(question, self.keyword, [d.page_content for d in docs]):
            return Answer(question, refusal_text(question), [], True, list(docs), best_evidence)
        # The best sentence, plus the next ones while they score within the margin: when two
        # sentences are that close the embedding cannot tell which one answers, so both are shown.
        chosen = [typed[0], *context_sentences(question, typed[0], cands)]
        for c in typed[1:]:
            if len(chosen) >= MAX_SENTENCES or c.score < typed[0].score - SECOND_SENTENCE_MARGIN:
                break
            if all((c.article_id, c.start) != (o.article_id, o.start) for o in chosen):
                chosen.append(c)
        # Then the best sentence's neighbours that complete it, while there is room.
        for c in completing_neighbours(question, typed[0], cands):
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
                         source_file=m.get("path", ""))
            )
        sep = "" if is_chinese(question) or all(is_chinese(c.text) for c in chosen) else " "
        text = sep.join(f"{c.sentence}[{c.n}]" for c in citations)
        return Answer(question, text, citations, False, list(docs), best_evidence)


def build_answer_chain(retriever: HybridRetriever, composer: ExtractiveComposer) -> Runnable[dict[str, Any], Answer]:
    """question → retrieve → compose, as a LangChain runnable.

    Input: ``{"question": str, "k"?: int, "article_ids"?: list, "since"?: date, "until"?: date}``.
    """

    def retrieve(inputs: dict[str, Any]) -> list[Document]:
        options = {key: inputs[key] for key in ("k", "article_ids", "since", "until") if inputs.get(key) is not None}
        return retriever.invoke(inputs["question"], **options)

    def compose(inputs: dict[str, Any]) -> Answer:
        return composer.compose(inputs["question"], inputs["docs"])

    return RunnablePassthrough.assign(docs=RunnableLambda(retrieve)) | RunnableLambda(compose)
