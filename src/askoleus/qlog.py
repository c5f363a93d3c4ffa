"""The question log and feedback store, SQLite backend (the default). Keeps no IP address or other personal data.

The protocol and the choice of backend are in qlog_store.py; PostgreSQL is qlog_postgres.py.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from askoleus.overview import store as rollups
from askoleus.qlog_store import Generated

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    question TEXT NOT NULL,
    status TEXT NOT NULL,
    top_score REAL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    generation TEXT NOT NULL,
    feedback TEXT,
    feedback_ts REAL
);
CREATE INDEX IF NOT EXISTS questions_ts ON questions(ts);
CREATE INDEX IF NOT EXISTS questions_status ON questions(status);
"""
CSV_FIELDS = (
    "id",
    "ts",
    "question",
    "status",
    "top_score",
    "feedback",
    "generation",
    "answer",
    "mode",
    "dropped_sentences",
)
# how each answer was composed (issue 14): added in place to logs created before generated answers
GENERATED_COLUMNS = (
    ("mode", "TEXT NOT NULL DEFAULT 'extractive'"),
    ("drafted_sentences", "INTEGER NOT NULL DEFAULT 0"),
    ("dropped_sentences", "INTEGER NOT NULL DEFAULT 0"),
    ("dropped", "TEXT NOT NULL DEFAULT '[]'"),  # JSON [{"text", "reason"}]: for staff review only
)
INSERT_COLUMNS = (
    "id, ts, question, status, top_score, answer, citations, generation, latency_ms,"
    " mode, drafted_sentences, dropped_sentences, dropped"
)


def csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in exported text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def iso_ts(ts: float) -> str:
    """An epoch timestamp as ISO 8601 UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def log_item(r: Mapping[str, Any] | sqlite3.Row) -> dict[str, Any]:
    """One log row as the console shows it."""
    return {
        "id": r["id"],
        "ts": iso_ts(r["ts"]),
        "question": r["question"],
        "status": r["status"],
        "top_score": r["top_score"],
        "feedback": r["feedback"],
        "answer": r["answer"],
        "citations": json.loads(r["citations"]),
        "generation": r["generation"],
        "mode": r["mode"],
        "dropped_sentences": r["dropped_sentences"],
        "dropped": json.loads(r["dropped"]),
    }


def record_row(
    answer_id: str,
    ts: float,
    question: str,
    status: str,
    top_score: float | None,
    answer: str,
    citations: list[dict[str, Any]],
    generation: str,
    latency_ms: float | None,
    generated: Generated | None,
) -> tuple[Any, ...]:
    """The values of one log row, in INSERT_COLUMNS order."""
    g = generated or Generated()
    return (
        answer_id, ts, question, status, top_score, answer, json.dumps(citations), generation, latency_ms,
        g.mode, g.drafted, len(g.dropped), g.dropped_json(),
    )  # fmt: skip


def review(
    totals: Mapping[str, Any] | sqlite3.Row | None, rows: Iterable[Mapping[str, Any] | sqlite3.Row]
) -> dict[str, Any]:
    """The console's generated-answers view: the drop rate over the range and each dropped sentence."""
    drafted = int(totals["drafted"] or 0) if totals else 0
    dropped = int(totals["dropped"] or 0) if totals else 0
    sentences = []
    for r in rows:
        for d in json.loads(r["dropped"]):
            item = {"id": r["id"], "ts": iso_ts(r["ts"]), "question": r["question"], "mode": r["mode"]}
            sentences.append({**item, "text": d["text"], "reason": d["reason"]})
    reasons = Counter(s["reason"] for s in sentences)
    return {
        "answers": int(totals["answers"] or 0) if totals else 0,
        "generated": int(totals["generated"] or 0) if totals else 0,
        "drafted": drafted,
        "dropped": dropped,
        "drop_rate": round(dropped / drafted, 4) if drafted else 0.0,
        "reasons": dict(reasons.most_common()),
        "sentences": sentences,
    }


# the generated-answers review: totals over a range, then the rows with dropped sentences
REVIEW_TOTALS = (
    "SELECT count(*) AS answers, coalesce(sum(CASE WHEN mode = 'generated' THEN 1 ELSE 0 END), 0) AS generated,"
    " coalesce(sum(drafted_sentences), 0) AS drafted, coalesce(sum(dropped_sentences), 0) AS dropped"
    " FROM questions WHERE ts >= ? AND ts < ? AND drafted_sentences > 0"
)
REVIEW_ROWS = (
    "SELECT id, ts, question, mode, dropped FROM questions"
    " WHERE ts >= ? AND ts < ? AND dropped_sentences > 0 ORDER BY ts DESC LIMIT ?"
)


class ConsoleReads:
    """The console's reads of the question log, the same SQL on SQLite and PostgreSQL."""

    dialect: rollups.Dialect

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError

    def recent(self, limit: int = 100, status: str | None = None, feedback: str | None = None) -> list[dict[str, Any]]:
        """Most recent questions first, optionally filtered."""
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if feedback:
            where.append("feedback = ?")
            args.append(feedback)
        sql = "SELECT * FROM questions" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._rows(self.dialect.sql(sql + " ORDER BY ts DESC LIMIT ?"), (*args, limit))
        return [log_item(r) for r in rows]

    def gaps(self, limit: int = 100) -> list[dict[str, Any]]:
        """Questions the articles did not cover, most frequent first."""
        rows = self._rows(
            self.dialect.sql(
                "SELECT lower(question) AS q, min(question) AS question, count(*) AS n, max(ts) AS last"
                " FROM questions WHERE status = 'not_covered' GROUP BY 1 ORDER BY n DESC, last DESC LIMIT ?"
            ),
            (limit,),
        )
        return [{"question": r["question"], "count": r["n"], "last_ts": iso_ts(r["last"])} for r in rows]

    def thumbs_down(self, limit: int = 100) -> list[dict[str, Any]]:
        """Answers readers marked unhelpful, with the passages behind them."""
        return self.recent(limit, feedback="down")

    def questions_since(self, days: int = 30, limit: int = 2000) -> list[str]:
        """Question texts of the last days, newest first."""
        rows = self._rows(
            self.dialect.sql("SELECT question FROM questions WHERE ts >= ? ORDER BY ts DESC LIMIT ?"),
            (time.time() - days * 86400, limit),
        )
        return [r["question"] for r in rows]

    def generated_review(self, since: float, until: float, limit: int = 200) -> dict[str, Any]:
        """Drop rate of drafted sentences in [since, until) (epoch seconds), and the latest dropped ones for review."""
        totals = self._rows(self.dialect.sql(REVIEW_TOTALS), (since, until))[0]
        return review(totals, self._rows(self.dialect.sql(REVIEW_ROWS), (since, until, limit)))

    def export_csv(self) -> str:
        """The whole log as CSV."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        for r in self._rows("SELECT * FROM questions ORDER BY ts"):
            writer.writerow([iso_ts(r["ts"]) if f == "ts" else csv_cell(r[f]) for f in CSV_FIELDS])
        return out.getvalue()


class QuestionLog(ConsoleReads):
    """Append questions and answers, record feedback, and answer the console's queries."""

    dialect = rollups.SQLITE  # the overview's SQL for this database

    def __init__(self, path: Path, retention_days: int = 90) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA synchronous=NORMAL")  # no fsync per insert (WAL keeps it consistent)
        self._db.executescript(SCHEMA)
        rollups.migrate_sqlite(self._db)  # latency column and the overview's daily rollups
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(questions)")}
        for name, ddl in GENERATED_COLUMNS:
            if name not in columns:
                self._db.execute(f"ALTER TABLE questions ADD COLUMN {name} {ddl}")
        self.purge()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def purge(self) -> int:
        """Delete entries older than the retention period; returns how many."""
        cutoff = time.time() - self.retention_days * 86400
        with self._lock, self._transaction():
            rollups.purge(self._db, rollups.SQLITE, cutoff)
            return int(self._db.execute("DELETE FROM questions WHERE ts < ?", (cutoff,)).rowcount)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (the log row and its rollups are committed together)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run query(connection) under the log's lock (the overview's aggregations)."""
        with self._lock:
            return query(self._db)

    def record(
        self,
        question: str,
        status: str,
        answer: str,
        citations: list[dict[str, Any]],
        generation: str,
        top_score: float | None,
        latency_ms: float | None = None,
        generated: Generated | None = None,
    ) -> str:
        """Store one answered question; returns its answer id (used for feedback)."""
        answer_id = secrets.token_urlsafe(12)
        ts = time.time()
        row = record_row(
            answer_id, ts, question, status, top_score, answer, citations, generation, latency_ms, generated
        )
        with self._lock, self._transaction():
            self._db.execute(f"INSERT INTO questions ({INSERT_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
            rollups.on_record(self._db, rollups.SQLITE, ts, question, status, citations, latency_ms)
        return answer_id

    def feedback(self, answer_id: str, rating: str) -> bool:
        """Set up/down feedback on an answer; False when the id is unknown."""
        with self._lock, self._transaction():
            row = self._db.execute("SELECT ts, status, feedback FROM questions WHERE id = ?", (answer_id,)).fetchone()
            if row is None:
                return False
            self._db.execute(
                "UPDATE questions SET feedback = ?, feedback_ts = ? WHERE id = ?", (rating, time.time(), answer_id)
            )
            rollups.on_feedback(self._db, rollups.SQLITE, row["ts"], row["status"], row["feedback"], rating)
        return True

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args))
