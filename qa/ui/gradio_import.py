"""Importing Gradio without the type stubs it rewrites on every import (over half of `import gradio`).

Gradio's `ComponentMeta` calls `create_or_modify_pyi` for each component class it defines: it reads the
class's source, parses the whole file, renders a stub and compares it with (or writes it into) the
installed `.pyi` next to it. The stubs are only for type checkers and ship with the package; in a
running server this is pure cost (1.4-2 s of 2.4-3.8 s on the shared 2-core machine, measured with
`benchmarks/bench_start.py`), and it writes into site-packages when the files differ. `skip_stubs()`,
called before Gradio is first imported, makes that one function do nothing for this process; nothing
else of Gradio changes. If Gradio is already imported, or a later Gradio has no such function, it
does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_MODULE = "gradio.component_meta"
_FUNCTION = "create_or_modify_pyi"


def _no_stub(*args: Any, **kwargs: Any) -> None:
    """Gradio's stub writer, skipped (see the module docstring)."""


class _SkipStubs(importlib.abc.MetaPathFinder):
    """Finds `gradio.component_meta` as usual and swaps the stub writer out right after it runs,
    before any component class is defined. Removes itself once used."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name != _MODULE:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if callable(getattr(module, _FUNCTION, None)):
                setattr(module, _FUNCTION, _no_stub)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stubs() -> None:
    """Before Gradio's first import in this process: its components are defined without rewriting stubs."""
    if _MODULE in sys.modules or any(isinstance(f, _SkipStubs) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _SkipStubs())
