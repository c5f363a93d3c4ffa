"""Build throughput, raw encode throughput on the same texts, incremental rebuild time, peak RSS.

The corpus is the N smallest pages (by file size, default 200) of the Python 3.11 docs in
bench/data/pydocs, leaving out index.html, whatsnew/ and the generated top-level pages
(genindex, search, ...), copied into a fresh temporary directory with their relative paths.
Smallest pages keep one run within ~10 minutes on 2 cores while the corpus stays >= 200 articles.

One run prints:
  1. end-to-end `build_index` on a fresh index directory with a preloaded (and warmed) embedder:
     chunks/s, wall and CPU seconds, and how much of it was spent inside `encode_passages`;
  2. raw `SentenceTransformer.encode` on the SAME texts (the embed_text of the chunks the build
     made, each distinct text once, as the build embeds them), same batch size
     (settings.embed_batch_size) and same torch threads, in the same process;
  3. their ratio (build chunks/s / raw chunks/s; target >= 0.9);
  4. a rebuild with nothing changed, and an incremental rebuild after editing one article
     (its first paragraph gets a new sentence);
  5. peak RSS of the process (resource.getrusage ru_maxrss).

    .venv/bin/python bench/build.py                 # 200 pages
    .venv/bin/python bench/build.py --pages 250 --keep
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import PYDOCS, loadavg  # first: offline model, this checkout's src/ on sys.path

# isort: split
import numpy as np
import torch

from askoleus.config import Settings
from askoleus.embed import load_embedder, text_hash
from askoleus.index import load_current
from askoleus.pipeline import build_index

SKIP_DIRS = {"whatsnew", "includes"}


def pick_pages(n: int) -> list[Path]:
    """The n smallest content pages, relative to PYDOCS (ties broken by path)."""
    pages = [
        p.relative_to(PYDOCS)
        for p in PYDOCS.rglob("*.html")
        if p.parent != PYDOCS and p.name != "index.html" and p.relative_to(PYDOCS).parts[0] not in SKIP_DIRS
    ]
    pages.sort(key=lambda rel: ((PYDOCS / rel).stat().st_size, rel.as_posix()))
    if len(pages) < n:
        sys.exit(f"only {len(pages)} pages under {PYDOCS}: run bench/fetch_pydocs.sh")
    return pages[:n]


class TimedEmbedder:
    """Delegates to the real embedder and adds up the time spent in encode_passages."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.passage_seconds = 0.0
        self.passages = 0

    def encode(self, texts, batch_size=32):  # type: ignore[no-untyped-def]
        return self.inner.encode(texts, batch_size=batch_size)

    def count_tokens(self, text):  # type: ignore[no-untyped-def]
        return self.inner.count_tokens(text)

    def encode_passages(self, texts, spans, batch_size=32):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return self.inner.encode_passages(texts, spans, batch_size=batch_size)
        finally:
            self.passage_seconds += time.perf_counter() - started
            self.passages += len(texts)


def timed(fn):  # type: ignore[no-untyped-def]
    """(result, wall seconds, process CPU seconds) of fn()."""
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w, time.process_time() - c


def edit_one(corpus: Path, rel: Path) -> None:
    """Add a sentence to the first paragraph of one page (a realistic one-article edit)."""
    path = corpus / rel
    html = path.read_text(encoding="utf-8")
    new, n = re.subn(r"<p>", "<p>This sentence was added by bench/build.py to change one article. ", html, count=1)
    if not n:
        raise SystemExit(f"no <p> in {rel}")
    path.write_text(new, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus and index")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="askoleus-bench-build-"))
    corpus, index_dir = tmp / "corpus", tmp / "index"
    pages = pick_pages(args.pages)
    for rel in pages:
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PYDOCS / rel, corpus / rel)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, site_url="https://docs.python.org/3.11")
    bs = settings.embed_batch_size

    t0 = time.perf_counter()
    embedder = load_embedder(settings)
    load_s = time.perf_counter() - t0
    embedder.encode(["warm up the model"] * 4, batch_size=bs)
    print(
        f"machine: nproc={os.cpu_count()} torch threads={torch.get_num_threads()} torch {torch.__version__}; "
        f"loadavg at start {loadavg()}"
    )
    print(f"corpus: {len(pages)} pages ({sum((corpus / p).stat().st_size for p in pages) / 1e6:.1f} MB) in {tmp}")
    print(f"model load (excluded): {load_s:.1f} s; batch size {bs}")

    # 1. end-to-end build, fresh index dir
    timed_embedder = TimedEmbedder(embedder)
    report, build_wall, build_cpu = timed(lambda: build_index(settings, timed_embedder))
    n = report.chunks
    print(
        f"\nbuild_index (fresh): {report.articles} articles, {n} chunks ({report.embedded} embedded), "
        f"{len(report.skipped)} skipped"
    )
    print(
        f"  wall {build_wall:.1f} s, CPU {build_cpu:.1f} s -> {n / build_wall:.2f} chunks/s "
        f"(of which encode_passages {timed_embedder.passage_seconds:.1f} s, "
        f"everything else {build_wall - timed_embedder.passage_seconds:.1f} s)"
    )

    # 2. raw encode of the same texts (each distinct text once, as the build embeds them)
    index = load_current(index_dir, embedder.name, embedder.dim)
    texts = list({text_hash(c.embed_text): c.embed_text for c in index.chunks}.values())
    tokens = [min(embedder.count_tokens(t), embedder.max_tokens) for t in texts]
    _, raw_wall, raw_cpu = timed(
        lambda: embedder.model.encode(
            texts, batch_size=bs, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    )
    print(
        f"\nraw model.encode: {len(texts)} texts, {sum(tokens)} word pieces (mean {np.mean(tokens):.0f}), "
        f"batch {bs}, {torch.get_num_threads()} threads"
    )
    print(
        f"  wall {raw_wall:.1f} s, CPU {raw_cpu:.1f} s -> {len(texts) / raw_wall:.2f} texts/s, "
        f"{sum(tokens) / raw_wall:.0f} word pieces/s"
    )

    # 3. ratio: build chunks/s over raw texts/s (n == len(texts) unless chunks repeat a text)
    ratio = (n / build_wall) / (len(texts) / raw_wall)
    cpu_ratio = (n / build_cpu) / (len(texts) / raw_cpu)
    print(f"\nratio build/raw throughput: {ratio:.2f} wall, {cpu_ratio:.2f} CPU time (target >= 0.9)")

    # 4. rebuild with no change, then after editing one article
    unchanged, wall, _ = timed(lambda: build_index(settings, embedder))
    print(f"\nrebuild, nothing changed: {wall:.1f} s (unchanged={unchanged.unchanged})")
    victim = pages[len(pages) // 2]
    edit_one(corpus, victim)
    inc, wall, cpu = timed(lambda: build_index(settings, embedder))
    print(
        f"incremental rebuild after editing {victim}: {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({inc.embedded} embedded, {inc.reused} reused, {inc.chunks} chunks, new generation {inc.generation})"
    )

    # 5. peak RSS
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS (ru_maxrss): {peak_mb:.0f} MB; loadavg at end {loadavg()}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
