"""The overview: what readers ask, what the articles miss, and how it trends, for a range of days."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from askoleus.config import Settings
from askoleus.encoders import Embedder
from askoleus.errors import IndexCorrupt, InvalidRequest
from askoleus.index.loaded import LoadedIndex
from askoleus.index.store import ACTIVATED, IndexStore, read_manifest
from askoleus.retrieve import Retriever

from . import store as sql
from .topics import GapQuestion, gap_topics

T = TypeVar("T")
Reader = Callable[[Callable[[Any], T]], T]  # QuestionLog.read: run a function on the log's connection
MAX_DAYS = 366
TOP_CITED = 20
RELATED_MARGIN = 0.12  # as in answer/service.py: how far below the coverage threshold an article is "near"
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class DayRange:
    """Whole UTC days [first, last] as day numbers (days since 1970-01-01)."""

    first: int
    last: int

    @property
    def days(self) -> int:
        """How many days the range spans."""
        return self.last - self.first + 1

    @property
    def split(self) -> int:
        """First day of the range's second half (for trends)."""
        return self.first + self.days // 2

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"from": iso_day(self.first), "to": iso_day(self.last), "days": self.days}


def iso_day(day: int) -> str:
    """YYYY-MM-DD of a day number."""
    return (EPOCH + timedelta(days=day)).isoformat()


def day_range(
    days: int | None, start: date | None, end: date | None, retention_days: int, now: float | None = None
) -> DayRange:
    """The range asked for: the last `days` days, or from..to (inclusive), never older than the retention."""
    today = sql.day_of(time.time() if now is None else now)
    if start is None and end is None:
        span = days or 30
        first, last = today - span + 1, today
    else:
        last = (end - EPOCH).days if end else today
        first = (start - EPOCH).days if start else last - (days or 30) + 1
    if first > last:
        raise InvalidRequest("`from` must not be after `to`")
    if last - first + 1 > MAX_DAYS:
        raise InvalidRequest(f"a range spans at most {MAX_DAYS} days")
    last = min(last, today)
    first = max(first, today - retention_days + 1)  # older questions are purged
    if first > last:
        raise InvalidRequest(f"the range holds no day of the last {retention_days} days (the retention period)")
    return DayRange(first, last)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def daily_series(rows: list[tuple[int, str, int, int, int]], rng: DayRange) -> list[dict[str, Any]]:
    """One entry per day of the range (days without questions are zeros)."""
    by_day: dict[int, dict[str, Any]] = {
        day: {"date": iso_day(day), **dict.fromkeys(sql.STATUSES, 0), "feedback_up": 0, "feedback_down": 0}
        for day in range(rng.first, rng.last + 1)
    }
    for day, status, n, up, down in rows:
        entry = by_day[day]
        entry[status] = entry.get(status, 0) + n
        entry["feedback_up"] += up
        entry["feedback_down"] += down
    out = []
    for entry in by_day.values():
        entry["total"] = sum(entry[s] for s in sql.STATUSES)
        entry["not_covered_rate"] = _rate(entry["not_covered"], entry["total"])
        entry["thumbs_down_rate"] = _rate(entry["feedback_down"], entry["feedback_up"] + entry["feedback_down"])
        out.append(entry)
    return out


def totals(series: list[dict[str, Any]]) -> dict[str, Any]:
    """The range's totals and rates."""
    keys = (*sql.STATUSES, "total", "feedback_up", "feedback_down")
    t: dict[str, Any] = {k: sum(d[k] for d in series) for k in keys}
    t["not_covered_rate"] = _rate(t["not_covered"], t["total"])
    t["thumbs_down_rate"] = _rate(t["feedback_down"], t["feedback_up"] + t["feedback_down"])
    return t


def generations(store: IndexStore) -> list[dict[str, Any]]:
    """Index generations, newest first: when built, when last made current, chunk and article counts."""
    current = store.current_id()
    out = []
    for gen in reversed(store.ids()):
        gen_dir = store.generations / gen
        try:
            m = read_manifest(gen_dir)
            counts = m.get("counts", {})
        except IndexCorrupt:
            m, counts = {}, {}
        marker = gen_dir / ACTIVATED
        live = (
            datetime.fromtimestamp(marker.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if marker.exists()
            else None
        )
        out.append(
            {
                "id": gen,
                "current": gen == current,
                "created": m.get("created"),
                "activated": live,
                "chunks": counts.get("chunks"),
                "articles": counts.get("articles"),
            }
        )
    return out


def build_overview(
    read: Reader[Any],
    rng: DayRange,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    index: LoadedIndex | None = None,
    retriever: Retriever | None = None,
    store: IndexStore | None = None,
    dialect: sql.Dialect = sql.SQLITE,
) -> dict[str, Any]:
    """Everything the overview tab shows (and GET /v1/console/overview returns)."""

    def queries(db: Any) -> tuple[Any, ...]:
        return (
            sql.daily(db, dialect, rng.first, rng.last),
            sql.latency(db, dialect, rng.first, rng.last),
            sql.cited(db, dialect, rng.first, rng.last),
            sql.cited_articles(db, dialect, rng.first, rng.last),
            sql.gap_questions(db, dialect, rng.first, rng.last, rng.split, settings.gap_topic_questions),
        )

    daily_rows, latency_rows, section_rows, article_rows, gap_rows = read(queries)
    series = daily_series(daily_rows, rng)
    cited_ids = {r[0] for r in article_rows}
    articles = index.articles if index is not None else {}
    topics = (
        gap_topics(
            [GapQuestion(*r) for r in gap_rows],
            embedder,
            retriever,
            threshold=settings.gap_topic_similarity,
            floor=settings.not_covered_threshold - RELATED_MARGIN,
        )
        if embedder is not None
        else []
    )
    return {
        "range": rng.to_dict(),
        "retention_days": settings.log_retention_days,
        "totals": totals(series),
        "daily": series,
        "latency": [
            {"date": iso_day(day), "answers": n, "p50_ms": sql.bucket_ms(p50), "p95_ms": sql.bucket_ms(p95)}
            for day, n, p50, p95 in latency_rows
        ],
        "gap_topics": [t.to_dict() for t in topics],
        "cited_articles": [
            {"article_id": a, "title": t, "url": u.split("#", 1)[0], "citations": n, "sections": s}
            for a, t, u, n, s in article_rows[:TOP_CITED]
        ],
        "cited_sections": [
            {"article_id": a, "section": s, "title": t, "url": u, "citations": n}
            for a, s, t, u, n in section_rows[:TOP_CITED]
        ],
        "never_cited": [
            {"article_id": a.id, "title": a.title, "url": a.url}
            for a in sorted(articles.values(), key=lambda a: a.title)
            if a.id not in cited_ids
        ],
        "index_generations": generations(store) if store is not None else [],
    }
