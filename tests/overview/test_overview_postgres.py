"""The console overview reads the same numbers from PostgreSQL as from SQLite: same rows in, same overview out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

import askoleus.qlog
import askoleus.qlog_postgres
from askoleus.api.app import create_app
from askoleus.config import Settings
from askoleus.overview import store as sql
from askoleus.overview.report import DayRange, build_overview
from askoleus.qlog import QuestionLog
from askoleus.qlog_postgres import PostgresQuestionLog
from askoleus.qlog_store import LogStore
from conftest import STAFF_KEY
from dbservers import PostgresServer

DAY = 86400
TODAY = int(time.time() // DAY)
NOW = TODAY * DAY + 12 * 3600  # noon UTC today: the endpoint's "last 7 days" holds every seeded day
IRON = {"chunk_id": "iron-and-running/why-iron/3", "title": "Iron and running", "section": "Why iron", "url": "u#i"}
LEGS = {"chunk_id": "heavy-legs/top/0", "title": "Heavy legs", "section": "Intro", "url": "u#l"}
ARTICLES = {  # the index's articles, for "never cited"
    a: SimpleNamespace(id=a, title=a.replace("-", " ").title(), url=f"http://x/articles/{a}")
    for a in ("heavy-legs", "iron-and-running", "sleep-and-recovery")
}

# days ago, question, status, citations, latency (ms), feedback in the order readers gave it
SEED: list[tuple[int, str, str, list[dict[str, str]], float, tuple[str, ...]]] = [
    (0, "why iron?", "answered", [IRON, LEGS, IRON], 120.0, ("up",)),
    (0, "why iron?", "answered", [IRON], 80.0, ("down",)),
    (0, "Capital of France?", "not_covered", [], 40.0, ()),
    (0, "capital of france?", "not_covered", [], 60.0, ()),
    (0, "chest pain while running", "emergency", [], 10.0, ()),
    (1, "heavy legs?", "answered", [LEGS], 200.0, ("up", "down")),  # changed their mind
    (1, "can I take iron when pregnant?", "medical_referral", [], 30.0, ()),
    (2, "heavy legs after a marathon?", "answered", [LEGS], 150.0, ("up",)),
]


class Clock:
    """time.time() of both question logs, moved by the seeding."""

    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    fake_time = SimpleNamespace(time=c, monotonic=time.monotonic, strftime=time.strftime, gmtime=time.gmtime)
    monkeypatch.setattr(askoleus.qlog, "time", fake_time)
    monkeypatch.setattr(askoleus.qlog_postgres, "time", fake_time)
    return c


def seed(log: LogStore, clock: Clock) -> None:
    """Log SEED through the log's own record() and feedback(), at its days."""
    for days_ago, question, status, citations, latency_ms, ratings in SEED:
        clock.now = NOW - days_ago * DAY
        answer_id = log.record(question, status, "an answer", citations, "g1", 0.5, latency_ms=latency_ms)
        for rating in ratings:
            assert log.feedback(answer_id, rating)
    clock.now = NOW


@pytest.fixture
def logs(tmp_path: Path, clock: Clock, postgres_server: PostgresServer) -> Iterator[dict[str, LogStore]]:
    """A SQLite and a PostgreSQL log, each seeded with SEED."""
    postgres_server.reset()
    both: dict[str, LogStore] = {
        "sqlite": QuestionLog(tmp_path / "q.sqlite3"),
        "postgresql": PostgresQuestionLog(postgres_server.url, timeout_seconds=2.0),
    }
    try:
        for log in both.values():
            seed(log, clock)
        yield both
    finally:
        for log in both.values():
            log.close()


def overview(log: LogStore) -> dict[str, Any]:
    index: Any = SimpleNamespace(articles=ARTICLES)  # the overview reads only the index's articles
    return build_overview(log.read, DayRange(TODAY - 2, TODAY), Settings(), index=index, dialect=log.dialect)


def day(n: int) -> int:
    return TODAY - n


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_overview_of_the_seeded_log(logs: dict[str, LogStore], backend: str) -> None:
    """What the overview shows for SEED, the same on either database."""
    data = overview(logs[backend])
    per_day = [
        (d["answered"], d["not_covered"], d["medical_referral"], d["emergency"], d["feedback_up"], d["feedback_down"])
        for d in data["daily"]
    ]
    assert per_day == [(1, 0, 0, 0, 1, 0), (1, 0, 1, 0, 0, 1), (2, 2, 0, 1, 1, 1)]  # two days ago … today
    assert [(d["not_covered_rate"], d["thumbs_down_rate"]) for d in data["daily"]] == [
        (0.0, 0.0),
        (0.0, 1.0),
        (0.4, 0.5),
    ]
    assert data["totals"]["total"] == 8
    assert data["totals"]["not_covered_rate"] == 0.25

    def ms(latency: float) -> float:  # percentiles come from a 5% histogram: the bucket's upper bound
        return sql.bucket_ms(sql.latency_bucket(latency) or 0)

    assert [(d["answers"], d["p50_ms"], d["p95_ms"]) for d in data["latency"]] == [
        (1, ms(150), ms(150)),
        (2, ms(30), ms(200)),
        (5, ms(60), ms(120)),  # today: 10, 40, 60, 80, 120 ms
    ]
    assert [(s["article_id"], s["section"], s["citations"]) for s in data["cited_sections"]] == [
        ("heavy-legs", "Intro", 3),
        ("iron-and-running", "Why iron", 2),  # once per answer, however often it cites the section
    ]
    assert [(a["article_id"], a["citations"]) for a in data["cited_articles"]] == [
        ("heavy-legs", 3),
        ("iron-and-running", 2),
    ]
    assert [a["article_id"] for a in data["never_cited"]] == ["sleep-and-recovery"]
    gaps = logs[backend].read(lambda db: sql.gap_questions(db, logs[backend].dialect, TODAY - 2, TODAY, TODAY - 1, 10))
    assert gaps == [("Capital of France?", 2, 0, 2)]  # grouped case-blind, shown as first in byte order


def test_sqlite_and_postgresql_give_equal_overviews(logs: dict[str, LogStore]) -> None:
    """Beyond the numbers above: the whole overview document is equal, field for field."""
    assert overview(logs["sqlite"]) == overview(logs["postgresql"])


def test_an_existing_postgresql_log_is_backfilled(
    logs: dict[str, LogStore], postgres_server: PostgresServer, clock: Clock
) -> None:
    """A log at schema version 1 (no latency, no rollups) gets its rollups from its rows when it migrates."""
    logs["postgresql"].close()
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:  # back to version 1
        conn.execute("DROP TABLE qlog_daily, qlog_latency, qlog_cited, qlog_gaps, qlog_meta")
        conn.execute("ALTER TABLE questions DROP COLUMN latency_ms")
        conn.execute("DELETE FROM askoleus_schema WHERE version > 1")
    upgraded = PostgresQuestionLog(postgres_server.url, timeout_seconds=2.0)
    logs["postgresql"] = upgraded  # closed by the fixture
    before, after = overview(logs["sqlite"]), overview(upgraded)
    assert after["latency"] == []  # version 1 had no latency to count
    assert {k: v for k, v in after.items() if k != "latency"} == {k: v for k, v in before.items() if k != "latency"}


def test_the_overview_endpoint_reads_postgresql(
    logs: dict[str, LogStore], postgres_server: PostgresServer, built: Settings, embedder: Any, tmp_path: Path
) -> None:
    """GET /v1/console/overview on an app with ASKOLEUS_DATABASE_URL shows what every replica logged."""
    settings = Settings(
        index_dir=built.index_dir,
        db_path=tmp_path / "q.sqlite3",
        database_url=postgres_server.url,
        staff_key=STAFF_KEY,
        reload_poll_seconds=0,
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        r = client.get("/v1/console/overview", params={"days": 7}, headers={"Authorization": f"Bearer {STAFF_KEY}"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["totals"]["total"], data["totals"]["not_covered"], data["totals"]["feedback_down"]) == (8, 2, 2)
    assert data["daily"][-1]["date"] == time.strftime("%Y-%m-%d", time.gmtime(NOW))
    assert [d["answers"] for d in data["latency"]] == [1, 2, 5]
    assert data["cited_sections"][0]["citations"] == 3
    [topic] = data["gap_topics"]
    assert topic["count"] == 2


def test_both_logs_keep_what_verification_dropped_for_the_generated_review(logs: dict[str, LogStore]) -> None:
    """Mode, drafted and dropped sentences (migration 3 in PostgreSQL): the same review from both backends."""
    from askoleus.qlog_store import Generated

    dropped = (("A 2021 study proved it [1].", "unsupported_number"), ("It cures anaemia [1].", "disease_claim"))
    for log in logs.values():
        log.record("why iron?", "answered", "an answer", [IRON], "g1", 0.5, 90.0, Generated("generated", 5, dropped))
        log.record(
            "heavy legs?", "answered", "an answer", [LEGS], "g1", 0.5, 90.0, Generated("extractive", 2, dropped[:1])
        )
    reviews = [log.generated_review(NOW - DAY, NOW + 1) for log in logs.values()]
    for r in reviews:  # ids are random, and rows of the same second come in either order
        r["sentences"] = sorted(({k: v for k, v in s.items() if k != "id"} for s in r["sentences"]), key=str)
    assert reviews[0] == reviews[1]
    review = reviews[0]
    assert (review["answers"], review["generated"], review["drafted"], review["dropped"]) == (2, 1, 7, 3)
    assert review["drop_rate"] == round(3 / 7, 4)
    assert review["reasons"] == {"unsupported_number": 2, "disease_claim": 1}
    assert sorted((s["question"], s["mode"], s["reason"]) for s in review["sentences"]) == [
        ("heavy legs?", "extractive", "unsupported_number"),
        ("why iron?", "generated", "disease_claim"),
        ("why iron?", "generated", "unsupported_number"),
    ]
    (item,) = [i for i in logs["postgresql"].recent() if i["mode"] == "generated"]
    assert item["dropped"][1] == {"text": "It cures anaemia [1].", "reason": "disease_claim"}
