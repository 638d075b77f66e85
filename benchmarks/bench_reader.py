"""The trained reader (qa/answering/reader.py): span EM/F1, answerability and latency.

    python benchmarks/bench_reader.py [--weights qa/models/reader] [--variants fp32,int8] [--limit 3524]

- DRCD dev with the gold passage: the best span of the question's own passage against the gold answers,
  EM/F1 at Chinese character level (qa.evaluation.exact_match / f1_score); all 3,524 questions unless --limit.
- English questions over Chinese passages: the XQuAD passages held out from training (split by passage,
  `qa.training.data.split` with the fraction recorded in the weights' config.json), F1/EM.
- Answerability: each DRCD question (the same questions) also gets the passage of another article that BM25
  ranks best for it among those containing none of its answers (a retrieval-style hard negative): the mean
  no-answer probability on gold and on negative passages, refusals at 0.5 on both, and ROC AUC.
- Latency: reading 3 windows of 192 tokens (one question, three passages that each fill one window), 2
  threads; milliseconds per call (median, p95) and per window.

Prints a Markdown table and writes it to benchmarks/results/reader.md. Development figures: DRCD dev is
never trained on; the held-out English passages are not in the training mix.

Data: DRCD (Shao et al., arXiv 1806.00920) dev set, github.com/DRCKnowledgeTeam/DRCD, CC BY-SA 3.0, read
from /work/shared/bench/drcd; XQuAD (Artetxe et al., ACL 2020), github.com/deepmind/xquad, CC BY-SA 4.0,
read from /work/shared/data/mrc_train.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from qa.answering.reader import WEIGHTS_DIR, Passage, Reader, read_config  # noqa: E402
from qa.evaluation import exact_match, f1_score  # noqa: E402
from qa.training import data  # noqa: E402

DRCD = Path("/work/shared/bench/drcd")
MRC = Path("/work/shared/data/mrc_train")


def load_drcd(limit: int | None) -> tuple[dict[str, dict], list[dict]]:
    passages = {p["id"]: p for p in map(json.loads, (DRCD / "passages.jsonl").read_text(encoding="utf-8").splitlines())}
    questions = [json.loads(x) for x in (DRCD / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    if limit and limit < len(questions):
        questions = random.Random(7).sample(questions, limit)
    return passages, questions


def negatives(passages: dict[str, dict], questions: list[dict]) -> list[str]:
    """Per question, the BM25-best passage of another article that contains none of its answers."""
    import bm25s
    import jieba

    jieba.setLogLevel(60)
    ids = list(passages)
    vocab: dict[str, int] = {}

    def tok(text: str, add: bool) -> list[int]:
        words = [w for w in jieba.lcut(text.lower()) if w.strip()]
        return [vocab.setdefault(w, len(vocab)) if add else vocab[w] for w in words if add or w in vocab]

    retriever = bm25s.BM25()
    retriever.index([tok(passages[i]["text"], True) for i in ids], show_progress=False)
    docs, _ = retriever.retrieve([tok(q["question"], False) or [0] for q in questions], k=20, show_progress=False)
    out = []
    for q, row in zip(questions, docs):
        article = q["passage_id"].split("-")[0]
        pick = next((ids[d] for d in row if ids[d].split("-")[0] != article
                     and not any(a in passages[ids[d]]["text"] for a in q["answers"])), None)
        out.append(pick or next(i for i in ids if i.split("-")[0] != article))
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    """P(no-answer on a negative > no-answer on a gold passage), ties half."""
    p, n = np.asarray(pos), np.asarray(neg)
    return float(((n[:, None] > p[None, :]).sum() + 0.5 * (n[:, None] == p[None, :]).sum()) / (len(p) * len(n)))


def bench_variant(reader: Reader, passages: dict[str, dict], questions: list[dict], negs: list[str],
                  english: list[data.Item]) -> dict[str, float]:
    em, f1, na_gold, na_neg, times = [], [], [], [], []
    for q, neg in zip(questions, negs):
        gold = passages[q["passage_id"]]
        t0 = time.perf_counter()
        reading = reader.read_passages(q["question"], [Passage(gold["text"], gold["id"])])[0]
        times.append(time.perf_counter() - t0)
        best = reading.spans[0].text if reading.spans else ""
        em.append(exact_match(best, q["answers"]))
        f1.append(f1_score(best, q["answers"]))
        na_gold.append(reading.no_answer)
        na_neg.append(reader.read_passages(q["question"], [Passage(passages[neg]["text"], neg)])[0].no_answer)
    en_em, en_f1 = [], []
    for item in english:
        spans = reader.read(item.question, [Passage(item.context, item.id)], top_k=1)
        answers = [a for a, _ in item.answers]
        text = spans[0].text if spans else ""
        en_em.append(exact_match(text, answers))
        en_f1.append(f1_score(text, answers))
    return {
        "drcd_em": 100 * statistics.mean(em), "drcd_f1": 100 * statistics.mean(f1),
        "english_em": 100 * statistics.mean(en_em) if en_em else float("nan"),
        "english_f1": 100 * statistics.mean(en_f1) if en_f1 else float("nan"),
        "no_answer_gold": statistics.mean(na_gold), "no_answer_negative": statistics.mean(na_neg),
        "refused_gold": statistics.mean(x > 0.5 for x in na_gold),
        "refused_negative": statistics.mean(x > 0.5 for x in na_neg),
        "auc": auc(na_gold, na_neg), "ms_per_gold_passage": 1000 * statistics.median(times),
    }


def latency(reader: Reader, passages: dict[str, dict], rounds: int) -> dict[str, float]:
    """One question, 3 passages of exactly one full 192-token window each."""
    reader.read_passages("这是什么？", [Passage("测试")])
    texts = sorted((p["text"] for p in passages.values()), key=len)[-3:]
    tok = reader.tokenizer
    q_ids = tok.question_ids("他在哪一年获得了这个奖项？", reader.question_tokens)
    room = reader.max_tokens - len(q_ids) - 4
    cut = []
    for t in texts:
        ids, starts, ends = tok.encode(t)
        cut.append(Passage(t[: ends[room - 1]]))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        readings = reader.read_passages("他在哪一年获得了这个奖项？", cut)
        times.append(time.perf_counter() - t0)
    assert len(readings) == 3
    times.sort()
    return {"ms_3_windows_median": 1000 * statistics.median(times),
            "ms_3_windows_p95": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))],
            "ms_per_window": 1000 * statistics.median(times) / 3}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--variants", default="fp32,int8")
    ap.add_argument("--limit", type=int, default=None, help="sample of DRCD dev questions (default: all 3,524)")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "reader.md")
    args = ap.parse_args()
    config = read_config(args.weights)
    passages, questions = load_drcd(args.limit)
    negs = negatives(passages, questions)
    _, english = data.split(data.load_items(MRC), float(config["holdout"]))
    results = {}
    for variant in args.variants.split(","):
        reader = Reader(weights_dir=args.weights, variant=variant, num_threads=2)
        results[variant] = {**bench_variant(reader, passages, questions, negs, english),
                            **latency(reader, passages, args.rounds)}
        print(variant, json.dumps({k: round(v, 4) for k, v in results[variant].items()}), flush=True)
    names = list(results)
    rows = [("DRCD dev, gold passage: EM", "drcd_em", "{:.1f}"), ("DRCD dev, gold passage: F1 (target ≥ 85)", "drcd_f1", "{:.1f}"),
            ("English questions, held-out XQuAD passages: EM", "english_em", "{:.1f}"),
            ("English questions, held-out XQuAD passages: F1 (target ≥ 70)", "english_f1", "{:.1f}"),
            ("mean no-answer probability, gold passage", "no_answer_gold", "{:.3f}"),
            ("mean no-answer probability, BM25 negative of another article", "no_answer_negative", "{:.3f}"),
            ("refused (no-answer > 0.5), gold passage", "refused_gold", "{:.3f}"),
            ("refused (no-answer > 0.5), negative passage", "refused_negative", "{:.3f}"),
            ("ROC AUC of no-answer, negative vs gold", "auc", "{:.3f}"),
            ("ms per DRCD question (gold passage, median)", "ms_per_gold_passage", "{:.1f}"),
            ("ms to read 3 windows of 192 tokens, median", "ms_3_windows_median", "{:.1f}"),
            ("ms to read 3 windows of 192 tokens, p95", "ms_3_windows_p95", "{:.1f}"),
            ("ms per window", "ms_per_window", "{:.1f}")]
    lines = [f"# Reader benchmark ({len(questions)} DRCD dev questions, {len(english)} held-out English questions)", "",
             f"Weights: `{args.weights.relative_to(ROOT) if args.weights.is_relative_to(ROOT) else args.weights}` "
             f"(step {config.get('step')}, {config.get('examples_seen')} examples seen); "
             f"{platform.processor() or platform.machine()}, 2 threads, load average {os.getloadavg()[0]:.1f} at the end.", "",
             "| figure | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for label, key, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(fmt.format(results[n][key]) for n in names) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
