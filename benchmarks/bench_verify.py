"""How well `qa verify` labels real LLM hallucinations in Chinese news, and how fast it is.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_verify.py                 # quality on the dev set
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_verify.py --timing        # + 5-sentence answers at ~10k chunks
                                               (first run builds the scaled index: ~70 min on a loaded 2-core box)
    PYTHONPATH=/path/to/old/tree .venv/bin/python benchmarks/bench_verify.py --name old   # another checker's figures

Data: ../shared/bench/verify_zh (239 claims over 219 Xinhua articles, built from UHGEval, ACL 2024;
code Apache-2.0, news text © Xinhua, research and education only: it is read from there at run
time and never copied into the repository; results keep claim ids and labels only). About one
label in ten is noisy. Every claim is checked against an index of all 219 articles, as `qa verify`
checks an answer against the whole index.

Writes benchmarks/results/verify_<name>.json; prints this run's figures beside every other
stored run (e.g. the checker before issue 17, stored as verify_old.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("QA_BENCH_VERIFY", "/work/shared/bench/verify_zh"))
WORK = ROOT / "benchmarks" / "work" / "verify_zh"
RESULTS = ROOT / "benchmarks" / "results"
LABELS = ("supported", "partly supported", "unsupported", "contradicted")
GOLD = ("supported", "contradicted", "unsupported")


def write_articles(folder: Path) -> None:
    """The bench's article files (title line, timestamp line, body) in this project's file format."""
    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted((DATA / "articles").glob("*.txt")):
        title, stamp, *body = src.read_text(encoding="utf-8").split("\n")
        m = re.match(r"\d{4}-\d{2}-\d{2}", stamp.strip())
        header = f"date {m.group(0)}\n" if m else ""
        target = folder / src.name
        text = header + title.strip() + "\n" + "\n".join(body).strip() + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def figures(rows: list[dict]) -> dict[str, float]:
    by_gold: dict[str, Counter] = {g: Counter() for g in GOLD}
    for r in rows:
        by_gold[r["gold"]][r["label"]] += 1
    share = {g: {lab: by_gold[g][lab] / max(1, sum(by_gold[g].values())) for lab in LABELS} for g in GOLD}
    sup_recall = share["supported"]["supported"]
    not_sup = [r for r in rows if r["gold"] != "supported"]
    not_recall = sum(r["label"] != "supported" for r in not_sup) / max(1, len(not_sup))
    out = {
        "contradicted→contradicted": share["contradicted"]["contradicted"],
        "contradicted→supported": share["contradicted"]["supported"],
        "absent→supported": share["unsupported"]["supported"],
        "true→supported": sup_recall,
        "balanced_accuracy": (sup_recall + not_recall) / 2,
        "macro_f1_3way": 0.0,
    }
    # 3-way: supported / contradicted / not-supported-otherwise (partly or unsupported).
    def three(lab: str) -> str:
        return lab if lab in ("supported", "contradicted") else "unsupported"
    f1s = []
    for c in GOLD:
        tp = sum(three(r["label"]) == c and r["gold"] == c for r in rows)
        p = tp / max(1, sum(three(r["label"]) == c for r in rows))
        rc = tp / max(1, sum(r["gold"] == c for r in rows))
        f1s.append(2 * p * rc / (p + rc) if p + rc else 0.0)
    out["macro_f1_3way"] = sum(f1s) / 3
    for g in GOLD:
        for lab in LABELS:
            out[f"{g}→{lab}"] = share[g][lab]
    return {k: round(v, 4) for k, v in out.items()}


TARGETS = {"contradicted→contradicted": ("≥", 0.85), "contradicted→supported": ("≤", 0.05),
           "absent→supported": ("≤", 0.05), "true→supported": ("≥", 0.95), "balanced_accuracy": ("", None),
           "macro_f1_3way": ("", None), "answer5_p50_s": ("≤", 1.0), "answer5_p95_s": ("≤", 1.0)}


def scaled_corpus(folder: Path, replicas: int) -> None:
    """The bench articles plus perturbed replicas (sentences rotated, other names and dates), ~748 chunks each copy."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_pipeline import perturb  # the same replicas as the pipeline benchmark

    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted((WORK / "articles").glob("*.txt")):
        header, title, body = src.read_text(encoding="utf-8").split("\n", 2)
        for r in range(replicas + 1):
            target = folder / (src.name if r == 0 else f"{src.stem}~r{r}.txt")
            if target.exists():
                continue
            year = int(header[5:9]) - r if header.startswith("date ") else 2000 + r
            month_day = header[9:15].replace("-02-29", "-02-28") if header.startswith("date ") else "-01-01"
            text = body if r == 0 else "\n".join(perturb(line, r) for line in body.split("\n"))
            target.write_text(f"date {year}{month_day}\n{title}\n{text}", encoding="utf-8")


def timing(claims: list[dict], target_chunks: int, answers: int) -> dict[str, float]:
    """Seconds to check a 5-sentence answer against an index of about `target_chunks` chunks.

    The replicas' chunk vectors are the mean of their (real, cached) sentence vectors, as in
    bench_pipeline.py, so the index is built in minutes; the claims are embedded for real."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_pipeline import CachedEmbeddings

    from qa.models.embeddings import load_embeddings

    replicas = max(0, round(target_chunks / 748) - 1)
    folder, store = WORK.parent / "verify_zh_scaled" / "articles", WORK.parent / "verify_zh_scaled" / "vectorstore"
    scaled_corpus(folder, replicas)
    settings = Settings(articles_dir=folder, vectorstore_dir=store)
    real = load_embeddings(settings)
    cached = CachedEmbeddings(real, ROOT / "benchmarks" / ".cache" / "verify_zh_vectors.pkl")
    cached.approximate = True
    started = time.perf_counter()
    Pipeline(settings, cached).build()
    cached.save()
    print(f"scaled index built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    pipeline = Pipeline(settings, real)
    chunks = pipeline.index.counts()["chunks"]
    by_article: dict[str, list[str]] = {}
    for c in claims:
        by_article.setdefault(c["topic_article"], []).append(c["claim"])
    texts = []
    # Five claims of one topic make an answer; a claim cut off mid-sentence gets its full stop.
    pool = [t.strip() if t.strip()[-1:] in "。！？；" else t.strip() + "。" for group in by_article.values() for t in group]
    for i in range(answers):
        texts.append("".join(pool[(i * 5 + j) % len(pool)] for j in range(5)))
    pipeline.verify(texts[0])  # warm-up: model, LAC, BM25 snapshot
    seconds, sentences = [], []
    for t in texts[1:]:
        started = time.perf_counter()
        result = pipeline.verify(t)
        seconds.append(time.perf_counter() - started)
        sentences.append(len(result.sentences))
    seconds.sort()
    return {"chunks": chunks, "answers": len(seconds), "sentences_per_answer": round(sum(sentences) / len(sentences), 2),
            "p50_s": round(seconds[len(seconds) // 2], 3),
            "p95_s": round(seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))], 3), "max_s": round(seconds[-1], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="new", help="name of this run's results file (verify_<name>.json)")
    ap.add_argument("--limit", type=int, default=0, help="check only the first N claims (quick look)")
    ap.add_argument("--show", action="store_true", help="print every miss (claim ids and labels, for development)")
    ap.add_argument("--timing", action="store_true", help="also time 5-sentence answers at --chunks chunks")
    ap.add_argument("--chunks", type=int, default=10000, help="index size for --timing (default 10000)")
    ap.add_argument("--answers", type=int, default=21, help="answers timed with --timing")
    args = ap.parse_args()

    claims = [json.loads(x) for x in (DATA / "claims.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    if args.limit:
        claims = claims[: args.limit]
    write_articles(WORK / "articles")
    settings = Settings(articles_dir=WORK / "articles", vectorstore_dir=WORK / "vectorstore")
    pipeline = Pipeline(settings)
    started = time.perf_counter()
    report = pipeline.build()
    print(f"index: {len(report.added)} added, {time.perf_counter() - started:.1f} s", file=sys.stderr)
    pipeline.verify("预热。")
    rows = []
    started = time.perf_counter()
    for i, c in enumerate(claims, 1):
        result = pipeline.verify(c["claim"])
        labels = [s.label for s in result.sentences]
        # A claim the splitter cuts in two is labelled by its worst sentence.
        order = ["contradicted", "unsupported", "partly supported", "supported"]
        label = min(labels, key=order.index) if labels else "unsupported"
        rows.append({"id": c["id"], "gold": c["label"], "label": label})
        if args.show and (label == "supported") != (c["label"] == "supported") or args.show and c["label"] == "contradicted" and label != "contradicted":
            s = result.sentences[0]
            print(f"{c['id']} gold={c['label']} got={label} {[(x.kind, x.claim, x.source) for x in s.contradictions]}",
                  file=sys.stderr)
        if i % 40 == 0:
            print(f"  {i}/{len(claims)}", file=sys.stderr)
    per_claim = (time.perf_counter() - started) / max(1, len(claims))
    figs = figures(rows)
    figs["seconds_per_claim"] = round(per_claim, 3)
    if args.timing:
        t = timing(claims, args.chunks, args.answers)
        print(f"timing: {t}", file=sys.stderr)
        figs.update({f"answer5_{k}": v for k, v in t.items()})
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.limit:
        (RESULTS / f"verify_{args.name}.json").write_text(
            json.dumps({"figures": figs, "claims": rows}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    runs = {args.name: figs}
    for f in sorted(RESULTS.glob("verify_*.json")):
        name = f.stem.removeprefix("verify_")
        if name != args.name:
            runs[name] = json.loads(f.read_text(encoding="utf-8"))["figures"]
    names = list(runs)
    print(f"\nverify_zh dev set: {len(rows)} claims " + " ".join(f"{g}={sum(r['gold'] == g for r in rows)}" for g in GOLD))
    print(f"{'figure':34} {'target':>8} " + " ".join(f"{n:>10}" for n in names))
    keys = list(TARGETS) + ["seconds_per_claim"] + [k for k in figs if k.startswith("answer5_") and k not in TARGETS]
    keys += [k for k in figs if "→" in k and k not in TARGETS]
    for k in keys:
        sign, val = TARGETS.get(k, ("", None))
        tgt = f"{sign}{val}" if val is not None else ""
        if any(k in runs[n] for n in names):
            print(f"{k:34} {tgt:>8} " + " ".join(f"{runs[n].get(k, float('nan')):>10.3f}" for n in names))


if __name__ == "__main__":
    main()
