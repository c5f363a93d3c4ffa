"""torch vs onnx vs onnx-int8, side by side in one run: what the encoder backend changes.

Per backend, in a subprocess of its own (so RSS and imports are that backend's alone):
  - RSS after loading the encoder and encoding one question, and whether torch got imported;
  - one question: p50/p99 of Embedder.encode([q]) over the golden questions (3 rounds), the torch
    backend with its TorchScript query path prepared, as the server does;
  - questions/s with 1 and 8 threads encoding one question at a time through the micro-batcher;
  - 256 passages (corpus chunks, cycled) through encode_passages at batch 32: passages/s;
  - cosine against torch (min over the golden questions and the 256 passages);
  - retrieval MRR@10 (hybrid, the default fusion, and dense) of the golden questions with an index
    built by that backend: on corpus/, and on corpus/ plus the tests' articles (tests/fixtures/articles,
    two more articles as distractors); and of eval/pydocs_faq.jsonl on the Python FAQ pages
    (bench/data/pydocs/faq, as bench/retrieval.py's `faq` corpus; bench/fetch_pydocs.sh fetches them);
  - cold CLI: wall time of `askoleus search` and `askoleus ask` in a fresh process (best of 3).

    PYTHONPATH=src .venv/bin/python bench/encoders.py [--backends torch onnx onnx-int8]

ONNX exports go to ASKOLEUS_ENCODER_CACHE_DIR (default: the normal cache); they are made first, so
load times exclude the one-time export. Indexes go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from common import copy_pydocs_page  # noqa: E402  # after the paths: bench/ may not be on sys.path yet

BACKENDS = ["torch", "onnx", "onnx-int8"]
CORPORA = {"corpus": [ROOT / "corpus"], "fixtures": [ROOT / "corpus", ROOT / "tests" / "fixtures" / "articles"]}
FAQ = ROOT / "bench" / "data" / "pydocs" / "faq"
FAQ_SITE = "https://docs.python.org/3.11"
K = 10


def faq_items() -> list[dict]:  # type: ignore[type-arg]
    lines = (ROOT / "eval" / "pydocs_faq.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x.strip()]


def mrr(retriever, items: list[dict], match, mode: str) -> float:  # type: ignore[no-untyped-def, type-arg]
    """MRR@K of items (body chunks only, as `askoleus eval` ranks them)."""
    rr = []
    for it in items:
        hits = retriever.search(it["question"], K, kinds=("body",), mode=mode)
        rank = next((i for i, h in enumerate(hits, 1) if match(it, h.chunk)), None)
        rr.append(1 / rank if rank else 0.0)
    return sum(rr) / len(rr)


def golden() -> list[dict]:  # type: ignore[type-arg]
    lines = (ROOT / "eval" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(x) for x in lines if x.strip()]
    return [it for it in items if it.get("anchor") and not it.get("previous")]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def worker(backend: str, workdir: Path) -> dict:  # type: ignore[type-arg]
    """Everything measured inside one process that loads one backend."""
    import numpy as np

    from askoleus.config import Settings
    from askoleus.encoders import load_backend

    started = time.perf_counter()
    settings = Settings()
    emb = load_backend(settings, backend)
    prepare = getattr(emb, "prepare_queries", None)
    if prepare is not None:
        prepare()
    items = golden()
    questions = [it["question"] for it in items]
    emb.encode([questions[0]])
    out: dict = {"backend": backend, "name": emb.name, "load_s": time.perf_counter() - started}  # type: ignore[type-arg]
    out["rss_mb"] = rss_mb()
    out["torch_imported"] = "torch" in sys.modules

    lat = []
    for _ in range(3):
        for q in questions:
            t = time.perf_counter()
            emb.encode([q])
            lat.append(time.perf_counter() - t)
    out["q_p50_ms"], out["q_p99_ms"] = 1000 * statistics.median(lat), 1000 * pct(lat, 0.99)
    qvecs = emb.encode(questions)
    for threads in (1, 8):
        out[f"qps_{threads}"], out[f"calls_{threads}"] = concurrent_questions(emb, questions, threads)

    from askoleus.index import load_current
    from askoleus.pipeline import build_index
    from askoleus.retrieve import QueryEncoder, Retriever

    encoder = QueryEncoder(emb, size=100_000)
    for name, sources in CORPORA.items():
        corpus = workdir / f"corpus-{backend}-{name}"
        for src in sources:
            shutil.copytree(src, corpus, dirs_exist_ok=True)
        s = Settings(corpus_dir=corpus, index_dir=workdir / f"index-{backend}-{name}")
        t = time.perf_counter()
        build_index(s, emb)
        out[f"build_s_{name}"] = time.perf_counter() - t
        index = load_current(s.index_dir, emb.name, emb.dim)
        retriever = Retriever(index, encoder, candidates=s.candidates, dense_weight=s.dense_weight)
        for mode in ("hybrid", "dense"):
            out[f"mrr_{mode}_{name}"] = mrr(retriever, items, lambda it, c: c.anchor == it["anchor"], mode)
        if name == "corpus":
            chunks = index.chunks
            texts = [chunks[i % len(chunks)].embed_text for i in range(256)]
            spans = [[(0, len(x) // 2), (len(x) // 2, len(x))] for x in texts]
            t = time.perf_counter()
            pvecs, _ = emb.encode_passages(texts, spans, batch_size=32)
            out["passages_per_s"] = 256 / (time.perf_counter() - t)
            out["index_dir"] = str(s.index_dir)
    if FAQ.is_dir():
        corpus = workdir / f"corpus-{backend}-faq"
        for page in sorted(FAQ.glob("*.html")):
            if page.name != "index.html":
                copy_pydocs_page(page, corpus / "faq" / page.name)
        s = Settings(corpus_dir=corpus, index_dir=workdir / f"index-{backend}-faq", site_url=FAQ_SITE)
        build_index(s, emb)
        index = load_current(s.index_dir, emb.name, emb.dim)
        retriever = Retriever(index, encoder, candidates=s.candidates, dense_weight=s.dense_weight)
        for mode in ("hybrid", "dense"):
            match = lambda it, c: c.source == it["source"] and c.anchor == it["anchor"]  # noqa: E731
            out[f"mrr_{mode}_faq"] = mrr(retriever, faq_items(), match, mode)
    np.save(workdir / f"vectors-{backend}.npy", np.concatenate([qvecs, pvecs]))
    return out


def concurrent_questions(emb, questions: list[str], threads: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Questions/s when `threads` threads each encode their share one question at a time (micro-batched)."""
    import threading

    from askoleus.encoders import BatchingEmbedder

    batching = BatchingEmbedder(emb)
    work = questions * 2
    shares = [work[i::threads] for i in range(threads)]

    def run(share: list[str]) -> None:
        for q in share:
            batching.encode([q])

    workers = [threading.Thread(target=run, args=(s,)) for s in shares]
    t = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(work) / (time.perf_counter() - t), batching.calls


def cold_cli(backend: str, index_dir: str) -> dict[str, float]:
    """Best-of-3 wall time of a fresh `askoleus search` and `askoleus ask` process."""
    env = {**os.environ, "ASKOLEUS_ENCODER_BACKEND": backend, "PYTHONPATH": str(ROOT / "src")}
    exe = str(Path(sys.executable).parent / "askoleus")
    out = {}
    for cmd in ("search", "ask"):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(
                [exe, cmd, "Why do my legs feel heavy?", "--index", index_dir],
                env=env,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - t)
        out[f"cli_{cmd}_s"] = min(times)
    return out


def measure(backends: list[str]) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every backend's numbers (the rows of ROWS), each measured in a process of its own."""
    import numpy as np

    subprocess.run([sys.executable, "-m", "askoleus.encoders.export"], check=True, capture_output=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="askoleus-bench-") as tmp:
        workdir = Path(tmp)
        for b in backends:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", b, "--workdir", str(workdir)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[b] = json.loads(proc.stdout.strip().splitlines()[-1])
            results[b].update(cold_cli(b, results[b]["index_dir"]))
        ref = np.load(workdir / "vectors-torch.npy") if "torch" in results else None
        for b in results:
            v = np.load(workdir / f"vectors-{b}.npy")
            results[b]["cos_min"] = float((v * ref).sum(axis=1).min()) if ref is not None else float("nan")
    return results


ROWS = [
    ("one question p50 (ms)", "q_p50_ms", "{:.2f}"),
    ("one question p99 (ms)", "q_p99_ms", "{:.2f}"),
    ("questions/s, 1 thread", "qps_1", "{:.0f}"),
    ("questions/s, 8 threads, micro-batched", "qps_8", "{:.0f}"),
    ("model calls, 8 threads (1 thread: one per question)", "calls_8", "{}"),
    ("256 passages, batch 32 (passages/s)", "passages_per_s", "{:.0f}"),
    ("cosine vs torch (min)", "cos_min", "{:.7f}"),
    ("MRR@10 golden, corpus/ (hybrid)", "mrr_hybrid_corpus", "{:.4f}"),
    ("MRR@10 golden, corpus/ (dense)", "mrr_dense_corpus", "{:.4f}"),
    ("MRR@10 golden, corpus/ + tests' articles (hybrid)", "mrr_hybrid_fixtures", "{:.4f}"),
    ("MRR@10 golden, corpus/ + tests' articles (dense)", "mrr_dense_fixtures", "{:.4f}"),
    ("MRR@10 Python FAQ, faq/ pages (hybrid)", "mrr_hybrid_faq", "{:.4f}"),
    ("MRR@10 Python FAQ, faq/ pages (dense)", "mrr_dense_faq", "{:.4f}"),
    ("build corpus/ (s)", "build_s_corpus", "{:.1f}"),
    ("load encoder (s)", "load_s", "{:.2f}"),
    ("RSS after load (MB)", "rss_mb", "{:.0f}"),
    ("torch imported", "torch_imported", "{}"),
    ("cold `askoleus search` (s)", "cli_search_s", "{:.2f}"),
    ("cold `askoleus ask` (s)", "cli_ask_s", "{:.2f}"),
]
QUALITY = [
    "mrr_hybrid_corpus",
    "mrr_dense_corpus",
    "mrr_hybrid_fixtures",
    "mrr_dense_fixtures",
    "mrr_hybrid_faq",
    "mrr_dense_faq",
]


def print_table(results: dict[str, dict], rows: list[tuple[str, str, str]]) -> None:  # type: ignore[type-arg]
    """One markdown row per measure, one column per backend."""
    names = list(results)
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, key, fmt in rows:
        cells = []
        for b in names:
            value = results[b].get(key)
            cells.append("n/a" if value is None else fmt.format(value))
        print(f"| {label} | " + " | ".join(cells) + " |")


def quality_check(results: dict[str, dict]) -> list[str]:  # type: ignore[type-arg]
    """Issue 12's rule: fp32 onnx within 0.005 MRR of torch on every set; int8's differences reported."""
    if "torch" not in results:
        return ["quality vs torch: torch not measured"]
    lines = []
    for b in (b for b in results if b != "torch"):
        deltas = {k: results[b][k] - results["torch"][k] for k in QUALITY if k in results[b] and k in results["torch"]}
        worst = max((abs(d) for d in deltas.values()), default=float("nan"))
        verdict = ("OK" if worst <= 0.005 else "FAIL") if b == "onnx" else "reported"
        shown = ", ".join(f"{k.removeprefix('mrr_')} {d:+.4f}" for k, d in deltas.items())
        lines.append(f"MRR {b} - torch: {shown}; largest |diff| {worst:.4f} -> {verdict}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    ap.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.workdir)))
        return
    results = measure(args.backends)
    print(f"{len(golden())} golden questions; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print_table(results, ROWS)
    print("\n".join(quality_check(results)))


if __name__ == "__main__":
    main()
