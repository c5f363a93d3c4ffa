"""What every encoder provides (the Embedder protocol) and the pooling they share."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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


def text_hash(text: str) -> str:
    """Cache key part for a text to embed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encoder_record(embedder: Any) -> dict[str, Any]:
    """What the manifest records about the encoder that made a generation's vectors."""
    info = getattr(embedder, "info", None)
    return dict(info) if isinstance(info, dict) else {"backend": type(embedder).__name__}


def normalise(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    out: np.ndarray = (v / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return out


def pool_spans(
    tokens: np.ndarray, offsets: Sequence[tuple[int, int]], spans: list[tuple[int, int]], passage: np.ndarray
) -> np.ndarray:
    """One normalised vector per char span: the mean of the contextual token vectors inside it.

    tokens are a passage's token embeddings (padding removed) and offsets their char offsets;
    special tokens have empty offsets and never count. A span without tokens (cut off by
    truncation) gets the passage vector.
    """
    dim = tokens.shape[1]
    offs = np.asarray(offsets[: len(tokens)], dtype=np.int64).reshape(-1, 2)
    starts, ends = offs[:, 0], offs[:, 1]
    real = ends > starts
    out = np.zeros((len(spans), dim), dtype=np.float32)
    for j, (s, e) in enumerate(spans):
        mask = real & (starts >= s) & (ends <= e)
        out[j] = tokens[mask].mean(axis=0) if mask.any() else passage
    return normalise(out)
