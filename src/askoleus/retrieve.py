"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused by a measured rule."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from threading import Lock
from typing import Any, Literal

import numpy as np

from .documents import Chunk
from .encoders import Embedder
from .index.dense import search_dense
from .index.loaded import LoadedIndex

Mode = Literal["hybrid", "dense", "lexical", "rrf"]
RRF_K = 60


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the two signals behind it."""

    position: int
    chunk: Chunk
    score: float
    dense: float
    lexical: float

    def to_dict(self) -> dict[str, Any]:
        """The shape `askoleus search --json` and /v1/search return."""
        c = self.chunk
        return {
            "id": c.id,
            "text": c.text,
            "title": c.title,
            "url": c.url,
            "section": c.section,
            "anchor": c.anchor,
            "source": c.source,
            "kind": c.kind,
            "article_id": c.article_id,
            "score": round(self.score, 4),
            "dense": round(self.dense, 4),
            "lexical": round(self.lexical, 4),
        }


class QueryEncoder:
    """Embeds questions, remembering recent ones (readers repeat questions a lot)."""

    def __init__(self, embedder: Embedder, size: int = 2048) -> None:
        self.embedder = embedder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

    def __call__(self, text: str) -> np.ndarray:
        """Normalised query vector."""
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
        vec: np.ndarray = self.embedder.encode([text])[0]
        self._remember({text: vec})
        return vec

    def many(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of several short texts, the ones not remembered encoded in one call."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = dict(zip(missing, self.embedder.encode(missing), strict=True))
            self._remember(fresh)
            known.update(fresh)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, self.embedder.dim), dtype=np.float32)

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            for text, vec in vectors.items():
                self._cache[text] = vec
                self._cache.move_to_end(text)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)


def fuse(
    dense: np.ndarray, lexical: np.ndarray, mode: Mode, dense_weight: float, lexical_max: float | None = None
) -> np.ndarray:
    """Fused scores for candidates given their cosine and raw BM25 scores.

    "hybrid" is a convex combination of the cosine and the BM25 score scaled by `lexical_max`, the
    best score any chunk could reach for the query (LexicalIndex.search; without it, the best
    candidate's score). It keeps the dense signal's absolute scale (which rank fusion throws away)
    and only lets exact terms re-order close calls. Scaling by the best hit instead gave a chunk
    sharing one common word with the question a full lexical bonus, and lost to dense-only on the
    Python docs; weight and scaling were chosen by measurement (bench/retrieval.py, bench/RESULTS.md).
    """
    if mode == "dense":
        return dense.copy()
    top = float(lexical.max()) if lexical.size else 0.0
    if mode == "lexical":
        return lexical / top if top > 0 else np.zeros_like(lexical)
    if mode == "rrf":
        rank_d = np.argsort(np.argsort(-dense))
        rank_l = np.argsort(np.argsort(-lexical))
        return 1.0 / (RRF_K + rank_d + 1) + np.where(lexical > 0, 1.0 / (RRF_K + rank_l + 1), 0.0)
    scale = top if lexical_max is None else max(lexical_max, top)
    lex = lexical / scale if scale > 0 else np.zeros_like(lexical)
    return dense_weight * dense + (1.0 - dense_weight) * lex


class Retriever:
    """Searches one loaded generation."""

    def __init__(
        self, index: LoadedIndex, encode: QueryEncoder, *, candidates: int = 50, dense_weight: float = 0.94
    ) -> None:
        self.index = index
        self.encode = encode
        self.candidates = candidates
        self.dense_weight = dense_weight

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        kinds: Collection[str] | None = None,
        mode: Mode = "hybrid",
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """Top-k chunks for query, optionally only of the given kinds."""
        idx = self.index
        n = len(idx.chunks)
        if n == 0 or k <= 0:
            return []
        qv = self.encode(query) if query_vector is None else query_vector
        pool = min(n, self.candidates * (4 if kinds else 1))
        _, dense_ids = search_dense(idx.dense, qv, pool)
        lex_all, lexical_best = idx.lexical.search(query)
        lex_ids = np.argpartition(-lex_all, min(pool, n) - 1)[:pool] if pool < n else np.arange(n)
        lex_ids = lex_ids[lex_all[lex_ids] > 0]
        cand = np.unique(np.concatenate([dense_ids, lex_ids]).astype(np.int64))
        if kinds:
            cand = np.array([i for i in cand if idx.chunks[i].kind in kinds], dtype=np.int64)
        if cand.size == 0:
            return []
        dense = idx.vectors[cand] @ qv
        lexical = lex_all[cand]
        lexical_max = lexical_best if mode == "hybrid" else None
        fused = fuse(dense, lexical, mode, self.dense_weight, lexical_max)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(int(cand[j]), idx.chunks[int(cand[j])], float(fused[j]), float(dense[j]), float(lexical[j]))
            for j in order
        ]
