"""The question-log protocol and the backend the settings choose (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from askoleus.config import Settings
from askoleus.overview.store import Dialect

T = TypeVar("T")


@dataclass(frozen=True)
class Generated:
    """How an answer was composed: its mode, sentences the model drafted, and those dropped (text, reason)."""

    mode: str = "extractive"
    drafted: int = 0
    dropped: tuple[tuple[str, str], ...] = ()

    def dropped_json(self) -> str:
        """The dropped sentences as the log stores them."""
        return json.dumps([{"text": t, "reason": r} for t, r in self.dropped])


class LogStore(Protocol):
    """What the ask path, the feedback route, the console and the export need of the question log."""

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
        """Store one answered question (and what verification did, if a model drafted); returns its id."""
        ...

    def feedback(self, answer_id: str, rating: str) -> bool:
        """Record up/down feedback; False when the id is unknown."""
        ...

    def generated_review(self, since: float, until: float, limit: int = 200) -> dict[str, Any]:
        """Drop rate of drafted sentences in [since, until) (epoch seconds), and the latest dropped ones for review."""
        ...

    def recent(self, limit: int = 100, status: str | None = None, feedback: str | None = None) -> list[dict[str, Any]]:
        """Most recent questions first, optionally filtered."""
        ...

    def gaps(self, limit: int = 100) -> list[dict[str, Any]]:
        """Questions the articles did not cover, most frequent first."""
        ...

    def thumbs_down(self, limit: int = 100) -> list[dict[str, Any]]:
        """Answers readers marked unhelpful."""
        ...

    def questions_since(self, days: int = 30, limit: int = 2000) -> list[str]:
        """Question texts of the last days, newest first."""
        ...

    def export_csv(self) -> str:
        """The whole log as CSV."""
        ...

    @property
    def dialect(self) -> Dialect:
        """The overview's SQL dialect for this database."""
        ...

    def read(self, query: Callable[[Any], T]) -> T:
        """Run query(connection) on the log's database (the overview's aggregations)."""
        ...

    def purge(self) -> int:
        """Apply retention now; returns how many entries were deleted."""
        ...

    def close(self) -> None:
        """Write what is pending and release the database."""
        ...


def open_question_log(
    settings: Settings,
    on_error: Callable[[str], None] | None = None,
    on_dropped: Callable[[int], None] | None = None,
    on_pending: Callable[[int], None] | None = None,
) -> LogStore:
    """PostgreSQL when ASKOLEUS_DATABASE_URL is set (callbacks feed the metrics), else SQLite at question_db."""
    if settings.database_url:
        from askoleus.qlog_postgres import PostgresQuestionLog

        return PostgresQuestionLog(
            settings.database_url,
            settings.log_retention_days,
            pool_size=settings.database_pool_size,
            timeout_seconds=settings.database_timeout_seconds,
            max_pending=settings.log_queue_max,
            on_error=on_error,
            on_dropped=on_dropped,
            on_pending=on_pending,
        )
    from askoleus.qlog import QuestionLog

    return QuestionLog(settings.question_db, settings.log_retention_days)
