"""Model calls and in-process latency of `Answerer.ask`: where a question's time goes.

For the unique questions bench/query.py sends (golden + Python FAQ, with neutral lead-ins), one
process, the onnx index of corpus/ that bench/query.py builds: how many encoder calls each ask made
(the question's own, then the near-domain check's), and ask p50/p90/p99, with the word table and
without it, and with the near-domain check switched off (the lower bound it leaves).

    PYTHONPATH=src .venv/bin/python bench/ask_calls.py --questions 600
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from typing import Any

from common import DATA, loadavg, percentile  # first: offline model, src/ and tests/ on sys.path

# isort: split
import query as query_bench
from askoleus.answer import Answerer, service
from askoleus.answer.common_words import word_table
from askoleus.config import Settings
from askoleus.encoders import load_embedder
from askoleus.index import load_current
from askoleus.pipeline import build_index
from askoleus.retrieve import QueryEncoder


def run(label: str, answerer: Answerer, index: Any, questions: list[str], calls: list[int]) -> None:
    """Ask every question once; print the calls-per-ask histogram and the latency percentiles."""
    histogram: Counter[int] = Counter()
    lat = []
    for q in questions:
        before = len(calls)
        t = time.perf_counter()
        answerer.ask(index, q)
        lat.append((time.perf_counter() - t) * 1000)
        histogram[len(calls) - before] += 1
    shown = ", ".join(f"{n}: {histogram[n]}" for n in sorted(histogram))
    print(
        f"{label:<32} ask p50 {percentile(lat, 50):6.2f} ms  p90 {percentile(lat, 90):6.2f}  "
        f"p99 {percentile(lat, 99):6.2f}   model calls per ask {{{shown}}}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=600)
    args = ap.parse_args()
    settings = Settings(corpus_dir=DATA / "corpus-project", index_dir=DATA / "index-project-onnx")
    embedder = load_embedder(settings, "onnx")
    build_index(settings, embedder)
    index = load_current(settings.index_dir, embedder.name, embedder.dim)
    embedder.prepare_queries()
    calls: list[int] = []
    encode = embedder.encode

    def counted(texts: list[str], batch_size: int = 32) -> Any:
        calls.append(len(texts))
        return encode(texts, batch_size)

    embedder.encode = counted  # type: ignore[method-assign]
    questions = query_bench.questions()
    random.Random(11).shuffle(questions)
    questions = questions[: args.questions]
    table = word_table(settings, embedder)
    print(f"{len(questions)} questions; word table: {'yes' if table else 'not built (run askoleus build)'}")
    print(f"loadavg {loadavg()}")
    near_domain = service.near_domain
    # one unmeasured pass first: the tokenizer's and word frequencies' caches are process-wide, and
    # the variants would otherwise find them warmer the later they run
    warm = Answerer(settings, QueryEncoder(embedder, words=table))
    for q in questions:
        warm.ask(index, q)
    variants = [("with the word table", table, near_domain), ("without the word table", None, near_domain)]
    variants.append(("near-domain check switched off", table, lambda *a, **k: False))
    for label, words, check in variants:
        service.near_domain = check  # type: ignore[assignment]
        answerer = Answerer(settings, QueryEncoder(embedder, words=words))
        for q in questions[:20]:  # warm up with other texts than the measured ones
            answerer.ask(index, f"Warm-up: {q}")
        run(label, answerer, index, questions, calls)
    service.near_domain = near_domain
    print(f"loadavg {loadavg()}")


if __name__ == "__main__":
    main()
