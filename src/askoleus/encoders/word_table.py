"""Vectors of a fixed list of words, made once per vector space and kept beside the ONNX exports.

The near-domain check asks what single words a question adds to the articles' vocabulary mean
("sauna", "hello"): each word encoded on the fly costs a model call on the request path. A table of
the common English words' vectors, computed by `askoleus build`, turns those calls into a lookup.

Layout: CACHE_DIR/words-<vector space>-<list hash>.{npy,json}. The .npy holds one float32 row per word
of the list, in the list's order; the .json records the vector space, the list's sha256 and size.
The list itself comes from the caller, so the table holds no copy of it. A table that is missing,
unreadable or made for another list or vector space is not used: the words are then encoded, as before.
Tables are written by askoleus.build_vectors.build_word_table, as a generation's vectors are.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def list_hash(words: Sequence[str]) -> str:
    """sha256 of the word list, in order."""
    return hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()


def table_paths(cache_dir: Path, space: str, words: Sequence[str], digest: str | None = None) -> tuple[Path, Path]:
    """The .npy and .json of the table of these words (whose list_hash is digest) in this vector space."""
    digest = digest or list_hash(words)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", space).strip("-")[:80] or "space"
    key = hashlib.sha256(f"{space}\n{digest}".encode()).hexdigest()[:12]
    stem = cache_dir / f"words-{slug}-{key}"
    return stem.with_suffix(".npy"), stem.with_suffix(".json")


def table_meta(space: str, digest: str, rows: int, dim: int) -> dict[str, Any]:
    """What a table's .json records (load_word_table checks the space and the list's hash)."""
    return {"space": space, "list_sha256": digest, "words": rows, "dim": dim}


class WordTable:
    """A word's vector from the table, or None for a word the list does not hold.

    Rows are read with one pread each, not memory-mapped: a page fault in a mapping reads ahead
    (2,000 lookups mapped 71 MB into the server's RSS), a pread leaves the file to the page cache.
    """

    def __init__(self, words: Sequence[str], path: Path) -> None:
        with path.open("rb") as f:
            fmt = np.lib.format
            v1 = fmt.read_magic(f) == (1, 0)
            shape, fortran, dtype = fmt.read_array_header_1_0(f) if v1 else fmt.read_array_header_2_0(f)
            offset = f.tell()
        if dtype != np.float32 or fortran or len(shape) != 2 or shape[0] != len(words):
            raise ValueError(f"{path} is not a float32 table of {len(words)} rows")
        if path.stat().st_size < offset + shape[0] * shape[1] * 4:
            raise ValueError(f"{path} is truncated")
        self.dim = int(shape[1])
        self._offset = offset
        self._fd = os.open(path, os.O_RDONLY)
        self.rows = {w: i for i, w in enumerate(words)}

    def __len__(self) -> int:
        return len(self.rows)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def get(self, word: str) -> np.ndarray | None:
        """The word's vector (float32, normalised), or None."""
        row = self.rows.get(word)
        if row is None:
            return None
        size = self.dim * 4
        data = os.pread(self._fd, size, self._offset + row * size)
        return np.frombuffer(data, dtype=np.float32).copy() if len(data) == size else None


def load_word_table(cache_dir: Path, space: str, words: Sequence[str], digest: str | None = None) -> WordTable | None:
    """The table of these words (whose list_hash is digest) in this vector space, if built and intact."""
    digest = digest or list_hash(words)
    npy, meta_path = table_paths(cache_dir, space, words, digest)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("space") != space or meta.get("list_sha256") != digest:
            return None
        return WordTable(words, npy)
    except (OSError, ValueError):
        return None
