"""Three `askoleus serve` replicas on one Redis and one PostgreSQL, over one index directory.

Each replica has its own ASKOLEUS_DB_PATH, so nothing is shared by accident through SQLite. They
trust 127.0.0.1 as their proxy, so each test speaks for its own reader through X-Forwarded-For.
Polling for new generations is slowed to 60 s: only the Redis notice can switch them quickly.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from askoleus.config import Settings
from askoleus.index import IndexStore
from conftest import ADMIN_KEY, STAFF_KEY
from dbservers import PostgresServer, RedisServer
from localserver import free_port

pytestmark = pytest.mark.slow
BURST = 6
STAFF = {"Authorization": f"Bearer {STAFF_KEY}"}


@dataclass
class Replicas:
    urls: list[str]
    index_dir: Path
    old_generation: str  # activated by the rollback test
    new_generation: str  # served at start
    redis: RedisServer
    postgres: PostgresServer
    env: dict[str, str]


def changed_corpus(src: Path, dst: Path) -> Path:
    """A copy of the corpus with one sentence added to its first long paragraph (a new generation)."""
    shutil.copytree(src, dst)
    for path in sorted(p for p in dst.rglob("*") if p.suffix in (".txt", ".md")):
        lines = path.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            if len(line.split()) >= 20 and line.rstrip().endswith("."):
                lines[i] = line.rstrip() + " This paragraph was revised for the replica test."
                path.write_text("\n".join(lines), encoding="utf-8")
                return dst
    raise AssertionError("no paragraph to change")


def serve(env: dict[str, str], log_path: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """`askoleus serve` on a free port; returns without waiting for readiness."""
    port = free_port()
    askoleus = Path(sys.executable).with_name("askoleus")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(askoleus), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    return f"http://127.0.0.1:{port}", proc


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll check until it is true or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory,
    built: Settings,
    embedder: Any,
    redis_server: RedisServer,
    postgres_server: PostgresServer,
) -> Iterator[Replicas]:
    from askoleus.pipeline import build_index

    base = tmp_path_factory.mktemp("replicas")
    index_dir = base / "index"
    shutil.copytree(built.index_dir, index_dir, ignore=shutil.ignore_patterns("*.sqlite3*"))
    old = IndexStore(index_dir).current_id()
    assert old is not None
    corpus_b = changed_corpus(built.corpus_dir, base / "corpus-b")
    new = build_index(Settings(corpus_dir=corpus_b, index_dir=index_dir, keep_generations=10), embedder).generation
    assert new != old
    postgres_server.reset()
    env = {
        "ASKOLEUS_INDEX_DIR": str(index_dir),
        "ASKOLEUS_CORPUS_DIR": str(corpus_b),
        "ASKOLEUS_REDIS_URL": redis_server.url,
        "ASKOLEUS_REDIS_PREFIX": f"replicas-{secrets.token_hex(4)}:",
        "ASKOLEUS_REDIS_RETRY_SECONDS": "0.5",
        "ASKOLEUS_DATABASE_URL": postgres_server.url,
        "ASKOLEUS_STAFF_KEY": STAFF_KEY,
        "ASKOLEUS_ADMIN_KEY": ADMIN_KEY,
        "ASKOLEUS_RATE_LIMIT_PER_MINUTE": str(BURST),
        "ASKOLEUS_RATE_LIMIT_BURST": str(BURST),
        "ASKOLEUS_TRUSTED_PROXIES": '["127.0.0.1/32"]',
        "ASKOLEUS_RELOAD_POLL_SECONDS": "60",
        "ASKOLEUS_REQUEST_TIMEOUT_SECONDS": "60",
    }
    started = [
        serve({**env, "ASKOLEUS_DB_PATH": str(base / f"replica{i}.sqlite3")}, base / f"replica{i}.log")
        for i in (1, 2, 3)
    ]
    try:
        for (url, proc), i in zip(started, (1, 2, 3), strict=True):

            def ready(
                url: str = url, proc: subprocess.Popen[bytes] = proc, log: Path = base / f"replica{i}.log"
            ) -> bool:
                assert proc.poll() is None, log.read_text()[-2000:]
                try:
                    return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            assert wait_until(ready, 240, 0.5), f"replica {i} did not become ready"
        yield Replicas([u for u, _ in started], index_dir, old, new, redis_server, postgres_server, env)
    finally:
        for _, proc in started:
            proc.terminate()
        for _, proc in started:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def ask(url: str, client: str, question: str, conversation_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"question": question}
    if conversation_id:
        body["conversation_id"] = conversation_id
    r = httpx.post(f"{url}/v1/ask", json=body, headers={"X-Forwarded-For": client}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_conversation_started_on_replica_1_continues_on_replica_2(replicas: Replicas) -> None:
    """The follow-up lands elsewhere and keeps its conversation."""
    first = ask(replicas.urls[0], "203.0.113.1", "Why do my legs feel heavy when I run?")
    follow = ask(replicas.urls[1], "203.0.113.1", "and magnesium?", first["conversation_id"])
    assert follow["conversation_id"] == first["conversation_id"]


def test_a_burst_spread_over_the_replicas_hits_one_limit(replicas: Replicas) -> None:
    """3 x burst requests from one reader, round robin: one burst passes in all, the rest get 429."""
    codes = [
        httpx.get(
            f"{replicas.urls[i % 3]}/v1/search", params={"q": "iron"}, headers={"X-Forwarded-For": "203.0.113.2"}
        ).status_code
        for i in range(3 * BURST)
    ]
    assert codes.count(200) == BURST
    assert codes.count(429) == 2 * BURST


def test_a_question_asked_on_replica_3_is_in_replica_1s_console_and_export(replicas: Replicas) -> None:
    """One question log for all replicas."""
    question = f"Why is iron important for runners? ({secrets.token_hex(4)})"
    ask(replicas.urls[2], "203.0.113.3", question)

    def listed() -> bool:
        r = httpx.get(f"{replicas.urls[0]}/v1/console/questions", headers=STAFF, timeout=10)
        return any(item["question"] == question for item in r.json()["items"])

    assert wait_until(listed, 10)
    export = httpx.get(f"{replicas.urls[0]}/v1/console/export.csv", headers=STAFF, timeout=10)
    assert question in export.text


def test_a_new_generation_is_served_by_all_three_within_2_seconds(replicas: Replicas) -> None:
    """`askoleus index rollback` with the Redis URL announces the generation; every replica switches."""
    cli = Path(sys.executable).with_name("askoleus")
    env = {**os.environ, **replicas.env}
    result = subprocess.run([str(cli), "index", "rollback"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    activated = time.monotonic()

    def served() -> bool:
        return all(
            httpx.get(f"{u}/readyz", timeout=2).json()["index_generation"] == replicas.old_generation
            for u in replicas.urls
        )

    assert wait_until(served, 2, 0.05)
    print(f"all three replicas served {replicas.old_generation} {time.monotonic() - activated:.2f} s after rollback")


def test_with_redis_stopped_answers_flow_and_state_is_shared_again_after_restart(replicas: Replicas) -> None:
    """No 5xx while Redis is down (local state, counted); after a restart conversations cross replicas again."""
    replicas.redis.stop()
    try:
        for i, url in enumerate(replicas.urls):
            assert ask(url, f"203.0.113.{10 + i}", "What is oleuropein?")["answer"]
        metrics = httpx.get(f"{replicas.urls[0]}/metrics").text
        assert 'askoleus_dependency_errors_total{dependency="redis"' in metrics
    finally:
        replicas.redis.start()
    time.sleep(1.0)  # past ASKOLEUS_REDIS_RETRY_SECONDS: the replicas try Redis again
    first = ask(replicas.urls[2], "203.0.113.20", "Why do my legs feel heavy when I run?")
    follow = ask(replicas.urls[0], "203.0.113.20", "and iron?", first["conversation_id"])
    assert follow["conversation_id"] == first["conversation_id"]


def test_with_postgresql_stopped_answers_flow_and_queued_rows_arrive(replicas: Replicas) -> None:
    """No 5xx while the database is down; after a restart every queued question is in the log."""
    time.sleep(0.5)  # earlier writes are flushed (the queue writes within milliseconds)
    before = replicas.postgres.count()
    replicas.postgres.stop()
    try:
        for i, url in enumerate(replicas.urls):
            assert ask(url, f"203.0.113.{30 + i}", f"what does magnesium do for ATP? ({i})")["answer"]
    finally:
        replicas.postgres.start()
    assert wait_until(lambda: replicas.postgres.count() == before + 3, 30, 0.5), (before, replicas.postgres.count())
