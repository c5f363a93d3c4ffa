"""Index stage: store generations crash-safely and load them verified (the build lives in `askoleus.pipeline`)."""

from pathlib import Path

from .loaded import LoadedIndex, load_generation
from .store import IndexStore

__all__ = ["IndexStore", "LoadedIndex", "load_current", "load_generation"]


def load_current(index_dir: Path, model: str | None = None, dim: int | None = None) -> LoadedIndex:
    """Verify and load the current generation of index_dir."""
    return load_generation(IndexStore(index_dir).current_dir(), model, dim)
