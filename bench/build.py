"""Build throughput per encoder backend (torch vs onnx vs onnx-int8) against a raw torch encode.

The corpus is the N smallest pages (by file size, default 200) of the Python 3.11 docs in
bench/data/pydocs, leaving out index.html, whatsnew/ and the generated top-level pages
(genindex, search, ...), copied into a fresh temporary directory with their relative paths.
Smallest pages keep one backend within a few minutes on 2 cores while the corpus stays >= 200 articles.

Each backend runs in a process of its own (so its peak RSS and imports are its own), on its own copy
of the corpus, and prints:
  1. end-to-end `build_index` on a fresh index directory with a preloaded (and warmed) embedder:
     chunks/s, wall and CPU seconds, and how much of it was spent inside `encode_passages`;
  2. a rebuild with nothing changed, and an incremental rebuild after editing one article
     (its first paragraph gets a new sentence);
  3. peak RSS of the process (ru_maxrss) and whether torch was imported.
Then, in one more process, the yardstick: raw `SentenceTransformer.encode` (torch, as shipped) of the
SAME texts (the embed_text of the chunks the first backend's build made, each distinct text once),
same batch size (settings.embed_batch_size), and every backend's build throughput as a ratio of it.

    PYTHONPATH=src .venv/bin/python bench/build.py                 # 200 pages, all three backends
    PYTHONPATH=src .venv/bin/python bench/build.py --pages 50 --backends onnx
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import PYDOCS, copy_pydocs_page, loadavg  # first: offline model, this checkout's src/ on sys.path

# isort: split
import numpy as np

from askoleus.config import Settings
from askoleus.encoders import load_backend, load_embedder, text_hash
from askoleus.index import load_current
from askoleus.pipeline import build_index

BACKENDS = ["torch", "onnx", "onnx-int8"]
SKIP_DIRS = {"whatsnew", "includes"}
SITE = "https://docs.python.org/3.11"


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
        self.info = getattr(inner, "info", None)
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


def worker(backend: str, workdir: Path, pages: list[Path]) -> dict[str, Any]:
    """Fresh build, unchanged rebuild and incremental rebuild with one backend, on its own corpus copy."""
    corpus, index_dir = workdir / f"corpus-{backend}", workdir / f"index-{backend}"
    shutil.copytree(workdir / "corpus", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir, site_url=SITE, encoder_backend=backend)
    bs = settings.embed_batch_size
    t0 = time.perf_counter()
    embedder = load_embedder(settings)
    out: dict[str, Any] = {"load_s": time.perf_counter() - t0, "batch": bs}
    embedder.encode(["warm up the model"] * 4, batch_size=bs)

    timed_embedder = TimedEmbedder(embedder)
    report, wall, cpu = timed(lambda: build_index(settings, timed_embedder))
    out.update(
        articles=report.articles,
        chunks=report.chunks,
        embedded=report.embedded,
        skipped=len(report.skipped),
        build_wall=wall,
        build_cpu=cpu,
        chunks_per_s=report.chunks / wall,
        encode_s=timed_embedder.passage_seconds,
    )
    unchanged, out["rebuild_s"], _ = timed(lambda: build_index(settings, embedder))
    out["rebuild_unchanged"] = unchanged.unchanged
    victim = pages[len(pages) // 2]
    edit_one(corpus, victim)
    inc, out["incremental_s"], _ = timed(lambda: build_index(settings, embedder))
    out.update(incremental_embedded=inc.embedded, incremental_reused=inc.reused, edited=str(victim))
    out.update(index_dir=str(index_dir), name=embedder.name, dim=embedder.dim)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["torch_imported"] = "torch" in sys.modules
    return out


def raw_worker(index_dir: Path, name: str, dim: int) -> dict[str, Any]:
    """The yardstick: raw sentence-transformers encode of the distinct chunk texts of a built index."""
    settings = Settings()
    reference = load_backend(settings, "torch")
    index = load_current(index_dir, name, dim)
    texts = list({text_hash(c.embed_text): c.embed_text for c in index.chunks}.values())
    tokens = [min(reference.count_tokens(t), reference.max_tokens) for t in texts]
    import torch

    _, wall, cpu = timed(
        lambda: reference.model.encode(  # type: ignore[attr-defined]
            texts, batch_size=settings.embed_batch_size, normalize_embeddings=True, show_progress_bar=False
        )
    )
    return {
        "texts": len(texts),
        "tokens": sum(tokens),
        "mean_tokens": float(np.mean(tokens)),
        "wall": wall,
        "cpu": cpu,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def run(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus and indexes")
    ap.add_argument("--worker", choices=[*BACKENDS, "raw"], help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--index", nargs=3, help=argparse.SUPPRESS)  # index dir, vector space name, dim
    args = ap.parse_args()
    pages = pick_pages(args.pages)
    if args.worker == "raw":
        print(json.dumps(raw_worker(Path(args.index[0]), args.index[1], int(args.index[2]))))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args.workdir, pages)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="askoleus-bench-build-"))
    for rel in pages:
        copy_pydocs_page(PYDOCS / rel, tmp / "corpus" / rel)
    subprocess.run([sys.executable, "-m", "askoleus.encoders.export"], check=True, capture_output=True)
    size = sum((tmp / "corpus" / p).stat().st_size for p in pages) / 1e6
    print(f"machine: nproc={os.cpu_count()}; loadavg at start {loadavg()}")
    print(f"corpus: {len(pages)} pages ({size:.1f} MB) in {tmp}; batch size {Settings().embed_batch_size}")

    results: dict[str, dict[str, Any]] = {}
    for b in args.backends:
        results[b] = r = run(["--pages", str(args.pages), "--worker", b, "--workdir", str(tmp)])
        print(
            f"\n{b}: {r['articles']} articles, {r['chunks']} chunks ({r['embedded']} embedded), "
            f"{r['skipped']} skipped; model load {r['load_s']:.1f} s (excluded)\n"
            f"  build wall {r['build_wall']:.1f} s, CPU {r['build_cpu']:.1f} s -> {r['chunks_per_s']:.2f} chunks/s "
            f"(encode_passages {r['encode_s']:.1f} s, everything else {r['build_wall'] - r['encode_s']:.1f} s)\n"
            f"  rebuild, nothing changed: {r['rebuild_s']:.1f} s (unchanged={r['rebuild_unchanged']}); after editing "
            f"{r['edited']}: {r['incremental_s']:.1f} s ({r['incremental_embedded']} embedded, "
            f"{r['incremental_reused']} reused)\n"
            f"  peak RSS {r['peak_rss_mb']:.0f} MB; torch imported: {r['torch_imported']}; loadavg {loadavg()}",
            flush=True,
        )

    first = results[args.backends[0]]
    raw = run(
        ["--pages", str(args.pages), "--worker", "raw", "--index", first["index_dir"], first["name"], str(first["dim"])]
    )
    raw_rate = raw["texts"] / raw["wall"]
    print(
        f"\nraw torch model.encode (torch {raw['torch']}, {raw['threads']} threads): {raw['texts']} texts, "
        f"{raw['tokens']} word pieces (mean {raw['mean_tokens']:.0f}); "
        f"wall {raw['wall']:.1f} s, CPU {raw['cpu']:.1f} s -> {raw_rate:.2f} texts/s"
    )
    print(f"\n| {len(pages)} pages | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    rows = [
        ("build chunks/s", lambda r: f"{r['chunks_per_s']:.2f}"),
        ("  / raw torch encode texts/s (wall)", lambda r: f"{r['chunks_per_s'] / raw_rate:.2f}"),
        ("build wall / CPU (s)", lambda r: f"{r['build_wall']:.1f} / {r['build_cpu']:.1f}"),
        ("of which encode_passages (s)", lambda r: f"{r['encode_s']:.1f}"),
        ("rebuild unchanged / one article edited (s)", lambda r: f"{r['rebuild_s']:.1f} / {r['incremental_s']:.1f}"),
        ("peak RSS (MB)", lambda r: f"{r['peak_rss_mb']:.0f}"),
        ("torch imported", lambda r: str(r["torch_imported"])),
    ]
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(cell(r) for r in results.values()) + " |")
    print(f"\nloadavg at end {loadavg()}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
