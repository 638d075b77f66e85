"""The keyword side: a BM25 index over normalised jieba tokens (`qa.text.tokens`), savable and mergeable.

The tokens are normalised (qa.text.normalise), so 貿易額 finds 贸易额 and ＧＤＰ finds GDP.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.text import tokens as _tokens
from qa.text.tokens import tokenize, tokenizer_stamp

log = logging.getLogger(__name__)


class Tokens:
    """Every text's tokens as ids into a sorted vocabulary (`flat[offsets[i]:offsets[i+1]]` is text i).

    The expensive part of a keyword index (jieba), kept with a saved index so that an update
    tokenizes only the texts it has not seen. The vocabulary is sorted and holds exactly the tokens
    used, so the same texts in the same order give the same arrays however they were assembled."""

    def __init__(self, vocab: list[str], flat: np.ndarray, offsets: np.ndarray) -> None:
        self.vocab, self.flat, self.offsets = vocab, flat, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def assemble(cls, previous: Tokens | None, rows: Sequence[int], new: dict[int, list[str]]) -> Tokens:
        """Text i's tokens: `previous` text `rows[i]` when that is >= 0, else `new[i]` (tokens)."""
        known = list(previous.vocab) if previous is not None else []
        index = {t: j for j, t in enumerate(known)}
        old_flat = np.asarray(previous.flat) if previous is not None else np.zeros(0, np.int32)
        old_offsets = np.asarray(previous.offsets) if previous is not None else np.zeros(1, np.int64)
        pieces: list[np.ndarray] = []
        for i, row in enumerate(rows):
            if row >= 0:
                pieces.append(old_flat[old_offsets[row] : old_offsets[row + 1]])
                continue
            ids = []
            for token in new[i]:
                j = index.get(token)
                if j is None:
                    j = index[token] = len(known)
                    known.append(token)
                ids.append(j)
            pieces.append(np.asarray(ids, dtype=np.int64))
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(pieces).astype(np.int64) if pieces else np.zeros(0, np.int64)
        # Keep only the tokens still used, sorted: the same result as tokenizing all texts afresh.
        used = np.flatnonzero(np.bincount(flat, minlength=len(known)) > 0) if len(flat) else np.zeros(0, np.int64)
        terms = [known[j] for j in used]
        order = sorted(range(len(terms)), key=terms.__getitem__)
        remap = np.full(len(known), -1, dtype=np.int64)
        remap[used[np.asarray(order, dtype=np.int64)]] = np.arange(len(order))
        return cls([terms[k] for k in order], remap[flat].astype(np.int32), offsets)

    @classmethod
    def of(cls, texts: Sequence[str]) -> Tokens:
        """Tokenize every text (an empty one gets the single token "", as bm25s needs one per text)."""
        return cls.assemble(None, [-1] * len(texts), {i: _tokens._tokenize(t) or [""] for i, t in enumerate(texts)})

    def save(self, folder: Path) -> None:
        np.save(folder / "tokens.npy", self.flat)
        np.save(folder / "token_offsets.npy", self.offsets)
        (folder / "tokens.json").write_text(json.dumps({"stamp": tokenizer_stamp(), "vocab": self.vocab},
                                                       ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Tokens | None:
        """Saved tokens, or None if there are none or another tokenizer made them."""
        try:
            meta = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if meta.get("stamp") != tokenizer_stamp():
            return None
        tokens = cls(list(meta["vocab"]), np.load(folder / "tokens.npy"), np.load(folder / "token_offsets.npy"))
        if tokens.offsets[0] != 0 or tokens.offsets[-1] != len(tokens.flat) or (
                len(tokens.flat) and int(tokens.flat.max()) >= len(tokens.vocab)):
            raise ValueError("saved tokens are inconsistent")
        return tokens


K1, B = 1.5, 0.75
"""bm25s's defaults (Lucene BM25)."""


def _lucene_bm25(tokens: Tokens) -> object:
    """A `bm25s.BM25(method="lucene")` over `tokens`, its matrices computed with whole-array numpy:
    exactly what its `index((token ids, vocabulary))` computes (same float32 scores, same CSC order,
    the test compares them) without its per-document Python loops (~1 s per 10k chunks)."""
    import bm25s

    n_docs, n_vocab = len(tokens), len(tokens.vocab)
    lengths = np.diff(tokens.offsets).astype(np.int64)
    avg = lengths.mean()
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    # (term, document) pairs sorted term-major: the CSC order; a run of equal pairs is the term frequency.
    key = tokens.flat.astype(np.int64) * n_docs + doc
    key.sort()
    first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if len(key) else np.zeros(0, np.int64)
    tf = np.diff(np.concatenate([first, [len(key)]])).astype(np.float32).astype(np.float64)
    term, row = key[first] // n_docs, key[first] % n_docs
    df = np.bincount(term, minlength=n_vocab)
    values, inverse = np.unique(df, return_inverse=True)
    idf = np.array([math.log(1 + (n_docs - v + 0.5) / (v + 0.5)) if v else 0.0 for v in values.tolist()],
                   dtype=np.float32)[inverse]
    # Operation for operation bm25s's: tf / (k1 * ((1 - b) + b * l_d / l_avg) + tf) in float64, times idf.
    norm = K1 * ((1 - B) + (B * lengths.astype(np.float64)) / avg)
    data = (idf[term].astype(np.float64) * (tf / (norm[row] + tf))).astype(np.float32)
    indptr = np.zeros(n_vocab + 1, np.int64)
    np.cumsum(df, out=indptr[1:])
    bm25 = bm25s.BM25(method="lucene", k1=K1, b=B)
    bm25.nonoccurrence_array = None
    bm25.scores = {"data": data, "indices": row.astype(np.int32), "indptr": indptr, "num_docs": n_docs}
    bm25.vocab_dict = {t: j for j, t in enumerate(tokens.vocab)}
    if "" not in bm25.vocab_dict:  # as bm25s's create_empty_token
        bm25.vocab_dict[""] = n_vocab
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    return bm25


class SavedBM25:
    """A BM25 index saved by `bm25s` (Lucene variant, numpy backend), read back without importing bm25s:
    its matrices memory-mapped, a query scored with the very operations of bm25s's numpy backend
    (`np.add.at` of each query token's column, float32), so the scores are identical. bm25s imports
    scipy and numba on import (~0.3 s of every fresh `qa ask`); it is still what builds and saves."""

    MATRICES = ("data", "indices", "indptr")

    def __init__(self, scores: dict[str, Any], vocab_dict: dict[str, int], dtype: str, int_dtype: str) -> None:
        self.scores, self.vocab_dict = scores, vocab_dict
        self.dtype, self.int_dtype = np.dtype(dtype), np.dtype(int_dtype)

    @classmethod
    def load(cls, folder: Path) -> Any:
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if (params.get("method"), params.get("backend")) != ("lucene", "numpy") or (folder / "nonoccurrence_array.index.npy").exists():
            import bm25s  # another variant: let bm25s read it

            return bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        scores: dict[str, Any] = {name: np.load(folder / f"{name}.csc.index.npy", mmap_mode="r") for name in cls.MATRICES}
        scores["num_docs"] = int(params["num_docs"])
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        return cls(scores, vocab, params.get("dtype", "float32"), params.get("int_dtype", "int32"))

    def get_scores(self, query_tokens: list[str]) -> np.ndarray:
        """bm25s's `BM25.get_scores` for a list of tokens (tokens not in the vocabulary are left out)."""
        ids = np.asarray([self.vocab_dict[t] for t in query_tokens if t in self.vocab_dict], dtype=self.int_dtype)
        data, indices, indptr = (self.scores[name] for name in self.MATRICES)
        if int(ids.max(initial=0)) >= len(indptr) - 1:
            raise ValueError("a query token is not in the saved index")
        starts, ends = indptr[ids], indptr[ids + 1]
        scores = np.zeros(self.scores["num_docs"], dtype=self.dtype)
        for start, end in zip(starts, ends):
            np.add.at(scores, indices[start:end], data[start:end])
        return scores


class KeywordIndex:
    """BM25 (Lucene variant, via bm25s) over a list of texts; ids kept alongside.

    Tokenizing is the expensive part (jieba: ~1.5 ms per chunk, so minutes at 100k chunks), so a
    built index can be saved (`save`) and memory-mapped back (`load`) in milliseconds, and its
    tokens kept (`Tokens`) so that the next index over mostly the same texts (`merged`) tokenizes
    only the new ones."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str] | None = None, *, bm25: object | None = None,
                 tokens: Tokens | None = None) -> None:
        self.ids = list(ids)
        self._bm25: Any = bm25  # a bm25s.BM25 (built here) or a SavedBM25 (loaded)
        self.tokens: Tokens | None = None
        if self._bm25 is None and self.ids:
            self.tokens = tokens if tokens is not None else Tokens.of(list(texts or []))  # not cached: each chunk once
            if len(self.tokens) != len(self.ids):
                raise ValueError(f"{len(self.tokens)} token lists for {len(self.ids)} ids")
            self._bm25 = _lucene_bm25(self.tokens)
        if self._bm25 is not None:
            self._vocab_ids: dict[str, int] = dict(self._bm25.vocab_dict)
            self._vocab = set(self._vocab_ids)
            # Document frequency = stored entries per term column (every occurrence scores > 0).
            self._df = np.diff(np.asarray(self._bm25.scores["indptr"]))

    @classmethod
    def merged(cls, ids: Sequence[str], previous: Tokens | None, rows: Sequence[int], texts: dict[int, str]) -> KeywordIndex:
        """An index of `ids` where text i's tokens are `previous` text `rows[i]` if that is >= 0 and
        `texts[i]` tokenized otherwise: equal to one built from all the texts."""
        new = {i: _tokens._tokenize(texts[i]) or [""] for i, row in enumerate(rows) if row < 0}
        return cls(ids, tokens=Tokens.assemble(previous, rows, new))

    @property
    def vocabulary(self) -> set[str]:
        return self._vocab if self._bm25 is not None else set()

    def idf(self, term: str) -> float:
        """Lucene-style IDF of a (tokenized) term; unseen terms get the highest value."""
        n = len(self.ids)
        tid = self._vocab_ids.get(term) if self._bm25 is not None else None
        df = int(self._df[tid]) if tid is not None else 0
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def save(self, folder: Path) -> None:
        """The BM25 matrices, vocabulary and tokens (not the ids: the caller stores those with its own key)."""
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)
        if self.tokens is not None:
            self.tokens.save(folder)

    @classmethod
    def load(cls, folder: Path, ids: Sequence[str]) -> KeywordIndex:
        """A saved index, memory-mapped (only the pages queries touch are read)."""
        if not ids:
            return cls([])
        bm25 = SavedBM25.load(folder)
        if int(bm25.scores["num_docs"]) != len(ids):
            raise ValueError(f"saved BM25 index has {bm25.scores['num_docs']} documents, expected {len(ids)}")
        return cls(ids, bm25=bm25)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every text for `query` (0 where masked out or no term matches)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        terms = [t for t in tokenize(query) if t in self._vocab]
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        return scores

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        scores = self.scores(query, mask)
        if not len(scores):
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
