"""Bounded load test of the askoleus HTTP API, with an index reload in the middle of the run.

    .venv/bin/python bench/load.py                      # own server, 60 s, 16 concurrent clients
    .venv/bin/python bench/load.py --seconds 20 --concurrency 8
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --admin-key KEY

Without --url it builds an index in a work directory (or copies --index-dir), builds a second
generation from a copy of the corpus with one paragraph changed, re-activates the first, and starts
its own uvicorn on 127.0.0.1 (generous rate limits). Mixed traffic (ask, ask/stream, search, feedback,
healthz) then runs for --seconds at --concurrency. Halfway through, the second generation is activated
and POST /v1/admin/reload is called. Responses then have to switch to the new generation.

Load only ever goes to a loopback address. It is bounded in time (--seconds) and in count
(--max-requests). Prints the totals, requests/s, errors by kind, p50/p95/p99 latency per endpoint
and whether the generation switch was seen. Exit code 1 on any error: a non-2xx status other than 429,
a transport error, or a broken event stream. 429s are counted on their own.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common import OFFLINE_ENV, ROOT, percentile  # first: offline model, src/ and tests/ on sys.path

# isort: split
import httpx

import localserver
from localserver import stop_server

QUESTIONS = [
    "why is iron important for runners?",
    "Why do my legs feel heavy when I run?",
    "What is oleuropein?",
    "what does magnesium do for ATP?",
    "is it my training or my cells?",
    "how do I make heavy legs lighter over time?",
    "What's the capital of France?",
    "how do I bake sourdough bread?",
    "I'm pregnant, can I take iron supplements?",
    "I have chest pain while running",
    "does the Daily Shot replace fixing an iron deficiency?",
    "why would my engine be underpowered?",
]
FOLLOW_UPS = ["and magnesium?", "what study says that?", "and iron?"]
SEARCHES = ["iron", "magnesium ATP", "heavy legs", "oleuropein mitochondria", "recovery", "Sim 2019"]
# endpoint -> weight in the mix
MIX = {"ask": 40, "ask_stream": 20, "search": 20, "feedback": 10, "healthz": 10}


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- own server --------------------------------------------------------------------------------


def changed_corpus(src: Path, dst: Path) -> Path:
    """A copy of the corpus with one sentence added to the first long paragraph of the first article."""
    shutil.copytree(src, dst)
    for path in sorted(p for p in dst.rglob("*") if p.suffix in (".txt", ".md", ".markdown")):
        lines = path.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            words = line.split()
            if len(words) >= 20 and line[:1].isalpha() and line.rstrip().endswith("."):
                lines[i] = line.rstrip() + " This paragraph was revised for the load test."
                path.write_text("\n".join(lines), encoding="utf-8")
                return dst
    raise SystemExit(f"no paragraph to change in {src}")


@dataclass
class Prepared:
    index_dir: Path
    corpus_dir: Path
    old_generation: str
    new_generation: str | None


def prepare_index(work: Path, corpus: Path, index_src: Path | None) -> Prepared:
    """Generation A (copied or built) and generation B (one paragraph changed); A is current."""
    from askoleus.config import Settings
    from askoleus.embed import load_embedder
    from askoleus.index import IndexStore
    from askoleus.pipeline import build_index

    index_dir = work / "index"
    started = time.perf_counter()
    embedder = load_embedder(Settings())
    if index_src is not None:
        shutil.copytree(index_src, index_dir, ignore=shutil.ignore_patterns("*.sqlite3*", ".build.lock", "tmp"))
        store = IndexStore(index_dir)
        if store.current_id() is None:
            raise SystemExit(f"{index_src} has no current generation")
    else:
        build_index(Settings(corpus_dir=corpus, index_dir=index_dir), embedder)
        store = IndexStore(index_dir)
    old = store.current_id()
    assert old is not None
    report = build_index(
        Settings(corpus_dir=changed_corpus(corpus, work / "corpus-b"), index_dir=index_dir, keep_generations=50),
        embedder,
    )
    new = None if report.unchanged else report.generation
    store.activate(old)
    print(f"index ready in {time.perf_counter() - started:.1f} s: serving {old}, reload target {new}", flush=True)
    return Prepared(index_dir, corpus, old, new)


def start_server(
    prep: Prepared, work: Path, staff_key: str, admin_key: str, concurrency: int
) -> tuple[str, subprocess.Popen[bytes]]:
    """Our own uvicorn over the prepared index, with limits that let the load through."""
    env = {
        **OFFLINE_ENV,
        "ASKOLEUS_INDEX_DIR": str(prep.index_dir),
        "ASKOLEUS_CORPUS_DIR": str(prep.corpus_dir),
        "ASKOLEUS_DB_PATH": str(work / "questions.sqlite3"),
        "ASKOLEUS_STAFF_KEY": staff_key,
        "ASKOLEUS_ADMIN_KEY": admin_key,
        "ASKOLEUS_RATE_LIMIT_PER_MINUTE": "1000000",
        "ASKOLEUS_RATE_LIMIT_BURST": "1000000",
        "ASKOLEUS_MAX_IN_FLIGHT": str(max(64, 4 * concurrency)),
        "ASKOLEUS_RELOAD_POLL_SECONDS": "1",
    }
    try:
        return localserver.start_server(env, work / "server.log", timeout=120, extra_args=["--no-access-log"])
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


# -- traffic -----------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    generations: Counter[str] = field(default_factory=Counter)
    answer_ids: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    conversations: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    total: int = 0
    switch_at: float | None = None  # monotonic time the new generation was activated
    first_new_at: float | None = None  # first response from the new generation
    old_after_new: int = 0  # old-generation responses completed after the first new one
    reload_result: dict[str, Any] | None = None


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            events.append((fields.get("event", ""), json.loads(fields.get("data", "{}"))))
    return events


class Traffic:
    def __init__(self, client: httpx.AsyncClient, stats: Stats, new_generation: str | None, seed: int) -> None:
        self.client = client
        self.stats = stats
        self.new_generation = new_generation
        self.rng = random.Random(seed)

    def _question(self) -> dict[str, Any]:
        if self.stats.conversations and self.rng.random() < 0.2:
            return {
                "question": self.rng.choice(FOLLOW_UPS),
                "conversation_id": self.rng.choice(self.stats.conversations),
            }
        return {"question": self.rng.choice(QUESTIONS)}

    def _seen(self, generation: str) -> None:
        s = self.stats
        s.generations[generation] += 1
        if self.new_generation is None:
            return
        if generation == self.new_generation:
            if s.first_new_at is None:
                s.first_new_at = time.monotonic()
        elif s.first_new_at is not None:
            s.old_after_new += 1

    async def one(self, kind: str) -> None:
        s = self.stats
        if kind == "feedback" and not s.answer_ids:
            kind = "healthz"  # nothing to rate yet
        started = time.perf_counter()
        try:
            status, problem = await getattr(self, kind)()
        except httpx.HTTPError as exc:
            status, problem = None, type(exc).__name__
        elapsed = time.perf_counter() - started
        s.total += 1
        s.latencies[kind].append(elapsed)
        s.statuses[f"{kind} {status}"] += 1
        if status == 429:
            s.rate_limited[kind] += 1
        elif problem:
            s.errors[f"{kind}: {problem}"] += 1

    async def ask(self) -> tuple[int, str]:
        r = await self.client.post("/v1/ask", json=self._question())
        if r.status_code != 200:
            return r.status_code, f"HTTP {r.status_code}"
        data = r.json()
        if not data["answer"].endswith(data["disclaimer"]):
            return r.status_code, "answer without disclaimer"
        self.stats.answer_ids.append(data["answer_id"])
        self.stats.conversations.append(data["conversation_id"])
        self._seen(data["index_generation"])
        return r.status_code, ""

    async def ask_stream(self) -> tuple[int, str]:
        async with self.client.stream("POST", "/v1/ask/stream", json=self._question()) as r:
            body = (await r.aread()).decode()
        if r.status_code != 200:
            return r.status_code, f"HTTP {r.status_code}"
        events = parse_sse(body)
        names = [name for name, _ in events]
        if names[:2] != ["meta", "citations"] or names[-2:] != ["disclaimer", "done"] or "delta" not in names:
            return r.status_code, "broken event stream"
        self._seen(events[0][1]["index_generation"])
        return r.status_code, ""

    async def search(self) -> tuple[int, str]:
        r = await self.client.get("/v1/search", params={"q": self.rng.choice(SEARCHES), "k": 5})
        if r.status_code == 200:
            self._seen(r.json()["index_generation"])
        return r.status_code, "" if r.status_code == 200 else f"HTTP {r.status_code}"

    async def feedback(self) -> tuple[int, str]:
        r = await self.client.post(
            "/v1/feedback",
            json={"answer_id": self.rng.choice(self.stats.answer_ids), "rating": self.rng.choice(["up", "down"])},
        )
        return r.status_code, "" if r.status_code == 204 else f"HTTP {r.status_code}"

    async def healthz(self) -> tuple[int, str]:
        r = await self.client.get("/healthz")
        return r.status_code, "" if r.status_code == 200 else f"HTTP {r.status_code}"


async def run_load(
    url: str,
    seconds: float,
    concurrency: int,
    max_requests: int,
    admin_key: str | None,
    prep: Prepared | None,
    seed: int,
) -> Stats:
    stats = Stats()
    new_gen = prep.new_generation if prep else None
    deadline = time.monotonic() + seconds
    kinds, weights = list(MIX), list(MIX.values())
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker(i: int) -> None:
            traffic = Traffic(client, stats, new_gen, seed * 1000 + i)
            while time.monotonic() < deadline and stats.total < max_requests:
                await traffic.one(traffic.rng.choices(kinds, weights)[0])

        async def reload_midway() -> None:
            await asyncio.sleep(seconds / 2)
            if prep is not None and prep.new_generation is not None:
                from askoleus.index import IndexStore

                await asyncio.to_thread(IndexStore(prep.index_dir).activate, prep.new_generation)
                stats.switch_at = time.monotonic()
            if admin_key:
                try:
                    r = await client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {admin_key}"})
                    stats.reload_result = {"status": r.status_code, **(r.json() if r.status_code == 200 else {})}
                    if r.status_code != 200:
                        stats.errors[f"admin_reload: HTTP {r.status_code}"] += 1
                except httpx.HTTPError as exc:
                    stats.errors[f"admin_reload: {type(exc).__name__}"] += 1

        await asyncio.gather(reload_midway(), *(worker(i) for i in range(concurrency)))
    return stats


# -- report ------------------------------------------------------------------------------------


def report(stats: Stats, seconds: float, prep: Prepared | None) -> dict[str, Any]:
    endpoints = {
        kind: {
            "requests": len(v),
            "p50_ms": round(percentile(v, 50) * 1000, 1),
            "p95_ms": round(percentile(v, 95) * 1000, 1),
            "p99_ms": round(percentile(v, 99) * 1000, 1),
        }
        for kind, v in sorted(stats.latencies.items())
        if v
    }
    switch: dict[str, Any] = {"attempted": prep is not None and prep.new_generation is not None}
    if prep is not None:
        switch.update(
            old=prep.old_generation,
            new=prep.new_generation,
            observed=stats.first_new_at is not None,
            seconds_to_first_new=round(stats.first_new_at - stats.switch_at, 3)
            if stats.first_new_at is not None and stats.switch_at is not None
            else None,
            old_responses_after_first_new=stats.old_after_new,
        )
    switch["admin_reload"] = stats.reload_result
    switch["responses_by_generation"] = dict(stats.generations)
    return {
        "seconds": seconds,
        "total_requests": stats.total,
        "requests_per_second": round(stats.total / seconds, 1),
        "errors": dict(stats.errors),
        "rate_limited_429": dict(stats.rate_limited),
        "statuses": dict(sorted(stats.statuses.items())),
        "endpoints": endpoints,
        "generation_switch": switch,
    }


def print_report(summary: dict[str, Any]) -> None:
    print(f"\ntotal requests     {summary['total_requests']}")
    print(f"duration           {summary['seconds']:.1f} s")
    print(f"requests/s         {summary['requests_per_second']}")
    errors = summary["errors"]
    print(f"errors             {sum(errors.values())}" + "".join(f"\n  {k:<30} {v}" for k, v in sorted(errors.items())))
    limited = summary["rate_limited_429"]
    print(f"rate limited (429) {sum(limited.values())}" + "".join(f"\n  {k:<30} {v}" for k, v in limited.items()))
    print("\nendpoint       requests   p50 ms   p95 ms   p99 ms")
    for kind, e in summary["endpoints"].items():
        print(f"{kind:<14} {e['requests']:>8} {e['p50_ms']:>8} {e['p95_ms']:>8} {e['p99_ms']:>8}")
    sw = summary["generation_switch"]
    print("\ngeneration switch")
    if sw["attempted"]:
        print(
            f"  {sw['old']} -> {sw['new']}: observed={sw['observed']}, first new response "
            f"{sw['seconds_to_first_new']} s after activation, "
            f"old-generation responses completed after it: {sw['old_responses_after_first_new']}"
        )
    else:
        print("  not attempted (no second generation)")
    if sw["admin_reload"] is not None:
        print(f"  POST /v1/admin/reload -> {sw['admin_reload']}")
    print(f"  responses by generation: {sw['responses_by_generation']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server on a loopback address (default: start one)")
    ap.add_argument("--admin-key", help="admin key of --url, to call POST /v1/admin/reload midway")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-requests", type=int, default=200_000, help="hard cap on requests")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus to build (own server)")
    ap.add_argument("--index-dir", type=Path, help="copy this built index instead of building one (own server)")
    ap.add_argument("--workdir", type=Path, help="keep the index, question log and server log here")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = ap.parse_args(argv)
    if not 0 < args.seconds <= 3600 or not 1 <= args.concurrency <= 256 or args.max_requests < 1:
        ap.error("--seconds must be in (0, 3600], --concurrency in [1, 256], --max-requests >= 1")
    if args.url and not is_loopback_url(args.url):
        ap.error("--url must point to a loopback address (127.0.0.1, ::1 or localhost)")

    proc = None
    prep: Prepared | None = None
    work = args.workdir or Path(tempfile.mkdtemp(prefix="askoleus-load-"))
    try:
        url, admin_key = args.url, args.admin_key
        if url is None:
            work.mkdir(parents=True, exist_ok=True)
            prep = prepare_index(work, args.corpus, args.index_dir)
            admin_key = secrets.token_urlsafe(24)
            url, proc = start_server(prep, work, secrets.token_urlsafe(24), admin_key, args.concurrency)
            print(f"server {url} (log: {work / 'server.log'})", flush=True)
        print(f"load: {args.seconds:g} s at concurrency {args.concurrency} against {url}", flush=True)
        started = time.monotonic()
        stats = asyncio.run(
            run_load(url, args.seconds, args.concurrency, args.max_requests, admin_key, prep, args.seed)
        )
        summary = report(stats, time.monotonic() - started, prep)
    finally:
        if proc is not None:
            stop_server(proc)
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print_report(summary)
    if args.json:
        print(json.dumps(summary))
    switch = summary["generation_switch"]
    failed = bool(summary["errors"]) or (switch["attempted"] and not switch["observed"])
    print("\nRESULT: " + ("FAIL" if failed else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
