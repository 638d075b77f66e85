"""The embedders' interface: LangChain's `Embeddings`, kept without importing LangChain on a question's path.

`from langchain_core.embeddings import Embeddings` costs ~0.15 s in a fresh process: the class's module
imports `langchain_core.runnables.config` (for the async defaults), which imports the callbacks manager,
messages and the HTTP stack, none of which a question needs. The engines of this package derive from
`EmbeddingModel`, a plain class with the same methods (the async ones as LangChain's defaults), and
`EmbeddingModel` is registered as a virtual subclass of `Embeddings` (`Embeddings.register`) the moment
LangChain's module is imported, whoever imports it: `isinstance(engine, Embeddings)` then holds wherever
LangChain code (pydantic fields typed `Embeddings`, langchain-chroma, our chain) or a user can ask.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from types import ModuleType
from typing import Any

_MODULE = "langchain_core.embeddings.embeddings"  # where LangChain defines `Embeddings`


class EmbeddingModel:
    """Base of this package's embedding engines: LangChain's `Embeddings` interface, sync and async.

    A virtual subclass of `langchain_core.embeddings.Embeddings` once LangChain is imported (see the module)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    def embed_query(self, text: str) -> list[float]:
        raise NotImplementedError

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        from langchain_core.runnables.config import run_in_executor  # as `Embeddings.aembed_documents`

        return await run_in_executor(None, self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        from langchain_core.runnables.config import run_in_executor  # as `Embeddings.aembed_query`

        return await run_in_executor(None, self.embed_query, text)


def _register(module: ModuleType) -> None:
    module.Embeddings.register(EmbeddingModel)


class _RegisteringLoader(importlib.abc.Loader):
    """LangChain's own loader for its `Embeddings` module, then the registration."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        _register(module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, get_source, … of the file loader
        return getattr(self._inner, name)


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for LangChain's `Embeddings` module, wraps the spec the other finders give."""

    _active = threading.local()

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != _MODULE or getattr(self._active, "busy", False):
            return None
        self._active.busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None:
                        spec.loader = _RegisteringLoader(spec.loader)
                    return spec
            return None
        finally:
            self._active.busy = False


sys.meta_path.insert(0, _RegisterOnImport())  # stays: a module imported again (reload, tests) registers again
if _MODULE in sys.modules:
    _register(sys.modules[_MODULE])
