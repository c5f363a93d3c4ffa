"""What every encoder provides (the Embedder protocol) and the pooling they share."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    """What the index and retriever need from an embedding model.

    `name` names the vector space: two encoders with the same name produce vectors that may be
    mixed in one index and compared with each other (see README, Encoders).
    """

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for text, including special tokens."""
        ...

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus, per passage, one vector per char span (its sentences)."""
        ...


# Part of every cache key: bump it when what is stored per text changes, so old vectors are not reused.
VECTORS_VERSION = "passage+standalone-sentences/2"


def text_hash(text: str) -> str:
    """Cache key part for a text to embed."""
    return hashlib.sha256(f"{VECTORS_VERSION}\n{text}".encode()).hexdigest()


def encoder_record(embedder: Any) -> dict[str, Any]:
    """What the manifest records about the encoder that made a generation's vectors."""
    info = getattr(embedder, "info", None)
    return dict(info) if isinstance(info, dict) else {"backend": type(embedder).__name__}


def normalise(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    out: np.ndarray = (v / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return out


def standalone_passages(
    encode: Callable[[list[str], int], np.ndarray],
    dim: int,
    texts: list[str],
    spans: list[list[tuple[int, int]]],
    batch_size: int,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Passage vectors plus standalone sentence vectors (each sentence encoded on its own).

    Answer extraction compares these with the question. Spans pooled inside the passage's forward
    pass were cheaper but carried their neighbours' meaning: measured on the golden set's tune
    split, standalone vectors put the asked-for fact first far more often (README, Quality).
    """
    if not texts:
        return np.zeros((0, dim), dtype=np.float32), []
    vectors = encode(texts, batch_size)
    sentences = [texts[i][s:e] for i in range(len(texts)) for s, e in spans[i]]
    flat = encode(sentences, batch_size) if sentences else np.zeros((0, dim), np.float32)
    bounds = np.cumsum([0, *(len(sp) for sp in spans)])
    return vectors, [flat[bounds[i] : bounds[i + 1]] for i in range(len(texts))]
