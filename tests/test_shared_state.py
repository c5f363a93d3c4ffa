"""Shared state against real servers, without the model: Redis conversations, limits and notices; the PostgreSQL log."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from askoleus.answer.conversations import Conversations, Turn
from askoleus.answer.conversations_redis import RedisConversations
from askoleus.api.security import RateLimiter
from askoleus.errors import DependencyUnavailable, RateLimited
from askoleus.notify import GenerationListener, publish_generation
from askoleus.qlog_postgres import MIGRATIONS, PostgresQuestionLog
from askoleus.redisconn import SharedRedis
from dbservers import PostgresServer, RedisServer


def shared(server: RedisServer, errors: Counter[str] | None = None, prefix: str = "t:") -> SharedRedis:
    on_error = (lambda op: errors.update([op])) if errors is not None else None
    return SharedRedis(server.url, timeout_seconds=0.25, retry_seconds=0.2, prefix=prefix, on_error=on_error)


def conversations(s: SharedRedis, turns: int = 2) -> RedisConversations:
    return RedisConversations(s, Conversations(max_turns=turns), max_turns=turns, ttl_seconds=60)


def test_a_conversation_continues_on_another_replica(redis_server: RedisServer) -> None:
    """Two processes' stores over one Redis: the second sees the first's last turn; only the last turns are kept."""
    one, two = shared(redis_server, prefix="conv1:"), shared(redis_server, prefix="conv1:")
    conversations(one).add("abcdefgh", Turn("first", (1,), "g1"))
    conversations(one).add("abcdefgh", Turn("second", (2, 3), "g1"))
    conversations(one).add("abcdefgh", Turn("third", (4,), "g2"))
    assert conversations(two).last("abcdefgh") == Turn("third", (4,), "g2")
    assert two.client.llen("conv1:conv:abcdefgh") == 2
    assert 0 < two.client.ttl("conv1:conv:abcdefgh") <= 60
    assert conversations(two).last("unknown1") is None


def test_one_rate_limit_holds_across_replicas(redis_server: RedisServer) -> None:
    """Two limiters on one Redis share the client's burst."""
    a = RateLimiter(60, 4, shared(redis_server, prefix="rl1:"))
    b = RateLimiter(60, 4, shared(redis_server, prefix="rl1:"))
    for limiter in (a, b, a, b):
        limiter.check("198.51.100.7")
    with pytest.raises(RateLimited) as caught:
        b.check("198.51.100.7")
    assert 1 <= caught.value.retry_after <= 4
    a.check("198.51.100.8")  # another client has its own limit


def test_without_redis_the_limit_is_local() -> None:
    """No Redis URL: the process counts on its own, burst then 429."""
    limiter = RateLimiter(30, 2)
    limiter.check("c")
    limiter.check("c")
    with pytest.raises(RateLimited):
        limiter.check("c")


def test_redis_down_falls_back_to_local_state_and_comes_back(redis_server: RedisServer) -> None:
    """Redis stopped: conversations and limits work locally, failures are counted; restarted: shared again."""
    errors: Counter[str] = Counter()
    s = shared(redis_server, errors, prefix="down:")
    conv, limiter = conversations(s), RateLimiter(60, 2, s)
    redis_server.stop()
    try:
        conv.add("zzzzzzzz", Turn("during the outage", (1,), "g1"))
        assert conv.last("zzzzzzzz") == Turn("during the outage", (1,), "g1")  # this process remembers it
        limiter.check("c")
        limiter.check("c")
        with pytest.raises(RateLimited):
            limiter.check("c")
        assert errors
    finally:
        redis_server.start()
    time.sleep(0.3)  # the breaker's retry_seconds
    other = conversations(shared(redis_server, prefix="down:"))
    conv.add("yyyyyyyy", Turn("after", (2,), "g1"))
    assert other.last("yyyyyyyy") == Turn("after", (2,), "g1")


def test_a_published_generation_reaches_every_listener(redis_server: RedisServer) -> None:
    """Each listener reloads when a generation is announced."""
    calls = [Counter[str](), Counter[str]()]
    listeners = [GenerationListener(shared(redis_server, prefix="n:"), lambda c=c: c.update(["reload"])) for c in calls]
    for listener in listeners:
        listener.start()
    try:
        deadline = time.monotonic() + 5
        while any(c["reload"] < 1 for c in calls) and time.monotonic() < deadline:  # the initial reload
            time.sleep(0.05)
        assert publish_generation(shared(redis_server, prefix="n:"), "g2")
        deadline = time.monotonic() + 5
        while any(c["reload"] < 2 for c in calls) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [c["reload"] for c in calls] == [2, 2]
    finally:
        for listener in listeners:
            listener.stop()


# -- PostgreSQL ---------------------------------------------------------------------------------


def pglog(server: PostgresServer, **kw: object) -> PostgresQuestionLog:
    return PostgresQuestionLog(server.url, timeout_seconds=1.0, **kw)  # type: ignore[arg-type]


def record(log: PostgresQuestionLog, question: str, status: str = "answered") -> str:
    return log.record(question, status, "an answer", [{"n": 1, "title": "T"}], "g1", 0.5)


def test_replicas_starting_together_migrate_once(postgres_server: PostgresServer) -> None:
    """Four logs opened at once on an empty database: one schema, each migration recorded once."""
    postgres_server.reset()
    logs: list[PostgresQuestionLog] = []
    threads = [threading.Thread(target=lambda: logs.append(pglog(postgres_server))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert postgres_server.count("SELECT count(*) FROM askoleus_schema") == len(MIGRATIONS)
        assert postgres_server.count("SELECT max(version) FROM askoleus_schema") == MIGRATIONS[-1][0] == 3
    finally:
        for log in logs:
            log.close()


def test_the_console_reads_what_any_replica_logged(postgres_server: PostgresServer) -> None:
    """Written by one log, read by another: recent, gaps, feedback, thumbs down and the CSV export."""
    postgres_server.reset()
    writer, reader = pglog(postgres_server), pglog(postgres_server)
    try:
        answer_id = record(writer, "why are my legs heavy?")
        record(writer, "=HYPERLINK(1)", "not_covered")
        record(writer, "=hyperlink(1)", "not_covered")
        assert writer.queue.flush(5)
        assert reader.feedback(answer_id, "down")
        assert not reader.feedback("no-such-answer", "up")
        assert [r["question"] for r in reader.recent()][-1] == "why are my legs heavy?"
        assert reader.gaps()[0]["count"] == 2
        assert [r["id"] for r in reader.thumbs_down()] == [answer_id]
        csv = reader.export_csv()
        assert "why are my legs heavy?" in csv
        assert "'=HYPERLINK(1)" in csv  # formulas neutralised
        assert reader.questions_since(1)[0] == "=hyperlink(1)"
    finally:
        writer.close()
        reader.close()


def test_retention_is_applied(postgres_server: PostgresServer) -> None:
    """Entries older than the retention period are deleted."""
    postgres_server.reset()
    log = pglog(postgres_server, retention_days=1)
    try:
        record(log, "recent question")
        assert log.queue.flush(5)
        with log.pool.connection() as conn:
            conn.execute("UPDATE questions SET ts = ts - 2 * 86400")
        assert log.purge() == 1
        assert log.recent() == []
    finally:
        log.close()


def test_database_down_writes_wait_and_arrive(postgres_server: PostgresServer) -> None:
    """Stopped: records queue (reads fail with a 503 error); restarted: every queued row is written."""
    postgres_server.reset()
    errors: Counter[str] = Counter()
    dropped: list[int] = []
    log = pglog(postgres_server, max_pending=5, on_error=lambda op: errors.update([op]), on_dropped=dropped.append)
    try:
        record(log, "before")
        assert log.queue.flush(5)
        postgres_server.stop()
        try:
            for i in range(7):
                record(log, f"during {i}")  # never raises: the answer is served
            with pytest.raises(DependencyUnavailable):
                log.recent()
            assert len(log.queue) == 5
            assert sum(dropped) == 2  # overflow is counted, never silent
        finally:
            postgres_server.start()
        assert log.queue.flush(15)
        assert errors
        assert postgres_server.count() == 1 + 5
        assert postgres_server.count("SELECT sum(questions) FROM qlog_daily") == 1 + 5  # the overview counts them
    finally:
        log.close()
