"""Who said what on real news: the statement extractor against hand-labelled dev sets, beside today's extractor.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_quotes.py            # both sets, LAC and jieba taggers
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_quotes.py --set zh --show-misses
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_quotes.py --index-cost --no-jieba   # + extraction vs qa index

Data (research-only news texts, measured here, never copied into the repository):
- ../shared/bench/quotes_zh: 25 Xinhua articles, 203 statements labelled by hand (UHGEval texts, © Xinhua).
- ../shared/bench/quotes_en: PolNeAR dev split, 28 articles, 602 attributions (Newell, Margolin and Ruths, LREC 2018).

Matching: a predicted statement and a labelled one match when their character spans overlap by at least half of the
shorter one (one-to-one, right speaker first, then larger overlap). The speaker is right when, after normalising,
one name contains the other (Chinese: characters; English: words, titles and "the" dropped) — PolNeAR's speakers
keep their descriptions, so containment is the fair test. Printed figures, never timed tests.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/bench")
QUOTE_MARKS = "“”\"‘’'`"


def _gold(name: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    folder = SHARED / name
    gold = [json.loads(line) for line in (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "articles").iterdir())}
    for g in gold:
        g["chars"] = _gold_chars(texts[g["article"]], g["quote"], g["start"])
    return texts, gold


def _gold_chars(text: str, quote: str, start: int) -> set[int]:
    """The characters a labelled quote covers; a quote in several pieces (joined by spaces) is found word by word."""
    if text[start : start + len(quote)] == quote:
        return set(range(start, start + len(quote)))
    out: set[int] = set()
    pos = start
    for word in quote.split():
        i = text.find(word, pos, pos + 400)
        if i < 0:
            continue
        out.update(range(i, i + len(word)))
        pos = i + len(word)
    return out


def _norm_zh(name: str) -> str:
    return re.sub(r"[《》“”\"·•‧・\-\s（）()]", "", name)


_TITLES_EN = re.compile(r"^(?:the|mr|mrs|ms|dr|sen|rep|gov|president|secretary|senator|gen|lt|col)\.?$", re.I)


def _words_en(name: str) -> set[str]:
    words = re.findall(r"[A-Za-z][A-Za-z\-]*", name.replace("’s", "").replace("'s", ""))
    return {w.lower() for w in words if not _TITLES_EN.match(w)}


def speaker_ok(pred: str, gold: str, lang: str) -> bool:
    if lang == "zh":
        a, b = _norm_zh(pred), _norm_zh(gold)
        return bool(a) and bool(b) and (a in b or b in a)
    a, b = _words_en(pred), _words_en(gold)
    if bool(a) and bool(b) and (a <= b or b <= a):
        return True
    # "Erin Murphy" is "Murphy, now a consultant on Burma …": the surname against the name part of a description
    lead = _words_en(gold.split(",")[0])
    last = pred.split()[-1].lower() if pred.split() else ""
    return bool(last) and pred[:1].isupper() and last in lead and len(lead) <= 3


def match(preds: list[dict[str, Any]], gold: list[dict[str, Any]], lang: str) -> list[tuple[int, int, bool]]:
    """One-to-one (gold index, pred index, right speaker) pairs."""
    pairs = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(preds):
            if p["article"] != g["article"] or not g["chars"]:
                continue
            inter = len(g["chars"] & p["chars"])
            if inter and inter >= 0.5 * min(len(g["chars"]), len(p["chars"])):
                ok = speaker_ok(p["speaker"], g["speaker"], lang)
                iou = inter / len(g["chars"] | p["chars"])
                pairs.append((ok, iou, gi, pi))
    pairs.sort(key=lambda t: (not t[0], -t[1]))
    used_g, used_p, out = set(), set(), []
    for ok, _, gi, pi in pairs:
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        out.append((gi, pi, ok))
    return out


def predict_new(texts: dict[str, str], tokenizer: Any = None) -> tuple[list[dict[str, Any]], float]:
    from qa.extraction.statements import extract_statements

    out = []
    t0 = time.perf_counter()
    for name, text in texts.items():
        for st in extract_statements(text, article_id=name, tokenizer=tokenizer):
            out.append({"article": name, "speaker": st.speaker, "type": st.speaker_type, "kind": st.kind, "mention": st.mention,
                        "cue": st.cue, "text": st.text, "chars": set(range(st.start, st.end))})
    return out, time.perf_counter() - t0


def predict_old(texts: dict[str, str]) -> list[dict[str, Any]]:
    """Today's extractor (qa.quotes.extract_quotes) on the same texts, offsets mapped back to the file."""
    try:
        from qa.articles import parse_article
        from qa.quotes import extract_quotes  # type: ignore[attr-defined]
    except ImportError:
        try:
            from qa.extraction.quotes import QUOTES_EXTRACTOR, extract_quotes  # type: ignore[attr-defined,no-redef]
        except ImportError:
            return []
        if QUOTES_EXTRACTOR >= 2:  # the rule-based extractor (version 1) is gone: its figures are on record
            return []
    out = []
    for name, text in texts.items():
        article = parse_article(text, name)
        for q in extract_quotes(article):
            start = text.find(q.text)  # the reader may drop title and date lines: find the span in the file
            if start < 0:
                continue
            out.append({"article": name, "speaker": q.raw_speaker, "type": "person", "kind": q.kind, "mention": q.mention,
                        "cue": q.verb, "text": q.text, "chars": set(range(start, start + len(q.text)))})
    return out


OLD_RECORD = ROOT / "benchmarks" / "results" / "quotes_old.txt"
"""Today's (rule-based) extractor's figures, measured by this script before that extractor was removed."""


def _print_old(lang: str, line: str | None) -> None:
    if line is not None:
        print(line)
    elif OLD_RECORD.is_file():
        for rec in OLD_RECORD.read_text(encoding="utf-8").splitlines():
            if rec.startswith(lang + " "):
                print(rec.replace(" old ", " old*", 1) + "   (* recorded in benchmarks/results/quotes_old.txt)")


def _type_pred(t: str) -> str:
    return "organisation" if t in ("media", "government") else t


def score_zh(preds: list[dict[str, Any]], gold: list[dict[str, Any]]) -> dict[str, float]:
    pairs = match(preds, gold, "zh")
    right = [(g, p) for g, p, ok in pairs if ok]
    typed = sum(1 for g, p in right if _type_pred(preds[p]["type"]) == gold[g]["speaker_type"])
    return {
        "labelled": len(gold), "extracted": len(preds), "found": len(pairs) / len(gold),
        "right_speaker": len(right) / len(gold), "precision": len(right) / len(preds) if preds else 0.0,
        "type_acc": typed / len(right) if right else 0.0,
    }


def _is_quoted(q: str) -> bool:
    return any(ch in q for ch in "“”\"") or "''" in q or "``" in q


def score_en(preds: list[dict[str, Any]], gold: list[dict[str, Any]]) -> dict[str, float]:
    pairs = match(preds, gold, "en")
    by_gold = {g: ok for g, _, ok in pairs}
    quoted = [i for i, g in enumerate(gold) if _is_quoted(g["quote"])]
    reported = [i for i, g in enumerate(gold) if not _is_quoted(g["quote"])]
    qf = [i for i in quoted if i in by_gold]
    rf = [i for i in reported if i in by_gold]
    # PolNeAR's pronoun sources were named by CoreNLP coreference (silver): the named-mention figure is the firm one.
    pred_of = {g: p for g, p, _ in pairs}
    named = [i for i in qf if preds[pred_of[i]]["mention"].lower() not in ("he", "she", "they", "it")]
    return {
        "labelled": len(gold), "extracted": len(preds),
        "quoted": len(quoted), "quoted_found": len(qf) / max(1, len(quoted)),
        "quoted_right_of_found": sum(by_gold[i] for i in qf) / max(1, len(qf)),
        "quoted_right_named_mention": sum(by_gold[i] for i in named) / max(1, len(named)),
        "reported": len(reported), "reported_found": len(rf) / max(1, len(reported)),
        "reported_right_of_found": sum(by_gold[i] for i in rf) / max(1, len(rf)),
        "precision": sum(1 for _, _, ok in pairs if ok) / len(preds) if preds else 0.0,
    }


def jieba_tokenizer():  # type: ignore[no-untyped-def]
    """jieba's POS tags in LAC's tag names (nr→PER, ns→LOC, nt→ORG, t→TIME), for the tagger comparison."""
    import jieba
    import jieba.posseg as pseg

    from qa.text.entities import Token

    jieba.setLogLevel(60)
    rename = {"nr": "PER", "nrfg": "PER", "nrt": "PER", "ns": "LOC", "nt": "ORG", "t": "TIME", "x": "w"}
    cache: dict[str, tuple[Token, ...]] = {}

    def tok(text: str) -> tuple[Token, ...]:
        if text not in cache:
            out, pos = [], 0
            for w in pseg.cut(text):
                tag = rename.get(w.flag, w.flag)
                if tag == "w" and not re.match(r"\W", w.word):
                    tag = "eng"
                out.append(Token(w.word, tag, pos, pos + len(w.word)))
                pos += len(w.word)
            cache[text] = tuple(out)
        return cache[text]

    return tok


def _fmt(d: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items())


def _misses(preds: list[dict[str, Any]], gold: list[dict[str, Any]], lang: str) -> None:
    pairs = match(preds, gold, lang)
    got = {g: (p, ok) for g, p, ok in pairs}
    matched_p = {p for _, p, _ in pairs}
    for i, g in enumerate(gold):
        if i not in got:
            print(f"  MISS  {g['article'][:22]} [{g.get('cue', '')}] {g['speaker']} / {g.get('mention', '')}: {g['quote'][:60]}")
        elif not got[i][1]:
            p = preds[got[i][0]]
            print(f"  WHO   {g['article'][:22]} gold {g['speaker']} ≠ {p['speaker']} ({p['mention']}) : {g['quote'][:40]}")
    for j, p in enumerate(preds):
        if j not in matched_p:
            print(f"  EXTRA {p['article'][:22]} [{p['cue']}] {p['speaker']} ({p['mention']}): {p['text'][:60]}")


def index_cost() -> None:
    """CPU seconds of extraction vs a whole `qa index` of the same dev articles (a fresh index in a temp folder)."""
    import resource
    import shutil
    import subprocess
    import tempfile

    from qa.articles import load_articles
    from qa.extraction.quotes import extract_quotes

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        for name in ("quotes_zh", "quotes_en"):
            for f in (SHARED / name / "articles").iterdir():
                shutil.copy(f, folder / f.name)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        qa = Path(sys.executable).with_name("qa")
        subprocess.run([str(qa), "--articles", str(folder), "--vectorstore", str(Path(tmp) / "vs"), "index"], check=True,
                       stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        index_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        articles = load_articles(folder).articles
        t0 = time.process_time()
        n = sum(len(extract_quotes(a)) for a in articles)  # model loads included
        extract_cpu = time.process_time() - t0
    print(f"index cost: qa index {index_cpu:.1f} s CPU for {len(articles)} articles; extraction {extract_cpu:.1f} s CPU "
          f"({n} statements) = {100 * extract_cpu / index_cpu:.1f}% of it")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=["zh", "en", "both"], default="both")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--no-old", action="store_true")
    ap.add_argument("--no-jieba", action="store_true")
    ap.add_argument("--index-cost", action="store_true", help="also time extraction against a whole qa index (minutes)")
    args = ap.parse_args(argv)
    if args.index_cost:
        index_cost()
    if args.set in ("zh", "both"):
        texts, gold = _gold("quotes_zh")
        preds, secs = predict_new(texts)
        print(f"zh  new (LAC)   {_fmt(score_zh(preds, gold))}  ({secs:.2f} s, {1000 * secs / len(texts):.0f} ms/article)")
        if not args.no_jieba:
            jp, jsecs = predict_new(texts, tokenizer=jieba_tokenizer())
            print(f"zh  new (jieba) {_fmt(score_zh(jp, gold))}  ({jsecs:.2f} s)")
        if not args.no_old:
            old = predict_old(texts)
            _print_old("zh", f"zh  old         {_fmt(score_zh(old, gold))}" if old else None)
        if args.show_misses:
            _misses(preds, gold, "zh")
    if args.set in ("en", "both"):
        texts, gold = _gold("quotes_en")
        preds, secs = predict_new(texts)
        print(f"en  new         {_fmt(score_en(preds, gold))}  ({secs:.2f} s, {1000 * secs / len(texts):.0f} ms/article)")
        if not args.no_old:
            old = predict_old(texts)
            _print_old("en", f"en  old         {_fmt(score_en(old, gold))}" if old else None)
        if args.show_misses:
            _misses(preds, gold, "en")
    return 0


if __name__ == "__main__":
    sys.exit(main())
