"""Embedding: a small protocol and the sentence-transformers implementation (offline)."""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Settings


class Embedder(Protocol):
    """What the index and retriever need from an embedding model."""

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


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers model) loaded from a local path, on CPU."""

    def __init__(self, model_path: str, name: str, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()

        if threads:
            torch.set_num_threads(threads)
        try:
            self.model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure is a configuration problem
            raise ConfigError(f"cannot load embedding model {name!r} offline from {model_path}: {exc}") from exc
        self.name = name
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise ConfigError(f"model {name!r} does not report an embedding dimension")
        self.dim = int(dim)
        self.max_tokens = int(self.model.max_seq_length)
        self._tokenizer = self.model.tokenizer
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch releases the GIL; one encode at a time keeps latency predictable
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus sentence vectors mean-pooled from the same forward pass.

        A sentence vector is the normalised mean of the passage's contextual token embeddings
        that fall inside the sentence's char span: no extra model call, so sentence-level
        answer extraction costs nothing at query time.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        with self._lock:
            outs = self.model.encode(
                texts, batch_size=batch_size, output_value=None, convert_to_numpy=False,
                show_progress_bar=False,
            )
        offsets = self._tokenizer(
            texts, return_offsets_mapping=True, truncation=True, max_length=self.max_tokens
        )["offset_mapping"]
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        per_passage: list[np.ndarray] = []
        for i, out in enumerate(outs):
            v = out["sentence_embedding"].float().cpu().numpy()
            vectors[i] = v / max(float(np.linalg.norm(v)), 1e-12)
            n = int(out["attention_mask"].sum())
            tokens = out["token_embeddings"][:n].float().cpu().numpy()
            starts = np.array([a for a, b in offsets[i][:n]])
            ends = np.array([b for a, b in offsets[i][:n]])
            real = ends > starts
            sent = np.zeros((len(spans[i]), self.dim), dtype=np.float32)
            for j, (s, e) in enumerate(spans[i]):
                mask = real & (starts >= s) & (ends <= e)
                pooled = tokens[mask].mean(axis=0) if mask.any() else vectors[i]
                sent[j] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
            per_passage.append(sent)
        return vectors, per_passage

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for text, [CLS] and [SEP] included."""
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def load_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The embedder named by the settings."""
    return SentenceTransformerEmbedder(settings.model_path(), settings.model, settings.torch_threads)

