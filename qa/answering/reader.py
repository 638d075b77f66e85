"""The extractive reader: the short answer span (article offsets, probability) and a no-answer probability per passage.

A 6-layer e5-small trained by this project (`qa.training.reader`, weights in `qa/models/reader/`, see its
MODEL_CARD.md) reads `<s> query: question </s></s> passage window </s>` and gives, per token, start and end
logits (position 0 is the SQuAD2-style null answer) and, from `<s>`, an answerability logit. It runs on ONNX
Runtime: the graph (the trained layers and heads, fp32 or dynamic int8) is exported once into the model cache;
the frozen word embeddings are not in it nor shipped: their rows are read from the table the embedder uses
(`qa.onnx_engine.word_embeddings`). Tokens carry exact character offsets (`OffsetTokenizer`: the ids of the C
engine's tokenisation), so `article_text[span.start:span.end] == span.text`. Nothing loads at import.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.models import bundled_model as bm

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "models" / "reader"
WEIGHTS_FILE = "reader.safetensors"
CONFIG_FILE = "config.json"
GRAPH_FILE = "model.onnx"
DIGESTS_FILE = "reader-digests.json"  # in the model cache: weights path -> size, mtime, sha256
QUERY_PREFIX = "query: "
# Defaults of the window layout; the shipped config.json records what the weights were trained with.
MAX_TOKENS = 192
QUESTION_TOKENS = 48
STRIDE = 96  # passage tokens shared by consecutive windows of one long passage
MAX_ANSWER_TOKENS = 40
EXPORT_VERSION = 2  # 2: weights beside the graph (`qa.models.onnx_engine._external_weights`)
VARIANTS = ("fp32", "int8")


# ----------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class Passage:
    """A piece of an article to read: its text, the article it comes from and where in it it starts."""

    text: str
    article_id: str = ""
    offset: int = 0  # character offset of `text` in its article


@dataclass(frozen=True)
class Span:
    """An answer span; `start`/`end` are character offsets into the article (`passage.offset` added)."""

    text: str
    article_id: str
    start: int
    end: int
    passage: int  # index into the passages given to `read`
    window: int  # which window of that passage
    probability: float  # P(answerable) x P(start) x P(end) in its window
    no_answer: float  # the passage's no-answer probability (its most answerable window)


@dataclass
class PassageReading:
    passage: int
    no_answer: float
    spans: list[Span] = field(default_factory=list)


# ----------------------------------------------------------------------------- tokenisation


class OffsetTokenizer:
    """`qa.onnx_engine.EngineTokenizer`'s ids, with each token's character span in the original text.

    The engine maps code points, collapses space runs, prepends "▁" and turns spaces into "▁", then runs
    SentencePiece's Viterbi (no normaliser of its own: the pieces spell the normalised text). Each normalised
    character remembers the original character it came from; a token's span runs from its first source
    character that was not a space to its last one. A token with no such character (a lone "▁") gets an
    empty span where it stands.
    """

    def __init__(self, model_dir: Path) -> None:
        from qa.models.onnx_engine import engine_vocabulary

        vocabulary = engine_vocabulary(model_dir)  # the embedder's processor: SentencePiece loads once per process
        self._sp, self._map, self._piece_length = vocabulary.sp, vocabulary.map, vocabulary.piece_length
        self.unk, self.bos, self.eos, self.pad = vocabulary.unk, vocabulary.bos, vocabulary.eos, vocabulary.pad

    def _normalize(self, text: str) -> tuple[str, list[int]]:
        chars: list[str] = []
        source: list[int] = []
        for i, ch in enumerate(text):
            out = self._map.get(ord(ch), ch)
            for c in out:
                if c == " " and chars and chars[-1] == " ":
                    continue  # runs of spaces collapse
                chars.append(c)
                source.append(i)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            source.insert(0, -1)
        return "".join(chars).replace(" ", bm._META), source

    def encode(self, text: str) -> tuple[list[int], list[int], list[int]]:
        """Content token ids (no <s> </s>) and each token's [start, end) in `text`."""
        norm, source = self._normalize(text)
        ids = self._sp.encode(norm)
        out_ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for tid in ids:
            if tid == self.unk:  # SentencePiece fuses a run of unknown characters; the engine emits one each
                run = pos
                while run < len(norm) and self._sp.piece_to_id(norm[run]) == self.unk:
                    run += 1
                pieces = [(pos + k, pos + k + 1) for k in range(max(run - pos, 1))]
            else:
                pieces = [(pos, pos + self._piece_length(tid))]
            for a, b in pieces:
                real = [source[k] for k in range(a, min(b, len(norm))) if source[k] >= 0 and norm[k] != bm._META]
                if real:
                    s, e = real[0], real[-1] + 1
                else:
                    s = e = next((source[k] for k in range(a, len(source)) if source[k] >= 0), len(text))
                out_ids.append(tid)
                starts.append(s)
                ends.append(e)
                pos = b
        if pos != len(norm):
            raise RuntimeError("token pieces do not spell the normalised text")
        return out_ids, starts, ends

    def question_ids(self, question: str, limit: int = QUESTION_TOKENS) -> list[int]:
        return self.encode(QUERY_PREFIX + question)[0][:limit]


def window_starts(n_tokens: int, room: int, stride: int) -> list[int]:
    """Start token of each window of `room` passage tokens covering `n_tokens` (consecutive ones share `stride`)."""
    if n_tokens <= room:
        return [0]
    step = max(room - stride, 1)
    starts = list(range(0, n_tokens - room, step))
    starts.append(n_tokens - room)
    return starts


def layout(q_ids: Sequence[int], p_ids: Sequence[int], bos: int, eos: int) -> tuple[list[int], int]:
    """`<s> q </s></s> p </s>` and the index of the first passage token."""
    head = [bos, *q_ids, eos, eos]
    return [*head, *p_ids, eos], len(head)


# ----------------------------------------------------------------------------- weights and graph


def read_config(weights_dir: Path = WEIGHTS_DIR) -> dict[str, Any]:
    return json.loads((weights_dir / CONFIG_FILE).read_text(encoding="utf-8"))


def build_torch_model(base_dir: Path, layers: int, heads_state: dict[str, Any] | None = None) -> Any:
    """The reader network: the first `layers` layers of the materialised e5-small plus the span and answer heads."""
    import torch
    from transformers import BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    config = BertConfig.from_pretrained(str(base_dir))
    config.num_hidden_layers = layers
    bert = BertModel(config, add_pooling_layer=False)
    from safetensors.torch import load_file

    base = load_file(str(base_dir / "model.safetensors"))
    keep = {k: v for k, v in base.items() if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < layers}
    missing, unexpected = bert.load_state_dict(keep, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"base weights do not fit: missing {missing[:3]}, unexpected {unexpected[:3]}")

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.span = torch.nn.Linear(config.hidden_size, 2)
            self.answer = torch.nn.Linear(config.hidden_size, 1)

        def forward(self, attention_mask: Any, input_ids: Any = None, inputs_embeds: Any = None) -> Any:
            hidden = self.bert(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(attention_mask)).last_hidden_state
            start, end = self.span(hidden).unbind(-1)
            return start, end, self.answer(hidden[:, 0]).squeeze(-1)

    model = ReaderNet()
    if heads_state is not None:
        model.load_state_dict({k: v.float() for k, v in heads_state.items()}, strict=False)
    return model


def trained_state(model: Any) -> dict[str, Any]:
    """What training changes (the encoder layers and the heads), without the frozen embeddings."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("bert.embeddings.")}


def _sha256(path: Path) -> str:
    return bm._sha256(path)


def _export(base_dir: Path, weights_dir: Path, out: Path, variant: str) -> None:
    import warnings

    import torch
    from safetensors.torch import load_file

    config = read_config(weights_dir)
    model = build_torch_model(base_dir, int(config["layers"]), load_file(str(weights_dir / WEIGHTS_FILE))).eval()
    ids = torch.tensor([[0, 6, 7, 2, 2, 8, 9, 2], [0, 6, 2, 2, 9, 2, 1, 1]])
    mask = (ids != 1).long()
    embeds = model.bert.get_input_embeddings()(ids)
    traced = out / ".traced.onnx"
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Wrap(model),
            (embeds, mask), str(traced), dynamo=False, opset_version=17,
            input_names=["inputs_embeds", "attention_mask"], output_names=["start", "end", "answer"],
            dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "start": {0: "batch", 1: "tokens"}, "end": {0: "batch", 1: "tokens"}, "answer": {0: "batch"}},
        )
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(traced), model_type="bert", num_heads=model.bert.config.num_attention_heads,
                                     hidden_size=model.bert.config.hidden_size)
    fp32 = out / (GRAPH_FILE if variant == "fp32" else ".fp32.onnx")
    fused.save_model_to_file(str(fp32))
    traced.unlink()
    from qa.models.onnx_engine import INT8_OPTIONS, _external_weights, _quantize

    if variant == "int8":
        _quantize(fp32, out / GRAPH_FILE, INT8_OPTIONS)
        fp32.unlink()
    _external_weights(out / GRAPH_FILE)
    bm._write_json(out / "manifest.json", {"weights_sha256": _sha256(weights_dir / WEIGHTS_FILE),
                                           "variant": variant, "export_version": EXPORT_VERSION})


def _wrap_forward(self: Any, inputs_embeds: Any, attention_mask: Any) -> Any:
    return self.model(attention_mask, inputs_embeds=inputs_embeds)


def _Wrap(model: Any) -> Any:
    import torch

    cls = type("ReaderGraph", (torch.nn.Module,), {"forward": _wrap_forward})
    wrapper = cls()
    wrapper.model = model
    return wrapper


def _weights_digest(cache_dir: Path, weights: Path) -> str:
    """sha256 of `weights`, remembered in the model cache under the file's size and mtime (reading and hashing
    the 21 MB file took ~0.045 s of every fresh process; the materialised model is trusted the same way)."""
    st = weights.stat()
    memo = cache_dir / DIGESTS_FILE
    key = str(weights.resolve())
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    entry = known.get(key)
    if (isinstance(entry, dict) and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns
            and isinstance(entry.get("sha256"), str)):
        return str(entry["sha256"])
    digest = _sha256(weights)
    known[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".digests-", dir=cache_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(known, fh)
            os.replace(tmp, memo)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass  # hashed again next time
    return digest


def materialize_graph(cache_dir: Path, weights_dir: Path = WEIGHTS_DIR, variant: str = "fp32") -> Path:
    """The ONNX graph of these weights in the model cache, exported on first use (seconds, needs torch)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown reader variant {variant!r}: {', '.join(VARIANTS)}")
    cache_dir = Path(cache_dir).expanduser()
    base_dir = bm.materialize(cache_dir)
    digest = _weights_digest(cache_dir, weights_dir / WEIGHTS_FILE)
    target = cache_dir / f"reader-{digest[:16]}-v{EXPORT_VERSION}-{variant}"

    def ok(path: Path) -> bool:
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        from qa.models.onnx_engine import WEIGHTS_SUFFIX

        return (manifest.get("weights_sha256") == digest and manifest.get("export_version") == EXPORT_VERSION
                and (path / GRAPH_FILE).is_file() and (path / (GRAPH_FILE + WEIGHTS_SUFFIX)).is_file())

    return bm.build_dir_atomically(cache_dir, target, ok, lambda tmp: _export(base_dir, weights_dir, tmp, variant))


# ----------------------------------------------------------------------------- the reader


# Separators a token may carry at a span's edge ("），" is one piece): not part of the answer. Brackets and
# quotes stay (book titles 《…》 are answers), except an opening one at the end or a closing one at the start.
_EDGE = set(" \t\r\n\u3000，。、；：！？,;:!?…")
_OPENING = set("（(「『《〈【[“‘")
_CLOSING = set("）)」』》〉】]”’")


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """`text[start:end]` without separators at its edges (offsets stay offsets into `text`)."""
    while start < end and (text[start] in _EDGE or text[start] in _CLOSING):
        start += 1
    while end > start and (text[end - 1] in _EDGE or text[end - 1] in _OPENING):
        end -= 1
    return start, end


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


class Reader:
    """Reads passages for a question (Haystack `ExtractiveReader`-style); loads on first use."""

    def __init__(self, *, cache_dir: Path | str | None = None, weights_dir: Path | str | None = None,
                 variant: str = "fp32", num_threads: int | None = None) -> None:
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else bm.default_cache_dir()
        self.weights_dir = Path(weights_dir) if weights_dir is not None else WEIGHTS_DIR
        self.variant = variant
        self.num_threads = num_threads
        self._lock = threading.Lock()
        self._session: Any = None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort

            from qa.models.onnx_engine import _threads, word_embeddings

            config = read_config(self.weights_dir)
            self.max_tokens = int(config["max_tokens"])
            self.question_tokens = int(config["question_tokens"])
            self.stride = int(config.get("stride", STRIDE))
            graph = materialize_graph(self.cache_dir, self.weights_dir, self.variant)
            base_dir = bm._model_dir(self.cache_dir)
            self.tokenizer = OffsetTokenizer(base_dir)
            self._word = word_embeddings(base_dir)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.num_threads or _threads()
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(graph / GRAPH_FILE), options, providers=["CPUExecutionProvider"])

    def load(self) -> None:
        """Load the graph and the tokenizer now (else on the first `read`)."""
        self._load()

    def read(self, question: str, passages: Sequence[Passage], top_k: int = 3) -> list[Span]:
        """The `top_k` best spans over all passages, most probable first."""
        spans = [s for r in self.read_passages(question, passages) for s in r.spans]
        return sorted(spans, key=lambda s: -s.probability)[:top_k]

    def read_passages(self, question: str, passages: Sequence[Passage], spans_per_passage: int = 3,
                      max_answer_tokens: int = MAX_ANSWER_TOKENS) -> list[PassageReading]:
        """Per passage: its no-answer probability and its best spans (one per window at most)."""
        self._load()
        tok = self.tokenizer
        q_ids = tok.question_ids(question, self.question_tokens)
        room = self.max_tokens - len(q_ids) - 4
        rows: list[tuple[int, int, list[int], int, list[int], list[int]]] = []
        for p_index, passage in enumerate(passages):
            ids, starts, ends = tok.encode(passage.text)
            for w, a in enumerate(window_starts(len(ids), room, self.stride)):
                row, first = layout(q_ids, ids[a : a + room], tok.bos, tok.eos)
                rows.append((p_index, w, row, first, starts[a : a + room], ends[a : a + room]))
        readings = [PassageReading(i, 1.0) for i in range(len(passages))]
        if not rows:
            return readings
        width = max(len(r[2]) for r in rows)
        ids_arr = np.full((len(rows), width), tok.pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for r, row in enumerate(rows):
            ids_arr[r, : len(row[2])] = row[2]
            mask[r, : len(row[2])] = 1
        embeds = np.ascontiguousarray(self._word.take(ids_arr))
        start_l, end_l, answer_l = self._session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})
        candidates: dict[int, list[Span]] = {}
        for r, (p_index, w, row, first, c_starts, c_ends) in enumerate(rows):
            n = len(c_starts)
            p_answer = float(1.0 / (1.0 + np.exp(-float(answer_l[r]))))
            readings[p_index].no_answer = min(readings[p_index].no_answer, 1.0 - p_answer)
            ps = _softmax(start_l[r, first : first + n].astype(np.float64))
            pe = _softmax(end_l[r, first : first + n].astype(np.float64))
            scores = np.triu(np.outer(ps, pe)) - np.triu(np.outer(ps, pe), max_answer_tokens)
            i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
            passage = passages[p_index]
            s, e = trim(passage.text, c_starts[i], c_ends[j])
            if e <= s:
                continue
            candidates.setdefault(p_index, []).append(Span(
                text=passage.text[s:e], article_id=passage.article_id, start=passage.offset + s,
                end=passage.offset + e, passage=p_index, window=w, probability=p_answer * float(scores[i, j]),
                no_answer=0.0))
        for p_index, spans in candidates.items():
            na = readings[p_index].no_answer
            best: dict[tuple[int, int], Span] = {}  # overlapping windows may find the same span
            for span in sorted(spans, key=lambda s: -s.probability):
                best.setdefault((span.start, span.end), span)
            readings[p_index].spans = [replace(s, no_answer=na) for s in list(best.values())[:spans_per_passage]]
        return readings
