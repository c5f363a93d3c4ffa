"""Query latency, server RSS, cold CLI and retrieval quality: torch vs onnx vs onnx-int8 in one run.

For every backend (ASKOLEUS_ENCODER_BACKEND), side by side:
  1. bench/encoders.py's table, each backend in a process of its own: encoder-only latency, RSS after
     loading, cosine vs torch, MRR@10 of the golden set (corpus/, corpus/ + the tests' articles) and of
     the Python FAQ set (bench/data/pydocs/faq), build time of corpus/, cold `askoleus search` / `ask`;
  2. in this process, question by question and interleaved with the yardstick (torch's raw
     `model.encode([q])`, sentence-transformers as shipped): the backend's `Embedder.encode([q])`,
     so the ratio compares like with like while the VM's speed drifts; then `Answerer.ask` on unique
     questions, and again with the query cache warm;
  3. HTTP `POST /v1/ask` against `askoleus serve` (127.0.0.1, generous rate limits, the backend's own
     index of corpus/) at concurrency 1 and 8, a bounded number of unique questions each (the query
     cache never hits): p50/p99, requests/s, errors, the server's `took_ms` p50, how many questions
     each model call encoded (the server's askoleus_encode_batch_texts histogram), and the server's
     RSS after start, after each level and at its peak (VmHWM). Each level runs twice, with fresh
     questions: with httpx (as before), then with the standard library's http.client in threads, a
     client that spends far less of the two cores' time per request than httpx. At concurrency 1,
     100 raw torch encodes run right before and 100 right after the requests, and the HTTP/raw
     ratios use those.

Questions are the golden questions and the Python FAQ questions that route to an answer (no
emergency/medical shortcut), made unique with neutral lead-ins. Indexes are built (or reused) under
bench/data/index-project-<backend>; the server's question log goes to a temporary directory.

    PYTHONPATH=src .venv/bin/python bench/query.py                      # all three backends
    PYTHONPATH=src .venv/bin/python bench/query.py --backends onnx --requests 100 --skip-encoders
    PYTHONPATH=src .venv/bin/python bench/query.py --variants 'ASKOLEUS_ONNX_SPINNING=false'
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import DATA, ROOT, loadavg, percentile  # first: offline model, src/ and tests/ on sys.path

# isort: split
import httpx
import torch

import encoders as encoder_bench
import localserver
from askoleus.answer import Answerer
from askoleus.answer.common_words import word_table
from askoleus.answer.routing import route
from askoleus.config import Settings
from askoleus.encoders import load_backend, load_embedder
from askoleus.index import load_current
from askoleus.pipeline import build_index
from askoleus.retrieve import QueryEncoder

BACKENDS = ["torch", "onnx", "onnx-int8"]
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
TARGETS = (
    "HTTP c=1 p50 <= 0.5 x raw torch encode and p99 <= 15 ms; c=8 >= 2 x c=1 req/s, no errors; server RSS <= 350 MB"
)


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
    """Our own `askoleus serve` over settings' index (the tests start theirs the same way, via localserver)."""
    env = {
        "ASKOLEUS_INDEX_DIR": str(settings.index_dir),
        "ASKOLEUS_CORPUS_DIR": str(settings.corpus_dir),
        "ASKOLEUS_SITE_URL": settings.site_url,
        "ASKOLEUS_DB_PATH": str(db),
        "ASKOLEUS_ENCODER_BACKEND": settings.encoder_backend,
        "ASKOLEUS_RATE_LIMIT_PER_MINUTE": "10000000",
        "ASKOLEUS_RATE_LIMIT_BURST": "10000000",
        "ASKOLEUS_MAX_IN_FLIGHT_PER_CLIENT": "1000",  # all the load comes from 127.0.0.1
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batch_histogram(url: str) -> dict[str, float]:
    """The server's askoleus_encode_batch_texts histogram: cumulative bucket counts, _count and _sum."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    out = {}
    for m in re.finditer(r'^askoleus_encode_batch_texts_(bucket\{le="([^"]+)"\}|count|sum) (\S+)$', text, re.M):
        out[m.group(2) or m.group(1)] = float(m.group(3))
    return out


def batch_line(before: dict[str, float], after: dict[str, float]) -> str:
    """Model calls, questions per call, and how many calls encoded 1, 2, 3-4, ... questions, between two scrapes."""
    calls = after.get("count", 0) - before.get("count", 0)
    texts = after.get("sum", 0) - before.get("sum", 0)
    if not calls:
        return "no model calls"
    bounds = [k for k in after if k not in ("count", "sum", "+Inf")]
    prev, parts = 0.0, []
    for k in sorted(bounds, key=float):
        n = after[k] - before.get(k, 0)
        if n - prev:
            parts.append(f"<={float(k):g}: {n - prev:.0f}")
        prev = n
    return f"{calls:.0f} model calls, {texts / calls:.2f} questions per call ({', '.join(parts)})"


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


def _lean_post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", "/v1/ask", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def http_lean(url: str, qs: list[str], concurrency: int) -> tuple[list[float], list[float], int, float]:
    """Like http_sequential / _http_concurrent, with the standard library's keep-alive http.client in threads.

    httpx costs the client about 1 ms of Python per request, on the same two cores as the server; this
    client costs a fraction of that, so its latencies are closer to what the server itself takes.
    """
    host, port = url.removeprefix("http://").split(":")
    pending = list(reversed(qs))
    lat: list[float] = []
    took: list[float] = []
    errors = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while True:
            with lock:
                if not pending:
                    break
                q = pending.pop()
            t = time.perf_counter()
            try:
                status, data = _lean_post(conn, json.dumps({"question": q}).encode())
            except (OSError, http.client.HTTPException):
                status, data = 0, b""
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
            ms = (time.perf_counter() - t) * 1000
            with lock:
                lat.append(ms)
                if status == 200:
                    took.append(json.loads(data)["took_ms"])
                else:
                    errors += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return lat, took, errors, time.perf_counter() - started


def settings_env(env: dict[str, str]) -> dict[str, str]:
    """Settings fields named by ASKOLEUS_* variables (so this process runs a variant as its server does)."""
    return {k.removeprefix("ASKOLEUS_").lower(): v for k, v in env.items() if k.startswith("ASKOLEUS_")}


def run_backend(
    backend: str, reference: Any, qs: dict[str, Any], args: argparse.Namespace, variant: dict[str, str]
) -> dict[str, Any]:
    """Sections 2 and 3 for one backend; prints as it goes and returns the numbers for the summary."""
    out: dict[str, Any] = {}
    env_extra = {**dict(kv.split("=", 1) for kv in args.server_env), **variant}
    corpus_dir = DATA / "corpus-project"
    settings = Settings(
        corpus_dir=corpus_dir,
        index_dir=DATA / f"index-project-{backend}",
        **{**settings_env(env_extra), "encoder_backend": backend},  # type: ignore[arg-type]
    )
    embedder = load_embedder(settings)
    build_index(settings, embedder)
    index = load_current(settings.index_dir, embedder.name, embedder.dim)
    traced = embedder.prepare_queries()  # what the server does at start-up
    print(f"\n## {backend} {variant or ''}: vector space {embedder.name}; loadavg {loadavg()}")

    def raw_encode(q: str) -> float:
        t = time.perf_counter()
        reference.model.encode([q])
        return (time.perf_counter() - t) * 1000

    def own_encode(q: str) -> float:
        t = time.perf_counter()
        embedder.encode([q])
        return (time.perf_counter() - t) * 1000

    for q in qs["warm"][:10]:
        raw_encode(q), own_encode(q)
    raw, own = [], []
    for q in qs["in_process"]:  # interleaved: both see the same moment of the VM
        raw.append(raw_encode(q))
        own.append(own_encode(q))
    out["encode_p50"], out["encode_p99"] = percentile(own, 50), percentile(own, 99)
    out["encode_ratio"] = percentile(own, 50) / percentile(raw, 50)
    print(f"raw torch model.encode([q]):       {summary(raw)}")
    print(f"{backend} Embedder.encode([q]):{' ' * (14 - len(backend))}{summary(own)}  (traced: {traced})")

    answerer = Answerer(settings, QueryEncoder(embedder, words=word_table(settings, embedder)))  # as the server
    answerer.ask(index, qs["warm"][0])
    cold, warm = [], []
    for target in (cold, warm):  # unique questions, then the same again with the query cache warm
        for q in qs["in_process"]:
            t = time.perf_counter()
            answerer.ask(index, q)
            target.append((time.perf_counter() - t) * 1000)
    out["ask_p50"], out["ask_warm_p50"] = percentile(cold, 50), percentile(warm, 50)
    print(f"Answerer.ask, unique questions:    {summary(cold)}")
    print(f"Answerer.ask, query cache warm:    {summary(warm)}")
    if args.skip_http:
        return out

    tmp = Path(tempfile.mkdtemp(prefix="askoleus-bench-query-"))
    url, proc = start_server(settings, tmp / "questions.sqlite3", tmp / "server.log", env_extra)
    try:
        out["rss_start"] = rss(proc.pid)["VmRSS"]
        print(f"server: pid {proc.pid}, env {env_extra or '{}'}; RSS after start {rss(proc.pid)} MB")
        http_sequential(url, qs["warm"])
        for c, batch, lean_batch in zip(args.concurrency, qs["http"], qs["lean"], strict=True):
            before = [raw_encode(q) for q in qs["bracket"][:100]] if c == 1 else []
            for client, questions_ in (("", batch), ("lean_", lean_batch)):
                hist = batch_histogram(url)
                cpu = cpu_seconds(proc.pid)
                if client:
                    lat, took, errors, wall = http_lean(url, questions_, c)
                elif c == 1:
                    lat, took, errors, wall = http_sequential(url, questions_)
                else:
                    lat, took, errors, wall = asyncio.run(_http_concurrent(url, questions_, c))
                cpu_ms = (cpu_seconds(proc.pid) - cpu) * 1000 / len(questions_)
                batches = batch_line(hist, batch_histogram(url))
                out[f"{client}c{c}_cpu"] = cpu_ms
                took_p50 = f"{percentile(took, 50):.2f}" if took else "n/a"
                out[f"{client}c{c}_p50"], out[f"{client}c{c}_p99"] = percentile(lat, 50), percentile(lat, 99)
                out[f"{client}c{c}_rps"], out[f"{client}c{c}_errors"] = len(questions_) / wall, errors
                print(
                    f"HTTP c={c} ({'http.client' if client else 'httpx'}): {summary(lat)}  "
                    f"{len(questions_) / wall:6.1f} req/s  errors {errors}  "
                    f"server took_ms p50 {took_p50}; server CPU {cpu_ms:.1f} core-ms per request; "
                    f"server RSS now {rss(proc.pid)['VmRSS']} MB"
                )
                print(f"  encoder: {batches}")
            after = [raw_encode(q) for q in qs["bracket"][100:]] if c == 1 else []
            if before:
                yardstick = percentile(before + after, 50)
                out["raw_http"] = yardstick
                out["c1_ratio"] = out["c1_p50"] / yardstick
                out["lean_c1_ratio"] = out["lean_c1_p50"] / yardstick
                print(
                    f"  raw torch model.encode([q]) right before / after: p50 {percentile(before, 50):.2f} / "
                    f"{percentile(after, 50):.2f} ms -> HTTP p50 / raw p50 = {out['c1_ratio']:.2f} (httpx), "
                    f"{out['lean_c1_ratio']:.2f} (http.client)"
                )
        for client in ("", "lean_"):
            if f"{client}c1_rps" in out and f"{client}c8_rps" in out:
                out[f"{client}c8_over_c1"] = out[f"{client}c8_rps"] / out[f"{client}c1_rps"]
        final = rss(proc.pid)
        out["rss_end"], out["rss_peak"] = final["VmRSS"], final["VmHWM"]
        print(f"server RSS: {final} MB; loadavg {loadavg()}")
    finally:
        localserver.stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


ROWS = [
    ("Embedder.encode([q]) p50, in process (ms)", "encode_p50", "{:.2f}"),
    ("  / raw torch model.encode([q]), interleaved", "encode_ratio", "{:.2f}"),
    ("Answerer.ask p50, unique questions (ms)", "ask_p50", "{:.2f}"),
    ("Answerer.ask p50, query cache warm (ms)", "ask_warm_p50", "{:.2f}"),
    ("HTTP /v1/ask c=1 p50 (ms)", "c1_p50", "{:.2f}"),
    ("HTTP /v1/ask c=1 p99 (ms)", "c1_p99", "{:.2f}"),
    ("  c=1 p50 / raw torch encode (bracketing it)", "c1_ratio", "{:.2f}"),
    ("HTTP /v1/ask c=8 p50 (ms)", "c8_p50", "{:.2f}"),
    ("HTTP /v1/ask c=8 p99 (ms)", "c8_p99", "{:.2f}"),
    ("req/s c=1", "c1_rps", "{:.1f}"),
    ("req/s c=8", "c8_rps", "{:.1f}"),
    ("  c=8 / c=1 throughput", "c8_over_c1", "{:.2f}"),
    ("HTTP c=1 p50 / p99, http.client (ms)", "lean_c1", "{}"),
    ("  c=1 p50 / raw torch encode, http.client", "lean_c1_ratio", "{:.2f}"),
    ("HTTP c=8 p50 / p99, http.client (ms)", "lean_c8", "{}"),
    ("req/s c=1 -> c=8, http.client", "lean_rps", "{}"),
    ("  c=8 / c=1 throughput, http.client", "lean_c8_over_c1", "{:.2f}"),
    ("server CPU per request c=1 / c=8, http.client (core-ms)", "lean_cpu", "{}"),
    ("errors c=1 / c=8", "errors", "{}"),
    ("server RSS after start (MB)", "rss_start", "{}"),
    ("server RSS at the end / peak VmHWM (MB)", "rss_end_peak", "{}"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300, help="HTTP requests per concurrency level")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    ap.add_argument(
        "--server-env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the servers (e.g. ASKOLEUS_TORCH_THREADS=1)",
    )
    ap.add_argument(
        "--variants",
        nargs="*",
        default=[],
        metavar="'NAME=VALUE ...'",
        help="more onnx columns, each with these settings (in process and in its server), e.g. "
        "'ASKOLEUS_ONNX_SPINNING=false' 'ASKOLEUS_TORCH_THREADS=1 ASKOLEUS_ENCODER_CALLS=2'",
    )
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-encoders", action="store_true", help="leave out bench/encoders.py's table (quality, CLI)")
    args = ap.parse_args()

    all_qs = questions()
    n_http = 2 * len(args.concurrency) * args.requests  # httpx, then http.client
    need = 100 + 30 + n_http + 200
    if len(all_qs) < need:
        sys.exit(f"only {len(all_qs)} unique questions, {need} needed: lower --requests")
    qs = {
        "in_process": all_qs[:100],
        "warm": all_qs[100:130],
        "http": [all_qs[130 + i * args.requests : 130 + (i + 1) * args.requests] for i in range(len(args.concurrency))],
        "lean": [
            all_qs[130 + i * args.requests : 130 + (i + 1) * args.requests]
            for i in range(len(args.concurrency), 2 * len(args.concurrency))
        ],
        "bracket": all_qs[130 + n_http : 130 + n_http + 200],  # raw encodes right before and after HTTP c=1
    }
    corpus_dir = DATA / "corpus-project"
    project = ROOT / "corpus"
    for src in (p for p in project.rglob("*") if p.is_file()):  # same files as bench/retrieval.py uses
        dst = corpus_dir / src.relative_to(project)
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    print(f"machine: nproc={os.cpu_count()}, torch threads={torch.get_num_threads()}, loadavg {loadavg()}")
    print(f"server env: {args.server_env or 'defaults'}; {args.requests} requests per level; backends {args.backends}")

    columns = [(b, b, {}) for b in args.backends]
    columns += [("onnx", f"onnx [{v}]", dict(kv.split("=", 1) for kv in v.split())) for v in args.variants]
    results: dict[str, dict[str, Any]] = {label: {} for _, label, _ in columns}
    if not args.skip_encoders:
        print("\n# 1. encoders (bench/encoders.py, each backend in a process of its own)")
        measured = encoder_bench.measure(args.backends)
        encoder_bench.print_table(measured, encoder_bench.ROWS)
        print("\n".join(encoder_bench.quality_check(measured)))
        print(f"loadavg {loadavg()}")
        for b, values in measured.items():
            results[b].update(values)

    print("\n# 2-3. in process and over HTTP")
    reference = load_backend(Settings(), "torch")  # the raw sentence-transformers model, the yardstick
    for b, label, variant in columns:
        r = results[label]
        r.update(run_backend(b, reference, qs, args, variant))
        r["errors"] = f"{r.get('c1_errors', 'n/a')} / {r.get('c8_errors', 'n/a')}"
        if "lean_c1_errors" in r:
            r["errors"] += f" (http.client {r['lean_c1_errors']} / {r.get('lean_c8_errors', 'n/a')})"
        for c in (1, 8):
            if f"lean_c{c}_p50" in r:
                r[f"lean_c{c}"] = f"{r[f'lean_c{c}_p50']:.2f} / {r[f'lean_c{c}_p99']:.2f}"
        if "lean_c1_cpu" in r and "lean_c8_cpu" in r:
            r["lean_cpu"] = f"{r['lean_c1_cpu']:.1f} / {r['lean_c8_cpu']:.1f}"
        if "lean_c1_rps" in r and "lean_c8_rps" in r:
            r["lean_rps"] = f"{r['lean_c1_rps']:.1f} -> {r['lean_c8_rps']:.1f}"
        r["rss_end_peak"] = f"{r.get('rss_end', 'n/a')} / {r.get('rss_peak', 'n/a')}"

    print(f"\n# summary ({args.requests} requests per level; loadavg {loadavg()})")
    rows = ROWS if args.skip_encoders else ROWS + [r for r in encoder_bench.ROWS if "MRR" in r[0] or "cold" in r[0]]
    encoder_bench.print_table(results, rows)
    print(f"\ntargets: {TARGETS}; onnx MRR within 0.005 of torch")


if __name__ == "__main__":
    main()
