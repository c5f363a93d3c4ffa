"""What /v1/search and /v1/ask cost on top of the question's encode, at the full tree's size.

Loads a built generation (default: bench/data/index-full), encodes the eval questions once, then
times, per question, with the encoder left out:

- `Retriever.search` with the fixed question vector, as /v1/search calls it (sections ranked);
- answer extraction (`select_quotes`) over the top hits;
- `Answerer.ask`, the whole answer path of /v1/ask (routing, language, retrieval, coverage,
  extraction, citations), with every text it encodes already in its query-vector cache (one warm-up
  round fills it), so what is timed is everything but the encoder.

Wall time and CPU time (`time.process_time`, this process's threads) are both printed: on a shared
machine the CPU time is the cost, the wall time includes waiting for a core. Ends with a cProfile
of the searches.

    .venv/bin/python bench/search_profile.py
    .venv/bin/python bench/search_profile.py --index bench/data/index-project --rounds 50
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from collections.abc import Callable
from pathlib import Path

from common import DATA, ROOT, loadavg  # first: offline model, this checkout's src/ on sys.path

# isort: split
import numpy as np

from askoleus.answer import Answerer
from askoleus.answer.extract import select_quotes
from askoleus.config import Settings
from askoleus.encoders import load_embedder
from askoleus.index import load_current
from askoleus.retrieve import QueryEncoder, Retriever


def timed(rounds: int, items: list[Callable[[], object]]) -> str:
    """p50/p90 wall and CPU ms per call of each item, over rounds passes."""
    wall, cpu = [], []
    for _ in range(rounds):
        for call in items:
            w, c = time.perf_counter(), time.process_time()
            call()
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
    w, c = 1000 * np.asarray(wall), 1000 * np.asarray(cpu)
    return (
        f"wall p50 {np.percentile(w, 50):.2f} ms p90 {np.percentile(w, 90):.2f} ms | "
        f"cpu p50 {np.percentile(c, 50):.2f} ms p90 {np.percentile(c, 90):.2f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, default=DATA / "index-full")
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
    answerer = Answerer(settings, encode)
    print(f"load average {loadavg()}")
    print(f"{len(index.chunks)} chunks, {index.sections.size} sections, {len(questions)} questions")
    print(f"dense index: {index.manifest['dense']['kind']}")

    t = time.perf_counter()
    for q in questions:
        encode.embedder.encode([q])
    print(f"question encode (for scale): {1000 * (time.perf_counter() - t) / len(questions):.2f} ms mean wall")

    def search(q: str, v: np.ndarray, kinds: tuple[str, ...], k: int) -> Callable[[], object]:
        return lambda: retriever.search(q, k, kinds=kinds, query_vector=v)

    body = [search(q, v, ("body",), settings.top_k) for q, v in zip(questions, vectors, strict=True)]
    anything = [search(q, v, (), 20) for q, v in zip(questions, vectors, strict=True)]
    timed(1, body)  # warm-up
    print(f"/v1/search retrieval (k={settings.top_k}, body): {timed(args.rounds, body)}")
    print(f"/v1/search retrieval (k=20, any kind):  {timed(args.rounds, anything)}")
    hits_of = [call() for call in body]
    extract = [
        (lambda q=q, v=v, h=h: select_quotes(index, h, v, max_sentences=settings.max_answer_sentences, question=q))
        for q, v, h in zip(questions, vectors, hits_of, strict=True)
    ]
    print(f"answer extraction (top {settings.top_k} hits):  {timed(args.rounds, extract)}")
    asks = [(lambda q=q: answerer.ask(index, q)) for q in questions]
    timed(1, asks)  # fills the query-vector cache with every text the answer path encodes
    print(f"/v1/ask answer path, encodes cached:  {timed(args.rounds, asks)}")
    if args.profile:
        for name, calls in (("search", body), ("ask", asks)):
            prof = cProfile.Profile()
            prof.enable()
            timed(max(1, args.rounds // 4), calls)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.profile)
            print(f"--- cProfile: {name}\n{out.getvalue()}")


if __name__ == "__main__":
    main()
