"""A claim's facts against its evidence: which are stated, which conflict (with the article's value), which are absent."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from qa.text.countries import gazetteer
from qa.text.dates import DateExpr, dates
from qa.text.directions import directions, negated
from qa.text.normalise import normalize
from qa.text.quantities import Quantity, quantities
from qa.verification.facts import (
    Analysis,
    Fact,
    analyse,
    context_overlap,
    context_words,
    figures,
    name_in,
    name_key,
    word_coverage,
)

RIVAL_MIN_COVERAGE = 0.1
"""A sentence can hold the article's value for a claim's fact only if it shares this much of the claim's words."""
CONTEXT_WIDTH = 3
"""Content words each side of a figure or name that say what it is (运动员 in 300多名运动员)."""
W_CONTEXT = 0.2
FACT_IN_CONTEXT = True
W_BEST = 0.1
RIVAL_MIN_SCORE = 0.3
"""Coverage of the sentence + W_CONTEXT per context word in common (+ W_BEST for the best evidence)."""
STATEMENT_MIN_COVERAGE = 0.3
"""Direction, negation and role conflicts are read only from a sentence this close to the claim."""


@dataclass
class Conflict:
    """A claim fact the article states otherwise: the claim's words, the article's and where it says so."""

    kind: str
    claim: str
    source: str
    sentence: str
    article_id: str
    start: int
    end: int


@dataclass
class ArticleFacts:
    """An evidence article's text and every figure and date in it, read once."""

    article_id: str
    text: str
    date: dt.date | None
    key: str = ""
    quantities: list[Quantity] = field(default_factory=list)
    dates: list[DateExpr] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def read(cls, article_id: str, text: str, date: dt.date | None, sentences: list[tuple[int, int]],
             spans: tuple[tuple[int, int], ...] | None = None) -> ArticleFacts:
        """With `spans` (cited passages), only the text inside them counts as what the article states."""
        own = [DateExpr(date.isoformat(), 0, 0, date.year, date.month, date.day)] if date else []
        if spans is not None:
            sentences = [(a, b) for a, b in sentences if any(x <= a and b <= y for x, y in spans)]
            stated = "\n".join(text[x:y] for x, y in spans)
        else:
            stated = text
        return cls(article_id, text, date, name_key(stated), quantities(stated), own + dates(stated, date), sentences)


@dataclass
class Sentence:
    """A sentence that may hold evidence: where it is, how close to the claim, its analysis."""

    article: ArticleFacts
    start: int
    end: int
    coverage: float
    best: bool = False

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]

    def analysis(self) -> Analysis:
        return analyse(self.text, self.article.date)


@dataclass
class Comparison:
    present: list[Fact] = field(default_factory=list)
    missing: list[Fact] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    absent_nouns: list[str] = field(default_factory=list)


def fact_stated(fact: Fact, articles: list[ArticleFacts]) -> bool:
    """Whether any of the articles states the fact (a name as written, a figure or date as a value)."""
    if fact.is_name:
        return any(name_in(fact.text, a.key) for a in articles)
    if fact.quantity is not None:
        q = fact.quantity
        return any(q.agrees(o) for a in articles for o in a.quantities)
    if fact.date is not None:
        d = fact.date
        return any(d.agrees(o) for a in articles for o in a.dates)
    return False


def stated_in(fact: Fact, sentence: Sentence) -> bool:
    """Whether this sentence states the fact (names as written, figures and dates as values; no LAC pass)."""
    if fact.is_name:
        return name_in(fact.text, name_key(sentence.text))
    qs, ds = figures(sentence.text, sentence.article.date)
    if fact.quantity is not None:
        return any(fact.quantity.agrees(q) for q in qs)
    if fact.date is not None:
        return any(fact.date.agrees(d) for d in ds)
    return False


def _conflict(kind: str, claim: str, source: str, s: Sentence) -> Conflict:
    return Conflict(kind, claim, source, s.text, s.article.article_id, s.start, s.end)


def _rival(fact: Fact, claim: Analysis, s: Sentence, ev: Analysis, cross_lingual: bool = False) -> tuple[float, str] | None:
    """The words of `s` that state what `fact` states, differently, with how sure that is; None when none do.

    A rival is a figure of the same unit, a date that differs in a field both state, or a name of
    the same kind the claim does not contain. It counts where it stands in the same context (a
    content word around it in common) in a sentence sharing the claim's words, or anywhere in
    the best evidence when that says nearly what the claim says — or when the claim is in another
    language, where words cannot be compared and the best sentence's figure of the same unit is the rival."""
    ctx = context_words(claim, fact.start, fact.end, CONTEXT_WIDTH)
    if FACT_IN_CONTEXT and fact.is_name:
        ctx = ctx | {normalize(fact.text)}  # 罗大妈 / 大妈王友群: the claim's name holds the rival's role word
    claim_key = name_key(claim.text)
    best: tuple[float, str] | None = None
    for other in ev.facts:
        if fact.quantity is not None and other.quantity is not None:
            q, o = fact.quantity, other.quantity
            if q.unit != o.unit or q.ordinal != o.ordinal or q.agrees(o):
                continue
            if any(c.quantity is not None and (c.quantity.agrees(o)) for c in claim.facts):
                continue  # the article's figure is in the claim too, for something else
        elif fact.date is not None and other.date is not None:
            if not fact.date.conflicts(other.date):
                continue
            if any(c.date is not None and c.date.agrees(other.date) for c in claim.facts):
                continue
        elif fact.is_name and (other.kind == fact.kind or {other.kind, fact.kind} == {"organisation", "term"}):
            if name_in(other.text, claim_key) or name_key(fact.text) in name_key(other.text):
                continue
        else:
            continue
        overlap = context_overlap(ctx, context_words(ev, other.start, other.end, CONTEXT_WIDTH))
        if fact.is_name and len(fact.text) >= 3 and len(other.text) >= 3 and fact.text[-2:] == other.text[-2:]:
            overlap += 1  # 青山区法院 / 汉阳区法院: the same kind of body, another one
        if fact.kind == "place" and other.kind == "place" and is_country(fact.text) != is_country(other.text):
            continue  # a city is not contradicted by a country (在伊斯兰堡 vs 哈萨克斯坦和巴基斯坦)
        if fact.kind in ("organisation", "place", "term") and other.text[-1] != fact.text[-1] and not overlap:
            continue  # 临汾市 / 永济市, or the same role: a rival; 北京 / 国际奥委会: not comparable
        score = s.coverage + W_CONTEXT * overlap + (W_BEST if s.best else 0.0)
        if overlap:
            ok = score >= RIVAL_MIN_SCORE
        else:
            ok = s.best and (s.coverage >= STATEMENT_MIN_COVERAGE or cross_lingual)
        if ok and (best is None or score > best[0]):
            best = (score, other.text)
    return best


def _statement_conflicts(claim: Analysis, s: Sentence) -> list[Conflict]:
    """Direction words, negation and who-did-what-to-whom against a sentence that says nearly the same."""
    out: list[Conflict] = []
    ev_text = normalize(s.text)
    claim_text = normalize(claim.text)
    ev_dirs = directions(ev_text)
    for d in directions(claim_text):
        if any(e.axis == d.axis and e.pole == d.pole for e in ev_dirs):
            continue
        opp = [e for e in ev_dirs if d.opposes(e)]
        if opp and not any(o.word in claim_text for o in opp):
            out.append(_conflict("direction", d.word, opp[0].word, s))
    ev = s.analysis()
    for t in claim.words:
        if t.tag != "v" or len(t.text) < 2 or t.text not in ev_text:
            continue
        mine = negated(claim_text, t.start)
        theirs = [negated(ev_text, i) for i in _positions(ev_text, t.text)]
        if theirs and all(x != mine for x in theirs):
            words = claim_text[max(0, t.start - 2):t.end] if mine else t.text
            src = t.text if mine else ev_text[max(0, _positions(ev_text, t.text)[0] - 2):_positions(ev_text, t.text)[0] + len(t.text)]
            out.append(_conflict("negation", words, src, s))
    out += _role_conflicts(claim, ev, s)
    return out


_COMPOUND_TAGS = {"n", "nz", "nw", "LOC", "ORG", "an", "vn", "s"}
_ENTITY_MODIFIERS = {"LOC", "ORG", "PER"}


def _compound_conflicts(claim: Analysis, s: Sentence, articles: list[ArticleFacts]) -> list[Conflict]:
    """国际股市 in the claim, 伦敦股市 in the article: the same head noun, with a named place, body or
    person in front of it that the claim does not name — and the claim's compound is nowhere in the articles."""
    ev = s.analysis()
    keys = [a.key for a in articles]
    claim_key = name_key(claim.text)
    out = []
    words = claim.words
    for i in range(1, len(words)):
        head, mod = words[i], words[i - 1]
        if head.tag not in ("n", "nz") or len(head.text) < 2 or mod.tag not in _COMPOUND_TAGS or mod.end != head.start:
            continue
        compound = mod.text + head.text
        if any(name_key(compound) in k for k in keys):
            continue
        for j in range(1, len(ev.words)):
            other, emod = ev.words[j], ev.words[j - 1]
            if other.text != head.text or emod.tag not in _ENTITY_MODIFIERS or emod.end != other.start:
                continue
            if name_in(emod.text, claim_key) or emod.text == mod.text:
                continue
            out.append(_conflict("term", compound, emod.text + other.text, s))
            break
    return out


def _positions(text: str, word: str) -> list[int]:
    out, i = [], text.find(word)
    while i >= 0:
        out.append(i)
        i = text.find(word, i + 1)
    return out


def _role_conflicts(claim: Analysis, ev: Analysis, s: Sentence) -> list[Conflict]:
    """A战胜B in the claim, B战胜A in the article: the same names around the same verb, swapped."""
    names = [f for f in claim.facts if f.kind in ("person", "organisation", "place")]
    ev_names = [f for f in ev.facts if f.kind in ("person", "organisation", "place")]
    out = []
    for t in claim.words:
        if t.tag != "v" or len(t.text) < 2:
            continue
        before = [f for f in names if f.end <= t.start]
        after = [f for f in names if f.start >= t.end]
        if not before or not after:
            continue
        a, b = name_key(before[-1].text), name_key(after[0].text)
        if a == b:
            continue
        orders = []
        for pos in _positions(ev.text, t.text):
            eb = [name_key(f.text) for f in ev_names if f.end <= pos]
            ea = [name_key(f.text) for f in ev_names if f.start >= pos + len(t.text)]
            if eb and ea:
                orders.append((eb[-1], ea[0]))
        # A sentence can state both orders (A's hotel built in B, B's in A): only the swapped one alone conflicts.
        if (b, a) in orders and (a, b) not in orders:
            out.append(_conflict("role", f"{before[-1].text}{t.text}{after[0].text}", f"{b}{t.text}{a}", s))
    if out:
        return out
    # "A向B…", "A击败B": two names joined by the same words, in the other order.
    for x, y in zip(names, names[1:]):
        link = claim.text[x.end:y.start]
        if not 0 < len(link) <= 6 or not _LINK.search(link) or name_key(x.text) == name_key(y.text):
            continue
        pairs = [(u, v) for u, v in zip(ev_names, ev_names[1:]) if ev.text[u.end:v.start] == link]
        same = any(name_key(u.text).endswith(name_key(x.text)) and name_key(v.text).endswith(name_key(y.text))
                   for u, v in pairs)
        for u, v in pairs:
            if (not same and name_key(u.text).endswith(name_key(y.text))
                    and name_key(v.text).endswith(name_key(x.text))):
                out.append(_conflict("role", f"{x.text}{link}{y.text}", f"{u.text}{link}{v.text}", s))
                break
    return out


def is_country(name: str) -> bool:
    """Whether a place name is a country's (CLDR names through qa.text.countries' gazetteer)."""
    return normalize(name) in gazetteer().forms


_LINK = re.compile(r"[向对给被把让将击战胜负败]")
"""Words between two names that give them roles (A向B, A击败B); 和/与/、 join them as equals."""


def compare(claim: Analysis, evidence: list[Sentence], articles: list[ArticleFacts], more: list[Sentence],
            cross_lingual: bool = False) -> Comparison:
    """Every fact of `claim` as stated, conflicting or absent; `evidence` is ranked best first,
    `more` are further sentences of the evidence articles that may hold a conflicting value."""
    out = Comparison()
    keys = [a.key for a in articles]
    out.absent_nouns = [w for w in claim.nouns if not any(name_key(w) in k for k in keys)]
    rivals = [s for s in evidence + more if s.coverage >= RIVAL_MIN_COVERAGE or s.best]
    if cross_lingual:
        rivals = evidence[:1]
    for fact in claim.facts:
        # A figure or date counts as stated where a sentence about the same thing states it; one
        # that only turns up elsewhere in the article loses to another value in that sentence
        # (the gold price's 273.4 elsewhere in a market report is not today's high).
        if fact.is_name and fact_stated(fact, articles) or any(stated_in(fact, s) for s in rivals):
            out.present.append(fact)
            continue
        found = [(r, s) for s in rivals if (r := _rival(fact, claim, s, s.analysis(), cross_lingual))]
        if found:
            (_, source), s = max(found, key=lambda p: p[0][0])
            out.conflicts.append(_conflict(fact.kind, fact.text, source, s))
        elif fact_stated(fact, articles):
            out.present.append(fact)
        else:
            out.missing.append(fact)
    if evidence and evidence[0].coverage >= STATEMENT_MIN_COVERAGE:
        out.conflicts += _statement_conflicts(claim, evidence[0])
    for s in evidence[:2]:
        if s.coverage >= RIVAL_MIN_COVERAGE and not out.conflicts:
            out.conflicts += _compound_conflicts(claim, s, articles)
    return out


def related_sentences(claim: Analysis, article: ArticleFacts, skip: set[tuple[str, int]], limit: int = 8) -> list[Sentence]:
    """The article's sentences that share most of the claim's words (where a conflicting value would be)."""
    scored = []
    for a, b in article.sentences:
        if (article.article_id, a) in skip:
            continue
        cov = word_coverage(claim, article.text[a:b])
        if cov >= RIVAL_MIN_COVERAGE:
            scored.append(Sentence(article, a, b, cov))
    scored.sort(key=lambda s: -s.coverage)
    return scored[:limit]


def number_conflicts(claim: str, evidence: list[str]) -> tuple[list[tuple[Quantity, Quantity]], list[Quantity]]:
    """(claim quantity, evidence quantity) pairs that disagree, and claim quantities found nowhere.

    A claim number that equals any evidence number counts as supported. Otherwise it conflicts
    with the first number of the same kind (unit) in the *best* evidence sentence (evidence[0]).
    """
    found = [q for e in evidence for q in quantities(e)]
    best = quantities(evidence[0]) if evidence else []
    conflicts, missing = [], []
    for q in quantities(claim):
        if any(q.agrees(e) for e in found):
            continue
        rival = next((e for e in best if e.unit == q.unit and e.ordinal == q.ordinal), None)
        if rival is not None:
            conflicts.append((q, rival))
        else:
            missing.append(q)
    return conflicts, missing
