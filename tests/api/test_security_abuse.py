"""Hostile clients (issue 10): stalled bodies, spoofed client addresses, errors the widget can read,
wrong keys, the trailing-slash redirect and lax integers.

Each test reproduces a finding of the hostile-client pass and states the request and the expected
response. The stalled-body and X-Forwarded-For cases run against a real `askoleus serve` on loopback,
with clients on other loopback addresses (all of 127.0.0.0/8 is local)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from askoleus.answer import Answerer
from askoleus.api.app import create_app
from askoleus.config import Settings
from askoleus.qlog import QuestionLog
from conftest import ADMIN_KEY, STAFF_KEY, start_server, stop_server

IRON = "why is iron important for runners?"
ORIGIN = "https://blog.oleus.example"
STAFF = {"Authorization": f"Bearer {STAFF_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
BODY_TIMEOUT = 4.0
KEEP_ALIVE = 3
TRUSTED_PROXY = "127.0.0.4"


def settings_for(built: Settings, tmp: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "index_dir": built.index_dir,
        "db_path": tmp / "q.sqlite3",
        "staff_key": STAFF_KEY,
        "admin_key": ADMIN_KEY,
        "cors_origins": [ORIGIN],
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 100_000,
        "reload_poll_seconds": 0,
    }
    return Settings(**{**base, **kw})


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        yield


def peer(app: FastAPI, host: str) -> httpx.AsyncClient:
    """An in-process client whose requests come from the socket peer `host`."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://askoleus.test", timeout=60)


# -- a real server ------------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    port: int

    def client(self, source: str) -> httpx.Client:
        """An HTTP client whose connections come from the loopback address `source`."""
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, built: Settings) -> Iterator[Served]:
    """`askoleus serve`: default per-client limit, a burst of 10 asks, a short body timeout, one trusted proxy."""
    base = tmp_path_factory.mktemp("abuse")
    shutil.copytree(built.index_dir, base / "index", ignore=shutil.ignore_patterns("*.sqlite3*"))
    settings = Settings(corpus_dir=built.corpus_dir, index_dir=base / "index")
    url, proc = start_server(
        settings,
        {
            "ASKOLEUS_STAFF_KEY": STAFF_KEY,
            "ASKOLEUS_ADMIN_KEY": ADMIN_KEY,
            "ASKOLEUS_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "ASKOLEUS_KEEP_ALIVE_SECONDS": str(KEEP_ALIVE),
            "ASKOLEUS_TRUSTED_PROXIES": f'["{TRUSTED_PROXY}"]',
            "ASKOLEUS_RATE_LIMIT_BURST": "10",
            "ASKOLEUS_RATE_LIMIT_PER_MINUTE": "6",  # slow refill: the test does not depend on the machine's speed
            "ASKOLEUS_RELOAD_POLL_SECONDS": "0",
        },
    )
    yield Served(url, int(url.rsplit(":", 1)[1]))
    stop_server(proc)


def _stall(port: int, source: str) -> socket.socket:
    """Headers of a POST that promise 50 bytes of body, and then nothing."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(60)
    s.connect(("127.0.0.1", port))
    s.sendall(
        b"POST /v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
    )
    return s


def _read_until_closed(s: socket.socket, deadline: float) -> bytes | None:
    """Everything the server sends until it closes the connection; None if it is still open at deadline."""
    data = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return None


def test_stalled_bodies_from_one_address_do_not_take_the_api_offline(served: Served) -> None:
    """40 sockets from 127.0.0.5 send `POST /v1/feedback` headers with Content-Length: 50 and no body.

    Expected: a reader on 127.0.0.2 gets its answers, the console and admin reload work; each stalled
    socket gets 429 (past the 8 a client may have open) or 408 after the body timeout, and is closed.
    """
    stalled = [_stall(served.port, "127.0.0.5") for _ in range(40)]
    try:
        with served.client("127.0.0.2") as reader:
            ask = reader.post("/v1/ask", json={"question": IRON})
            assert ask.status_code == 200, ask.text
            assert ask.json()["status"] == "answered"
            assert reader.get("/v1/search", params={"q": "iron"}).status_code == 200
            assert reader.get("/v1/console/questions", headers=STAFF).status_code == 200
            assert reader.post("/v1/admin/reload", headers=ADMIN).status_code == 200
        deadline = time.monotonic() + BODY_TIMEOUT + KEEP_ALIVE + 60  # generous: a loaded machine
        replies = [_read_until_closed(s, deadline) for s in stalled]
    finally:
        for s in stalled:
            s.close()
    assert all(r is not None for r in replies), "a stalled socket was still open"
    statuses = [int(r.split(b" ", 2)[1]) for r in replies if r]
    assert len(statuses) == 40
    assert set(statuses) <= {408, 429}
    assert 1 <= statuses.count(408) <= 8  # only the client's 8 open requests waited for their bodies
    late = next(r for r in replies if r and r.startswith(b"HTTP/1.1 408"))
    head, body = late.split(b"\r\n\r\n", 1)
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_x_forwarded_for_from_loopback_does_not_escape_the_rate_limit(served: Served) -> None:
    """`askoleus serve` with ASKOLEUS_TRUSTED_PROXIES=["127.0.0.4"]: uvicorn's own proxy handling is off.

    Asks from 127.0.0.1, each with a different X-Forwarded-For, get 429 once the burst (10) is spent;
    X-Forwarded-For from 127.0.0.1 cannot spend 127.0.0.3's quota; from the trusted proxy it is honoured.
    """
    statuses: list[int] = []
    with served.client("127.0.0.1") as spoofer:
        for i in range(2000):  # bounded; stops at the first 429
            r = spoofer.post(
                "/v1/ask", json={"question": IRON}, headers={"X-Forwarded-For": f"198.51.{i // 250}.{i % 250 + 1}"}
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
        assert statuses[-1] == 429, statuses
        assert set(statuses[:-1]) == {200}
        assert len(statuses) <= 30  # 10 at once, then 6 a minute: never 2,000
        for _ in range(12):  # names another client: still counted on 127.0.0.1, which has nothing left
            r = spoofer.get("/v1/search", params={"q": "iron"}, headers={"X-Forwarded-For": "127.0.0.3"})
            assert r.status_code == 429
    with served.client("127.0.0.3") as victim:
        assert [victim.get("/v1/search", params={"q": "iron"}).status_code for _ in range(3)] == [200, 200, 200]
    with served.client(TRUSTED_PROXY) as proxy:
        behind = [
            proxy.get("/v1/search", params={"q": "iron"}, headers={"X-Forwarded-For": "192.0.2.77"}).status_code
            for _ in range(12)
        ]
        assert behind[:10] == [200] * 10
        assert 429 in behind
        other = proxy.get("/v1/search", params={"q": "iron"}, headers={"X-Forwarded-For": "192.0.2.78"})
        assert other.status_code == 200


# -- errors the widget can read -----------------------------------------------------------------


def assert_readable(r: httpx.Response, status: int, code: str) -> None:
    """An error a browser page on ORIGIN can read: CORS, X-Request-ID and the same id in the body."""
    assert r.status_code == status, r.text
    assert r.headers.get("access-control-allow-origin") == ORIGIN, (status, dict(r.headers))
    rid = r.headers.get("x-request-id")
    assert rid
    error = r.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == rid
    assert r.headers["x-content-type-options"] == "nosniff"


def test_every_error_carries_cors_and_the_request_id(
    built: Settings, tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `Origin: https://blog.oleus.example` (allowed), each error layer answers readably."""

    def broken(self: QuestionLog, answer_id: str, rating: str) -> bool:
        raise RuntimeError("a bug")

    monkeypatch.setattr(QuestionLog, "feedback", broken)
    app = create_app(settings_for(built, tmp_path, rate_limit_burst=3, rate_limit_per_minute=1), embedder=embedder)
    hdr = {"Origin": ORIGIN}

    async def run() -> None:
        async with running(app), peer(app, "192.0.2.1") as c:
            big = b'{"question": "' + b"x" * 70_000 + b'"}'
            r = await c.post("/v1/ask", content=big, headers={**hdr, "Content-Type": "application/json"})
            assert_readable(r, 413, "payload_too_large")
            assert_readable(await c.get("/v1/console/questions", headers=hdr), 401, "unauthorized")
            assert_readable(await c.get("/v1/no-such-thing", headers=hdr), 404, "not_found")
            assert_readable(await c.post("/v1/ask", json={"question": ""}, headers=hdr), 422, "invalid_request")
            r = await c.post("/v1/feedback", json={"answer_id": "abcdefgh1234", "rating": "up"}, headers=hdr)
            assert_readable(r, 500, "internal_error")
            assert "a bug" not in r.text
            statuses = [(await c.get("/v1/search", params={"q": "iron"}, headers=hdr)) for _ in range(4)]
            assert_readable(statuses[-1], 429, "rate_limited")

    asyncio.run(run())


def test_a_body_timeout_is_a_readable_408(built: Settings, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings_for(built, tmp_path, body_timeout_seconds=0.2), embedder=embedder)
    sent: list[dict[str, Any]] = []

    async def never() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/ask",
        "raw_path": b"/v1/ask",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"askoleus.test"), (b"origin", ORIGIN.encode()), (b"content-length", b"50")],
        "client": ("192.0.2.1", 40000),
        "server": ("askoleus.test", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, never, send), 30))  # type: ignore[arg-type]
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    r = httpx.Response(sent[0]["status"], headers=headers, content=sent[1]["body"])
    assert_readable(r, 408, "request_timeout")
    assert r.headers["connection"] == "close"


@contextlib.contextmanager
def held_ask(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Asks containing "hold" wait in the answer thread until released: (started, release)."""
    started, release = threading.Event(), threading.Event()
    original = Answerer.ask

    def held(self, index, question, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "hold" in question:
            started.set()
            release.wait(60)
        return original(self, index, question, *args, **kwargs)

    monkeypatch.setattr(Answerer, "ask", held)
    try:
        yield started, release
    finally:
        release.set()


def test_a_full_public_api_gives_a_readable_503_and_staff_still_get_through(
    built: Settings, tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASKOLEUS_MAX_IN_FLIGHT=1 and one ask at work: the next ask is 503, the console and admin are not."""
    app = create_app(settings_for(built, tmp_path, max_in_flight=1), embedder=embedder)

    async def run() -> None:
        with held_ask(monkeypatch) as (started, release):
            async with running(app), peer(app, "192.0.2.1") as reader, peer(app, "192.0.2.2") as staff:
                first = asyncio.create_task(reader.post("/v1/ask", json={"question": "iron, hold on please"}))
                assert await asyncio.to_thread(started.wait, 60)
                busy = await reader.post("/v1/ask", json={"question": IRON}, headers={"Origin": ORIGIN})
                assert_readable(busy, 503, "overloaded")
                assert busy.headers["retry-after"] == "1"
                assert (await staff.get("/v1/console/questions", headers=STAFF)).status_code == 200
                assert (await staff.post("/v1/admin/reload", headers=ADMIN)).status_code == 200
                release.set()
                assert (await first).status_code == 200

    asyncio.run(run())


def test_one_client_may_have_only_so_many_requests_open(
    built: Settings, tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASKOLEUS_MAX_IN_FLIGHT_PER_CLIENT=2 and two asks of 192.0.2.1 open: its third request is 429,
    192.0.2.2 is served, and /healthz is never limited."""
    # one answer slot: the second ask waits behind the held one and stays open
    settings = settings_for(built, tmp_path, max_in_flight_per_client=2, answer_threads=1)
    app = create_app(settings, embedder=embedder)

    async def run() -> None:
        with held_ask(monkeypatch) as (started, release):
            async with running(app), peer(app, "192.0.2.1") as greedy, peer(app, "192.0.2.2") as other:
                held = [asyncio.create_task(greedy.post("/v1/ask", json={"question": "iron, hold on"}))]
                assert await asyncio.to_thread(started.wait, 60)
                held.append(asyncio.create_task(greedy.post("/v1/ask", json={"question": IRON})))  # queues
                await asyncio.sleep(0.5)  # event-loop time only: the second ask takes its slot without any I/O
                third = await greedy.get("/v1/search", params={"q": "iron"}, headers={"Origin": ORIGIN})
                assert_readable(third, 429, "rate_limited")
                assert (await greedy.get("/healthz")).status_code == 200
                assert (await other.get("/v1/search", params={"q": "iron"})).status_code == 200
                release.set()
                assert [(await t).status_code for t in held] == [200, 200]
                assert (await greedy.get("/v1/search", params={"q": "iron"})).status_code == 200

    asyncio.run(run())


# -- wrong keys, redirects, strict inputs -------------------------------------------------------


def test_wrong_keys_are_throttled_per_client(built: Settings, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """1,200 wrong staff keys from one address: 401 for the first 20 (the burst), then 429 without the
    key being compared, even for the right key; another address still logs in. /metrics counts failures
    by role only."""
    app = create_app(settings_for(built, tmp_path), embedder=embedder)

    async def run() -> tuple[list[int], int, int, str]:
        async with running(app), peer(app, "192.0.2.1") as guesser, peer(app, "192.0.2.2") as staff:
            statuses = [
                (
                    await guesser.get("/v1/console/questions", headers={"Authorization": f"Bearer guess-{i:06d}-xyz"})
                ).status_code
                for i in range(1200)
            ]
            right_key_same_address = (await guesser.get("/v1/console/questions", headers=STAFF)).status_code
            other_address = (await staff.get("/v1/console/questions", headers=STAFF)).status_code
            return statuses, right_key_same_address, other_address, (await staff.get("/metrics")).text

    statuses, same, other, metrics = asyncio.run(run())
    assert set(statuses) == {401, 429}
    assert 20 <= statuses.count(401) <= 40  # the burst, plus what refilled at 10 a minute meanwhile
    assert statuses[-1] == 429
    assert same == 429
    assert other == 200
    failures = [line for line in metrics.splitlines() if line.startswith("askoleus_auth_failures_total")]
    assert failures == [f'askoleus_auth_failures_total{{role="staff"}} {statuses.count(401)}.0']
    assert "guess-" not in metrics
    assert STAFF_KEY not in metrics


def test_trailing_slash_is_not_redirected_to_the_host_header(make_client) -> None:  # type: ignore[no-untyped-def]
    """`GET /v1/search/?q=iron` with `Host: evil.example`: a 404, never a Location naming that host."""
    c = make_client()
    for path in ("/v1/search/?q=iron", "/console/", "/v1/console/questions/"):
        r = c.get(path, headers={"Host": "evil.example", **STAFF}, follow_redirects=False)
        assert r.status_code == 404, path
        assert "location" not in r.headers
        assert "evil.example" not in r.text


@pytest.fixture
def make_client(built: Settings, tmp_path: Path, embedder) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    stack = contextlib.ExitStack()

    def make(**kw: Any) -> TestClient:
        return stack.enter_context(TestClient(create_app(settings_for(built, tmp_path, **kw), embedder=embedder)))

    with stack:
        yield make


@pytest.mark.parametrize(
    "body",
    [
        {"question": IRON, "top_k": True},
        {"question": IRON, "top_k": "5"},
        {"question": IRON, "top_k": 5.0},
        {"question": IRON, "debug": "true"},
        {"question": IRON, "debug": 1},
    ],
    ids=["top_k true", "top_k text", "top_k float", "debug text", "debug int"],
)
def test_integers_and_booleans_are_strict(make_client, body: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    r = make_client().post("/v1/ask", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


def test_strict_fields_still_take_their_own_types(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client()
    assert c.post("/v1/ask", json={"question": IRON, "top_k": 5, "debug": False}).status_code == 200
    r = c.post("/v1/feedback", json={"answer_id": "abcdefgh1234", "rating": "up"})
    assert r.status_code == 404  # well-formed, but no such answer


def test_keys_go_only_in_the_authorization_header(make_client) -> None:  # type: ignore[no-untyped-def]
    """X-Askoleus-Key was accepted but never documented: it is not a way in any more."""
    c = make_client()
    assert c.post("/v1/admin/reload", headers={"X-Askoleus-Key": ADMIN_KEY}).status_code == 401
    assert c.get("/v1/console/check", headers={"X-Askoleus-Key": STAFF_KEY}).status_code == 401
    assert c.post("/v1/admin/reload", headers=ADMIN).status_code == 200
