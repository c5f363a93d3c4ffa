"""The console overview: rollups kept with the question log, SQL aggregations, gap topics, charts, API."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from askoleus.api.app import create_app
from askoleus.config import Settings
from askoleus.errors import InvalidRequest
from askoleus.overview import store as sql
from askoleus.overview.charts import overview_charts
from askoleus.overview.report import DayRange, build_overview, day_range
from askoleus.overview.topics import GapQuestion, cluster, gap_topics, topics_csv
from askoleus.qlog import QuestionLog
from conftest import STAFF_KEY

DAY = 86400
NOW = 20_000 * DAY + 12 * 3600  # noon UTC of day 20000 (2024-10-04)
TODAY = 20_000
STAFF = {"Authorization": f"Bearer {STAFF_KEY}"}
IRON_CITATION = {
    "chunk_id": "iron-and-running/why-iron/3",
    "title": "Iron and running",
    "section": "Why iron",
    "url": "http://x/articles/iron-and-running#why-iron",
}
LEGS_CITATION = {
    "chunk_id": "heavy-legs/top/0",
    "title": "Heavy legs",
    "section": "Intro",
    "url": "http://x/articles/heavy-legs#top",
}


class Clock:
    """time.time() for the question log, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(NOW)
    monkeypatch.setattr("askoleus.qlog.time.time", c)
    return c


@pytest.fixture
def qlog(tmp_path: Path, clock: Clock) -> Iterator[QuestionLog]:
    log = QuestionLog(tmp_path / "q.sqlite3", retention_days=90)
    yield log
    log.close()


def log_at(qlog: QuestionLog, clock: Clock, days_ago: float, question: str, status: str, **kw: Any) -> str:
    clock.now = NOW - days_ago * DAY
    return qlog.record(
        question, status, "answer", kw.get("citations", []), "gen-1", 0.5, latency_ms=kw.get("latency_ms")
    )


def overview(qlog: QuestionLog, first: int, last: int, **kw: Any) -> dict[str, Any]:
    return build_overview(qlog.read, DayRange(first, last), Settings(), **kw)


# -- rollups and the aggregations -------------------------------------------------------------------


def test_questions_per_day_by_status_and_rates(qlog: QuestionLog, clock: Clock) -> None:
    for _ in range(3):
        log_at(qlog, clock, 0, "why iron?", "answered", citations=[IRON_CITATION])
    log_at(qlog, clock, 0, "capital of France?", "not_covered")
    down = log_at(qlog, clock, 1, "why iron again?", "answered")
    up = log_at(qlog, clock, 1, "iron?", "answered")
    log_at(qlog, clock, 1, "chest pain while running", "emergency")
    qlog.feedback(down, "down")
    qlog.feedback(up, "up")

    data = overview(qlog, TODAY - 2, TODAY)
    days = {d["date"]: d for d in data["daily"]}
    assert list(days) == ["2024-10-02", "2024-10-03", "2024-10-04"]  # every day, empty ones as zeros
    assert days["2024-10-02"]["total"] == 0
    assert days["2024-10-02"]["not_covered_rate"] is None
    assert (days["2024-10-04"]["answered"], days["2024-10-04"]["not_covered"]) == (3, 1)
    assert days["2024-10-04"]["not_covered_rate"] == 0.25
    assert days["2024-10-03"]["emergency"] == 1
    assert days["2024-10-03"]["thumbs_down_rate"] == 0.5  # one down of two rated answers
    assert data["totals"]["total"] == 7
    assert data["totals"]["not_covered_rate"] == round(1 / 7, 4)


def test_changed_feedback_moves_between_counts(qlog: QuestionLog, clock: Clock) -> None:
    answer_id = log_at(qlog, clock, 0, "why iron?", "answered")
    qlog.feedback(answer_id, "up")
    qlog.feedback(answer_id, "down")
    qlog.feedback(answer_id, "down")
    assert not qlog.feedback("no-such-answer", "down")
    today = overview(qlog, TODAY, TODAY)["daily"][0]
    assert (today["feedback_up"], today["feedback_down"]) == (0, 1)


def test_rollups_equal_a_group_by_over_the_log(qlog: QuestionLog, clock: Clock) -> None:
    statuses = ("answered", "not_covered", "medical_referral", "emergency")
    for i in range(60):
        answer_id = log_at(qlog, clock, (i * 7) % 10 + 0.3, f"question {i % 9}", statuses[i % 4], latency_ms=5 + i)
        if i % 3 == 0:
            qlog.feedback(answer_id, "down" if i % 2 else "up")
    raw = qlog.read(
        lambda db: db.execute(
            "SELECT CAST(ts / 86400 AS INTEGER), status, COUNT(*), SUM(feedback = 'up'), SUM(feedback = 'down')"
            " FROM questions GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    )
    assert sql.daily(qlog._db, sql.SQLITE, 0, TODAY) == [tuple(r) for r in raw]


def test_latency_median_and_p95_per_day(qlog: QuestionLog, clock: Clock) -> None:
    for ms in range(1, 101):  # 1 … 100 ms
        log_at(qlog, clock, 0, "q", "answered", latency_ms=float(ms))
    log_at(qlog, clock, 1, "q", "answered")  # no latency recorded: not counted
    [day] = overview(qlog, TODAY - 1, TODAY)["latency"]
    assert day["date"] == "2024-10-04"
    assert day["answers"] == 100
    assert 50 <= day["p50_ms"] <= 50 * sql.LATENCY_BASE
    assert 95 <= day["p95_ms"] <= 95 * sql.LATENCY_BASE


def test_most_cited_and_never_cited(qlog: QuestionLog, clock: Clock, loaded: Any) -> None:
    real = next(iter(loaded.articles.values()))
    cite_real = {"chunk_id": f"{real.id}/x/0", "title": real.title, "section": "S", "url": real.url + "#x"}
    for _ in range(3):
        log_at(qlog, clock, 0, "iron?", "answered", citations=[IRON_CITATION, IRON_CITATION, LEGS_CITATION])
    log_at(qlog, clock, 0, "legs?", "answered", citations=[cite_real])
    log_at(qlog, clock, 40, "old", "answered", citations=[LEGS_CITATION] * 1)
    data = overview(qlog, TODAY - 6, TODAY, index=loaded)
    sections = [(s["article_id"], s["section"], s["citations"]) for s in data["cited_sections"]]
    assert sections[:2] == [("heavy-legs", "Intro", 3), ("iron-and-running", "Why iron", 3)]  # once per answer
    assert data["cited_articles"][0]["url"] == "http://x/articles/heavy-legs"
    never = {a["article_id"] for a in data["never_cited"]}
    assert real.id not in never
    assert never == set(loaded.articles) - {real.id}


def test_retention_purges_the_rollups(tmp_path: Path, clock: Clock) -> None:
    log = QuestionLog(tmp_path / "q.sqlite3", retention_days=90)
    log_at(log, clock, 100, "old question", "not_covered", latency_ms=3.0, citations=[IRON_CITATION])
    log_at(log, clock, 1, "new question", "not_covered")
    log.close()
    clock.now = NOW
    log = QuestionLog(tmp_path / "q.sqlite3", retention_days=90)
    counts = log.read(lambda db: [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in sql.ROLLUPS])
    assert counts == [1, 0, 0, 1]  # daily, latency, cited, gaps: only yesterday's question is left
    assert [q for q, *_ in sql.gap_questions(log._db, sql.SQLITE, 0, TODAY, TODAY, 10)] == ["new question"]
    log.close()


def test_an_old_log_is_upgraded_in_place(tmp_path: Path, clock: Clock) -> None:
    """A question log from before the overview gets its column and rollups, equal to logging anew."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE questions (id TEXT PRIMARY KEY, ts REAL NOT NULL, question TEXT NOT NULL,"
        " status TEXT NOT NULL, top_score REAL, answer TEXT NOT NULL, citations TEXT NOT NULL,"
        " generation TEXT NOT NULL, feedback TEXT, feedback_ts REAL)"
    )
    rows = [
        ("a", NOW - 2 * DAY, "Why iron?", "answered", json.dumps([IRON_CITATION, LEGS_CITATION]), "down"),
        ("b", NOW - 2 * DAY, "why iron?", "answered", json.dumps([IRON_CITATION]), "up"),
        ("c", NOW, "Capital of France? ", "not_covered", "[]", None),
        ("d", NOW, "capital of france?", "not_covered", "not json", None),
    ]
    db.executemany(
        "INSERT INTO questions VALUES (?, ?, ?, ?, 0.5, 'answer', ?, 'g', ?, NULL)",
        [(i, ts, q, s, c, f) for i, ts, q, s, c, f in rows],
    )
    db.commit()
    db.close()
    upgraded = QuestionLog(path)
    fresh = QuestionLog(tmp_path / "fresh.sqlite3")
    for _, ts, q, s, c, f in rows:
        clock.now = ts
        cites = json.loads(c) if c.startswith("[") else []
        answer_id = fresh.record(q, s, "answer", cites, "g", 0.5)
        if f:
            fresh.feedback(answer_id, f)
    cols = upgraded.read(lambda db: [r[1] for r in db.execute("PRAGMA table_info(questions)")])
    assert "latency_ms" in cols
    assert overview(upgraded, TODAY - 6, TODAY) == overview(fresh, TODAY - 6, TODAY)
    assert [g[:2] for g in sql.gap_questions(upgraded._db, sql.SQLITE, 0, TODAY, TODAY, 10)] == [
        ("Capital of France? ", 2)
    ]
    upgraded.close()
    QuestionLog(path).close()  # opening again does not backfill twice
    fresh.close()


def test_day_range() -> None:
    assert day_range(7, None, None, 90, now=NOW) == DayRange(TODAY - 6, TODAY)
    assert day_range(None, None, None, 90, now=NOW).days == 30
    assert day_range(None, date(2024, 10, 1), date(2024, 10, 3), 90, now=NOW) == DayRange(TODAY - 3, TODAY - 1)
    assert day_range(None, date(2024, 1, 1), None, 90, now=NOW).first == TODAY - 89  # clipped to retention
    with pytest.raises(InvalidRequest):
        day_range(None, date(2024, 10, 3), date(2024, 10, 1), 90, now=NOW)
    with pytest.raises(InvalidRequest):
        day_range(None, date(2023, 1, 1), date(2023, 2, 1), 90, now=NOW)


# -- gap topics ------------------------------------------------------------------------------------

GAPS = [
    GapQuestion("how should I taper before a marathon?", 6, 1, 5),
    GapQuestion("best running shoes for flat feet", 5, 3, 2),
    GapQuestion("how many weeks should a marathon taper last?", 3, 0, 3),
    GapQuestion("which trainers are good for flat-footed runners?", 2, 1, 1),
    GapQuestion("what is the capital of France?", 1, 1, 0),
]


def test_gap_topics_group_questions_by_meaning(embedder: Any) -> None:
    vectors = embedder.encode([g.question for g in GAPS])
    topics = cluster(GAPS, vectors, Settings().gap_topic_similarity)
    assert [t.topic for t in topics] == [
        "how should I taper before a marathon?",
        "best running shoes for flat feet",
        "what is the capital of France?",
    ]
    taper, shoes, _ = topics
    assert (taper.count, taper.distinct, taper.first_half, taper.second_half, taper.trend) == (9, 2, 1, 8, "rising")
    assert taper.examples == ["how should I taper before a marathon?", "how many weeks should a marathon taper last?"]
    assert (shoes.count, shoes.trend) == (7, "steady")


def test_gap_topics_name_the_closest_article_only_when_near(embedder: Any, loaded: Any) -> None:
    from askoleus.answer import Answerer
    from askoleus.retrieve import QueryEncoder

    retriever = Answerer(Settings(), QueryEncoder(embedder)).retriever(loaded)
    questions = [GapQuestion("does iron help my legs feel less heavy when running uphill?", 2, 1, 1), GAPS[4]]
    topics = gap_topics(questions, embedder, retriever, threshold=0.6, floor=0.23)
    near = {t.topic: t.closest for t in topics}
    assert near["what is the capital of France?"] is None
    iron = near["does iron help my legs feel less heavy when running uphill?"]
    assert iron is not None
    assert iron["article_id"] in loaded.articles
    assert iron["score"] >= 0.23


def test_gap_topics_csv_neutralises_formulas() -> None:
    topic = {
        "topic": '=HYPERLINK("http://evil")',
        "count": 3,
        "distinct": 1,
        "first_half": 1,
        "second_half": 2,
        "trend": "rising",
        "examples": ["@SUM(A1)", "-2+3"],
        "closest": {"title": "Iron", "section": "Why", "url": "http://x/a#b", "score": 0.3},
    }
    rows = list(csv.DictReader(io.StringIO(topics_csv([topic]))))
    assert rows[0]["topic"] == '\'=HYPERLINK("http://evil")'
    assert (rows[0]["example_1"], rows[0]["example_2"], rows[0]["example_3"]) == ("'@SUM(A1)", "'-2+3", "")
    assert rows[0]["closest_url"] == "http://x/a#b"


# -- charts ---------------------------------------------------------------------------------------


def test_charts_are_plain_accessible_svg(qlog: QuestionLog, clock: Clock) -> None:
    log_at(qlog, clock, 0, "why iron?", "answered", latency_ms=12.0)
    log_at(qlog, clock, 3, "<script>alert(1)</script>", "not_covered", latency_ms=30.0)
    charts = overview_charts(overview(qlog, TODAY - 6, TODAY))
    assert set(charts) == {"volume", "rates", "latency"}
    ns = "{http://www.w3.org/2000/svg}"
    for name, svg in charts.items():
        root = ET.fromstring(svg)
        assert root.get("role") == "img"
        assert root.get("viewBox") == "0 0 400 220"
        assert root.find(f"{ns}title") is not None
        assert root.find(f"{ns}desc") is not None
        assert root.get("aria-labelledby") == f"chart-{name}-title chart-{name}-desc"
        for node in root.iter():
            assert node.tag not in (f"{ns}script", f"{ns}style", f"{ns}foreignObject")
            assert "style" not in node.attrib
            assert not any(a.startswith("on") for a in node.attrib)
    volume = ET.fromstring(charts["volume"])
    assert len(volume.findall(f"{ns}g")) == 7  # one bar per day
    assert "2 questions over 7 days" in (volume.find(f"{ns}desc").text or "")  # type: ignore[union-attr]


# -- the endpoint -------------------------------------------------------------------------------------


@pytest.fixture
def client(built: Settings, embedder: Any, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        index_dir=built.index_dir,
        db_path=tmp_path / "q.sqlite3",
        staff_key=STAFF_KEY,
        rate_limit_per_minute=100_000,
        rate_limit_burst=100_000,
        reload_poll_seconds=0,
    )
    with TestClient(create_app(settings, embedder=embedder)) as c:
        yield c


def test_overview_endpoint(client: TestClient) -> None:
    for q in ("why is iron important for runners?", "what's the capital of France?", "capital of France?"):
        assert client.post("/v1/ask", json={"question": q}).status_code == 200
    for path in ("/v1/console/overview", "/v1/console/overview/gaps.csv"):
        assert client.get(path).status_code == 401
    r = client.get("/v1/console/overview", params={"days": 7}, headers=STAFF)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["range"]["days"] == 7
    assert "charts" not in data
    assert data["totals"]["answered"] == 1
    assert data["totals"]["not_covered"] == 2
    [topic] = data["gap_topics"]
    assert topic["count"] == 2
    assert data["cited_sections"][0]["citations"] >= 1
    assert data["latency"][0]["answers"] == 3
    assert data["index_generations"][0]["current"] is True
    assert data["index_generations"][0]["chunks"] > 0
    assert data["index_generations"][0]["activated"]
    with_charts = client.get("/v1/console/overview", params={"days": 7, "charts": "true"}, headers=STAFF).json()
    assert with_charts["charts"]["volume"].startswith("<svg")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    r = client.get("/v1/console/overview/gaps.csv", params={"from": today, "to": today}, headers=STAFF)
    assert r.headers["content-type"].startswith("text/csv")
    assert f'filename="askoleus-gap-topics-{today}-{today}.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["times_asked"] == "2"
    bad = client.get("/v1/console/overview", params={"from": "2024-02-02", "to": "2024-01-01"}, headers=STAFF)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request"
