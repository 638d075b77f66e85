"""qa.rowfile: rows read on demand from .npy / raw array files, the same values as numpy's, without
mapping the file (so a reader's resident memory does not grow with every row it touches)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from qa.models.rowfile import RowFile


def _rss_mb() -> int:
    text = open("/proc/self/smaps_rollup").read()
    return int(re.search(r"^Rss:\s+(\d+) kB", text, re.M).group(1)) // 1024  # type: ignore[union-attr]


def test_take_matches_numpy_indexing_for_any_index_shape(tmp_path):
    table = np.random.default_rng(0).standard_normal((500, 7)).astype(np.float32)
    np.save(tmp_path / "t.npy", table)
    rows = RowFile.npy(tmp_path / "t.npy")
    assert rows.shape == (500, 7) and len(rows) == 500 and rows.ndim == 2
    idx = np.array([[3, 3, 499], [0, 250, 3]])
    np.testing.assert_array_equal(rows.take(idx), table[idx])
    np.testing.assert_array_equal(rows[[10, 2]], table[[10, 2]])
    assert rows.take(np.zeros(0, np.int64)).shape == (0, 7)
    with pytest.raises(IndexError):
        rows.take([500])
    with pytest.raises(IndexError):
        rows.take([-1])


def test_raw_array_at_an_offset_and_byte_ranges(tmp_path):
    header = b"HEADER--"
    table = np.arange(60, dtype="<f4").reshape(20, 3)
    (tmp_path / "raw.bin").write_bytes(header + table.tobytes())
    rows = RowFile(tmp_path / "raw.bin", offset=len(header), dtype="<f4", shape=(20, 3))
    np.testing.assert_array_equal(rows.take([19, 0]), table[[19, 0]])
    with pytest.raises(ValueError, match="too short"):
        RowFile(tmp_path / "raw.bin", offset=len(header), dtype="<f4", shape=(21, 3))

    blob = "一二三abc".encode("utf-8")
    np.save(tmp_path / "texts.npy", np.frombuffer(blob, dtype=np.uint8))
    texts = RowFile.npy(tmp_path / "texts.npy")
    assert texts.read_bytes(0, 9).decode("utf-8") == "一二三"
    assert texts.read_bytes(9, 12) == b"abc"
    with pytest.raises(IndexError):
        texts.read_bytes(5, 13)
    with pytest.raises(TypeError):
        rows.read_bytes(0, 1)


def test_object_arrays_are_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="plain values"):
        RowFile.npy(tmp_path / "o.npy")


def test_reading_scattered_rows_does_not_grow_resident_memory(tmp_path):
    # 96 MB table, 3,000 scattered rows of 1.5 KB: a memory map would fault in ~64-128 KB around each
    # (most of the file); row reads keep only what was asked for (~4.5 MB of results).
    n, dim = 64_000, 384
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    big[:: 1000] = 1.0
    big.flush()
    del big
    rows = RowFile.npy(path)
    idx = np.random.default_rng(1).choice(n, 3000, replace=False)
    before = _rss_mb()
    got = [rows.take(idx[i : i + 30]) for i in range(0, len(idx), 30)]
    grown = _rss_mb() - before
    assert sum(g.shape[0] for g in got) == 3000
    assert float(rows.take([0])[0, 0]) == 1.0 and float(rows.take([1])[0, 0]) == 0.0
    assert grown < 24, f"resident memory grew by {grown} MB reading 4.5 MB of rows"
