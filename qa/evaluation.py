"""Evaluate the wired system on a gold question set: retrieval, answers, citations, refusals.

Gold formats (JSON lines, one question per line):

* native (tests/data/gold.jsonl)::

    {"id": "q01", "question": "...", "lang": "zh", "answerable": true,
     "answers": ["10亿美元"], "articles": ["000_5e0bde8b062db4d5.txt"], "support": "...原文句子..."}

  ``answers``: acceptable answer strings (any one counts); ``articles``: the article file
  name(s) that hold the answer; ``support``: the source sentence (optional); unanswerable
  questions have ``"answerable": false`` and empty lists.
* DRCD / SQuAD-derived: ``{"id", "question", "answers", "passage_id"}`` plus a passages file
  ``{"id", "title", "text"}``; each passage becomes an article whose id is the passage id.

Metric functions are small and pure; `evaluate` runs the pipeline and aggregates them.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.text.normalise import normalize
from qa.verification import SUPPORTED, Verifier, strip_markers

if TYPE_CHECKING:
    from qa.pipeline import Pipeline

KS = (1, 3, 5, 10)
DEFAULT_TOLERANCE = 0.02
HIGHER_IS_BETTER = (
    "hit@1_article", "hit@5_article", "mrr_article", "hit@5_answer_loose", "hit@5_answer_strict", "mrr_answer_strict",
    "containment", "em", "f1", "shown_precision", "citation_precision", "faithfulness", "refusal_accuracy",
)
LOWER_IS_BETTER = ("false_refusal_rate",)
_ARTICLE_SUFFIX = re.compile(r"\.(txt|md)$", re.IGNORECASE)


# --------------------------------------------------------------------------- gold
@dataclass
class GoldItem:
    id: str
    question: str
    answerable: bool
    answers: list[str]
    articles: list[str]
    support: str = ""
    lang: str = ""


def load_gold(path: Path, limit: int | None = None) -> list[GoldItem]:
    """Read a gold file in either format (see module doc); raises QAError naming the bad line."""
    if not path.is_file():
        raise QAError(f"gold file {path} not found: pass a JSONL file of questions (see `qa eval --help`)")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "passage_id" in row:
                answers = [a if isinstance(a, str) else a.get("text", "") for a in row.get("answers", [])]
                items.append(GoldItem(str(row.get("id", n)), row["question"], bool(answers), answers, [str(row["passage_id"])]))
            else:
                items.append(GoldItem(str(row.get("id", n)), row["question"], bool(row.get("answerable", True)),
                                      list(row.get("answers", [])), list(row.get("articles", [])),
                                      row.get("support", "") or "", row.get("lang", "")))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise QAError(f"{path}:{n}: not a gold question ({exc}); each line needs at least \"question\" and "
                          f"\"answers\" plus \"articles\" or \"passage_id\"") from None
        if limit and len(items) >= limit:
            break
    if not items:
        raise QAError(f"{path} holds no questions")
    return items


def write_passages_as_articles(passages: Path, folder: Path) -> int:
    """One article file per passage, named <id>.txt (title as first line), so article id == passage id."""
    if not passages.is_file():
        raise QAError(f"passages file {passages} not found")
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for line in passages.read_text(encoding="utf-8").splitlines():
        if line.strip():
            p = json.loads(line)
            target = folder / f"{p['id']}.txt"
            body = f"{p.get('title', '')}\n{p['text']}".strip() + "\n"
            if not target.exists() or target.read_text(encoding="utf-8") != body:
                target.write_text(body, encoding="utf-8")
            n += 1
    return n


# --------------------------------------------------------------------------- metric functions
def article_key(article_id: str) -> str:
    """Article ids compare without their .txt/.md suffix (so a passage id matches its file)."""
    return _ARTICLE_SUFFIX.sub("", article_id)


def normalize_answer(text: str) -> str:
    """For answer matching: NFKC (full→half width), traditional→simplified, lower case, with
    punctuation, symbols and whitespace removed — except '%' and the '.' inside numbers."""
    text = normalize(strip_markers(text))
    text = re.sub(r"(?<=\d)\.(?=\d)", "\x00", text)
    kept = "".join(ch for ch in text if ch in "%\x00" or not unicodedata.category(ch).startswith(("P", "S", "Z", "C")))
    return kept.replace("\x00", ".")


def answer_tokens(text: str) -> list[str]:
    """Character-level tokens: each CJK character alone, runs of Latin letters or digits together."""
    return re.findall(r"[a-z]+|\d+(?:\.\d+)?%?|[^a-z\d]", normalize_answer(text))


def exact_match(prediction: str, references: Sequence[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(r) for r in references)) if references else 0.0


def f1_score(prediction: str, references: Sequence[str]) -> float:
    """Token-overlap F1 on `answer_tokens`, the best over the references."""
    best = 0.0
    pred = answer_tokens(prediction)
    for ref in references:
        gold = answer_tokens(ref)
        common: dict[str, int] = {}
        for t in gold:
            common[t] = common.get(t, 0) + 1
        overlap = 0
        for t in pred:
            if common.get(t, 0) > 0:
                common[t] -= 1
                overlap += 1
        if overlap:
            precision, recall = overlap / len(pred), overlap / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str, references: Sequence[str]) -> bool:
    t = normalize_answer(text)
    return any(normalize_answer(r) and normalize_answer(r) in t for r in references)


def first_rank(flags: Sequence[bool]) -> int | None:
    """1-based rank of the first True, or None."""
    return next((i for i, f in enumerate(flags, start=1) if f), None)


def hit_at(rank: int | None, k: int) -> float:
    return float(rank is not None and rank <= k)


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# --------------------------------------------------------------------------- one question
@dataclass
class Outcome:
    id: str
    question: str
    answerable: bool
    expected: list[str]
    articles: list[str]
    answer: str
    refused: bool
    seconds: float
    retrieved: list[dict[str, Any]]
    """id, article, rank, has_answer for each retrieved chunk (up to max(KS))."""
    cited: list[dict[str, Any]]
    """n, article, sentence, chunk text and whether it supports the answer, per citation."""
    rank_article: int | None = None
    rank_answer_loose: int | None = None
    rank_answer_strict: int | None = None
    short: str = ""
    """The short answer (the reader's span; the whole answer text when there is none)."""
    em: float = 0.0
    f1: float = 0.0
    contained: bool = False
    """A shown (cited) sentence contains a gold answer (the answer text, when nothing is cited)."""
    shown: int = 0
    shown_ok: int = 0
    """Sentences shown, and how many of them contain a gold answer."""
    citation_precision: float | None = None
    faithful: bool | None = None
    sentence_labels: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    """Texts of the passages the answerer saw (for the ragas export; not in the JSON report)."""

    @property
    def correct(self) -> bool:
        return self.contained if self.answerable else self.refused

    @property
    def verdict(self) -> str:
        if not self.answerable:
            return "correct refusal" if self.refused else "answered an unanswerable question"
        if self.refused:
            return "false refusal"
        return "correct" if self.contained else "wrong answer"


def score_question(item: GoldItem, answer: Any, retrieved: Sequence[Any], seconds: float, verifier: Verifier | None) -> Outcome:
    """Everything measurable about one answered question (answer: qa.answering.answer.Answer; retrieved: Documents)."""
    expected_articles = {article_key(a) for a in item.articles}
    rows = []
    for d in retrieved:
        art = d.metadata["article_id"]
        rows.append({"chunk_id": d.metadata["chunk_id"], "article": art, "rank": d.metadata["rank"],
                     "expected_article": article_key(art) in expected_articles,
                     "has_answer": contains_answer(d.page_content, item.answers)})
    out = Outcome(item.id, item.question, item.answerable, item.answers, item.articles, answer.text, answer.refused,
                  seconds, rows, [], contexts=[d.page_content for d in answer.passages])
    if item.answerable:
        out.rank_article = first_rank([r["expected_article"] for r in rows])
        out.rank_answer_loose = first_rank([r["has_answer"] for r in rows])
        out.rank_answer_strict = first_rank([r["has_answer"] and r["expected_article"] for r in rows])
    if not answer.refused:
        span = getattr(answer, "span", None)
        out.short = span.text if span is not None else answer.text
        if item.answerable:
            # EM/F1 of the short answer; containment of the sentences that state it.
            out.em = exact_match(out.short, item.answers)
            out.f1 = f1_score(out.short, item.answers)
            sentences = [c.sentence for c in answer.citations] or [answer.text]
            out.shown = len(answer.citations)
            out.shown_ok = sum(contains_answer(c.sentence, item.answers) for c in answer.citations)
            out.contained = any(contains_answer(t, item.answers) for t in sentences)
        targets = list(item.answers) + ([item.support] if item.support else [])
        for c in answer.citations:
            ok = bool(targets) and (contains_answer(c.chunk_text, item.answers)
                                    or bool(item.support and normalize_answer(item.support) in normalize_answer(c.chunk_text)))
            out.cited.append({"n": c.n, "article": c.article_id, "sentence": c.sentence, "chunk": c.chunk_text, "supports": ok})
        if item.answerable and out.cited:
            out.citation_precision = mean([float(c["supports"]) for c in out.cited])
        if verifier is not None and answer.citations:
            cited_ids = {c.chunk_id for c in answer.citations}
            passages = [d for d in answer.passages if d.metadata["chunk_id"] in cited_ids]
            check = verifier.verify(answer.text, item.question, passages=passages)
            out.sentence_labels = [s.label for s in check.sentences]
            out.faithful = bool(check.sentences) and all(s.label == SUPPORTED for s in check.sentences)
    return out


# --------------------------------------------------------------------------- the run
@dataclass
class Report:
    meta: dict[str, Any]
    metrics: dict[str, float]
    recall_curve: dict[str, dict[str, float]]
    outcomes: list[Outcome]

    def to_dict(self) -> dict[str, Any]:
        return {"meta": self.meta, "metrics": self.metrics, "recall_curve": self.recall_curve,
                "questions": [{k: v for k, v in asdict(o).items() if k != "contexts"} | {"verdict": o.verdict}
                              for o in self.outcomes]}


def aggregate(outcomes: Sequence[Outcome], ks: Sequence[int] = KS) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    ans = [o for o in outcomes if o.answerable]
    unans = [o for o in outcomes if not o.answerable]
    answered = [o for o in ans if not o.refused]
    curve = {
        kind: {str(k): round(mean([hit_at(getattr(o, f"rank_{kind}"), k) for o in ans]), 4) for k in ks}
        for kind in ("article", "answer_loose", "answer_strict")
    }
    m: dict[str, float] = {"questions": len(outcomes), "answerable": len(ans), "unanswerable": len(unans)}
    for kind in ("article", "answer_loose", "answer_strict"):
        for k in ks:
            m[f"hit@{k}_{kind}"] = curve[kind][str(k)]
        m[f"mrr_{kind}"] = mean([reciprocal_rank(getattr(o, f"rank_{kind}")) for o in ans])
    m["containment"] = mean([float(o.contained) for o in ans])
    m["em"] = mean([o.em for o in ans])
    m["f1"] = mean([o.f1 for o in ans])
    m["shown_precision"] = sum(o.shown_ok for o in answered) / (sum(o.shown for o in answered) or 1)
    m["sentences_per_answer"] = sum(o.shown for o in answered) / (len(answered) or 1)
    precisions = [o.citation_precision for o in answered if o.citation_precision is not None]
    m["citation_precision"] = mean(precisions)
    faithful = [float(o.faithful) for o in outcomes if o.faithful is not None]
    m["faithfulness"] = mean(faithful)
    m["refusal_accuracy"] = mean([float(o.refused) for o in unans])
    m["false_refusal_rate"] = mean([float(o.refused) for o in ans])
    m["accuracy"] = mean([float(o.correct) for o in outcomes])
    seconds = [o.seconds for o in outcomes]
    m["latency_p50_s"] = percentile(seconds, 50)
    m["latency_p95_s"] = percentile(seconds, 95)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}, curve


def evaluate(pipeline: Pipeline, items: Sequence[GoldItem], *, k: int | None = None, faithfulness: bool = True,
             progress: Callable[[int, int], None] | None = None) -> Report:
    """Ask every gold question through `pipeline.ask` (timed) and score it; retrieval is scored to max(KS)."""
    pipeline.index.check_compatible()
    verifier = Verifier(pipeline) if faithfulness else None
    if items:  # warm-up (model, jieba, BM25 snapshot) so the first question's latency is not the load time
        pipeline.ask(items[0].question, k=k)
    outcomes = []
    for i, item in enumerate(items, start=1):
        started = time.perf_counter()
        answer = pipeline.ask(item.question, k=k)
        seconds = time.perf_counter() - started
        # Ranks are a prefix of a longer list, so one deeper retrieval scores every k.
        retrieved = pipeline.retriever.invoke(item.question, k=max(KS))
        outcomes.append(score_question(item, answer, retrieved, seconds, verifier))
        if progress:
            progress(i, len(items))
    metrics, curve = aggregate(outcomes)
    meta = {"created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "embedder": pipeline.index.model_id, "k": k or pipeline.settings.k,
            "articles": len(pipeline.index.records()), "min_relevance": pipeline.settings.min_relevance}
    return Report(meta, metrics, curve, outcomes)


# --------------------------------------------------------------------------- baseline
@dataclass
class Delta:
    metric: str
    baseline: float
    current: float
    regression: bool

    @property
    def change(self) -> float:
        return self.current - self.baseline


def compare(metrics: dict[str, float], baseline: dict[str, Any], tolerance: float = DEFAULT_TOLERANCE) -> list[Delta]:
    """Per-metric deltas against a baseline report; a regression is a loss beyond `tolerance`.
    Latency is shown but never a regression (timings are too noisy to gate on)."""
    base = baseline.get("metrics", baseline)
    out = []
    for name, value in metrics.items():
        if name not in base or not isinstance(value, (int, float)) or name in ("questions", "answerable", "unanswerable"):
            continue
        b = float(base[name])
        worse = (b - value) if name in HIGHER_IS_BETTER else (value - b) if name in LOWER_IS_BETTER else None
        out.append(Delta(name, b, float(value), worse is not None and worse > tolerance + 1e-9))
    return out


# --------------------------------------------------------------------------- outputs
TABLE_ROWS = (
    ("Retrieval (article)", ("hit@1_article", "hit@3_article", "hit@5_article", "hit@10_article", "mrr_article")),
    ("Retrieval (answer, loose)", ("hit@1_answer_loose", "hit@5_answer_loose", "mrr_answer_loose")),
    ("Retrieval (answer, strict)", ("hit@1_answer_strict", "hit@5_answer_strict", "mrr_answer_strict")),
    ("Short answer", ("em", "f1")),
    ("Cited sentences", ("containment", "shown_precision", "sentences_per_answer", "citation_precision", "faithfulness")),
    ("Refusals", ("refusal_accuracy", "false_refusal_rate", "accuracy")),
    ("Latency", ("latency_p50_s", "latency_p95_s")),
)


def format_table(metrics: dict[str, float], deltas: Sequence[Delta] = ()) -> str:
    by_name = {d.metric: d for d in deltas}
    lines = [f"{int(metrics['questions'])} questions ({int(metrics['answerable'])} answerable, "
             f"{int(metrics['unanswerable'])} unanswerable)"]
    for group, names in TABLE_ROWS:
        lines.append(f"{group}")
        for name in names:
            row = f"  {name:<22} {metrics[name]:>8.3f}"
            if name in by_name:
                d = by_name[name]
                row += f"   {d.change:+.3f} vs baseline{'   REGRESSION' if d.regression else ''}"
            lines.append(row)
    return "\n".join(lines)


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")


def write_ragas(report: Report, path: Path) -> int:
    """One row per question in both ragas schemas (0.1: question/answer/contexts/ground_truth;
    0.2+: user_input/response/retrieved_contexts/reference)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for o in report.outcomes:
            contexts = o.contexts
            reference = o.expected[0] if o.expected else "The articles do not contain an answer to this question."
            row = {"id": o.id, "question": o.question, "answer": o.answer, "contexts": contexts, "ground_truth": reference,
                   "user_input": o.question, "response": o.answer, "retrieved_contexts": contexts, "reference": reference}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(report.outcomes)


def recall_svg(curve: dict[str, dict[str, float]], width: int = 460, height: int = 260) -> str:
    """Inline SVG line chart of hit@k for each retrieval criterion (no external assets)."""
    colours = {"article": "#1f77b4", "answer_loose": "#2ca02c", "answer_strict": "#d62728"}
    left, right, top, bottom = 50, 130, 20, 40
    ks = sorted({int(k) for c in curve.values() for k in c})
    if not ks:
        return ""
    w, h = width - left - right, height - top - bottom

    def x(k: int) -> float:
        return left + (w * (ks.index(k) / max(1, len(ks) - 1)))

    def y(v: float) -> float:
        return top + h * (1 - v)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="recall at k">',
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    for v in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.2f}</text>')
    for k in ks:
        parts.append(f'<text x="{x(k):.1f}" y="{top + h + 16}" font-size="11" text-anchor="middle">{k}</text>')
    parts.append(f'<text x="{left + w / 2}" y="{height - 4}" font-size="12" text-anchor="middle">k (passages retrieved)</text>')
    for i, (name, points) in enumerate(curve.items()):
        colour = colours.get(name, "#555")
        pts = " ".join(f"{x(int(k)):.1f},{y(v):.1f}" for k, v in sorted(points.items(), key=lambda p: int(p[0])))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
        for k, v in points.items():
            parts.append(f'<circle cx="{x(int(k)):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>{html.escape(name)} hit@{k} = {v:.3f}</title></circle>')
        parts.append(f'<text x="{left + w + 10}" y="{top + 14 + 18 * i}" font-size="12" fill="{colour}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_html(report: Report, path: Path, deltas: Sequence[Delta] = ()) -> None:
    """A self-contained page: metrics, recall@k curve, per-question outcomes, failures (all text escaped)."""
    e = html.escape
    by_name = {d.metric: d for d in deltas}
    metric_rows = []
    for group, names in TABLE_ROWS:
        metric_rows.append(f"<tr><th colspan='3' class='group'>{e(group)}</th></tr>")
        for name in names:
            d = by_name.get(name)
            delta = "" if d is None else f"<span class='{'bad' if d.regression else 'ok'}'>{d.change:+.3f}</span>"
            metric_rows.append(f"<tr><td>{e(name)}</td><td class='num'>{report.metrics[name]:.3f}</td><td class='num'>{delta}</td></tr>")
    q_rows = []
    for o in report.outcomes:
        cls = "ok" if o.correct else "bad"
        q_rows.append(
            f"<tr class='{cls}'><td>{e(o.id)}</td><td>{e(o.question)}</td><td>{e(o.verdict)}</td>"
            f"<td class='num'>{o.rank_article or '–'}</td><td class='num'>{o.rank_answer_strict or '–'}</td>"
            f"<td class='num'>{o.f1:.2f}</td><td>{e(', '.join(o.sentence_labels))}</td><td class='num'>{o.seconds:.2f}</td></tr>")
    failures = []
    for o in report.outcomes:
        if o.correct and o.faithful is not False:
            continue
        cites = "".join(
            f"<li><b>[{c['n']}]</b> <code>{e(c['article'])}</code> {'supports' if c['supports'] else 'does not support'}: "
            f"{e(c['sentence'])}</li>" for c in o.cited) or "<li>none</li>"
        reason = o.verdict if not o.correct else "answer not fully supported by its citations"
        failures.append(
            f"<div class='failure'><h3>{e(o.id)} — {e(reason)}</h3><p><b>Question:</b> {e(o.question)}</p>"
            f"<p><b>Expected:</b> {e(' | '.join(o.expected) or '(refusal)')} <small>in {e(', '.join(o.articles) or '—')}</small></p>"
            f"<p><b>Got:</b> {e(o.answer)}</p><p><b>Short answer:</b> {e(o.short or '—')}</p><p><b>Cited passages:</b></p><ul>{cites}</ul></div>")
    meta = " · ".join(f"{e(str(k))}: {e(str(v))}" for k, v in report.meta.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>article-qa evaluation</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }} td, th {{ border: 1px solid #ddd; padding: 3px 8px; text-align: left; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; }} th.group {{ background: #f4f4f4; }}
tr.bad td {{ background: #fff0f0; }} .bad {{ color: #b00; }} .ok {{ color: #070; }}
.failure {{ border: 1px solid #e5b4b4; border-radius: 6px; padding: 8px 12px; margin-bottom: 10px; }}
</style></head><body>
<h1>article-qa evaluation</h1><p>{meta}</p>
<h2>Metrics</h2><table>{''.join(metric_rows)}</table>
<h2>Recall@k</h2>{recall_svg(report.recall_curve)}
<h2>Per question</h2>
<table><tr><th>id</th><th>question</th><th>outcome</th><th>article rank</th><th>answer rank (strict)</th><th>F1</th><th>sentence labels</th><th>s</th></tr>
{''.join(q_rows)}</table>
<h2>Failures ({len(failures)})</h2>{''.join(failures) or '<p>None.</p>'}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
