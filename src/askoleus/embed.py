"""Embedding: the Embedder protocol and its backends live in askoleus.encoders; this is its old address."""

from __future__ import annotations

from .encoders import Embedder, load_embedder, text_hash

__all__ = ["Embedder", "load_embedder", "text_hash"]
