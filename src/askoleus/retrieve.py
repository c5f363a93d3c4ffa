"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused by a measured rule, ranked by section."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from threading import Lock
from typing import Any, Literal

import numpy as np

from .documents import Chunk
from .encoders import Embedder
from .encoders.word_table import WordTable
from .index.dense import search_dense
from .index.loaded import LoadedIndex

Mode = Literal["hybrid", "dense", "lexical", "rrf"]
RRF_K = 60
HEADING_WEIGHT = 0.2  # share of a section's score that comes from headings (bench/retrieval.py)
OWN_HEADING_SHARE = 0.25  # of that share: the section's own heading; the rest is its article's best heading


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its (section) score and the signals behind it."""

    position: int
    chunk: Chunk
    score: float
    dense: float
    lexical: float
    heading: float = 0.0  # cosine of the chunk's section heading (0 when sections are not ranked)

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
    """Embeds questions, remembering recent ones (readers repeat questions a lot).

    With a word table (encoders.word_table), a single word the table holds is looked up, not encoded.
    """

    def __init__(self, embedder: Embedder, size: int = 2048, words: WordTable | None = None) -> None:
        self.embedder = embedder
        self.size = size
        self.words = words
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

    def __call__(self, text: str) -> np.ndarray:
        """Normalised query vector."""
        vec = self.recall([text]).get(text)
        if vec is None:
            vec = self.embedder.encode([text])[0]
            self._remember({text: vec})
        return vec

    def many(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of several short texts, the ones not remembered encoded in one call."""
        known = self.recall(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = dict(zip(missing, self.embedder.encode(missing), strict=True))
            self._remember(fresh)
            known.update(fresh)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, self.embedder.dim), dtype=np.float32)

    def remembers(self, text: str) -> bool:
        """Whether text's vector is at hand without a model call."""
        return text in self.recall([text])

    def recall(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The vectors of texts that are remembered or in the word table."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
            for t in known:
                self._cache.move_to_end(t)
        if self.words is not None:
            for t in texts:
                if t not in known:
                    vec = self.words.get(t)
                    if vec is not None:
                        known[t] = vec
        return known

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
        self,
        index: LoadedIndex,
        encode: QueryEncoder,
        *,
        candidates: int = 50,
        dense_weight: float = 0.94,
        heading_weight: float = HEADING_WEIGHT,
    ) -> None:
        self.index = index
        self.encode = encode
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.heading_weight = heading_weight

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        kinds: Collection[str] | None = None,
        mode: Mode = "hybrid",
        query_vector: np.ndarray | None = None,
        sections: bool = True,
    ) -> list[Hit]:
        """Top-k hits for query, optionally only chunks of the given kinds.

        In "hybrid" mode with heading vectors in the index, sections are ranked and each hit is the
        best passage of a different section; otherwise (or with sections=False) chunks are ranked.
        """
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
        parts = [dense_ids, lex_ids]
        headings = None
        if sections and mode == "hybrid" and self.heading_weight > 0 and idx.headings is not None:
            headings = idx.headings @ qv
            parts.append(self._section_members(headings, pool))
        cand = np.unique(np.concatenate(parts).astype(np.int64))
        if kinds:
            cand = cand[np.isin(idx.kinds[cand], list(kinds))]
        if cand.size == 0:
            return []
        dense = idx.vectors[cand] @ qv
        lexical = lex_all[cand]
        lexical_max = lexical_best if mode == "hybrid" else None
        fused = fuse(dense, lexical, mode, self.dense_weight, lexical_max)
        if headings is not None:
            return self._rank_sections(cand, fused, dense, lexical, headings, k)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(int(cand[j]), idx.chunks[int(cand[j])], float(fused[j]), float(dense[j]), float(lexical[j]))
            for j in order
        ]

    def _section_members(self, headings: np.ndarray, pool: int) -> np.ndarray:
        """Chunks of the sections whose headings are nearest the question (candidates the passages miss)."""
        sections = self.index.sections
        top = min(pool, sections.size)
        best = np.argpartition(-headings, top - 1)[:top] if top < sections.size else np.arange(sections.size)
        starts, ends = sections.offsets[best], sections.offsets[best + 1]
        return np.concatenate([sections.members[a:b] for a, b in zip(starts, ends, strict=True)])

    def _rank_sections(
        self, cand: np.ndarray, fused: np.ndarray, dense: np.ndarray, lexical: np.ndarray, headings: np.ndarray, k: int
    ) -> list[Hit]:
        """The best passage of each candidate section, ranked by a mix of that passage and the headings.

        The heading part is mostly the best heading of the section's article, so a page that has a
        heading like the question rises above distractor pages while the order within a page stays
        the passages' (its sections' own headings mislead there as often as they help: "What does
        heavy legs mean?" is close to every question about heavy legs); the section's own heading
        breaks near-ties. Shares measured in bench/retrieval.py.
        """
        idx = self.index
        sec = idx.sections.of_chunk[cand]
        order = np.lexsort((-fused, sec))  # by section, best passage first
        first = order[np.concatenate([[True], sec[order][1:] != sec[order][:-1]])]
        heading = headings[sec[first]]
        article_best = np.maximum.reduceat(headings, idx.sections.article_starts)[idx.sections.article[sec[first]]]
        heading_part = OWN_HEADING_SHARE * heading + (1.0 - OWN_HEADING_SHARE) * article_best
        score = (1.0 - self.heading_weight) * fused[first] + self.heading_weight * heading_part
        top = np.argsort(-score, kind="stable")[:k]
        return [
            Hit(
                int(cand[first[j]]),
                idx.chunks[int(cand[first[j]])],
                float(score[j]),
                float(dense[first[j]]),
                float(lexical[first[j]]),
                float(heading[j]),
            )
            for j in top
        ]
