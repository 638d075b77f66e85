"""Rows of an array stored in a file, read on demand with `os.pread` instead of memory-mapping it.

Why not a memory map: every page of a mapped file that has been touched counts toward the process's
resident memory, and the kernel maps whole runs of pages around each one touched (read-ahead and
fault-around, 64-128 KB). Reading single rows at random from a large table therefore grows RSS by
~100 KB per row: the query embedder's 384 MB word-embedding table reached 285 MB resident after 200
questions at 100k chunks, the sentence file's vectors and texts another 80 MB. A `pread` copies only
the bytes asked for; the file itself stays in the page cache, which is shared and reclaimable.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np


class RowFile:
    """A C-ordered array of `shape` and `dtype` at byte `offset` of `path`; rows are read when asked for.

    Thread-safe (`pread` has no file position). The file must not be rewritten in place while open:
    the index writes derived files to new folders and switches a pointer, so an open one never changes."""

    def __init__(self, path: Path | str, *, offset: int, dtype: Any, shape: tuple[int, ...]) -> None:
        self.path = Path(path)
        self.offset = int(offset)
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(s) for s in shape)
        if not self.shape:
            raise ValueError(f"{self.path}: a row file needs at least one dimension")
        self.row_shape = self.shape[1:]
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize
        size = self.path.stat().st_size
        if self.offset + self.shape[0] * self.row_bytes > size:
            raise ValueError(f"{self.path}: {size} bytes, too short for an array of shape {self.shape} at offset {self.offset}")
        self._fd = os.open(self.path, os.O_RDONLY)
        self._closed = threading.Lock()  # only guards close()

    @classmethod
    def npy(cls, path: Path | str) -> RowFile:
        """An array saved with `numpy.save` (C order, no pickled objects)."""
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(fh)
            offset = fh.tell()
        if fortran_order or dtype.hasobject:
            raise ValueError(f"{path}: only C-ordered arrays of plain values can be read by row")
        return cls(path, offset=offset, dtype=dtype, shape=shape)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def take(self, indices: Any) -> np.ndarray:
        """`array[indices]` for integer indices of any shape: result shape `indices.shape + row shape`.
        Each distinct row is read once."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[0]):
            raise IndexError(f"row index out of range for {self.shape[0]} rows")
        unique, inverse = np.unique(idx.ravel(), return_inverse=True)
        buf = bytearray(len(unique) * self.row_bytes)
        view = memoryview(buf)
        for j, row in enumerate(unique.tolist()):
            got = os.preadv(self._fd, [view[j * self.row_bytes : (j + 1) * self.row_bytes]], self.offset + row * self.row_bytes)
            if got != self.row_bytes:
                raise OSError(f"{self.path}: short read at row {row}")
        rows = np.frombuffer(buf, dtype=self.dtype).reshape((len(unique), *self.row_shape))
        return rows[inverse].reshape(idx.shape + self.row_shape)

    __getitem__ = take

    def read_bytes(self, start: int, stop: int) -> bytes:
        """Bytes `start:stop` of a one-dimensional byte array (e.g. concatenated UTF-8 texts)."""
        if self.ndim != 1 or self.dtype.itemsize != 1:
            raise TypeError("read_bytes needs a one-dimensional array of single bytes")
        if not 0 <= start <= stop <= self.shape[0]:
            raise IndexError(f"byte range {start}:{stop} outside 0:{self.shape[0]}")
        return os.pread(self._fd, stop - start, self.offset + start)

    def close(self) -> None:
        with self._closed:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass
