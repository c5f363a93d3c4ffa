"""Index stage: build generations, store them crash-safely, load them verified."""

from pathlib import Path

from .build import BuildReport, build_index
from .loaded import LoadedIndex, load_generation
from .store import IndexStore

__all__ = ["BuildReport", "IndexStore", "LoadedIndex", "build_index", "load_current", "load_generation"]


def load_current(index_dir: Path, model: str | None = None, dim: int | None = None) -> LoadedIndex:
    """Verify and load the current generation of index_dir."""
    return load_generation(IndexStore(index_dir).current_dir(), model, dim)
