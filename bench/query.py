"""Query latency: raw encode, in-process answers, and HTTP against a real uvicorn server.

One run prints:
  1. the raw model's single-query latency, `model.encode([q])` on unique questions (warm), p50/p90;
  2. in-process `Answerer.ask` on the project's corpus index (corpus/), unique questions, p50/p99,
     then the same questions again with the query cache warm;
  3. HTTP `POST /v1/ask` against uvicorn started like tests/conftest.py's start_server (127.0.0.1,
     generous rate limits), at concurrency 1 and 8, a bounded number of requests each (default
     300, unique questions, so the server's query cache never hits): p50/p99, requests/s, errors,
     the server's own `took_ms` p50, and the server's RSS (VmRSS and VmHWM from /proc/<pid>/status).
     At concurrency 1, 100 raw encodes run right before and 100 right after the requests, and the
     HTTP/raw ratio uses those: this VM's speed drifts by +-30% within minutes, so a raw number
     taken earlier in the run would not compare like with like.

Questions are the project's golden questions and the Python FAQ questions that route to an
answer (no emergency/medical shortcut), made unique with a few neutral lead-ins.
The index is built (or reused) under bench/data/index-project; the server's question log goes to
a temporary directory.

    .venv/bin/python bench/query.py
    .venv/bin/python bench/query.py --requests 100 --server-env ASKOLEUS_TORCH_THREADS=1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATA, ROOT, loadavg, percentile  # first: offline model, src/ and tests/ on sys.path

# isort: split
import httpx
import torch

import localserver
from askoleus.answer import Answerer
from askoleus.answer.routing import route
from askoleus.config import Settings
from askoleus.embed import load_embedder
from askoleus.index import load_current
from askoleus.pipeline import build_index
from askoleus.retrieve import QueryEncoder

LEAD_INS = [
    "",
    "Quick question: ",
    "I was wondering: ",
    "Can you tell me this: ",
    "Please explain: ",
    "One more thing: ",
    "Hello! ",
    "Out of curiosity: ",
    "Help me understand: ",
    "Tell me: ",
]


def questions() -> list[str]:
    """Unique questions that go through retrieval (emergency and medical ones are shortcuts)."""
    base = []
    for name in ("golden.jsonl", "pydocs_faq.jsonl"):
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = " ".join(json.loads(line)["question"].split())
                if route(q) == "answer" and len(q) < 400:
                    base.append(q)
    base = list(dict.fromkeys(base))
    return list(dict.fromkeys(lead + q for lead in LEAD_INS for q in base))


def summary(lat_ms: list[float]) -> str:
    return (
        f"p50 {percentile(lat_ms, 50):6.2f} ms  p90 {percentile(lat_ms, 90):6.2f}  p99 {percentile(lat_ms, 99):6.2f}  "
        f"mean {statistics.fmean(lat_ms):6.2f}  (n={len(lat_ms)})"
    )


def start_server(settings: Settings, db: Path, log: Path, env_extra: dict[str, str]) -> tuple[str, subprocess.Popen]:
    """Our own uvicorn over settings' index (the tests start theirs the same way, via localserver)."""
    env = {
        "ASKOLEUS_INDEX_DIR": str(settings.index_dir),
        "ASKOLEUS_CORPUS_DIR": str(settings.corpus_dir),
        "ASKOLEUS_SITE_URL": settings.site_url,
        "ASKOLEUS_DB_PATH": str(db),
        "ASKOLEUS_RATE_LIMIT_PER_MINUTE": "10000000",
        "ASKOLEUS_RATE_LIMIT_BURST": "10000000",
        **env_extra,
    }
    return localserver.start_server(env, log)


def rss(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


class Tally:
    """Latency of every request, the server's took_ms of the good ones, and the error count."""

    def __init__(self) -> None:
        self.lat: list[float] = []
        self.took: list[float] = []
        self.errors = 0

    def add(self, started: float, response: httpx.Response | None) -> None:
        self.lat.append((time.perf_counter() - started) * 1000)
        if response is not None and response.status_code == 200:
            self.took.append(response.json()["took_ms"])
        else:
            self.errors += 1

    def result(self, wall: float) -> tuple[list[float], list[float], int, float]:
        return self.lat, self.took, self.errors, wall


def http_sequential(url: str, qs: list[str]) -> tuple[list[float], list[float], int, float]:
    tally = Tally()
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=30) as client:
        for q in qs:
            t = time.perf_counter()
            try:
                r: httpx.Response | None = client.post("/v1/ask", json={"question": q})
            except httpx.HTTPError:
                r = None
            tally.add(t, r)
    return tally.result(time.perf_counter() - started)


async def _http_concurrent(url: str, qs: list[str], concurrency: int) -> tuple[list[float], list[float], int, float]:
    tally = Tally()
    pending = list(reversed(qs))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker() -> None:
            while pending:
                q = pending.pop()
                t = time.perf_counter()
                try:
                    r: httpx.Response | None = await client.post("/v1/ask", json={"question": q})
                except httpx.HTTPError:
                    r = None
                tally.add(t, r)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return tally.result(time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300, help="HTTP requests per concurrency level")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    ap.add_argument(
        "--server-env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server (e.g. ASKOLEUS_TORCH_THREADS=1)",
    )
    ap.add_argument("--skip-http", action="store_true")
    args = ap.parse_args()

    qs = questions()
    n_http = len(args.concurrency) * args.requests
    need = 100 + 30 + n_http + 200
    if len(qs) < need:
        sys.exit(f"only {len(qs)} unique questions, {need} needed: lower --requests")
    in_process, warm_http = qs[:100], qs[100:130]
    http_sets = [qs[130 + i * args.requests : 130 + (i + 1) * args.requests] for i in range(len(args.concurrency))]
    bracket = qs[130 + n_http : 130 + n_http + 200]  # raw encodes right before and after HTTP c=1

    corpus_dir = DATA / "corpus-project"
    project = ROOT / "corpus"
    for src in (p for p in project.rglob("*") if p.is_file()):  # same files as bench/retrieval.py uses
        dst = corpus_dir / src.relative_to(project)
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    settings = Settings(corpus_dir=corpus_dir, index_dir=DATA / "index-project")
    embedder = load_embedder(settings)
    build_index(settings, embedder)
    index = load_current(settings.index_dir, embedder.name, embedder.dim)
    print(
        f"machine: nproc={os.cpu_count()}, torch threads={torch.get_num_threads()}, loadavg {loadavg()}; "
        f"index: {len(index.chunks)} chunks of corpus/"
    )

    # 1. raw single-query encode
    def raw_encode(q: str) -> float:
        t = time.perf_counter()
        embedder.model.encode([q])
        return (time.perf_counter() - t) * 1000

    for q in qs[-10:]:
        raw_encode(q)
    raw = [raw_encode(q) for q in in_process]
    print(f"\nraw model.encode([q]), {torch.get_num_threads()} threads:   {summary(raw)}")

    # 2. in-process answers, cold then warm query cache
    traced = embedder.prepare_queries()  # what the server does at start-up (after the raw numbers)
    answerer = Answerer(settings, QueryEncoder(embedder))
    answerer.ask(index, qs[-1])
    cold, warm = [], []
    for q in in_process:
        t = time.perf_counter()
        answerer.ask(index, q)
        cold.append((time.perf_counter() - t) * 1000)
    for q in in_process:
        t = time.perf_counter()
        answerer.ask(index, q)
        warm.append((time.perf_counter() - t) * 1000)
    print(f"Answerer.ask, unique questions:        {summary(cold)}  (traced query encoder: {traced})")
    print(f"Answerer.ask, query cache warm:        {summary(warm)}")
    if args.skip_http:
        return

    # 3. HTTP against uvicorn
    env_extra = dict(kv.split("=", 1) for kv in args.server_env)
    tmp = Path(tempfile.mkdtemp(prefix="askoleus-bench-query-"))
    url, proc = start_server(settings, tmp / "questions.sqlite3", tmp / "server.log", env_extra)
    try:
        print(f"\nserver: pid {proc.pid}, {url}, env {env_extra or '{}'}; RSS after start {rss(proc.pid)}")
        http_sequential(url, warm_http)
        for c, batch in zip(args.concurrency, http_sets, strict=True):
            before = [raw_encode(q) for q in bracket[:100]] if c == 1 else []
            if c == 1:
                lat, took, errors, wall = http_sequential(url, batch)
            else:
                lat, took, errors, wall = asyncio.run(_http_concurrent(url, batch, c))
            after = [raw_encode(q) for q in bracket[100:]] if c == 1 else []
            took_p50 = f"{percentile(took, 50):.2f}" if took else "n/a"
            print(
                f"HTTP c={c}: {summary(lat)}  {len(batch) / wall:6.1f} req/s  errors {errors}  "
                f"server took_ms p50 {took_p50}; server RSS now {rss(proc.pid)['VmRSS']} MB"
            )
            if before:
                both = before + after
                print(
                    f"  raw model.encode([q]) right before / after: p50 {percentile(before, 50):.2f} / "
                    f"{percentile(after, 50):.2f} ms"
                    f" -> HTTP p50 / raw p50 = {percentile(lat, 50) / percentile(both, 50):.2f}"
                )
        print(f"server RSS: {rss(proc.pid)} MB; loadavg {loadavg()}")
    finally:
        localserver.stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print("\ntargets: HTTP c=1 p50 <= 1.5 x raw encode p50 and <= 15 ms, p99 <= 40 ms; no errors at c=8; RSS <= 600 MB")


if __name__ == "__main__":
    main()
