"""The console overview with 1 million logged questions: seed, upgrade, and time the endpoint.

One run:
  1. builds (or reuses) the corpus index under bench/data/index-project with the real model;
  2. seeds a SQLite question log with N realistic rows (default 1,000,000) spread over the 90-day
     retention: a weekly rhythm and growth, 70% answered / 18% not covered / 10% medical / 2%
     emergency, questions drawn with a heavy tail from the golden set with lead-ins and from ~20
     uncovered topics phrased several ways, 1-3 citations of real chunks per answer, 8% of answers
     rated (a quarter of them down), lognormal answer latency around 14 ms;
  3. opens the log as the server does, which upgrades it in place (latency column, rollups
     backfilled in SQL), and prints how long that took;
  4. starts uvicorn over the index and that log and times GET /v1/console/overview?days=N&charts=true
     (what the console loads) for 7, 30 and 90 days and a custom from/to: the first request (gap
     questions embedded) and the median and max of 10 more; then the JSON-only variant.

    .venv/bin/python bench/overview.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

import localserver  # noqa: E402
from askoleus.config import Settings  # noqa: E402
from askoleus.encoders import load_embedder  # noqa: E402
from askoleus.index import load_current  # noqa: E402
from askoleus.pipeline import build_index  # noqa: E402
from askoleus.qlog import QuestionLog  # noqa: E402

DATA = ROOT / "bench" / "data"
STAFF_KEY = "bench-staff-key-0123456789abcdef"
LEAD_INS = ["", "", "", "Quick question: ", "Hi! ", "I was wondering, ", "Can you tell me "]
GAP_TOPICS = [
    ["how should I taper before a marathon?", "how long is a marathon taper?", "tapering tips for race week"],
    ["best running shoes for flat feet", "which trainers suit flat-footed runners?", "shoes for overpronation"],
    ["how do I stretch my hamstrings?", "hamstring stretches after a run", "should I stretch before running?"],
    ["what should I eat the night before a race?", "carb loading before a marathon", "pre-race dinner ideas"],
    ["how do I avoid shin splints?", "shin splints treatment", "why do my shins hurt when I run?"],
    ["how many kilometres a week for a half marathon?", "half marathon training plan", "weekly mileage for 21k"],
    ["do you ship to Switzerland?", "delivery times to Norway", "can I order from outside the EU?"],
    ["is running on a treadmill as good as outside?", "treadmill vs road running", "treadmill incline for running"],
    ["how do I breathe while running?", "breathing technique for runners", "nose or mouth breathing when running"],
    ["what is a good heart rate zone for easy runs?", "zone 2 heart rate running", "how slow should easy runs be?"],
    ["can I run with a cold?", "running when sick", "should I skip my run if I have a sore throat?"],
    ["how do I run in the heat?", "summer running tips", "how much water in hot weather runs?"],
    ["what is a discount code for OLEUS?", "do you have a promo code?", "student discount for the supplement?"],
    ["how do I get faster at 5k?", "5k speed workouts", "interval training for a faster 5k"],
    ["what's the capital of France?", "who won the world cup?", "tell me a joke"],
    ["how do I fix my running form?", "heel striking vs forefoot", "cadence for beginners"],
    ["is cycling good cross-training for runners?", "swimming as cross training", "strength training for runners"],
    ["how do I prevent blisters?", "blister on my toe after a run", "best socks for long runs"],
    ["how should I recover after an ultramarathon?", "ultra recovery time", "what to do the week after a 100k"],
    ["when is the best time of day to run?", "morning or evening runs?", "running at night safety tips"],
]
STATUS_WEIGHTS = (("answered", 70), ("not_covered", 18), ("medical_referral", 10), ("emergency", 2))
MEDICAL = ["can I take iron with my thyroid medication?", "is magnesium safe in pregnancy?", "dose of coq10?"]
EMERGENCY = ["chest pain while running", "I fainted after my run", "my lips turned blue on a run"]


def golden_questions() -> list[str]:
    out = []
    for line in (ROOT / "eval" / "golden.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("category") in ("answerable", "paraphrased"):
            out.append(item["question"])
    return out


def zipf_pick(rng: random.Random, items: list[str]) -> str:
    """Heavy-tailed choice: the first items are asked far more often."""
    return items[min(int(rng.paretovariate(1.1)) - 1, len(items) - 1)]


def seed(path: Path, rows: int, citations: list[dict[str, str]], now: float) -> None:
    """Write rows questions over the last 89.5 days straight into a log that has no rollups yet."""
    QuestionLog(path).close()  # the current schema
    db = sqlite3.connect(path)
    db.execute("DELETE FROM qlog_meta")  # as if the log predates the rollups: opening it backfills them
    rng = random.Random(15)
    answered = golden_questions()
    gaps = [rng.choice(LEAD_INS) + q for topic in GAP_TOPICS for q in topic for _ in range(3)]
    rng.shuffle(gaps)
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    span = 89.5 * 86400

    def ts() -> float:
        while True:  # more questions lately (growth) and on weekends
            t = now - rng.random() * span
            age = (now - t) / span
            weekday = time.gmtime(t).tm_wday
            if rng.random() < (1.0 - 0.5 * age) * (1.0 if weekday >= 5 else 0.8):
                return t

    def row(_: int) -> tuple[object, ...]:
        status = rng.choices(statuses, weights)[0]
        cites = "[]"
        if status == "answered":
            q = rng.choice(LEAD_INS) + zipf_pick(rng, answered)
            cites = json.dumps(rng.sample(citations, rng.randint(1, min(3, len(citations)))))
        elif status == "not_covered":
            q = zipf_pick(rng, gaps)
        else:
            q = rng.choice(MEDICAL if status == "medical_referral" else EMERGENCY)
        rated = rng.random() < 0.08
        feedback = ("down" if rng.random() < 0.25 else "up") if rated else None
        latency = rng.lognormvariate(math.log(14.0), 0.45)
        return (secrets.token_urlsafe(12), ts(), q, status, 0.5, "answer text", cites, "gen", feedback, None, latency)

    started = time.perf_counter()
    batch = 50_000
    for lo in range(0, rows, batch):
        db.executemany(
            "INSERT INTO questions (id, ts, question, status, top_score, answer, citations, generation,"
            " feedback, feedback_ts, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row(i) for i in range(lo, min(rows, lo + batch))],
        )
        db.commit()
    db.close()
    print(f"seeded {rows:,} questions in {time.perf_counter() - started:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")


def timed_get(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[float, int]:
    t = time.perf_counter()
    r = client.get(url, params=params, headers={"Authorization": f"Bearer {STAFF_KEY}"})
    r.raise_for_status()
    return (time.perf_counter() - t) * 1000, len(r.content)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    settings = Settings(corpus_dir=ROOT / "corpus", index_dir=DATA / "index-project")
    embedder = load_embedder(settings)
    build_index(settings, embedder)
    index = load_current(settings.index_dir, embedder.name, embedder.dim)
    citations = [
        {"n": 1, "chunk_id": c.id, "title": c.title, "section": c.section, "url": c.url, "score": 0.6}
        for c in index.chunks
        if c.kind == "body"
    ]
    del embedder, index
    tmp = Path(tempfile.mkdtemp(prefix="askoleus-overview-"))
    try:
        db = tmp / "q.sqlite3"
        now = time.time()
        seed(db, args.rows, citations, now)
        started = time.perf_counter()
        QuestionLog(db).close()
        print(f"upgrade in place (latency column, rollups backfilled): {time.perf_counter() - started:.1f} s")
        env = {
            "ASKOLEUS_INDEX_DIR": str(settings.index_dir),
            "ASKOLEUS_CORPUS_DIR": str(settings.corpus_dir),
            "ASKOLEUS_DB_PATH": str(db),
            "ASKOLEUS_STAFF_KEY": STAFF_KEY,
            "ASKOLEUS_RELOAD_POLL_SECONDS": "0",
        }
        url, proc = localserver.start_server(env, tmp / "server.log")
        try:
            today = time.strftime("%Y-%m-%d", time.gmtime(now))
            first = time.strftime("%Y-%m-%d", time.gmtime(now - 44 * 86400))
            cases = [
                ("days=7", {"days": "7"}),
                ("days=30", {"days": "30"}),
                ("days=90", {"days": "90"}),
                (f"from={first}&to={today}", {"from": first, "to": today}),
            ]
            with httpx.Client(base_url=url, timeout=120) as client:
                print(f"GET /v1/console/overview over {args.rows:,} logged questions (ms; SQLite, 127.0.0.1)")
                print(f"{'range':<32} {'charts':<7} {'first':>8} {'median':>8} {'max':>8} {'bytes':>9}")
                for charts in ("true", "false"):
                    for name, params in cases:
                        p = {**params, "charts": charts}
                        cold, size = timed_get(client, "/v1/console/overview", p)
                        warm = [timed_get(client, "/v1/console/overview", p)[0] for _ in range(args.repeat)]
                        print(
                            f"{name:<32} {charts:<7} {cold:8.1f} {statistics.median(warm):8.1f}"
                            f" {max(warm):8.1f} {size:9,}"
                        )
                data = client.get(
                    "/v1/console/overview", params={"days": "90"}, headers={"Authorization": f"Bearer {STAFF_KEY}"}
                ).json()
                t = data["totals"]
                print(
                    f"90 days: {t['total']:,} questions, not-covered rate {t['not_covered_rate']:.3f}, "
                    f"thumbs-down rate {t['thumbs_down_rate']:.3f}, {len(data['gap_topics'])} gap topics "
                    f"(largest: {data['gap_topics'][0]['topic']!r}, {data['gap_topics'][0]['count']:,} questions)"
                )
                csv_ms, csv_bytes = timed_get(client, "/v1/console/overview/gaps.csv", {"days": "90"})
                print(f"GET /v1/console/overview/gaps.csv?days=90: {csv_ms:.1f} ms, {csv_bytes:,} bytes")
        finally:
            localserver.stop_server(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
