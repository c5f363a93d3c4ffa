"""Index stage: build generations, store them crash-safely, load them verified.

Names are imported on first use (PEP 562): `askoleus.index.lexical` or `load_current` must not
pull in the build pipeline (chunker, ingest, tiktoken), which a query never needs.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .build import BuildReport, build_index
    from .loaded import LoadedIndex, load_generation
    from .store import IndexStore

__all__ = ["BuildReport", "IndexStore", "LoadedIndex", "build_index", "load_current", "load_generation"]

_LAZY = {
    "BuildReport": ".build",
    "build_index": ".build",
    "LoadedIndex": ".loaded",
    "load_generation": ".loaded",
    "IndexStore": ".store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_current(index_dir: Path, model: str | None = None, dim: int | None = None) -> LoadedIndex:
    """Verify and load the current generation of index_dir."""
    from .loaded import load_generation
    from .store import IndexStore

    return load_generation(IndexStore(index_dir).current_dir(), model, dim)
