"""Scale, speed and quality of the pipeline against the plain LangChain recipe, in one run.

    .venv/bin/python benchmarks/bench_pipeline.py                      # full run (long)
    .venv/bin/python benchmarks/bench_pipeline.py --questions 200 --scales 1000,10000   # quick

Writes benchmarks/results/pipeline.md and pipeline.json. Printed figures, never timed tests.

Data: DRCD dev set (Delta Reading Comprehension Dataset, arXiv 1806.00920), paragraphs from
Chinese Wikipedia, CC BY-SA 3.0 — https://github.com/DRCKnowledgeTeam/DRCD (DRCD_dev.json,
commit b944790). Delta Electronics gives no warranty of correctness. Prepared copy in
/work/shared/bench/drcd (1,000 passages, 3,524 questions).

Embedding cost: every text is embedded for real once and its vector cached on disk
(benchmarks/.cache, keyed by model and text), so re-runs and the scaled corpora reuse it.
The scaled corpora (≈10k and ≈100k chunks) are the 1,000 passages plus perturbed replicas
(sentences rotated, distinct dates and file names). Their sentences are the same texts as
the originals (cached vectors); a replica chunk whose text was never embedded gets the
normalised mean of its sentences' vectors instead of a model call. Latency, memory and
re-index figures at scale are therefore real; quality figures are measured on the real
1,000-passage index only. Throughput figures use the real embedder with no cache reads.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.text.sentences import split_sentences  # noqa: E402
from qa.models.embeddings import load_embeddings, model_id_of  # noqa: E402
from qa.pipeline import build_index
from qa.store.paging import get_all  # noqa: E402
from qa.settings import Settings  # noqa: E402

DRCD = Path("/work/shared/bench/drcd")
RESULTS = ROOT / "benchmarks" / "results"
ATTRIBUTION = (
    "DRCD dev set (Delta Reading Comprehension Dataset, arXiv 1806.00920; passages from Chinese Wikipedia), "
    "CC BY-SA 3.0, https://github.com/DRCKnowledgeTeam/DRCD (DRCD_dev.json, commit b944790). "
    "Delta Electronics gives no warranty of correctness."
)


# --------------------------------------------------------------------------- embedding cache
class CachedEmbeddings(Embeddings):
    """Wraps the real embedder: vectors cached by text; optional sentence-mean stand-ins for scale runs."""

    def __init__(self, inner: Embeddings, cache_file: Path | None, *, read: bool = True) -> None:
        self.inner = inner
        self.model_id = model_id_of(inner)
        self.cache_file = cache_file
        self.read = read
        self.approximate = False
        self.vectors: dict[bytes, np.ndarray] = {}
        if cache_file and cache_file.exists():
            with cache_file.open("rb") as fh:
                self.vectors = pickle.load(fh)
        self.real_texts = self.real_chars = self.approximated = self.hits = 0
        self.real_seconds = 0.0

    @staticmethod
    def _key(text: str, kind: str) -> bytes:
        return hashlib.sha1(f"{kind}\0{text}".encode()).digest()

    def save(self) -> None:
        if self.cache_file:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump(self.vectors, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(self.cache_file)

    def _lookup(self, text: str, kind: str) -> np.ndarray | None:
        return self.vectors.get(self._key(text, kind)) if self.read else None

    def _mean_of_sentences(self, text: str) -> np.ndarray | None:
        parts = [self._lookup(text[s.start : s.end], "d") for s in split_sentences(text)]
        if not parts or any(p is None for p in parts):
            return None
        v = np.mean(np.stack(parts), axis=0)  # type: ignore[arg-type]
        return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[np.ndarray | None] = [self._lookup(t, "d") for t in texts]
        self.hits += sum(v is not None for v in out)
        if self.approximate:
            for i, t in enumerate(texts):
                if out[i] is None:
                    out[i] = self._mean_of_sentences(t)
                    self.approximated += out[i] is not None
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            started = time.perf_counter()
            got = self.inner.embed_documents([texts[i] for i in missing])
            self.real_seconds += time.perf_counter() - started
            for i, v in zip(missing, got):
                arr = np.asarray(v, dtype=np.float32)
                out[i] = arr
                self.vectors[self._key(texts[i], "d")] = arr
                self.real_texts += 1
                self.real_chars += len(texts[i])
        return [v.tolist() for v in out]  # type: ignore[union-attr]

    def embed_query(self, text: str) -> list[float]:
        v = self._lookup(text, "q")
        if v is None:
            v = np.asarray(self.inner.embed_query(text), dtype=np.float32)
            self.vectors[self._key(text, "q")] = v
        return v.tolist()


# --------------------------------------------------------------------------- data
def load_drcd() -> tuple[list[dict], list[dict]]:
    passages = [json.loads(x) for x in (DRCD / "passages.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    questions = [json.loads(x) for x in (DRCD / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    return passages, questions


def file_name(pid: str, replica: int = 0) -> str:
    return f"{pid}.txt" if replica == 0 else f"{pid}~r{replica}.txt"


def perturb(text: str, replica: int) -> str:
    """A replica: same sentences, rotated (so chunk boundaries and neighbours differ)."""
    spans = split_sentences(text)
    sents = [text[s.start : s.end] for s in spans]
    if len(sents) < 2:
        return text
    r = replica % len(sents) or 1
    return "".join(sents[r:] + sents[:r])


def write_corpus(folder: Path, passages: list[dict], replicas: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for r in range(replicas + 1):
        for i, p in enumerate(passages):
            day = (i + 37 * r) % 28 + 1
            month = (i // 28 + r) % 12 + 1
            text = p["text"] if r == 0 else perturb(p["text"], r)
            (folder / file_name(p["id"], r)).write_text(f"date {2000 + r % 25}-{month:02d}-{day:02d}\n{text}\n", encoding="utf-8")
            n += 1
    return n


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


def rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# --------------------------------------------------------------------------- metrics
def contains_any(text: str, answers: list[str]) -> bool:
    return any(a and a in text for a in answers)


class Ranks:
    """recall@k and MRR, loose (chunk contains an answer) and strict (also from the gold passage)."""

    def __init__(self) -> None:
        self.loose: list[int | None] = []
        self.strict: list[int | None] = []

    def add(self, hits: list[tuple[str, str]], q: dict) -> None:
        """hits: (passage_id, text) best first."""
        loose = strict = None
        for rank, (pid, text) in enumerate(hits, start=1):
            if contains_any(text, q["answers"]):
                loose = loose or rank
                if pid == q["passage_id"]:
                    strict = strict or rank
        self.loose.append(loose)
        self.strict.append(strict)

    @staticmethod
    def _summary(ranks: list[int | None], ks: tuple[int, ...]) -> dict[str, float]:
        n = len(ranks) or 1
        out = {f"r@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
        out["mrr"] = sum(1 / r for r in ranks if r is not None) / n
        return out

    def summary(self, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, dict[str, float]]:
        return {"loose": self._summary(self.loose, ks), "strict": self._summary(self.strict, ks)}


def pid_of(article_id: str) -> str:
    return article_id.removesuffix(".txt").split("~r")[0]


class NaiveComposer:
    """Baseline answer: the sentence of the top passages most similar to the question by embedding."""

    def __init__(self, embeddings: CachedEmbeddings) -> None:
        self.embeddings = embeddings

    def ranked(self, question: str, passages: list[str]) -> list[str]:
        sents = list(dict.fromkeys(p[s.start : s.end] for p in passages for s in split_sentences(p)))
        if not sents:
            return []
        q = np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
        m = np.asarray(self.embeddings.embed_documents(sents), dtype=np.float32)
        order = np.argsort(-(m @ q), kind="stable")
        return [sents[i] for i in order]


class AnswerStats:
    """Shown text containing a gold answer; with a short answer, its EM/F1 (qa.evaluation, Chinese characters);
    with the shown sentences, the share of them that contain one."""

    def __init__(self) -> None:
        self.hit: list[bool] = []
        self.lengths: list[int] = []
        self.refused = 0
        self.em: list[float] = []
        self.f1: list[float] = []
        self.sentences = self.sentences_ok = 0

    def add(self, shown: str | None, q: dict, short: str | None = None, sentences: list[str] | None = None) -> None:
        from qa.evaluation import exact_match, f1_score

        if short is not None or sentences is not None:
            self.em.append(exact_match(short or "", q["answers"]) if shown is not None else 0.0)
            self.f1.append(f1_score(short or "", q["answers"]) if shown is not None else 0.0)
        if shown is None:
            self.refused += 1
            self.hit.append(False)
            return
        self.hit.append(contains_any(shown, q["answers"]))
        self.lengths.append(len(shown))
        for sentence in sentences or []:
            self.sentences += 1
            self.sentences_ok += contains_any(sentence, q["answers"])

    def summary(self) -> dict[str, float]:
        n = len(self.hit) or 1
        out = {
            "precision": sum(self.hit) / n,
            "median_chars": statistics.median(self.lengths) if self.lengths else 0,
            "refused": self.refused / n,
        }
        if self.f1:
            out.update(em=100 * sum(self.em) / len(self.em), f1=100 * sum(self.f1) / len(self.f1),
                       shown_precision=self.sentences_ok / (self.sentences or 1), sentences_per_answer=self.sentences / max(1, n - self.refused))
        return out


OURS = "ours (reader: short answer + the sentence stating it)"


# --------------------------------------------------------------------------- phases
def settings_for(articles: Path, store: Path, embedder: str, chroma_url: str | None = None) -> Settings:
    return Settings(articles_dir=articles, vectorstore_dir=store, embedder=embedder, chroma_url=chroma_url)


def measure_throughput(work: Path, passages: list[dict], embedder: str, inner: Embeddings, sample: int, cache_file: Path,
                       rounds: int = 3) -> dict[str, Any]:
    """Raw embedder on exactly the texts `qa index` embeds for `sample` articles, then `qa index` itself
    into an empty store, alternated `rounds` times; medians are compared, because on a shared machine
    the load can change between two back-to-back phases (one run measured 0.74, the next 1.23)."""
    from qa.extraction.chunks import chunk_article
    from qa.articles import load_articles

    folder = work / "throughput_corpus"
    write_corpus(folder, passages[:sample], 0)
    arts = load_articles(folder).articles
    s = Settings()
    chunks = [c.text for a in arts for c in chunk_article(a, s.chunk_size, s.chunk_overlap)]
    sents = [a.text[x.start : x.end] for a in arts for x in split_sentences(a.text, s.chunk_size)]
    raw_chars = sum(map(len, chunks)) + sum(map(len, sents))
    inner.embed_documents(chunks[:8])  # warm-up
    raw_chunk_s, raw_sent_s, index_s, embed_s = [], [], [], []
    report = None
    for round_no in range(rounds):
        t = time.perf_counter()
        inner.embed_documents(chunks)
        raw_chunk_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        inner.embed_documents(sents)
        raw_sent_s.append(time.perf_counter() - t)
        # `qa index` on the same articles with the same model, into an empty store; write-through cache
        # (no reads) so every text is embedded.
        wrapper = CachedEmbeddings(inner, cache_file, read=False)
        # A new path each round: Chroma keeps a client per path in the process, so a removed and
        # recreated folder would still show the previous round's collections (a no-op `qa index`).
        store = work / f"throughput_store_{round_no}"
        shutil.rmtree(store, ignore_errors=True)
        t = time.perf_counter()
        report = build_index(settings_for(folder, store, embedder), wrapper)
        index_s.append(time.perf_counter() - t)
        embed_s.append(wrapper.real_seconds)
        wrapper.save()
    raw_total = statistics.median(c + x for c, x in zip(raw_chunk_s, raw_sent_s))
    index_total = statistics.median(index_s)
    return {
        "articles": len(arts),
        "chunks": len(chunks),
        "sentences": len(sents),
        "rounds": rounds,
        "chunk_median_chars": statistics.median(map(len, chunks)),
        "raw_chunks_per_s": len(chunks) / statistics.median(raw_chunk_s),
        "raw_sentences_per_s": len(sents) / statistics.median(raw_sent_s),
        "raw_chars_per_s": raw_chars / raw_total,
        "index_seconds": index_total,
        "index_seconds_all": index_s,
        "raw_seconds_all": [c + x for c, x in zip(raw_chunk_s, raw_sent_s)],
        "index_chars_per_s": raw_chars / index_total,
        "index_embed_seconds": statistics.median(embed_s),
        # the pipeline's own overhead inside the same `qa index` runs (immune to load changes between phases)
        "index_embed_share": statistics.median(e / i for e, i in zip(embed_s, index_s)),
        "index_over_raw": raw_total / index_total,
        "index_report": report.summary() if report else "",
    }


def evaluate_quality(pipeline: Any, embeddings: CachedEmbeddings, questions: list[dict], recipe_store: Any) -> dict[str, Any]:
    from qa.retrieval.retriever import HybridRetriever

    naive = NaiveComposer(embeddings)
    ranks = {m: Ranks() for m in ("dense", "keyword", "hybrid")}
    recipe_ranks = Ranks()
    ours, naive1, naive3 = AnswerStats(), AnswerStats(), AnswerStats()
    rec_top, rec_naive1, rec_naive3 = AnswerStats(), AnswerStats(), AnswerStats()
    retrievers = {m: HybridRetriever(index=pipeline.index, k=10, mode=m) for m in ranks}
    k = pipeline.settings.k
    started = time.perf_counter()
    for i, q in enumerate(questions):
        for mode, retriever in retrievers.items():
            docs = retriever.invoke(q["question"], k=10)
            ranks[mode].add([(pid_of(d.metadata["article_id"]), d.page_content) for d in docs], q)
        answer = pipeline.ask(q["question"])
        sentences = [c.sentence for c in answer.citations]
        ours.add(None if answer.refused else "".join(sentences), q, answer.span.text if answer.span else answer.text, sentences)
        ranked = naive.ranked(q["question"], [d.page_content for d in answer.passages[:k]])
        naive1.add(ranked[0] if ranked else None, q)
        naive3.add("\n".join(ranked[:3]) if ranked else None, q)
        hits = recipe_store.similarity_search(q["question"], k=10)
        recipe_ranks.add([(h.metadata["passage_id"], h.page_content) for h in hits], q)
        top4 = [h.page_content for h in hits[:4]]
        rec_top.add(top4[0] if top4 else None, q)
        ranked = naive.ranked(q["question"], top4)
        rec_naive1.add(ranked[0] if ranked else None, q)
        rec_naive3.add("\n".join(ranked[:3]) if ranked else None, q)
        if (i + 1) % 100 == 0:
            el = time.perf_counter() - started
            print(f"  quality: {i + 1}/{len(questions)} questions, {el:.0f} s", flush=True)
            embeddings.save()
    return {
        "retrieval": {**{m: r.summary() for m, r in ranks.items()}, "recipe": recipe_ranks.summary((1, 4, 5, 10))},
        "answers": {
            OURS: ours.summary(),
            "naive top-1 sentence over our top-k": naive1.summary(),
            "naive any-of-top-3 sentences over our top-k": naive3.summary(),
            "recipe: top-1 chunk shown": rec_top.summary(),
            "recipe: naive top-1 sentence over its k=4": rec_naive1.summary(),
            "recipe: naive any-of-top-3 sentences over its k=4": rec_naive3.summary(),
        },
    }


def build_recipe(passages: list[dict], embeddings: CachedEmbeddings, store: Path) -> tuple[Any, dict[str, Any]]:
    """The plain LangChain recipe: default RecursiveCharacterTextSplitter → Chroma → similarity_search(k=4)."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = [Document(page_content=p["text"], metadata={"passage_id": p["id"]}) for p in passages]
    chunks = RecursiveCharacterTextSplitter().split_documents(docs)
    t = time.perf_counter()
    db = Chroma.from_documents(chunks, embeddings, persist_directory=str(store), collection_name="recipe")
    return db, {"chunks": len(chunks), "chunk_median_chars": statistics.median(len(c.page_content) for c in chunks),
                "chunk_max_chars": max(len(c.page_content) for c in chunks), "build_seconds": time.perf_counter() - t}


def recipe_latency(db: Any, questions: list[dict]) -> dict[str, float]:
    times = []
    for q in questions:
        t = time.perf_counter()
        db.similarity_search(q["question"], k=4)
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


def worker(args: argparse.Namespace) -> None:
    """One corpus size, fresh process: no-op re-index, warm latency, memory (real embedder for queries)."""
    from qa.pipeline import Pipeline

    job = json.loads(Path(args.worker).read_text(encoding="utf-8"))
    settings = settings_for(Path(job["articles"]), Path(job["store"]), job["embedder"], job.get("chroma_url"))
    questions = job["questions"]
    # The no-op re-index as a user runs it: `qa index` in its own process (the same `build_index`),
    # timed inside (noop_s) and as a whole command including interpreter start and imports.
    t = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--noop-job", args.worker], check=True, capture_output=True, text=True)
    noop_wall_s = time.perf_counter() - t
    noop = json.loads(done.stdout.strip().splitlines()[-1])
    noop_s, n_articles = noop["seconds"], noop["articles"]
    t = time.perf_counter()
    pipeline = Pipeline(settings)
    load_s = time.perf_counter() - t
    rss_loaded = rss_mb()[0]
    t = time.perf_counter()
    snap = pipeline.retriever.snapshot()
    snapshot_s = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.ask(questions[0]["question"])
    first_ask_s = time.perf_counter() - t
    for q in questions[1:5]:  # warm-up (these questions are not timed)
        pipeline.ask(q["question"])
    retrieval, ask, embed, recall5 = [], [], [], []
    for i, q in enumerate(questions[5:]):
        # The query embedding alone, on a text of the same length that no cache holds.
        t = time.perf_counter()
        pipeline.embeddings.embed_query(q["question"][::-1])
        embed.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        if i % 2 == 0:
            docs = pipeline.retriever.invoke(q["question"])
            retrieval.append((time.perf_counter() - t) * 1000)
            recall5.append(any(contains_any(d.page_content, q["answers"]) for d in docs[:5]))
        else:
            pipeline.ask(q["question"])
            ask.append((time.perf_counter() - t) * 1000)
    gc.collect()
    rss, peak = rss_mb()
    out = {
        "articles": n_articles,
        "pipeline_load_s": load_s,
        "noop_reindex_s": noop_s,
        "noop_reindex_command_s": noop_wall_s,
        "noop_reindex_s_per_1000_articles": noop_s / max(n_articles, 1) * 1000,
        "first_query_snapshot_s": snapshot_s,
        "snapshot_loaded": bool(getattr(snap, "loaded", False)),
        "first_ask_s": first_ask_s,
        "embed_query_p50_ms": pct(embed, 50),
        "embed_query_p95_ms": pct(embed, 95),
        "retrieval_p50_ms": pct(retrieval, 50),
        "retrieval_p95_ms": pct(retrieval, 95),
        "ask_p50_ms": pct(ask, 50),
        "ask_p95_ms": pct(ask, 95),
        "timed_questions": len(retrieval) + len(ask),
        "hybrid_loose_recall@5": sum(recall5) / max(len(recall5), 1),
        "rss_loaded_mb": rss_loaded,
        "load_avg": os.getloadavg(),
        "query_engine": f"{type(pipeline.embeddings).__name__}/{getattr(pipeline.embeddings, 'query_engine', '')}",
        "rss_mb": rss,
        "peak_rss_mb": peak,
    }
    Path(job["out"]).write_text(json.dumps(out), encoding="utf-8")


def noop_job(job_file: str) -> None:
    """`qa index` on an unchanged corpus (its own process); prints its time and article count."""
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    settings = settings_for(Path(job["articles"]), Path(job["store"]), job["embedder"], job.get("chroma_url"))
    embeddings = load_embeddings(settings)
    t = time.perf_counter()
    report = build_index(settings, embeddings)
    seconds = time.perf_counter() - t
    assert not report.added and not report.updated and not report.removed, report.summary()
    print(json.dumps({"seconds": seconds, "articles": len(report.unchanged), "summary": report.summary()}))


def page_memory(articles: Path, store: Path, embedder: str, questions: list[dict], n: int = 100) -> dict[str, Any]:
    """RSS of the chat page users run: a real `qa serve` process answering `n` questions over HTTP
    (gradio_client, the page's /ask endpoint), read from /proc at start and after the questions."""
    import socket

    from gradio_client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, QA_ARTICLES_DIR=str(articles), QA_VECTORSTORE_DIR=str(store), QA_EMBEDDER=embedder, QA_PORT=str(port))
    proc = subprocess.Popen([str(Path(sys.executable).with_name("qa")), "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rss() -> float:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024

    try:
        client = None
        for _ in range(300):
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                if proc.poll() is not None:
                    raise RuntimeError("qa serve exited") from None
                time.sleep(1)
        if client is None:
            raise RuntimeError("qa serve did not come up in 300 s")
        started = rss()
        for q in questions[:n]:
            client.predict(q["question"], 5, [], "", "", [], api_name="/ask")
        return {"page_rss_start_mb": started, "page_rss_mb": rss(), "page_questions": min(n, len(questions))}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_worker(work: Path, name: str, articles: Path, store: Path, embedder: str, questions: list[dict]) -> dict[str, Any]:
    job = {"articles": str(articles), "store": str(store), "embedder": embedder,
           "questions": questions, "out": str(work / f"{name}.out.json")}
    job_file = work / f"{name}.job.json"
    job_file.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    subprocess.run([sys.executable, __file__, "--worker", str(job_file)], check=True)
    return json.loads((work / f"{name}.out.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- report
TARGETS = {
    "answer_precision": ("sentence containment (a shown sentence contains gold) ≥ 0.93", 0.93),
    "shown_precision": ("shown sentences that contain gold ≥ 0.9 of all shown", 0.90),
    "f1": ("short answer F1 ≥ 80", 80),
    "em": ("short answer EM ≥ 65", 65),
    "ask_p95_10k": ("ask p95 ≤ 150 ms at 10k chunks, reader included", 150),
    "index_ratio": ("qa index ≥ 0.9 × raw embedder throughput", 0.9),
    "noop": ("no-op re-index ≤ 1 s per 1,000 articles", 1.0),
    "rss_100k": ("RSS ≤ 1 GB at 100k chunks", 1024),
}


def write_report(res: dict[str, Any]) -> str:
    lines = [
        "# Pipeline benchmark",
        "",
        f"Run {res['started']} · embedder `{res['embedder']}` ({res['model_id']}) · {res['questions']} questions · "
        f"{os.cpu_count()} CPU cores · wall {res['wall_s'] / 60:.1f} min · load average at start/end "
        f"{res['load_avg_start'][0]:.1f}/{res['load_avg_end'][0]:.1f} (other engineers' tests share the machine: timings are noisy)",
        "",
        f"Data: {ATTRIBUTION}",
        "",
        f"Embedding: vectors are cached by text (benchmarks/.cache); scaled corpora are the first {res.get('scale_passages', res.get('passages', 1000)):,} passages plus "
        "replicas with rotated sentences and other dates/file names (the timed questions are about those passages). Replica chunks never embedded get the "
        "normalised mean of their (really embedded) sentence vectors, so latency/memory/re-index at scale are real "
        f"and quality is measured on the real {res.get('passages', 1000):,}-passage index only."
        + (" Scaled stores marked 'reused' were built earlier by the same code path (`build_index`, cached vectors) and kept; their build time is the one recorded then."
           if any(s.get("reused_store") for s in res.get("scales", [])) else ""),
        "",
        "## Throughput (real embedder, no cache)",
        "",
    ]
    tp = res["throughput"]
    lines += [
        "| articles | chunks (median chars) | sentences | raw chunks/s | raw sentences/s | raw chars/s | qa index chars/s | index / raw (medians) | embedding's share of `qa index` time |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {tp['articles']} | {tp['chunks']} ({tp['chunk_median_chars']:.0f}) | {tp['sentences']} | {tp['raw_chunks_per_s']:.2f} | "
        f"{tp['raw_sentences_per_s']:.2f} | {tp['raw_chars_per_s']:.0f} | {tp['index_chars_per_s']:.0f} | {tp['index_over_raw']:.2f} | "
        f"{tp.get('index_embed_share', float('nan')):.2f} |",
        "",
        f"Raw embedder and `qa index` alternated {tp.get('rounds', 1)} times (medians compared): raw "
        + ", ".join(f"{x:.1f}" for x in tp.get("raw_seconds_all", [])) + " s; `qa index` "
        + ", ".join(f"{x:.1f}" for x in tp.get("index_seconds_all", [])) + " s.",
        "",
        f"## Retrieval quality ({res.get('passages', 1000):,} passages; loose = chunk contains an answer, strict = and comes from the gold passage)",
        "",
        "| system | chunks | r@1 loose | r@5 loose | r@10 loose | MRR loose | r@1 strict | r@5 strict | r@10 strict | MRR strict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    q = res["quality"]["retrieval"]
    base = res["base_index"]
    for m in ("dense", "keyword", "hybrid", "recipe"):
        lo, st = q[m]["loose"], q[m]["strict"]
        chunks = (f"{base['chunks']} (median {base['chunk_median_chars']:.0f}, max {base['chunk_max_chars']} chars)" if m != "recipe"
                  else f"{res['recipe']['chunks']} (median {res['recipe']['chunk_median_chars']:.0f}, max {res['recipe']['chunk_max_chars']} chars)")
        name = f"ours: {m}" if m != "recipe" else "LangChain recipe (k=4 shown; r@4 loose/strict " \
            f"{lo['r@4']:.3f}/{st['r@4']:.3f})"
        lines.append(f"| {name} | {chunks} | {lo['r@1']:.3f} | {lo['r@5']:.3f} | {lo['r@10']:.3f} | {lo['mrr']:.3f} | "
                     f"{st['r@1']:.3f} | {st['r@5']:.3f} | {st['r@10']:.3f} | {st['mrr']:.3f} |")
    lines += ["", "## Answers (shown sentences contain a gold answer; EM/F1 of the short answer, Chinese characters)", "",
              "| answer | containment | shown sentences with gold | sentences per answer | short answer EM / F1 | median chars | refused |",
              "|---|---|---|---|---|---|---|"]
    for name, a in res["quality"]["answers"].items():
        extra = (f"{a['shown_precision']:.3f} | {a['sentences_per_answer']:.2f} | {a['em']:.1f} / {a['f1']:.1f}"
                 if "f1" in a else "– | – | –")
        lines.append(f"| {name} | {a['precision']:.3f} | {extra} | {a['median_chars']:.0f} | {a['refused']:.3f} |")
    lines += ["", "## Speed and memory by corpus size (warm; fresh process per size; queries embedded for real)", "",
              "| corpus | articles | chunks | sentences | build s (cached vectors) | no-op `qa index` s (per 1k articles; whole command incl. start-up) | keyword snapshot at start s | first ask s | query embedding p50/p95 ms | retrieval p50/p95 ms | ask p50/p95 ms | RSS MB (peak) | page RSS MB (start → after 100 questions) | hybrid loose r@5 |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in res["scales"]:
        w = s["worker"]
        lines.append(
            f"| {s['name']} | {w['articles']} | {s['chunks']} | {s['sentences']} | {s['build_s']:.0f} | {w['noop_reindex_s']:.2f} "
            f"({w['noop_reindex_s_per_1000_articles']:.2f}; command {w.get('noop_reindex_command_s', float('nan')):.1f}) | {w['first_query_snapshot_s']:.2f} ({'loaded' if w.get('snapshot_loaded') else 'built'}) | "
            f"{w.get('first_ask_s', float('nan')):.2f} | {w.get('embed_query_p50_ms', float('nan')):.0f}/{w.get('embed_query_p95_ms', float('nan')):.0f} | "
            f"{w['retrieval_p50_ms']:.0f}/{w['retrieval_p95_ms']:.0f} | "
            f"{w['ask_p50_ms']:.0f}/{w['ask_p95_ms']:.0f} | {w['rss_mb']:.0f} ({w['peak_rss_mb']:.0f}) | "
            f"{w.get('page_rss_start_mb', float('nan')):.0f} → {w.get('page_rss_mb', float('nan')):.0f} | {w['hybrid_loose_recall@5']:.3f} |")
    engines = sorted({s["worker"].get("query_engine", "") for s in res["scales"]} - {""})
    if engines:
        lines += ["", f"Query embedding in the timed processes: {', '.join(engines)} (the real model, no cache)."]
    rl = res["recipe_latency"]
    lines += ["", f"LangChain recipe similarity_search(k=4) at {res.get('passages', 1000):,} passages: p50 {rl['p50_ms']:.0f} ms, p95 {rl['p95_ms']:.0f} ms "
              "(query vectors cached, so this is search only).", "", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for name, measured, ok in res["targets"]:
        lines.append(f"| {name} | {measured} | {'yes' if ok else 'NO'} |")
    lines.append("")
    return "\n".join(lines)


def check_targets(res: dict[str, Any]) -> list[tuple[str, str, bool]]:
    out = []
    ours = res["quality"]["answers"][OURS]
    out.append((TARGETS["answer_precision"][0], f"{ours['precision']:.3f}", ours["precision"] >= 0.93))
    out.append((TARGETS["shown_precision"][0], f"{ours.get('shown_precision', float('nan')):.3f}", ours.get("shown_precision", 0) >= 0.90))
    out.append((TARGETS["f1"][0], f"{ours.get('f1', float('nan')):.1f}", ours.get("f1", 0) >= 80))
    out.append((TARGETS["em"][0], f"{ours.get('em', float('nan')):.1f}", ours.get("em", 0) >= 65))
    hy, rc = res["quality"]["retrieval"]["hybrid"]["strict"]["r@1"], res["quality"]["retrieval"]["recipe"]["strict"]["r@1"]
    out.append((f"hybrid strict r@1 > recipe's, chunks ≤ 300 chars (max {res['base_index']['chunk_max_chars']})",
                f"{hy:.3f} vs {rc:.3f}", hy > rc and res["base_index"]["chunk_max_chars"] <= 300))
    ten = next((s for s in res["scales"] if 5000 <= s["chunks"] <= 20000), None)
    if ten:
        p95 = ten["worker"]["ask_p95_ms"]
        out.append((TARGETS["ask_p95_10k"][0], f"{p95:.0f} ms ({ten['chunks']} chunks)", p95 <= 150))
    r = res["throughput"]["index_over_raw"]
    out.append((TARGETS["index_ratio"][0], f"{r:.2f}", r >= 0.9))
    # A rate per 1,000 articles: judged on the corpora of at least 1,000 articles (below that the fixed
    # cost of opening the store and the process imports dominates; all sizes are in the table above).
    sized = [s for s in res["scales"] if s["worker"]["articles"] >= 1000] or res["scales"]
    if sized:  # none with --scales ""
        worst = max(sized, key=lambda s: s["worker"]["noop_reindex_s_per_1000_articles"])
        rate = worst["worker"]["noop_reindex_s_per_1000_articles"]
        out.append((TARGETS["noop"][0], f"{rate:.2f} s per 1,000 (worst of the sizes with ≥ 1,000 articles: {worst['worker']['articles']:,} articles, "
                    f"{worst['worker']['noop_reindex_s']:.1f} s)", rate <= 1.0))
    big = next((s for s in res["scales"] if s["chunks"] >= 50000), None)
    if big:
        rss, page = big["worker"]["rss_mb"], big["worker"].get("page_rss_mb", float("nan"))
        out.append((TARGETS["rss_100k"][0], f"{rss:.0f} MB ({big['chunks']} chunks); the chat page (`qa serve`): {page:.0f} MB",
                    rss <= 1024 and not page > 1024))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", default=Settings().embedder, help="embedder spec (default: the settings default)")
    ap.add_argument("--questions", type=int, default=0, help="questions for quality (0 = all 3,524)")
    ap.add_argument("--latency-questions", type=int, default=205, help="questions timed per corpus size")
    ap.add_argument("--scales", default="1000,10000,100000", help="target chunk counts; the first size is the real corpus")
    ap.add_argument("--passages", type=int, default=0, help="use only the first N passages (0 = all 1,000; quick runs)")
    ap.add_argument("--throughput-articles", type=int, default=60, help="articles for the throughput comparison")
    ap.add_argument("--scale-passages", type=int, default=0,
                    help="build the scaled corpora from the first N passages (0 = all); latency questions come from them")
    ap.add_argument("--keep-stores", action="store_true",
                    help="keep scaled stores in --work and reuse one found there (its recorded build time is reported)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir, removed)")
    ap.add_argument("--cache-dir", type=Path, default=ROOT / "benchmarks" / ".cache")
    ap.add_argument("--out", type=Path, default=RESULTS / "pipeline")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--noop-job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.noop_job:
        noop_job(args.noop_job)
        return
    if args.worker:
        worker(args)
        return

    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    work.mkdir(parents=True, exist_ok=True)
    passages, questions = load_drcd()
    if args.passages:
        passages = passages[: args.passages]
        keep = {p["id"] for p in passages}
        questions = [q for q in questions if q["passage_id"] in keep]
    rng = random.Random(13)
    quality_qs = questions if not args.questions else rng.sample(questions, min(args.questions, len(questions)))
    scale_passages = passages[: args.scale_passages] if args.scale_passages else passages
    scale_ids = {p["id"] for p in scale_passages}
    scale_qs = [q for q in questions if q["passage_id"] in scale_ids]
    latency_qs = random.Random(7).sample(scale_qs, min(args.latency_questions, len(scale_qs)))
    inner = load_embeddings(Settings(embedder=args.embedder))
    model_id = model_id_of(inner)
    cache_file = args.cache_dir / (hashlib.sha1(model_id.encode()).hexdigest()[:12] + ".pkl")
    res: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M"), "embedder": args.embedder, "model_id": model_id,
                           "questions": len(quality_qs), "attribution": ATTRIBUTION, "load_avg_start": os.getloadavg(),
                           "passages": len(passages), "scale_passages": len(scale_passages)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial.json")

    def checkpoint() -> None:
        partial.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")

    print(f"[1/5] throughput on {args.throughput_articles} articles (real embedder)…", flush=True)
    res["throughput"] = measure_throughput(work, passages, args.embedder, inner, args.throughput_articles, cache_file)
    print(json.dumps(res["throughput"], indent=1), flush=True)
    checkpoint()

    print("[2/5] base index (1,000 passages; cached vectors reused, the rest embedded for real)…", flush=True)
    emb = CachedEmbeddings(inner, cache_file)
    base_dir = work / "corpus_0"
    write_corpus(base_dir, passages, 0)
    base_store = work / "store_0"
    t = time.perf_counter()
    report = build_index(settings_for(base_dir, base_store, args.embedder), emb)
    base_s = time.perf_counter() - t
    emb.save()
    from qa.pipeline import Pipeline

    pipeline = Pipeline(settings_for(base_dir, base_store, args.embedder), emb)
    got = get_all(pipeline.index.collection("chunks"), ["documents"])
    lens = [len(d) for d in got["documents"] or []]
    # The index's own counts: a store kept from an earlier run (--work) was only brought up to date,
    # so the report counts just what this run wrote.
    counts = pipeline.index.counts(("chunks", "sentences"))
    res["base_index"] = {"chunks": counts["chunks"], "sentences": counts["sentences"], "seconds": base_s,
                         "written": report.summary(),
                         "chunk_median_chars": statistics.median(lens), "chunk_max_chars": max(lens),
                         "embedded_for_real": emb.real_texts}
    print(json.dumps(res["base_index"]), flush=True)
    checkpoint()

    print("[3/5] LangChain recipe index…", flush=True)
    recipe_db, res["recipe"] = build_recipe(passages, emb, work / "recipe_store")
    emb.save()

    print(f"[4/5] quality on {len(quality_qs)} questions…", flush=True)
    res["quality"] = evaluate_quality(pipeline, emb, quality_qs, recipe_db)
    res["recipe_latency"] = recipe_latency(recipe_db, latency_qs)
    checkpoint()
    emb.save()
    del pipeline, recipe_db
    gc.collect()

    print("[5/5] corpus sizes…", flush=True)
    res["scales"] = []
    base_chunks = res["base_index"]["chunks"]
    emb.approximate = True
    from qa.store.store import ArticleIndex

    base_records = ArticleIndex(settings_for(base_dir, base_store, args.embedder), emb).records()
    scale_chunks = sum(base_records[file_name(p["id"])].n_chunks for p in scale_passages)
    for target in [int(x) for x in args.scales.split(",") if x.strip()]:
        replicas = max(0, round(target / scale_chunks) - 1)
        reused = updated_only = False
        if replicas == 0:
            folder, store = base_dir, base_store
            chunks, sentences, build_s = base_chunks, res["base_index"]["sentences"], base_s
            updated_only = bool(report.unchanged)  # a kept store brought up to date: not a full build time
        else:
            folder, store = work / f"corpus_{len(scale_passages)}p_{replicas}r", work / f"store_{len(scale_passages)}p_{replicas}r"
            record = store.with_suffix(".build.json")
            while args.keep_stores and store.with_suffix(".pending").exists() and not record.exists():
                print(f"  waiting for {store} to be finished elsewhere…", flush=True)  # a store being prepared
                time.sleep(30)
            if args.keep_stores and record.exists() and store.is_dir():
                built = json.loads(record.read_text(encoding="utf-8"))
                chunks, sentences, build_s, reused = built["chunks"], built["sentences"], built["build_s"], True
                print(f"  reusing {store} (built in {build_s:.0f} s)", flush=True)
            else:
                shutil.rmtree(store, ignore_errors=True)
                write_corpus(folder, scale_passages, replicas)
                t = time.perf_counter()
                rep = build_index(settings_for(folder, store, args.embedder), emb,
                                  progress=lambda d, n: print(f"  indexed {d}/{n} articles", flush=True) if d % 5000 < 60 else None)
                build_s = time.perf_counter() - t
                chunks, sentences = rep.chunks_written, rep.sentences_written
                emb.save()
                record.write_text(json.dumps({"chunks": chunks, "sentences": sentences, "build_s": build_s}), encoding="utf-8")
        name = (f"~{round(chunks, -3) // 1000}k chunks" if chunks >= 1000 else f"{chunks} chunks") + (" (reused)" if reused else "")
        if not replicas and updated_only:
            name += f" (kept; build s = this run's update: {report.summary()})"
        print(f"  {name}: built in {build_s:.0f} s; measuring in a fresh process…", flush=True)
        print(f"  load average before measuring: {os.getloadavg()[0]:.1f}", flush=True)
        w = run_worker(work, f"scale{replicas}", folder, store, args.embedder, latency_qs)
        w.update(page_memory(folder, store, args.embedder, latency_qs))
        res["scales"].append({"name": name, "replicas": replicas, "chunks": chunks, "sentences": sentences,
                              "build_s": build_s, "reused_store": reused, "worker": w})
        print(json.dumps(res["scales"][-1]), flush=True)
        checkpoint()
        if replicas and not args.keep_stores:
            shutil.rmtree(store, ignore_errors=True)
            shutil.rmtree(folder, ignore_errors=True)
    res["wall_s"] = time.perf_counter() - started
    res["load_avg_end"] = os.getloadavg()
    res["targets"] = check_targets(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    md = write_report(res)
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
