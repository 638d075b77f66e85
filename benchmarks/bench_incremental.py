"""What `qa index` costs after a one-article change: derived files (keyword snapshot, sentence file)
rebuilt in full vs. incrementally, measured in one run on copies of the same store.

    flock /tmp/qa-bench.lock .venv/bin/python benchmarks/bench_incremental.py \\
        --store /tmp/qaw/final/store_200p_30r --corpus /tmp/qaw/final/corpus_200p_30r --work /tmp/bench-incr

For each variant a fresh copy of the store and corpus is made, a no-op `qa index` run first (a copy
has new inodes, so every file is read once; not timed; for ``incremental`` it also writes this
code's derived files, with their tokens, from scratch), one new article file added, and `qa index`
(`build_index`, embedder e5-small) timed in a fresh process:

* ``full``         this code with the previous derived files deleted: what every change cost before
                   (tokenize every chunk, export the whole sentences collection);
* ``incremental``  this code with the previous derived files kept;
* ``baseline``     (``--baseline-code DIR``, e.g. /work/main) another checkout's code, as it is.

Printed: total seconds, and the split (jieba tokenizing, bm25s matrix build, keyword snapshot,
sentence file, Chroma update), peak RSS, and incremental/full ratios. Figures, never assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NEW_ARTICLE = """date 2026-11-20
阿斯塔纳国际熊猫节于十一月开幕，为期一周，吸引了来自中亚各国的五万多名游客。主办方表示，本届熊猫节以生态保护为主题，设置了科普展览、摄影比赛和儿童绘画等活动。

哈萨克斯坦文化部副部长在开幕式上说，熊猫是中哈友好的象征，两国动物园将继续在繁育研究方面开展合作。据介绍，阿拉木图动物园计划明年扩建熊猫馆，预计投资约两千万美元。

当地旅游部门的数据显示，节日期间阿斯塔纳的酒店入住率比去年同期上升了三成，餐饮和零售收入也明显增长。多家旅行社推出了“熊猫之旅”线路，把熊猫节与城市观光结合起来。

专家认为，此类文化活动有助于提升城市的国际知名度，也为冬季旅游淡季带来了新的客源。主办方计划明年把熊猫节扩大到阿拉木图和奇姆肯特两座城市。
"""


def child(code: str, add: str) -> None:
    """One `qa index` in this process, timed; `code` is the checkout whose `qa` package runs."""
    sys.path.insert(0, code)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import bm25s

    import importlib

    from qa.models.embeddings import load_embeddings
    from qa.settings import Settings

    def module(name: str):  # type: ignore[no-untyped-def]
        """The module if this checkout has it (the layout changed with the layered package)."""
        try:
            return importlib.import_module(name)
        except ImportError:
            return None

    assert Path(importlib.import_module("qa").__file__).resolve().is_relative_to(Path(code).resolve())
    timers: dict[str, float] = {}
    counts: dict[str, int] = {}

    def timed(owner, name: str, label: str) -> None:  # type: ignore[no-untyped-def]
        real = getattr(owner, name, None) if owner is not None else None
        if real is None:
            return

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                timers[label] = timers.get(label, 0.0) + time.perf_counter() - started
                counts[label] = counts.get(label, 0) + 1

        setattr(owner, name, wrapper)

    store, tokens, keywords = module("qa.store.store"), module("qa.text.tokens"), module("qa.retrieval.keywords")
    timed(tokens, "_tokenize", "tokenize")
    timed(bm25s.BM25, "index", "bm25s_build")  # the baseline's build
    timed(keywords, "_lucene_bm25", "bm25s_build")  # this code's
    timed(module("qa.retrieval.snapshot"), "_chunks_of", "chunks_read")
    timed(module("qa.store.sentence_file"), "_read_sentences", "sentences_read")
    timed(store.ArticleIndex if store else None, "records", "records")
    timed(module("qa.pipeline"), "warm_snapshot", "keyword_snapshot")
    timed(store.ArticleIndex if store else None, "warm_sentence_file", "sentence_file")
    timed(module("qa.indexing.build"), "update_index", "chroma_update")
    from qa.pipeline import build_index

    settings = Settings()
    embeddings = load_embeddings(settings)
    if add:
        (settings.articles_dir / "zz-bench-new-article.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    started = time.perf_counter()
    report = build_index(settings, embeddings)
    total = time.perf_counter() - started
    print(json.dumps({"total_s": round(total, 2), "summary": report.summary(),
                      **{f"{k}_s": round(v, 2) for k, v in timers.items()},
                      "tokenized_texts": counts.get("tokenize", 0),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def run(code: str, store: Path, corpus: Path, *, add: bool) -> dict:
    env = {**os.environ, "QA_ARTICLES_DIR": str(corpus), "QA_VECTORSTORE_DIR": str(store), "QA_EMBEDDER": "e5-small",
           "PYTHONPATH": code}
    done = subprocess.run([sys.executable, __file__, "--child", code, *(["--add"] if add else [])],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"qa index failed ({code}, {store}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def drop(store: Path) -> None:
    for path in [*store.glob("qa_keyword*"), *store.glob("qa_sentences*")]:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def variant(name: str, code: str, args: argparse.Namespace, *, prepare: bool, drop_derived: bool) -> dict:
    work = args.work / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    store, corpus = work / "store", work / "corpus"
    subprocess.run(["cp", "-a", str(args.store), str(store)], check=True)
    subprocess.run(["cp", "-a", str(args.corpus), str(corpus)], check=True)
    if prepare:  # the copy's derived files were written by the store's builder: let this code write its own
        drop(store)
    run(code, store, corpus, add=False)  # a copy has new inodes: read every file once, untimed
    if drop_derived:
        drop(store)
    result = run(code, store, corpus, add=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--add", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, default=Path("/tmp/qaw/final/store_200p_30r"))
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/qaw/final/corpus_200p_30r"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-incremental"))
    parser.add_argument("--baseline-code", help="another checkout to time as well (e.g. /work/main)")
    parser.add_argument("--keep", action="store_true", help="keep the copies")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.add)
        return
    results = {}
    # incremental: this code's own previous derived files (written by the untimed no-op run) to start from.
    plan = [("full", str(ROOT), False, True), ("incremental", str(ROOT), True, False)]
    if args.baseline_code:
        plan.insert(0, ("baseline", args.baseline_code, False, False))
    for name, code, prepare, drop_derived in plan:
        results[name] = variant(name, code, args, prepare=prepare, drop_derived=drop_derived)
        print(f"{name:12s} {json.dumps(results[name], ensure_ascii=False)}", flush=True)
    full, inc = results["full"], results["incremental"]
    print(f"\nstore {args.store}")
    print(f"{'':24s}{'full':>10s}{'incremental':>13s}{'ratio':>8s}" + (f"{'baseline':>10s}" if "baseline" in results else ""))
    for key in ("total_s", "chroma_update_s", "keyword_snapshot_s", "tokenize_s", "bm25s_build_s", "chunks_read_s",
                "sentence_file_s", "sentences_read_s", "records_s", "tokenized_texts", "peak_rss_mb"):
        a, b = full.get(key, 0), inc.get(key, 0)
        ratio = f"{b / a:.3f}" if a else "-"
        line = f"{key:24s}{a:>10}{b:>13}{ratio:>8s}"
        if "baseline" in results:
            line += f"{results['baseline'].get(key, 0):>10}"
        print(line)


if __name__ == "__main__":
    main()
