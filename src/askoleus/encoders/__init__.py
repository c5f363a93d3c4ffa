"""Encoders behind one protocol: torch (sentence-transformers), onnx (fp32) and onnx-int8 (onnxruntime).

Backends import their heavy libraries only when loaded: `import askoleus.encoders` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Embedder, encoder_record, text_hash
from .batching import BatchingEmbedder

if TYPE_CHECKING:
    from askoleus.config import Settings

__all__ = ["BACKENDS", "BatchingEmbedder", "Embedder", "encoder_record", "load_embedder", "text_hash"]

BACKENDS = ("onnx", "onnx-int8", "torch")


def load_embedder(settings: Settings, backend: str | None = None) -> Embedder:
    """The encoder ASKOLEUS_ENCODER_BACKEND names (or `backend`), with question micro-batching."""
    return BatchingEmbedder(load_backend(settings, backend), parallel=settings.encoder_calls)


def load_backend(settings: Settings, backend: str | None = None) -> Embedder:
    """The bare encoder of a backend, without micro-batching."""
    backend = backend or settings.encoder_backend
    if backend == "torch":
        from .torch import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings.model_path(), settings.model, settings.torch_threads)
    if backend in ("onnx", "onnx-int8"):
        from .export import onnx_file
        from .onnx import OnnxEmbedder

        int8 = backend == "onnx-int8"
        export = onnx_file(settings.model_path(), settings.model, settings.encoder_cache(), int8)
        return OnnxEmbedder(
            settings.model_path(),
            settings.model,
            export,
            int8,
            settings.torch_threads,
            settings.onnx_spinning,
            settings.onnx_spin_between_runs,
        )
    raise ValueError(f"unknown encoder backend {backend!r}; one of {', '.join(BACKENDS)}")
