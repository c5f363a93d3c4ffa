"""FAISS inner-product index over normalised vectors: exact while small, HNSW above a threshold."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

# bench/hnsw.py at 116,580 vectors (the full Python docs x 5): recall@10 0.995 (questions) and 0.999
# (all queries) against exact search, 0.26 ms per query; efConstruction 80 reached only 0.977 there.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
ADD_ROWS = 8192  # vectors added per call, so a memory-mapped matrix is never copied whole


def build_dense(vectors: np.ndarray, hnsw_threshold: int) -> tuple[faiss.Index, str]:
    """A FAISS index for vectors and the name of its kind ("flat-ip" or "hnsw-ip")."""
    n, dim = vectors.shape
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building may use every core
    if n > hnsw_threshold:
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        index: faiss.Index = hnsw
        kind = "hnsw-ip"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat-ip"
    for start in range(0, n, ADD_ROWS):
        index.add(np.ascontiguousarray(vectors[start : start + ADD_ROWS], dtype=np.float32))
    return index, kind


def save_dense(index: faiss.Index, path: Path) -> None:
    """Write the index in FAISS's own binary format."""
    faiss.write_index(index, str(path))


def load_dense(path: Path) -> faiss.Index:
    """Read an index written by save_dense, to be searched one query per call on one thread.

    A request searches one question: FAISS's OpenMP threads only add overhead there (exact search of
    23k vectors took 8 ms with them and 1.3 ms without, bench/RESULTS.md §14), and the server runs
    requests in threads of its own.
    """
    faiss.omp_set_num_threads(1)
    index = faiss.read_index(str(path))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def search_dense(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, positions) for one normalised query vector; positions -1 are dropped."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
