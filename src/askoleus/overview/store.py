"""Daily rollups of the question log, kept in the log's own database, and the overview's SQL.

The overview reads small per-day tables, not the log itself: one GROUP BY over a million logged
questions takes seconds on SQLite, the same over the rollups milliseconds. The rollups are updated
in the transaction that logs a question (or its feedback), filled from an existing log by `migrate`,
and purged with it. All statements are standard SQL that SQLite (≥ 3.25: upsert, window functions)
and PostgreSQL both run; what differs goes through a `Dialect`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

STATUSES = ("answered", "not_covered", "medical_referral", "emergency")
LATENCY_BASE = 1.05  # latency histogram buckets grow by 5%: percentiles are exact to within 5%
DAY = 86400


class Connection(Protocol):
    """What the rollups need of a DB-API connection (sqlite3 and psycopg 3 both have it)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    """The SQL that differs between databases: day bucketing, latency buckets, placeholders."""

    name: str
    day_of: Callable[[str], str]  # SQL for the UTC day number (days since 1970-01-01) of an epoch-seconds column
    latency_bucket_of: Callable[[str], str]  # SQL for latency_bucket() of a milliseconds column
    placeholder: str = "?"
    text: str = "TEXT"  # the rollups' text type: byte order on both, so ties and MIN/MAX agree

    def sql(self, text: str) -> str:
        """text with its `?` placeholders in this database's style."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


SQLITE = Dialect(
    "sqlite",
    day_of=lambda col: f"CAST({col} / {DAY} AS INTEGER)",  # ts > 0: truncation is floor
    latency_bucket_of=lambda col: f"askoleus_latency_bucket({col})",  # registered by migrate()
)
POSTGRES = Dialect(
    "postgresql",
    day_of=lambda col: f"CAST(FLOOR({col} / {DAY}) AS INTEGER)",
    latency_bucket_of=lambda col: (
        f"CASE WHEN {col} <= 1 THEN 0 ELSE CAST(CEIL(LN({col}) / LN({LATENCY_BASE})) AS INTEGER) END"
    ),
    placeholder="%s",
    text='TEXT COLLATE "C"',
)


def tables(d: Dialect) -> tuple[str, ...]:
    """The rollup tables' DDL in d's types."""
    return tuple(ddl.replace("TEXT", d.text) for ddl in _TABLES)


_TABLES = (
    """CREATE TABLE IF NOT EXISTS qlog_daily (
    day INTEGER NOT NULL, status TEXT NOT NULL,
    questions INTEGER NOT NULL DEFAULT 0, feedback_up INTEGER NOT NULL DEFAULT 0,
    feedback_down INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, status))""",
    """CREATE TABLE IF NOT EXISTS qlog_latency (
    day INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (day, bucket))""",
    """CREATE TABLE IF NOT EXISTS qlog_cited (
    day INTEGER NOT NULL, article_id TEXT NOT NULL, section TEXT NOT NULL, title TEXT NOT NULL,
    url TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (day, article_id, section))""",
    """CREATE TABLE IF NOT EXISTS qlog_gaps (
    day INTEGER NOT NULL, qkey TEXT NOT NULL, question TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, qkey))""",
    "CREATE TABLE IF NOT EXISTS qlog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
TABLES = tables(SQLITE)
ROLLUPS = ("qlog_daily", "qlog_latency", "qlog_cited", "qlog_gaps")
VERSION = "1"


def latency_bucket(ms: float | None) -> int | None:
    """Histogram bucket of a latency: the smallest b with ms ≤ LATENCY_BASE**b (0 for ≤ 1 ms)."""
    if ms is None or ms != ms:
        return None
    return max(0, math.ceil(math.log(ms) / math.log(LATENCY_BASE))) if ms > 1 else 0


def bucket_ms(bucket: int) -> float:
    """Upper bound of a latency bucket in milliseconds."""
    return round(LATENCY_BASE**bucket, 1)


def day_of(ts: float) -> int:
    """UTC day number of an epoch timestamp (the same value as Dialect.day_of in SQL)."""
    return int(ts // DAY)


def migrate_sqlite(db: Any) -> None:
    """Upgrade a SQLite question log in place: latency column, rollup tables, indexes, backfill once."""
    db.create_function("askoleus_latency_bucket", 1, latency_bucket, deterministic=True)
    columns = {row[1] for row in db.execute("PRAGMA table_info(questions)")}
    if "latency_ms" not in columns:
        db.execute("ALTER TABLE questions ADD COLUMN latency_ms REAL")
    for ddl in TABLES:
        db.execute(ddl)
    done = db.execute("SELECT value FROM qlog_meta WHERE key = 'rollups'").fetchone()
    if done is None or done[0] != VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            backfill(db, SQLITE)
            db.execute(
                "INSERT INTO qlog_meta (key, value) VALUES ('rollups', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (VERSION,),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def backfill(db: Connection, d: Dialect) -> None:
    """Rebuild every rollup from the questions table (GROUP BY in the database)."""
    for table in ROLLUPS:
        db.execute(f"DELETE FROM {table}")
    day = d.day_of("ts")
    db.execute(
        "INSERT INTO qlog_daily (day, status, questions, feedback_up, feedback_down)"
        f" SELECT {day}, status, COUNT(*), SUM(CASE WHEN feedback = 'up' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN feedback = 'down' THEN 1 ELSE 0 END) FROM questions GROUP BY 1, 2"
    )
    db.execute(
        f"INSERT INTO qlog_latency (day, bucket, n) SELECT {day}, {d.latency_bucket_of('latency_ms')}, COUNT(*)"
        " FROM questions WHERE latency_ms IS NOT NULL GROUP BY 1, 2"
    )
    db.execute(
        f"INSERT INTO qlog_gaps (day, qkey, question, n) SELECT {day}, LOWER(TRIM(question)), MIN(question), COUNT(*)"
        " FROM questions WHERE status = 'not_covered' GROUP BY 1, 2"
    )
    if d.name == "sqlite":  # citations are JSON text, each answer's sections counted once
        db.execute(
            "INSERT INTO qlog_cited (day, article_id, section, title, url, n)"
            " SELECT day, article_id, section, MAX(title), MAX(url), COUNT(*) FROM ("
            f"  SELECT DISTINCT q.id, {day} AS day,"
            "   SUBSTR(json_extract(c.value, '$.chunk_id'), 1,"
            "          INSTR(json_extract(c.value, '$.chunk_id') || '/', '/') - 1) AS article_id,"
            "   COALESCE(json_extract(c.value, '$.section'), '') AS section,"
            "   COALESCE(json_extract(c.value, '$.title'), '') AS title,"
            "   COALESCE(json_extract(c.value, '$.url'), '') AS url"
            "  FROM questions AS q, json_each(q.citations) AS c"
            "  WHERE json_valid(q.citations) AND json_extract(c.value, '$.chunk_id') IS NOT NULL"
            " ) AS t GROUP BY day, article_id, section"
        )
    else:  # PostgreSQL: the same from jsonb (record() always wrote a JSON list)
        db.execute(
            "INSERT INTO qlog_cited (day, article_id, section, title, url, n)"
            " SELECT day, article_id, section, MAX(title), MAX(url), COUNT(*) FROM ("
            f"  SELECT DISTINCT q.id, {day} AS day,"
            "   SPLIT_PART(c.value->>'chunk_id', '/', 1) AS article_id,"
            "   COALESCE(c.value->>'section', '') AS section,"
            "   COALESCE(c.value->>'title', '') AS title,"
            "   COALESCE(c.value->>'url', '') AS url"
            "  FROM questions AS q, jsonb_array_elements(q.citations::jsonb) AS c"
            "  WHERE jsonb_typeof(c.value) = 'object' AND COALESCE(c.value->>'chunk_id', '') <> ''"
            " ) AS t GROUP BY day, article_id, section"
        )


# -- keeping the rollups current (called inside the logging transaction) ------------------------


def on_record(
    db: Connection,
    d: Dialect,
    ts: float,
    question: str,
    status: str,
    citations: Sequence[dict[str, Any]],
    latency_ms: float | None,
) -> None:
    """Count one logged question in the rollups."""
    day = day_of(ts)
    db.execute(
        d.sql(
            "INSERT INTO qlog_daily (day, status, questions) VALUES (?, ?, 1)"
            " ON CONFLICT (day, status) DO UPDATE SET questions = qlog_daily.questions + 1"
        ),
        (day, status),
    )
    bucket = latency_bucket(latency_ms)
    if bucket is not None:
        db.execute(
            d.sql(
                "INSERT INTO qlog_latency (day, bucket, n) VALUES (?, ?, 1)"
                " ON CONFLICT (day, bucket) DO UPDATE SET n = qlog_latency.n + 1"
            ),
            (day, bucket),
        )
    if status == "not_covered":
        db.execute(
            d.sql(
                "INSERT INTO qlog_gaps (day, qkey, question, n) VALUES (?, LOWER(TRIM(?)), ?, 1)"
                " ON CONFLICT (day, qkey) DO UPDATE SET n = qlog_gaps.n + 1"
            ),
            (day, question, question),
        )
    for article_id, section, title, url in cited_sections(citations):
        db.execute(
            d.sql(
                "INSERT INTO qlog_cited (day, article_id, section, title, url, n) VALUES (?, ?, ?, ?, ?, 1)"
                " ON CONFLICT (day, article_id, section) DO UPDATE SET n = qlog_cited.n + 1"
            ),
            (day, article_id, section, title, url),
        )


def cited_sections(citations: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(article id, section, title, url) of each section an answer cites, once per section."""
    seen: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for c in citations:
        chunk_id = str(c.get("chunk_id") or "")
        if not chunk_id:
            continue
        article_id = chunk_id.split("/", 1)[0]
        section = str(c.get("section") or "")
        seen.setdefault(
            (article_id, section), (article_id, section, str(c.get("title") or ""), str(c.get("url") or ""))
        )
    return list(seen.values())


def on_feedback(db: Connection, d: Dialect, ts: float, status: str, old: str | None, new: str) -> None:
    """Move a question's feedback from old (None: none yet) to new in its day's counts."""
    up = (new == "up") - (old == "up")
    down = (new == "down") - (old == "down")
    if up or down:
        db.execute(
            d.sql(
                "UPDATE qlog_daily SET feedback_up = feedback_up + ?, feedback_down = feedback_down + ?"
                " WHERE day = ? AND status = ?"
            ),
            (up, down, day_of(ts), status),
        )


def purge(db: Connection, d: Dialect, cutoff_ts: float) -> None:
    """Drop the rollups of days wholly before the retention cutoff."""
    for table in ROLLUPS:
        db.execute(d.sql(f"DELETE FROM {table} WHERE day < ?"), (day_of(cutoff_ts),))


# -- the overview's queries (all GROUP BY in the database, over the rollups) -------------------


def daily(db: Connection, d: Dialect, first: int, last: int) -> list[tuple[int, str, int, int, int]]:
    """(day, status, questions, thumbs up, thumbs down) for the days in [first, last]."""
    rows = db.execute(
        d.sql(
            "SELECT day, status, SUM(questions), SUM(feedback_up), SUM(feedback_down) FROM qlog_daily"
            " WHERE day BETWEEN ? AND ? GROUP BY day, status ORDER BY day, status"
        ),
        (first, last),
    )
    return [(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


def latency(db: Connection, d: Dialect, first: int, last: int) -> list[tuple[int, int, int, int]]:
    """(day, answers, median bucket, p95 bucket) per day: nearest-rank percentiles of the histogram."""
    rows = db.execute(
        d.sql(
            "SELECT day, MAX(total), MIN(CASE WHEN cum * 100 >= total * 50 THEN bucket END),"
            " MIN(CASE WHEN cum * 100 >= total * 95 THEN bucket END) FROM ("
            "  SELECT day, bucket,"
            "   SUM(n) OVER (PARTITION BY day ORDER BY bucket ROWS UNBOUNDED PRECEDING) AS cum,"
            "   SUM(n) OVER (PARTITION BY day) AS total"
            "  FROM qlog_latency WHERE day BETWEEN ? AND ?"
            " ) AS h GROUP BY day ORDER BY day"
        ),
        (first, last),
    )
    return [(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


def cited(db: Connection, d: Dialect, first: int, last: int) -> list[tuple[str, str, str, str, int]]:
    """(article id, section, title, url, times cited) in the days [first, last], most cited first."""
    rows = db.execute(
        d.sql(
            "SELECT article_id, section, MAX(title), MAX(url), SUM(n) AS total FROM qlog_cited"
            " WHERE day BETWEEN ? AND ? GROUP BY article_id, section ORDER BY total DESC, article_id, section"
        ),
        (first, last),
    )
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]


def gap_questions(
    db: Connection, d: Dialect, first: int, last: int, split: int, limit: int
) -> list[tuple[str, int, int, int]]:
    """(question, times asked, before `split`, from `split` on) of not-covered questions, most asked first."""
    rows = db.execute(
        d.sql(
            "SELECT MIN(question), SUM(n) AS total, SUM(CASE WHEN day < ? THEN n ELSE 0 END),"
            " SUM(CASE WHEN day >= ? THEN n ELSE 0 END) FROM qlog_gaps WHERE day BETWEEN ? AND ?"
            " GROUP BY qkey ORDER BY total DESC, MIN(question) LIMIT ?"
        ),
        (split, split, first, last, limit),
    )
    return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


def cited_articles(db: Connection, d: Dialect, first: int, last: int) -> list[tuple[str, str, str, int, int]]:
    """(article id, title, any section url, times cited, sections cited) in [first, last], most cited first."""
    rows = db.execute(
        d.sql(
            "SELECT article_id, MAX(title), MAX(url), SUM(n) AS total, COUNT(DISTINCT section) FROM qlog_cited"
            " WHERE day BETWEEN ? AND ? GROUP BY article_id ORDER BY total DESC, article_id"
        ),
        (first, last),
    )
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in rows]
