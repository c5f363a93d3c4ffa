"""HNSW against exact search: recall@10 and per-query latency at the full tree's size and at ~100k.

Vectors come from a built generation (default: bench/data/index-full, the full Python docs tree);
the ~100k set is those vectors plus copies with small Gaussian perturbations, renormalised (each
copy's cosine to its original is printed). Queries are the eval questions' vectors and perturbed
passage vectors, so both "question-like" and "near-duplicate" neighbourhoods are measured.
No text is embedded except the questions.

    .venv/bin/python bench/hnsw.py                      # 21k and ~100k, the default grid
    .venv/bin/python bench/hnsw.py --sizes 1 --m 16 32 --ef-construction 80 --ef-search 64 128
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from askoleus.config import Settings  # noqa: E402
from askoleus.encoders import load_embedder  # noqa: E402
from askoleus.index import IndexStore  # noqa: E402

K = 10


def grow(vectors: np.ndarray, factor: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """vectors plus factor-1 perturbed, renormalised copies of each."""
    parts = [vectors]
    for _ in range(factor - 1):
        noisy = vectors + rng.normal(0, sigma, vectors.shape).astype(np.float32)
        parts.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def timed_search(index: faiss.Index, queries: np.ndarray) -> tuple[np.ndarray, float]:
    """Top-K ids, one query at a time (as the server searches), and the median ms per query."""
    ids, times = [], []
    for q in queries:
        t = time.perf_counter()
        _, i = index.search(q.reshape(1, -1), K)
        times.append(time.perf_counter() - t)
        ids.append(i[0])
    return np.stack(ids), 1000 * float(np.median(times))


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, default=ROOT / "bench" / "data" / "index-full")
    ap.add_argument("--sizes", nargs="+", type=int, default=[1, 5], help="copies of the corpus (1 = as built)")
    ap.add_argument("--sigma", type=float, default=0.01, help="per-dimension noise of a copy")
    ap.add_argument("--m", nargs="+", type=int, default=[16, 32])
    ap.add_argument("--ef-construction", nargs="+", type=int, default=[40, 80, 160])
    ap.add_argument("--ef-search", nargs="+", type=int, default=[32, 64, 128, 256])
    ap.add_argument("--passage-queries", type=int, default=300)
    args = ap.parse_args()

    faiss.omp_set_num_threads(1)  # the server searches one query per request
    rng = np.random.default_rng(0)
    base = np.load(IndexStore(args.index).current_dir() / "vectors.npy").astype(np.float32)
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "pydocs_faq.jsonl").open()]
    qv = load_embedder(Settings()).encode(questions)
    picks = base[rng.choice(len(base), args.passage_queries, replace=False)]
    noisy = picks + rng.normal(0, 0.03, picks.shape).astype(np.float32)
    queries = np.ascontiguousarray(np.concatenate([qv, noisy / np.linalg.norm(noisy, axis=1, keepdims=True)]))
    print(f"{len(base)} base vectors, {len(queries)} queries ({len(qv)} questions)", flush=True)
    for factor in args.sizes:
        vectors = grow(base, factor, args.sigma, rng)
        if factor > 1:
            cos = float(np.mean(np.sum(vectors[: len(base)] * vectors[len(base) : 2 * len(base)], axis=1)))
            print(f"copies: mean cosine to the original {cos:.3f}", flush=True)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        truth, flat_ms = timed_search(flat, queries)
        print(f"\n### {len(vectors):,} vectors: exact search p50 {flat_ms:.2f} ms/query", flush=True)
        print("| M | efConstruction | build s | efSearch | recall@10 (questions) | recall@10 (all) | p50 ms |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for m in args.m:
            for efc in args.ef_construction:
                faiss.omp_set_num_threads(2)
                index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = efc
                t = time.perf_counter()
                index.add(vectors)
                build_s = time.perf_counter() - t
                faiss.omp_set_num_threads(1)
                for efs in args.ef_search:
                    index.hnsw.efSearch = efs
                    found, ms = timed_search(index, queries)
                    rq = recall(found[: len(qv)], truth[: len(qv)])
                    print(
                        f"| {m} | {efc} | {build_s:.1f} | {efs} | {rq:.3f} | {recall(found, truth):.3f} | {ms:.2f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
