"""The bundled multilingual-e5-small weights through ONNX Runtime (fp32, or int8 for indexing).

The ONNX graphs are derived, offline and once, from the sentence-transformers directory that
`qa.models.bundled_model.materialize` writes: the fp32 graph is exported from it with torch's TorchScript
exporter (the dynamo exporter needs `onnxscript`, which we do not install), and the int8 graph is
that graph through `onnxruntime.quantization.quantize_dynamic`. Each variant lives in its own
directory of the model cache, written into a temporary directory and renamed into place, with a
manifest (sizes, sha256, the fp32 weights it came from) checked on every load and rebuilt when
damaged, exactly like the materialised model.

The graph computes the transformer (from the word embeddings on) and the masked mean pooling.
The word-embedding lookup (from the materialised safetensors), the tokenisation (`EngineTokenizer`,
the engine-exact SentencePiece model of the materialised directory), the `query: ` / `passage: `
prompts, long-text windows and normalisation are those of `qa.models.bundled_model`, so every engine of
these weights shares `MODEL_ID` and one index.
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.models import bundled_model as bm
from qa.models.interface import EmbeddingModel
from qa.models.query_cache import QueryCache
from qa.models.rowfile import RowFile

# Bump when the export, quantisation or layout changes: graphs of the new version are built in their own
# directories (`variant_dir`), so processes of an older version sharing the cache do not rebuild them back.
# 4: weights in GRAPH_FILE + ".data" beside the graph (`_external_weights`).
ONNX_FORMAT_VERSION = 4
GRAPH_FILE = "model.onnx"
WEIGHTS_SUFFIX = ".data"
VARIANTS = ("fp32", "int8")
OPSET = 17

# How the int8 graph is quantised. Measured on all 3,524 DRCD dev questions over the 1,000 passages
# (benchmarks/results/embedder.md): top-1 agreement with fp32 0.92 for this, 0.93 when only the FFN
# MatMuls are quantised, both below the 0.98 bar, so int8 is an explicit choice, not the default.
INT8_OPTIONS: dict[str, Any] = {
    "per_channel": True,
    # 7-bit weights: without AVX-512 VNNI the u8 x s8 kernels (vpmaddubsw) saturate int16 sums.
    "reduce_range": True,
    "op_types_to_quantize": ["MatMul", "Attention"],
    "nodes_to_exclude": [],
}

# Rows per ONNX Runtime call when indexing: 8 was fastest for fp32 and int8 (benchmarks/results/embedder.md).
DEFAULT_BATCH_SIZE = 8


def variant_dir(cache_dir: Path | str, variant: str) -> Path:
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: {', '.join(VARIANTS)}")
    return Path(cache_dir).expanduser() / f"{bm.MODEL_DIR_NAME}-onnx{ONNX_FORMAT_VERSION}-{variant}"


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ----------------------------------------------------------------------------- building


def _export_fp32(model_dir: Path, out: Path) -> None:
    """TorchScript-export BertModel + masked mean pooling: (inputs_embeds, attention_mask) -> pooled.

    The word-embedding lookup stays outside the graph (`word_embeddings` reads the table from the
    materialised safetensors): it is a gather with no arithmetic, and leaving its 384 MB table out
    makes the graphs ~90 MB (fp32) and ~25 MB (int8) instead of ~470 and ~400 MB.
    """
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # eager attention: plain MatMul/Softmax nodes that ONNX Runtime fuses and quantises
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, add_pooling_layer=False,
                                      attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(attention_mask)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 2, 1, 1]])
    mask = (ids != 1).long()
    embeds = model.get_input_embeddings()(ids)
    traced = out.with_name(".traced.onnx")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer and deprecation notices about the legacy exporter
        torch.onnx.export(
            Pooled(model), (embeds, mask), str(traced), dynamo=False, opset_version=OPSET,
            input_names=["inputs_embeds", "attention_mask"], output_names=["pooled"],
            dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "pooled": {0: "batch"}},
        )
    # ONNX Runtime's BERT fusions (Attention, SkipLayerNormalization, BiasGelu): same vectors (cosine
    # 0.99999994), about 1.5x the passages/s of the plain graph here.
    from onnxruntime.transformers import optimizer

    config = model.config
    fused = optimizer.optimize_model(str(traced), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size)
    if fused.get_fused_operator_statistics().get("Attention", 0) != config.num_hidden_layers:
        raise RuntimeError("ONNX Runtime did not fuse every attention block of the exported graph")
    fused.save_model_to_file(str(out))
    traced.unlink()


def word_embeddings(model_dir: Path) -> RowFile:
    """The word-embedding table of the materialised model, read by row from the safetensors file (no
    copy in memory, and not memory-mapped: see `qa.models.rowfile`)."""
    path = model_dir / "model.safetensors"
    with path.open("rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(header_len))
    meta = header["embeddings.word_embeddings.weight"]
    if meta["dtype"] != "F32":
        raise ValueError(f"word embeddings are {meta['dtype']}, expected F32")
    start, end = meta["data_offsets"]
    rows, dim = meta["shape"]
    if end - start != rows * dim * 4:
        raise ValueError("word embeddings: size does not match the shape")
    return RowFile(path, offset=8 + header_len + start, dtype="<f4", shape=(rows, dim))


def _external_weights(graph: Path) -> None:
    """Re-save `graph` with its weights in one file beside it (`GRAPH_FILE` + `WEIGHTS_SUFFIX`): ONNX Runtime
    then reads them straight into its buffers instead of parsing them out of the protobuf and copying them,
    which makes a fresh session ~0.1 s faster for the fp32 embedder (0.26 -> 0.16 s, medians of 7 fresh
    processes) and ~0.05 s for the reader, with the same outputs."""
    import onnx

    model = onnx.load(str(graph))
    onnx.save_model(model, str(graph), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=graph.name + WEIGHTS_SUFFIX, size_threshold=1024)


def _quantize(fp32: Path, out: Path, options: dict[str, Any]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    opts = dict(options)
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8,
                     per_channel=opts.pop("per_channel"), reduce_range=opts.pop("reduce_range"),
                     op_types_to_quantize=opts.pop("op_types_to_quantize"),
                     nodes_to_exclude=opts.pop("nodes_to_exclude") or None,
                     # shape inference cannot type the outputs of the fused (com.microsoft) ops
                     extra_options={"DefaultTensorType": 1}, **opts)  # 1 = onnx.TensorProto.FLOAT


def _build_variant(model_dir: Path, out: Path, variant: str, fp32_graph: Path | None) -> None:
    """Write `variant`'s graph and manifest into the empty directory `out`."""
    graph = out / GRAPH_FILE
    if variant == "fp32":
        _export_fp32(model_dir, graph)
    else:
        source = fp32_graph
        scratch = out / ".fp32.onnx"
        if source is None:
            _export_fp32(model_dir, scratch)
            source = scratch
        _quantize(source, graph, INT8_OPTIONS)
        scratch.unlink(missing_ok=True)
    _external_weights(graph)
    weights = model_dir / "model.safetensors"
    st = weights.stat()
    files = {p.relative_to(out).as_posix(): {"size": p.stat().st_size, "sha256": bm._sha256(p)}
             for p in sorted(out.rglob("*")) if p.is_file()}
    bm._write_json(out / bm.MANIFEST, {
        "model_id": bm.MODEL_ID,
        "format_version": ONNX_FORMAT_VERSION,
        "variant": variant,
        "quantization": INT8_OPTIONS if variant == "int8" else None,
        "opset": OPSET,
        # what it was derived from: the materialised fp32 weights
        "source": {"path": str(weights), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                   "sha256": bm._sha256(weights)},
        "files": files,
    })


def _problem(target: Path, model_dir: Path, variant: str, verify: bool) -> str | None:
    problem = bm._problem(target, model_dir / "model.safetensors", verify, format_version=ONNX_FORMAT_VERSION)
    if problem is None:
        manifest = json.loads((target / bm.MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("variant") != variant or (variant == "int8" and manifest.get("quantization") != INT8_OPTIONS):
            return "built by another version"
        for name in (GRAPH_FILE, GRAPH_FILE + WEIGHTS_SUFFIX):
            if name not in manifest["files"]:
                return f"{name} missing"
    return problem


def materialize_onnx(cache_dir: Path | str, variant: str = "int8", *, verify: bool = False) -> Path:
    """Return the directory holding `variant`'s graph, building it (and the fp32 model) if needed.

    About 10 s for fp32 and 20 s for int8 on 2 cores; nothing is downloaded.
    """
    cache_dir = Path(cache_dir).expanduser()
    model_dir = bm.materialize(cache_dir)
    target = variant_dir(cache_dir, variant)
    fp32_graph = None
    if variant == "int8":  # quantise an existing fp32 graph rather than exporting again
        fp32 = variant_dir(cache_dir, "fp32")
        if fp32.is_dir() and _problem(fp32, model_dir, "fp32", False) is None:
            fp32_graph = fp32 / GRAPH_FILE
    return bm.build_dir_atomically(
        cache_dir, target,
        lambda t: _problem(t, model_dir, variant, verify) is None,
        lambda tmp: _build_variant(model_dir, tmp, variant, fp32_graph),
    )


def onnx_state(cache_dir: Path | str, variant: str, *, verify: bool = False) -> dict[str, Any]:
    """Where `variant`'s graph lives and whether it is usable (cheap checks unless `verify`)."""
    cache_dir = Path(cache_dir).expanduser()
    target = variant_dir(cache_dir, variant)
    model_dir = bm._model_dir(cache_dir)
    if not target.exists():
        state = "missing"
    elif not model_dir.exists():
        state = "damaged: the fp32 model it derives from is missing"
    else:
        problem = _problem(target, model_dir, variant, verify)
        state = "ok" if problem is None else f"damaged: {problem}"
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) if target.exists() else 0
    return {"variant": variant, "dir": str(target), "state": state, "size_bytes": size}


# ----------------------------------------------------------------------------- tokenizer


class EngineVocabulary:
    """The materialised model's SentencePiece processor and the engine's normalisation table, loaded once per
    process and shared by every tokenizer of these weights (`EngineTokenizer`, the reader's `OffsetTokenizer`).

    Loading the SentencePiece model takes ~0.3 s (its 250k pieces, holding the GIL), once per process rather
    than once per tokenizer; SentencePiece's encoding is const, so one processor serves every thread.
    """

    def __init__(self, model_dir: Path) -> None:
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_file=str(model_dir / bm.SPM_FILE))
        table = json.loads((model_dir / bm.SPM_NORMALIZATION).read_text(encoding="utf-8"))
        self.map: dict[int, str] = {int(cp): out for cp, out in table["map"].items()}
        self.unk, self.bos, self.eos, self.pad = (int(table[k]) for k in ("unk", "bos", "eos", "pad"))
        if self.sp.unk_id() != self.unk:
            raise ValueError("the SentencePiece model and its normalisation table disagree on <unk>")
        self._lengths: dict[int, int] = {}

    def piece_length(self, token_id: int) -> int:
        """Characters of the piece `token_id` spells (looked up for the ids met, not for all 250k at load)."""
        n = self._lengths.get(token_id)
        if n is None:
            n = self._lengths[token_id] = len(self.sp.id_to_piece(token_id))
        return n


_vocabularies: dict[tuple[str, int, int], EngineVocabulary] = {}
_vocabularies_lock = threading.Lock()


def engine_vocabulary(model_dir: Path) -> EngineVocabulary:
    """The shared `EngineVocabulary` of `model_dir` (keyed by the file's identity: a rebuilt model reloads)."""
    st = (model_dir / bm.SPM_FILE).stat()
    key = (str(Path(model_dir).resolve()), st.st_mtime_ns, st.st_size)
    with _vocabularies_lock:
        vocabulary = _vocabularies.get(key)
        if vocabulary is None:
            vocabulary = _vocabularies[key] = EngineVocabulary(model_dir)
        return vocabulary


class EngineTokenizer:
    """The C engine's tokenisation (`tok_content()` in e5.c) on SentencePiece: the same ids.

    Same ids as the Hugging Face `tokenizer.json` of the materialised model, for a fraction of its
    memory: 53 MB resident against 281 MB (the Unigram model of `tokenizers`), measured. The engine's
    normalisation runs here in Python (code-point map, space runs collapsed, "▁" prepended unless
    the text starts with a space, spaces to "▁"); SentencePiece, with no normaliser of its own,
    runs the Viterbi over the same pieces and scores (see `qa.models.e5_weights._build_spm`). It fuses
    a run of unknown characters into one <unk>, where the engine emits one per character: such
    runs are expanded again.
    """

    def __init__(self, model_dir: Path) -> None:
        vocabulary = engine_vocabulary(model_dir)
        self._sp, self._map = vocabulary.sp, vocabulary.map
        self.unk, self.bos, self.eos, self.pad = vocabulary.unk, vocabulary.bos, vocabulary.eos, vocabulary.pad

    _SPACES = re.compile(" {2,}")

    def normalize(self, text: str) -> str:
        """The text as the engine's Viterbi sees it."""
        text = self._SPACES.sub(" ", text.translate(self._map))
        return ("" if text.startswith(" ") else bm._META) + text.replace(" ", bm._META)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Content token ids (no <s> </s>) of each text."""
        normalized = [self.normalize(t) for t in texts]
        out = self._sp.encode(normalized)
        for i, ids in enumerate(out):
            if self.unk in ids:
                out[i] = self._expand_unknown(normalized[i], ids)
        return out

    def _expand_unknown(self, text: str, ids: list[int]) -> list[int]:
        runs: list[int] = []  # lengths of the runs of unknown characters, in order
        length = 0
        for char in text:
            if self._sp.piece_to_id(char) == self.unk:
                length += 1
            elif length:
                runs.append(length)
                length = 0
        if length:
            runs.append(length)
        if ids.count(self.unk) != len(runs):
            raise RuntimeError("SentencePiece's <unk> tokens do not match the unknown characters")
        expanded: list[int] = []
        it = iter(runs)
        for i in ids:
            if i == self.unk:
                expanded += [i] * next(it)
            else:
                expanded.append(i)
        return expanded


# ----------------------------------------------------------------------------- embeddings


class OnnxE5Embeddings(EmbeddingModel):
    """The bundled multilingual-e5-small through ONNX Runtime on CPU, as a LangChain `Embeddings`.

    Same prompts, pooling, long-text windows and normalisation as the other engines of these
    weights (`qa.models.bundled_model`), hence the same `model_id`. `variant` is "fp32" or "int8".
    """

    model_id: str = bm.MODEL_ID

    def __init__(self, *, cache_dir: Path | str | None = None, variant: str = "int8",
                 batch_size: int | None = None, num_threads: int | None = None) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown ONNX variant {variant!r}: {', '.join(VARIANTS)}")
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else bm.default_cache_dir()
        self.variant = variant
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        self.num_threads = num_threads or _threads()
        self.dimension: int = 384
        self._session: Any = None
        self._lock = threading.Lock()
        self._cache: Any = None

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                self.path = materialize_onnx(self.cache_dir, self.variant)
                model_dir = bm._model_dir(self.cache_dir)
                tokenizer = EngineTokenizer(model_dir)
                self._bos, self._eos, self._pad = tokenizer.bos, tokenizer.eos, tokenizer.pad
                config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
                self._window = int(config["max_position_embeddings"]) - 2  # room for <s> </s>
                self._tokenizer = tokenizer
                self._word = word_embeddings(model_dir)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.num_threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.log_severity_level = 3
                self._session = ort.InferenceSession(str(self.path / GRAPH_FILE), options,
                                                     providers=["CPUExecutionProvider"])
                self._cache = QueryCache()
            return self._session

    # -- LangChain API

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts), "passage").tolist()

    def embed_query(self, text: str) -> list[float]:
        self._load()
        cached = self._cache.get(text)
        if cached is None:
            cached = self._embed([text], "query")[0].tolist()
            self._cache.put(text, cached)
        return cached

    # -- internals

    def _embed(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        self._load()
        prompt = bm.PROMPTS[prompt_name]
        content = self._tokenizer.encode([prompt + t for t in texts])
        return bm.embed_windowed(content, self._pool_rows, window=self._window, bos=self._bos, eos=self._eos,
                                 batch_size=self.batch_size, dim=self.dimension)

    def _pool_rows(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self._pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        embeds = np.ascontiguousarray(self._word.take(ids))  # [rows, width, 384] float32
        return self._session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
