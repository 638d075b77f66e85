"""The HNSW repair: a chunk stored with its vector that Chroma's vector index does not return is
reported by `qa index --check` and re-added by `qa index` (real CLI, real Chroma, the situation
forced in Chroma's persisted HNSW graph)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).with_name("qa"))
pytestmark = pytest.mark.slow

# Chroma persists its HNSW graph only every 1,000 writes (below that it is rebuilt from the log on
# every open), so the store is padded with that many extra chunk rows: `qa index` removes them later
# as orphans (no article record points at them).
PAD = 1100
_HEADER = "<iQQQQQQiIQQQdQ"  # hnswlib's header.bin as Chroma writes it (a format version first)

PAD_AND_PICK = """
import json, sys, numpy as np, chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
col = client.get_collection("qa_chunks")
dim = len(col.get(limit=1, include=["embeddings"])["embeddings"][0])
rng = np.random.default_rng(0)
for i in range(0, %(pad)d, 100):
    vecs = rng.normal(size=(100, dim)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    col.add(ids=[f"pad#v#{j}" for j in range(i, i + 100)], embeddings=vecs.tolist(), documents=["pad"] * 100)
firsts = col.get(where={"index": 0}, include=["embeddings"])
print(json.dumps({cid: [float(x) for x in v] for cid, v in zip(firsts["ids"], firsts["embeddings"])}))
""" % {"pad": PAD}


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "QA_ARTICLES_DIR": str(tmp / "articles"), "QA_VECTORSTORE_DIR": str(tmp / "vectorstore"),
            "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def _qa(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], env=_env(tmp), capture_output=True, text=True, timeout=900)


def _unlink(segment: Path, vector: np.ndarray) -> None:
    """Remove the element holding `vector` from every neighbour list of Chroma's persisted HNSW graph
    (it keeps its data and label, so `get` still returns it): a search can no longer reach it, as with
    the poorly connected nodes seen under load."""
    (_, _, _, count, size, _, data_at, _, entry, max_m, max_m0, _, _, _) = struct.unpack(
        _HEADER, (segment / "header.bin").read_bytes())
    level0 = bytearray((segment / "data_level0.bin").read_bytes())
    dim = len(vector)
    data = np.stack([np.frombuffer(level0[i * size + data_at : i * size + data_at + 4 * dim], dtype="<f4") for i in range(count)])
    target = int(np.argmax(data @ (vector / np.linalg.norm(vector))))
    assert target != entry, "the chosen chunk is the graph's entry point"

    def drop(buf: bytearray, at: int) -> None:
        n = struct.unpack_from("<I", buf, at)[0] & 0xFFFF
        links = [x for x in struct.unpack_from(f"<{n}I", buf, at + 4) if x != target]
        struct.pack_into("<I", buf, at, (struct.unpack_from("<I", buf, at)[0] & ~0xFFFF) | len(links))
        struct.pack_into(f"<{len(links)}I", buf, at + 4, *links)

    for i in range(count):
        drop(level0, i * size)
    # link_lists.bin: per element, its upper levels' size in bytes (u32), then those levels' lists.
    upper = bytearray((segment / "link_lists.bin").read_bytes())
    per_level, at = 4 + 4 * max_m, 0
    for _ in range(count):
        size_upper = struct.unpack_from("<I", upper, at)[0]
        for level in range(size_upper // per_level):
            drop(upper, at + 4 + level * per_level)
        at += 4 + size_upper
    assert at == len(upper)
    (segment / "data_level0.bin").write_bytes(bytes(level0))
    (segment / "link_lists.bin").write_bytes(bytes(upper))


def _chunks_segment(store: Path) -> Path:
    db = sqlite3.connect(store / "chroma.sqlite3")
    try:
        (segment,) = db.execute("SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
                                "WHERE c.name = 'qa_chunks' AND s.scope = 'VECTOR'").fetchone()
    finally:
        db.close()
    return store / segment


def test_check_reports_and_index_re_adds_a_chunk_the_vector_index_does_not_return(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "seeds", tmp_path / "articles")
    built = _qa(tmp_path, "index")
    assert built.returncode == 0, built.stderr
    padded = subprocess.run([sys.executable, "-c", PAD_AND_PICK, str(tmp_path / "vectorstore")], capture_output=True,
                            text=True, timeout=600, env=_env(tmp_path))
    assert padded.returncode == 0, padded.stderr
    firsts = json.loads(padded.stdout)
    chunk_id = sorted(firsts)[-1]
    _unlink(_chunks_segment(tmp_path / "vectorstore"), np.asarray(firsts[chunk_id], dtype=np.float32))

    check = _qa(tmp_path, "index", "--check")
    article = chunk_id.split("#", 1)[0]
    assert check.returncode == 1
    assert f"{article}: its first chunk is stored but the vector index does not find it" in check.stdout + check.stderr
    assert sum("vector index does not find" in line for line in (check.stdout + check.stderr).splitlines()) == 1

    repaired = _qa(tmp_path, "index")
    assert repaired.returncode == 0, repaired.stderr
    assert "1 chunk vector re-added" in repaired.stdout
    again = _qa(tmp_path, "index", "--check")
    assert again.returncode == 0 and "index OK" in again.stdout, again.stdout + again.stderr
