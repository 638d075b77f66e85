"""Check an answer against the articles, sentence by sentence.

Each sentence of the answer (``[n]`` markers stripped) is matched to its best supporting
article sentence — retrieved with the same hybrid retriever the answerer uses, scored with
the stored sentence embeddings — and labelled:

* ``supported``        the evidence says the same thing (high similarity and word overlap);
* ``partly supported`` related evidence exists but does not cover the whole claim, or a
                       number in the claim appears nowhere in the evidence;
* ``unsupported``      nothing in the articles is close;
* ``contradicted``     the closest evidence states a *different* number / amount / date, or
                       puts the quoted words in another speaker's mouth.

Numbers are compared as values: 10亿美元 = $1 billion = 1,000,000,000 USD, 1.5万 = 15000.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.documents import Document

from qa.errors import QAError
from qa.retrieval.context import Searchable
from qa.retrieval.sentences import SentenceCandidates
from qa.text.normalise import normalize
from qa.text.sentences import split_sentences

SUPPORTED = "supported"
PARTLY = "partly supported"
UNSUPPORTED = "unsupported"
CONTRADICTED = "contradicted"
LABEL_SCORE = {SUPPORTED: 1.0, PARTLY: 0.5, UNSUPPORTED: 0.0, CONTRADICTED: 0.0}

# Thresholds on the e5 cosine (query-side claim vs stored passage sentence; unrelated text
# sits near 0.80) and on the share of the claim's character bigrams found in the evidence.
# Chosen on the seed articles (tests/test_verification.py exercises each side of them).
COS_SUPPORTED = 0.90
COS_RELATED = 0.855
COVER_SUPPORTED = 0.6
COVER_RELATED = 0.3
COS_CROSS_LINGUAL = 0.81
"""An English claim against Chinese text scores low cosines; agreeing numbers make up for it."""
W_COVERAGE = 0.3
W_EXACT_NUMBER = 0.06
W_SAME_UNIT = 0.03
RETRIEVE_K = 5
EVIDENCE_SHOWN = 3
MAX_TEXT_CHARS = 20000

_MARKER = re.compile(r"\[\d+\]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PUNCT_CATS = ("P", "S", "Z", "C")


# --------------------------------------------------------------------------- quantities
@dataclass(frozen=True)
class Quantity:
    text: str
    value: float
    unit: str
    """'%', 'USD', 'CNY', 'year', a Chinese measure word (吨, 家, 项...) or '' if none."""


_MULT = {
    "万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4, "千": 1e3,
    "trillion": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6, "thousand": 1e3,
}
_CURRENCY = {"美元": "USD", "dollars": "USD", "dollar": "USD", "usd": "USD", "$": "USD",
             "元": "CNY", "人民币": "CNY", "yuan": "CNY", "欧元": "EUR", "euros": "EUR", "euro": "EUR"}
_QUANTITY = re.compile(
    r"(?P<cur>\$|us\$)?\s?(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s?"
    r"(?P<mult>万亿|千亿|百亿|千万|百万|亿|万|千|trillion|billion|bn|million|mn|thousand)?\s?"
    r"(?P<more>多万|多|余|以上)?\s?"
    r"(?P<unit>%|percent|美元|dollars?|usd|人民币|元|yuan|欧元|euros?|年|个月|月|日|天|吨|家|项|人次|人|个|倍|台|次|公里|km)?",
    re.IGNORECASE,
)


def quantities(text: str) -> list[Quantity]:
    """Numbers with their scale and unit, from width-normalised text."""
    out = []
    for m in _QUANTITY.finditer(unicodedata.normalize("NFKC", text).lower()):
        value = float(m.group("num").replace(",", ""))
        mult = m.group("mult")
        if mult:
            value *= _MULT[mult]
        if m.group("more") == "多万":
            value *= 1e4
        unit = (m.group("unit") or "").lower()
        if m.group("cur"):
            unit = "$"
        unit = _CURRENCY.get(unit, unit)
        if unit == "percent":
            unit = "%"
        if unit == "" and not mult and re.fullmatch(r"(19|20)\d\d", m.group("num")) and text[m.end():m.end() + 1] == "年":
            unit = "year"
        if unit == "年" and not mult and re.fullmatch(r"(19|20)\d\d", m.group("num")):
            unit = "year"
        out.append(Quantity(m.group(0).strip(), value, unit))
    return out


def _same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def number_conflicts(claim: str, evidence: Sequence[str]) -> tuple[list[tuple[Quantity, Quantity]], list[Quantity]]:
    """(claim quantity, evidence quantity) pairs that disagree, and claim quantities found nowhere.

    A claim number that equals any evidence number counts as supported. Otherwise it conflicts
    with the first number of the same kind (unit) in the *best* evidence sentence (evidence[0]).
    """
    found = [q for e in evidence for q in quantities(e)]
    best = quantities(evidence[0]) if evidence else []
    conflicts, missing = [], []
    for q in quantities(claim):
        if any(_same_value(q.value, e.value) for e in found):
            continue
        rival = next((e for e in best if e.unit == q.unit), None)
        if rival is not None:
            conflicts.append((q, rival))
        else:
            missing.append(q)
    return conflicts, missing


# --------------------------------------------------------------------------- speakers
_SPEECH = r"(?:则|也|还|再次|进一步)?(?:表示|说|指出|强调|宣布|认为|称|介绍|提到|谈到)"
_TITLES = ("总统", "总理", "主席", "部长", "先生", "女士", "阁下")
_NOT_NAMES = {"他", "她", "他们", "她们", "国家元首", "双方", "两国", "我", "我们", "总统", "总理", "两国领导人", "报道", "消息"}
_END_ATTRIBUTION = re.compile(r"[-—–]\s*([^\s，。、：:“”\"'\-—–]{1,20}?)" + _SPEECH + r"[。.]?\s*$")
_LEAD_ATTRIBUTION = re.compile(r"^\s*(?:据)?([^\s，。、：:“”\"'—–]{1,20}?)" + _SPEECH + r"[，,：:]")
_CLAIM_SPEAKER = re.compile(r"([\u4e00-\u9fff·\-]{2,20}?)" + _SPEECH)
_EN_SPEAKER = re.compile(r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*)\s+(?:said|says|stated|noted|told|stressed|announced)\b")


def _strip_title(name: str) -> str:
    name = name.lstrip("据")
    changed = True
    while changed:
        changed = False
        for t in _TITLES:
            if name.endswith(t) and len(name) > len(t):
                name, changed = name[: -len(t)], True
    return name


def _is_name(name: str) -> bool:
    return bool(name) and name not in _NOT_NAMES and not any(name == t for t in _TITLES)


def _same_person(a: str, b: str) -> bool:
    a, b = normalize(a), normalize(b)
    return a in b or b in a


class _ArticleText:
    """Full article text rebuilt from its chunks (offsets as in the index), plus who speaks where."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: list[tuple[int, int]] = []
        pos = 0
        for line in text.split("\n"):
            self.lines.append((pos, pos + len(line)))
            pos += len(line) + 1
        self.names = {n for a, b in self.lines if (n := self._attributed(a, b)) and _is_name(n)}

    def _attributed(self, a: int, b: int) -> str | None:
        line = self.text[a:b]
        m = _END_ATTRIBUTION.search(line) or _LEAD_ATTRIBUTION.search(line)
        return _strip_title(m.group(1)) if m else None

    def speaker_at(self, offset: int) -> str | None:
        """The person the words at `offset` are attributed to (pronouns resolved backwards)."""
        idx = next((i for i, (a, b) in enumerate(self.lines) if a <= offset <= b), None)
        if idx is None:
            return None
        name = self._attributed(*self.lines[idx])
        if name is None:
            return None
        i = idx
        while not _is_name(name) and i > 0:
            i -= 1
            earlier = self._attributed(*self.lines[i])
            if earlier is None:
                earlier = next((n for n in sorted(self.names, key=len, reverse=True)
                                if n in self.text[self.lines[i][0]:self.lines[i][1]]), None)
            if earlier:
                name = earlier
        return name if _is_name(name) else None


def claim_speaker(claim: str, known: set[str]) -> str | None:
    """Who the claim says is speaking: a known speaker before a speech verb, or the words that
    open the sentence before one ("谢里夫说，…"); None when the claim attributes nothing."""
    m = _CLAIM_SPEAKER.search(claim) or _EN_SPEAKER.search(claim)
    if not m:
        return None
    before = claim[: m.end(1)]
    hits = [n for n in known if n in before]
    if hits:
        return max(hits, key=lambda n: (before.rfind(n), len(n)))
    lead = _LEAD_ATTRIBUTION.match(claim) or _EN_SPEAKER.match(claim.strip())
    if not lead:
        return None
    name = _strip_title(lead.group(1))
    for t in _TITLES:  # "巴基斯坦总理谢里夫" → "谢里夫"
        if t in name:
            name = name.split(t)[-1]
    return name if _is_name(name) and len(name) <= 12 and not re.search(r"[的和与了在对]", name) else None


# --------------------------------------------------------------------------- results
@dataclass
class Evidence:
    article_id: str
    title: str
    date: str
    start: int
    end: int
    sentence: str
    cosine: float
    coverage: float
    speaker: str | None = None


@dataclass
class Contradiction:
    kind: str
    """'number' or 'speaker'."""
    claim: str
    source: str


@dataclass
class SentenceCheck:
    sentence: str
    label: str
    score: float
    evidence: list[Evidence] = field(default_factory=list)
    contradictions: list[Contradiction] = field(default_factory=list)
    unmatched_numbers: list[str] = field(default_factory=list)


@dataclass
class Verification:
    text: str
    question: str | None
    sentences: list[SentenceCheck]

    @property
    def score(self) -> float:
        """Mean label score (supported 1, partly 0.5, otherwise 0); 0 for an empty text."""
        return sum(LABEL_SCORE[s.label] for s in self.sentences) / len(self.sentences) if self.sentences else 0.0

    @property
    def counts(self) -> dict[str, int]:
        return {label: sum(s.label == label for s in self.sentences) for label in LABEL_SCORE}

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "question": self.question, "score": round(self.score, 4), "counts": self.counts,
                "sentences": [asdict(s) for s in self.sentences]}


# --------------------------------------------------------------------------- text helpers
def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def answer_sentences(text: str) -> list[str]:
    clean = strip_markers(text)
    return [clean[s.start:s.end] for s in split_sentences(clean)]


def _content_chars(text: str) -> str:
    return "".join(ch for ch in normalize(text) if not unicodedata.category(ch).startswith(_PUNCT_CATS))


def coverage(claim: str, evidence: str) -> float:
    """Share of the claim's character bigrams (CJK and digits) and Latin words found in the evidence."""
    c, e = _content_chars(claim), _content_chars(evidence)
    grams: set[str] = set()
    for run in re.findall(r"[\u3400-\u9fff\uf900-\ufaff0-9.%]+", c):
        grams |= {run[i:i + 2] for i in range(len(run) - 1)} or {run}
    words = set(re.findall(r"[a-z]{2,}", normalize(claim)))
    if not grams and not words:
        return 0.0
    e_words = set(re.findall(r"[a-z]{2,}", normalize(evidence)))
    hit = sum(g in e for g in grams) + len(words & e_words)
    return hit / (len(grams) + len(words))


# --------------------------------------------------------------------------- the checker
class Verifier:
    """Checks claims against the pipeline's index (or against given passages)."""

    def __init__(self, pipeline: Searchable) -> None:
        self.pipeline = pipeline
        self._articles: dict[tuple[str, str], _ArticleText] = {}
        self._lock = threading.Lock()

    def article(self, article_id: str, version: str) -> _ArticleText:
        key = (article_id, version)
        with self._lock:
            if key not in self._articles:
                self._articles[key] = _ArticleText(self.pipeline.index.article_text(article_id, version))
            return self._articles[key]

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
        query = f"{question} {sentence}" if question and len(_content_chars(sentence)) < 12 else sentence
        docs = list(passages) if passages is not None else self.pipeline.retriever.invoke(query, k=RETRIEVE_K)
        cands = composer.candidates(query, docs) if docs else []
        if not cands:
            return SentenceCheck(sentence, UNSUPPORTED, 0.0)
        content = claim_content(sentence)
        claim_qs = quantities(sentence)

        def rank(c: Any, cov: float) -> float:
            # Numbers steer the choice of evidence: the same value is strong support, the same
            # kind of number (%, USD, 吨...) marks the sentence a contradiction would come from.
            qs = quantities(c.text)
            exact = any(_same_value(q.value, e.value) for q in claim_qs for e in qs)
            kind = any(q.unit == e.unit for q in claim_qs for e in qs)
            return c.cosine + W_COVERAGE * cov + (W_EXACT_NUMBER if exact else W_SAME_UNIT if kind else 0.0)

        scored = [(c, coverage(content, c.text)) for c in cands]
        ranked = sorted(scored, key=lambda p: -rank(*p))
        evidence = []
        for c, cov in ranked[:EVIDENCE_SHOWN]:
            m = c.doc.metadata
            art = self.article(c.article_id, m["version"])
            evidence.append(Evidence(c.article_id, m["title"], m["date"], c.start, c.end, c.text, round(c.cosine, 4),
                                     round(cov, 4), art.speaker_at(c.start)))
        best = evidence[0]
        conflicts, missing = number_conflicts(sentence, [e.sentence for e in evidence])
        numbers_agree = bool(claim_qs) and not missing and not conflicts
        unit_aligned = bool(claim_qs) and any(q.unit == e.unit for q in claim_qs for e in quantities(best.sentence))
        related = (best.cosine >= COS_RELATED or best.coverage >= COVER_RELATED
                   or (not _CJK.search(sentence) and best.cosine >= COS_CROSS_LINGUAL and (numbers_agree or unit_aligned)))
        contradictions: list[Contradiction] = []
        if related:
            contradictions += [Contradiction("number", q.text, e.text) for q, e in conflicts]
            known = set().union(*(self.article(c.article_id, c.doc.metadata["version"]).names for c, _ in ranked[:EVIDENCE_SHOWN]))
            said_by = claim_speaker(sentence, known)
            # The same words may be said by several people: only the evidence close to the best counts.
            close = [e for e in evidence if e.coverage >= best.coverage - 0.1 or e.cosine >= best.cosine - 0.01]
            speakers = [e.speaker for e in close if e.speaker]
            if said_by and best.speaker and not any(_same_person(said_by, sp) for sp in speakers):
                contradictions.append(Contradiction("speaker", said_by, best.speaker))
        if contradictions:
            label = CONTRADICTED
        elif (best.cosine >= COS_SUPPORTED and best.coverage >= COVER_RELATED) or (
            best.coverage >= COVER_SUPPORTED and best.cosine >= COS_RELATED
        ) or (numbers_agree and best.cosine >= COS_RELATED and best.coverage >= COVER_RELATED):
            label = PARTLY if missing else SUPPORTED
        elif related:
            label = PARTLY
        else:
            label = UNSUPPORTED
        return SentenceCheck(sentence, label, round(best.cosine + W_COVERAGE * best.coverage, 4), evidence,
                             contradictions, [q.text for q in missing])


def claim_content(sentence: str) -> str:
    """The claim without a leading attribution ("托卡耶夫说，…" → "…"), for word overlap."""
    m = re.match(r"^\s*(?:据)?[^，,：:]{1,24}?" + _SPEECH + r"[，,：:]\s*", sentence)
    if m and len(sentence) - m.end() >= 6:
        return sentence[m.end():]
    return sentence
