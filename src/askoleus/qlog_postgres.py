"""The question log and feedback in PostgreSQL (ASKOLEUS_DATABASE_URL), shared by every replica.

Writes are made at once while the database answers (an answer id is in the database before the
reader gets it, so feedback may reach any replica). When it does not, they wait in a bounded in-memory
queue (qlog_queue.py) that one thread writes in batches when it answers again, in order. Reads (the console, the export)
go to the database and fail with a 503 while it is down. The schema is versioned: pending migrations
run at start (or when the database first answers) under a transaction-scoped advisory lock, so
replicas starting together apply each migration once. Migration 2 adds the latency column and the
console overview's daily rollups (overview/store.py), filled from the log already there; from then on
each write updates them in its own transaction, as the SQLite log does. Migration 3 adds how each answer
was composed (mode, drafted and dropped sentences, the dropped ones as JSON for review: issue 14).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg.rows import dict_row, tuple_row

from askoleus.errors import DependencyUnavailable
from askoleus.overview import store as rollups
from askoleus.qlog import (
    GENERATED_COLUMNS,
    INSERT_COLUMNS,
    ConsoleReads,
    record_row,
)
from askoleus.qlog_queue import Write, WriteQueue
from askoleus.qlog_store import Generated

T = TypeVar("T")
log = logging.getLogger("askoleus.qlog")
Conn = psycopg.Connection[dict[str, Any]]
LOCK_KEY = 0x61736B6F6C657573  # "askoleus": the advisory lock the migrations hold
# What an unreachable database raises: writes wait and are retried.
UNREACHABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg_pool.PoolTimeout)
Step = str | Callable[[Conn], None]  # a statement, or a function run in the migration's transaction
MIGRATIONS: tuple[tuple[int, tuple[Step, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE questions (
                id TEXT PRIMARY KEY,
                ts DOUBLE PRECISION NOT NULL,
                question TEXT NOT NULL,
                status TEXT NOT NULL,
                top_score DOUBLE PRECISION,
                answer TEXT NOT NULL,
                citations TEXT NOT NULL,
                generation TEXT NOT NULL,
                feedback TEXT,
                feedback_ts DOUBLE PRECISION
            )""",
            "CREATE INDEX questions_ts ON questions (ts)",
            "CREATE INDEX questions_status ON questions (status, ts)",
        ),
    ),
    (
        2,
        (
            "ALTER TABLE questions ADD COLUMN latency_ms DOUBLE PRECISION",
            *rollups.tables(rollups.POSTGRES),
            lambda conn: rollups.backfill(conn, rollups.POSTGRES),
        ),
    ),
    (3, tuple(f"ALTER TABLE questions ADD COLUMN IF NOT EXISTS {name} {ddl}" for name, ddl in GENERATED_COLUMNS)),
)
PURGE_EVERY = 3600.0  # seconds between retention passes of a long-running process


def migrate(conn: Conn) -> int:
    """Apply pending migrations in one transaction under the advisory lock; returns the schema version."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS askoleus_schema (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION)"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) AS v FROM askoleus_schema").fetchone()
        version = int(row["v"]) if row else 0
        for number, statements in MIGRATIONS:
            if number > version:
                for step in statements:
                    if isinstance(step, str):
                        conn.execute(step)
                    else:
                        step(conn)
                conn.execute("INSERT INTO askoleus_schema VALUES (%s, %s)", (number, time.time()))
                log.info("question log schema migrated to version %d", number)
                version = number
    return version


class PostgresQuestionLog(ConsoleReads):
    """The question log in PostgreSQL: the same methods as the SQLite QuestionLog."""

    dialect = rollups.POSTGRES  # the overview's SQL for this database

    def __init__(
        self,
        url: str,
        retention_days: int = 90,
        pool_size: int = 4,
        timeout_seconds: float = 2.0,
        max_pending: int = 10_000,
        on_error: Callable[[str], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
        on_pending: Callable[[int], None] | None = None,
    ) -> None:
        self.retention_days = retention_days
        self.on_error = on_error
        self.pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=timeout_seconds,
            open=False,
            reconnect_timeout=365 * 86400,  # keep trying: the database may be down for a while
            check=psycopg_pool.ConnectionPool.check_connection,  # a restart leaves dead connections behind
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "connect_timeout": max(1, round(timeout_seconds)),
                "options": f"-c statement_timeout={round(timeout_seconds * 1000)}",
            },
            connection_class=psycopg.Connection[dict[str, Any]],
        )
        self.pool.open(wait=False)
        self._ready = False
        self._purged_at = 0.0
        self._ready_lock = threading.Lock()
        with_error = (lambda exc: on_error("write")) if on_error else None
        self.queue: WriteQueue[Conn] = WriteQueue(
            self._write_batch,
            max_pending,
            UNREACHABLE,
            on_error=with_error,
            on_dropped=on_dropped,
            on_pending=on_pending,
        )
        try:
            with self.pool.connection() as conn:
                self._prepare(conn)
        except UNREACHABLE as exc:  # answers are served; the writer migrates when the database answers
            log.warning("question log database unavailable at start (%s): writes will wait", type(exc).__name__)
            self._count_error("migrate")

    def _count_error(self, operation: str) -> None:
        if self.on_error is not None:
            self.on_error(operation)

    def _prepare(self, conn: Conn) -> None:
        """Migrate once per process, and apply retention at most every PURGE_EVERY seconds."""
        with self._ready_lock:
            if not self._ready:
                migrate(conn)
                self._ready = True
            if time.monotonic() - self._purged_at > PURGE_EVERY or not self._purged_at:
                n = self._purge(conn)
                self._purged_at = time.monotonic()
                if n:
                    log.info("question log retention: %d entries older than %d days deleted", n, self.retention_days)

    def _purge(self, conn: Conn) -> int:
        """Delete the entries and daily rollups older than the retention period, together."""
        cutoff = time.time() - self.retention_days * 86400
        with conn.transaction():
            rollups.purge(conn, rollups.POSTGRES, cutoff)
            return int(conn.execute("DELETE FROM questions WHERE ts < %s", (cutoff,)).rowcount)

    def _write_batch(self, writes: list[Write[Conn]]) -> None:
        with self.pool.connection() as conn:
            self._prepare(conn)
            with conn.transaction():
                for write in writes:
                    write(conn)

    def close(self) -> None:
        """Write what is queued (a few seconds at most), then close the pool."""
        self.queue.close()
        self.pool.close()

    def purge(self) -> int:
        """Delete entries older than the retention period now; returns how many."""
        return int(self._read("purge", self._purge))

    def read(self, query: Callable[[Any], T]) -> T:
        """Run query(connection) on a pooled connection with tuple rows (the overview's aggregations)."""

        def tuples(conn: Conn) -> T:
            conn.row_factory = tuple_row  # type: ignore[assignment]  # the overview's SQL indexes rows
            try:
                return query(conn)
            finally:
                conn.row_factory = dict_row

        result: T = self._read("overview", tuples)
        return result

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
        """Store one answered question (or queue it while the database is down); returns its answer id."""
        answer_id = secrets.token_urlsafe(12)
        ts = time.time()
        row = record_row(
            answer_id, ts, question, status, top_score, answer, citations, generation, latency_ms, generated
        )
        values = ", ".join(["%s"] * len(row))

        def insert(conn: Conn) -> None:
            inserted = conn.execute(
                f"INSERT INTO questions ({INSERT_COLUMNS}) VALUES ({values}) ON CONFLICT (id) DO NOTHING",
                row,
            ).rowcount
            if inserted:  # a retried write whose first commit went through is not counted twice
                rollups.on_record(conn, rollups.POSTGRES, ts, question, status, citations, latency_ms)

        self._write_or_queue("record", insert)
        return answer_id

    def _write_or_queue(self, operation: str, write: Write[Conn]) -> bool:
        """Write now when nothing is waiting (so another replica can rate the answer at once), else queue."""
        if self.queue.idle:
            try:
                with self.pool.connection() as conn:
                    self._prepare(conn)
                    with conn.transaction():  # the row and its rollups together
                        write(conn)
                return True
            except UNREACHABLE:
                self._count_error(operation)
        return self.queue.submit(write)

    def feedback(self, answer_id: str, rating: str) -> bool:
        """Set feedback now when the database is up (False for an unknown id), else queue it (True)."""
        ts = time.time()

        def update(conn: Conn) -> int:
            with conn.transaction():
                row = conn.execute(
                    "SELECT ts, status, feedback FROM questions WHERE id = %s FOR UPDATE", (answer_id,)
                ).fetchone()
                if row is None:
                    return 0
                conn.execute(
                    "UPDATE questions SET feedback = %s, feedback_ts = %s WHERE id = %s", (rating, ts, answer_id)
                )
                rollups.on_feedback(conn, rollups.POSTGRES, row["ts"], row["status"], row["feedback"], rating)
                return 1

        if self.queue.idle:  # nothing of ours waiting: the answer's row is written if it exists
            try:
                with self.pool.connection() as conn:
                    self._prepare(conn)
                    return update(conn) == 1
            except UNREACHABLE:
                self._count_error("feedback")

        def queued(conn: Conn) -> None:
            update(conn)

        return self.queue.submit(queued)

    def _read(self, operation: str, query: Callable[[Conn], Any]) -> Any:
        try:
            with self.pool.connection() as conn:
                self._prepare(conn)
                return query(conn)
        except UNREACHABLE:
            self._count_error(operation)
            raise DependencyUnavailable("the question log database is unavailable; try again shortly") from None

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._read("read", lambda c: c.execute(sql, args).fetchall())
        return rows
