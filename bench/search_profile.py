"""What /v1/search and /v1/ask cost on top of the question's encode, at the full tree's size.

Loads a built generation (default: bench/data/index-full), encodes the eval questions once, then
times `Retriever.search` (as /v1/search and /v1/ask call it) and answer extraction with those fixed
vectors, so the encoder is left out. Prints p50/p90 per query and a cProfile of the searches.

    .venv/bin/python bench/search_profile.py
    .venv/bin/python bench/search_profile.py --index bench/data/index-project --rounds 50
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from askoleus.answer.extract import select_quotes  # noqa: E402
from askoleus.config import Settings  # noqa: E402
from askoleus.encoders import load_embedder  # noqa: E402
from askoleus.index import load_current  # noqa: E402
from askoleus.retrieve import QueryEncoder, Retriever  # noqa: E402


def percentiles(times: list[float]) -> str:
    ms = 1000 * np.asarray(times)
    return f"p50 {np.percentile(ms, 50):.2f} ms, p90 {np.percentile(ms, 90):.2f} ms, max {ms.max():.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, default=ROOT / "bench" / "data" / "index-full")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--profile", type=int, default=25, help="cProfile lines to print (0: none)")
    args = ap.parse_args()

    settings = Settings()
    embedder = load_embedder(settings)
    index = load_current(args.index, embedder.name, embedder.dim)
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "pydocs_faq.jsonl").open()]
    encode = QueryEncoder(embedder, size=10_000)
    vectors = [encode(q) for q in questions]
    retriever = Retriever(
        index,
        encode,
        candidates=settings.candidates,
        dense_weight=settings.dense_weight,
        heading_weight=settings.heading_weight,
    )
    print(f"{len(index.chunks)} chunks, {index.sections.size} sections, {len(questions)} questions")

    def search_all(kinds: tuple[str, ...], k: int) -> list[float]:
        times = []
        for _ in range(args.rounds):
            for q, v in zip(questions, vectors, strict=True):
                t = time.perf_counter()
                retriever.search(q, k, kinds=kinds, query_vector=v)
                times.append(time.perf_counter() - t)
        return times

    search_all(("body",), settings.top_k)  # warm up
    print(f"/v1/search retrieval (k={settings.top_k}, body): {percentiles(search_all(('body',), settings.top_k))}")
    print(f"/v1/search retrieval (k=20, any kind):  {percentiles(search_all((), 20))}")
    hits_of = [
        retriever.search(q, settings.top_k, kinds=("body",), query_vector=v)
        for q, v in zip(questions, vectors, strict=True)
    ]
    times = []
    for _ in range(args.rounds):
        for q, v, hits in zip(questions, vectors, hits_of, strict=True):
            t = time.perf_counter()
            select_quotes(index, hits, v, max_sentences=settings.max_answer_sentences, question=q)
            times.append(time.perf_counter() - t)
    print(f"answer extraction (top {settings.top_k} hits):  {percentiles(times)}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        search_all(("body",), settings.top_k)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())


if __name__ == "__main__":
    main()
