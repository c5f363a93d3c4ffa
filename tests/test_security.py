"""Abuse limits and safe defaults: body size, validation, rate limits, proxies, in-flight cap, timeouts,
CORS, security headers, keys, production checks and what the request logs may contain."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from askoleus.answer import Answerer
from askoleus.api.app import create_app
from askoleus.config import Settings
from askoleus.errors import ConfigError
from askoleus.logs import JsonFormatter
from conftest import ADMIN_KEY, STAFF_KEY

IRON = "why is iron important for runners?"
MARK = "ZQXMARKER"  # a distinctive string that must never be echoed back
ORIGIN = "https://blog.oleus.example"


def make_settings(built: Settings, tmp: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = dict(
        index_dir=built.index_dir,
        db_path=tmp / "q.sqlite3",
        staff_key=STAFF_KEY,
        admin_key=ADMIN_KEY,
        rate_limit_per_minute=100_000,
        rate_limit_burst=100_000,
        reload_poll_seconds=0,
    )
    return Settings(**{**base, **kw})


@pytest.fixture
def make_client(built: Settings, tmp_path: Path, embedder) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """make_client(**settings) -> a started TestClient (closed at teardown)."""
    stack = contextlib.ExitStack()
    counter = itertools.count()

    def make(**kw: Any) -> TestClient:
        d = tmp_path / f"app{next(counter)}"
        d.mkdir()
        return stack.enter_context(TestClient(create_app(make_settings(built, d, **kw), embedder=embedder)))

    with stack:
        yield make


@pytest.fixture
def client(make_client) -> TestClient:  # type: ignore[no-untyped-def]
    return make_client()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        yield


def peer(app: FastAPI, host: str) -> httpx.AsyncClient:
    """An async client whose requests come from the socket peer `host`."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://askoleus.test", timeout=30)


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    data = r.json()
    assert set(data) == {"error"} and set(data["error"]) == {"code", "message", "request_id"}, data
    assert data["error"]["code"] == code
    return data  # type: ignore[no-any-return]


# -- request body limits -----------------------------------------------------------------------


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"askoleus.test"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("askoleus.test", 80),
    }


async def _drive(app: FastAPI, scope: dict[str, Any], chunks: int) -> tuple[int, list[dict[str, Any]]]:
    """Feed up to `chunks` 64 KiB body messages; returns how many were read and what was sent."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read >= chunks:
            await asyncio.sleep(3600)
        read += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 20)
    return read, sent


def test_declared_big_body_is_refused_before_it_is_read(client: TestClient) -> None:
    app = client.app
    read, sent = asyncio.run(_drive(app, _scope("/v1/ask", [(b"content-length", b"3000000")]), 46))  # type: ignore[arg-type]
    assert read == 0  # not a byte buffered
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"
    # and through the test client, with a real 3 MB body
    r = client.post("/v1/ask", content=b"{" + b" " * 3_000_000 + b"}", headers={"content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_chunked_big_body_is_cut_off_while_reading(client: TestClient) -> None:
    app = client.app
    read, sent = asyncio.run(_drive(app, _scope("/v1/ask", []), 46))  # type: ignore[arg-type]
    assert read <= 2  # stopped at the 64 kB limit, not after 3 MB
    assert sent[0]["status"] == 413
    assert json.loads(sent[-1]["body"])["error"]["code"] == "payload_too_large"


def test_chunked_big_body_against_the_live_server(live_server) -> None:  # type: ignore[no-untyped-def]
    """A real chunked upload (no Content-Length) of 3 MB gets a 413, not a buffered body."""
    port = int(live_server.url.rsplit(":", 1)[1])
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        with contextlib.suppress(OSError):  # the server may close before we finish sending
            for _ in range(46):
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        response = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in response or b"payload_too_large" not in response:
                data = s.recv(65536)
                if not data:
                    break
                response += data
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"payload_too_large" in response
    assert b"transfer-encoding: chunked" not in response.lower().split(b"\r\n\r\n")[0]
    # and the server is fine afterwards
    assert httpx.get(f"{live_server.url}/healthz", timeout=5).status_code == 200


# -- validation: one error shape, input never echoed --------------------------------------------

BAD_ASKS: list[tuple[str, Any]] = [
    ("too long", {"question": "why is iron important " * 30 + MARK}),
    ("empty", {"question": ""}),
    ("whitespace", {"question": " \n\t  "}),
    ("nul", {"question": f"iron\x00{MARK}"}),
    ("escape", {"question": f"\x1b[31m{MARK} iron"}),
    ("bell", {"question": f"iron {MARK}\x07"}),
    ("lone surrogate", {"question": f"iron {MARK} \ud800"}),
    ("unknown field", {"question": "iron?", MARK: MARK}),
    ("top_k zero", {"question": MARK, "top_k": 0}),
    ("top_k big", {"question": MARK, "top_k": 101}),
    ("top_k text", {"question": "iron", "top_k": MARK}),
    ("question not text", {"question": [MARK]}),
    ("long conversation id", {"question": "iron", "conversation_id": MARK * 10}),
    ("debug not bool", {"question": "iron", "debug": MARK}),
    ("missing question", {"top_k": 3, "conversation_id": MARK}),
    ("not an object", [MARK]),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_ASKS], ids=[n for n, _ in BAD_ASKS])
def test_bad_ask_is_422_without_echo(client: TestClient, body: Any) -> None:
    for path in ("/v1/ask", "/v1/ask/stream"):
        r = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
        assert_error(r, 422, "invalid_request")
        assert MARK not in r.text
        assert r.headers["cache-control"] == "no-store"


def test_bad_json_is_422_without_echo(client: TestClient) -> None:
    r = client.post("/v1/ask", content=f'{{"question": "{MARK}'.encode(), headers={"content-type": "application/json"})
    assert_error(r, 422, "invalid_request")
    assert MARK not in r.text


@pytest.mark.parametrize(
    "params",
    [
        {"q": f"iron\x00{MARK}"},
        {"q": ""},
        {"q": "   "},
        {"q": "iron " * 120 + MARK},
        {"q": "iron", "k": 0},
        {"q": "iron", "k": 101},
        {"q": "iron", "kind": MARK},
        {"k": 3},
    ],
    ids=["nul", "empty", "blank", "long", "k0", "k101", "kind", "no q"],
)
def test_bad_search_is_422_without_echo(client: TestClient, params: dict[str, Any]) -> None:
    r = client.get("/v1/search", params=params)
    assert_error(r, 422, "invalid_request")
    assert MARK not in r.text


@pytest.mark.parametrize(
    "body",
    [
        {"answer_id": f"{MARK}<script>", "rating": "up"},
        {"answer_id": "abcdefgh1234", "rating": MARK},
        {"answer_id": "abcdefgh1234", "rating": "up", "extra": MARK},
        {"answer_id": "x", "rating": "up"},
    ],
)
def test_bad_feedback_is_422_without_echo(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v1/feedback", json=body)
    assert_error(r, 422, "invalid_request")
    assert MARK not in r.text


# -- rate limiting and client identity ----------------------------------------------------------


def test_rate_limit_returns_429_with_retry_after(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(rate_limit_per_minute=2, rate_limit_burst=2)
    assert c.post("/v1/ask", json={"question": IRON}).status_code == 200
    assert c.get("/v1/search", params={"q": "iron"}).status_code == 200
    r = c.post("/v1/ask", json={"question": IRON})
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-content-type-options"] == "nosniff"
    assert c.get("/healthz").status_code == 200  # operations endpoints are not limited


def test_forwarded_for_is_ignored_from_untrusted_peers(built: Settings, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    app = create_app(
        make_settings(built, tmp_path, rate_limit_per_minute=2, rate_limit_burst=2, trusted_proxies=["10.0.0.0/8"]),
        embedder=embedder,
    )

    async def run() -> list[int]:
        async with lifespan(app), peer(app, "203.0.113.5") as c:
            return [
                (
                    await c.get("/v1/search", params={"q": "iron"}, headers={"X-Forwarded-For": f"198.51.100.{i}"})
                ).status_code
                for i in range(3)
            ]

    assert asyncio.run(run()) == [200, 200, 429]


def test_forwarded_for_is_honoured_from_a_trusted_proxy(built: Settings, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    app = create_app(
        make_settings(built, tmp_path, rate_limit_per_minute=2, rate_limit_burst=2, trusted_proxies=["10.0.0.0/8"]),
        embedder=embedder,
    )

    async def run() -> tuple[list[int], list[int], list[int]]:
        async with lifespan(app), peer(app, "10.0.0.1") as proxy:

            async def search(xff: str) -> int:
                return (
                    await proxy.get("/v1/search", params={"q": "iron"}, headers={"X-Forwarded-For": xff})
                ).status_code

            distinct = [await search(f"198.51.100.{i}") for i in range(4)]  # four readers: own buckets
            same = [await search("192.0.2.9") for _ in range(3)]
            # a spoofed left-most entry is skipped: the right-most untrusted hop is the client
            spoofed = [await search(f"1.2.3.{i}, 192.0.2.9, 10.0.0.7") for i in range(2)]
            return distinct, same, spoofed

    distinct, same, spoofed = asyncio.run(run())
    assert distinct == [200, 200, 200, 200]
    assert same == [200, 200, 429]
    assert spoofed == [429, 429]


# -- in-flight cap and per-request timeout ------------------------------------------------------


def _slow_ask(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    original = Answerer.ask

    def slow(self, index, question, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "slowly" in question:
            time.sleep(seconds)
        return original(self, index, question, *args, **kwargs)

    monkeypatch.setattr(Answerer, "ask", slow)


def test_in_flight_cap_gives_a_fast_503(
    built: Settings,
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _slow_ask(monkeypatch, 1.5)
    app = create_app(make_settings(built, tmp_path, max_in_flight=1), embedder=embedder)

    async def run() -> tuple[httpx.Response, httpx.Response, float, int]:
        async with lifespan(app), peer(app, "127.0.0.1") as c:
            first = asyncio.create_task(c.post("/v1/ask", json={"question": "iron, slowly please"}))
            await asyncio.sleep(0.3)
            started = time.perf_counter()
            second = await c.post("/v1/ask", json={"question": IRON})
            took = time.perf_counter() - started
            health = (await c.get("/healthz")).status_code  # not an API route: never capped
            return await first, second, took, health

    first, second, took, health = asyncio.run(run())
    assert first.status_code == 200
    data = assert_error(second, 503, "overloaded")
    assert MARK not in json.dumps(data)
    assert second.headers["retry-after"] == "1"
    assert took < 0.5
    assert health == 200


def test_request_timeout_is_504_and_the_app_recovers(make_client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _slow_ask(monkeypatch, 1.0)
    c = make_client(request_timeout_seconds=0.2)
    started = time.perf_counter()
    r = c.post("/v1/ask", json={"question": "iron, slowly please"})
    assert_error(r, 504, "timeout")
    assert time.perf_counter() - started < 0.9
    r = c.post("/v1/ask", json={"question": IRON})
    assert r.status_code == 200
    assert r.json()["status"] == "answered"
    assert c.get("/readyz").status_code == 200


# -- CORS ---------------------------------------------------------------------------------------


def _preflight(c: TestClient, origin: str) -> httpx.Response:
    return c.options(
        "/v1/ask",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_cors(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(cors_origins=[ORIGIN])
    bad = _preflight(c, "https://evil.example")
    assert "access-control-allow-origin" not in bad.headers
    bad = c.post("/v1/ask", json={"question": IRON}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in bad.headers

    good = _preflight(c, ORIGIN)
    assert good.status_code == 200
    assert good.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in [v.strip() for v in good.headers["vary"].split(",")]
    assert "access-control-allow-credentials" not in good.headers
    assert "POST" in good.headers["access-control-allow-methods"]

    simple = c.post("/v1/ask", json={"question": IRON}, headers={"Origin": ORIGIN})
    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in [v.strip() for v in simple.headers["vary"].split(",")]
    assert "access-control-allow-credentials" not in simple.headers


def test_no_cors_by_default(client: TestClient) -> None:
    assert "access-control-allow-origin" not in _preflight(client, ORIGIN).headers
    r = client.post("/v1/ask", json={"question": IRON}, headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in r.headers


# -- security headers ---------------------------------------------------------------------------


def test_security_headers(client: TestClient) -> None:
    responses = {
        "ask": client.post("/v1/ask", json={"question": IRON}),
        "search": client.get("/v1/search", params={"q": "iron"}),
        "healthz": client.get("/healthz"),
        "readyz": client.get("/readyz"),
        "metrics": client.get("/metrics"),
        "demo": client.get("/"),
        "console": client.get("/console"),
        "widget": client.get("/widget.js"),
        "missing": client.get("/no-such-page"),
        "unauthorized": client.get("/v1/console/questions"),
        "invalid": client.post("/v1/ask", json={}),
    }
    for name, r in responses.items():
        assert r.headers.get("x-content-type-options") == "nosniff", name
        assert r.headers.get("x-request-id"), name
        assert "server" not in r.headers, name
    assert responses["ask"].headers["cache-control"] == "no-store"
    assert responses["invalid"].headers["cache-control"] == "no-store"
    for name in ("demo", "console"):
        csp = responses[name].headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in responses["console"].headers["content-security-policy"]
    assert responses["console"].headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" not in responses["demo"].headers["content-security-policy"]
    assert responses["demo"].status_code == 200
    assert responses["console"].status_code == 200


# -- keys ---------------------------------------------------------------------------------------


def test_admin_reload_needs_the_admin_key(client: TestClient) -> None:
    assert_error(client.post("/v1/admin/reload"), 401, "unauthorized")
    assert_error(client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {STAFF_KEY}"}), 401, "unauthorized")
    assert_error(client.post("/v1/admin/reload", headers={"Authorization": "Bearer admin"}), 401, "unauthorized")
    r = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 200
    assert r.json()["index_generation"] == client.get("/readyz").json()["index_generation"]
    assert ADMIN_KEY not in r.text
    assert client.post("/v1/admin/reload", headers={"X-Askoleus-Key": ADMIN_KEY}).status_code == 200


def test_keys_in_the_query_string_are_not_accepted(client: TestClient) -> None:
    for name in ("key", "api_key", "token", "access_token"):
        assert_error(client.post(f"/v1/admin/reload?{name}={ADMIN_KEY}"), 401, "unauthorized")
        assert_error(client.get(f"/v1/console/questions?{name}={STAFF_KEY}"), 401, "unauthorized")
    r = client.post(f"/v1/ask?key={STAFF_KEY}", json={"question": IRON, "debug": True})
    assert_error(r, 401, "unauthorized")
    assert STAFF_KEY not in r.text


def test_no_key_configured_means_no_access(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(staff_key="", admin_key="")
    assert_error(c.get("/v1/console/questions"), 401, "unauthorized")
    assert_error(c.get("/v1/console/questions", headers={"Authorization": "Bearer "}), 401, "unauthorized")
    assert_error(c.post("/v1/admin/reload", headers={"X-Askoleus-Key": ""}), 401, "unauthorized")


@pytest.mark.parametrize(
    "keys",
    [
        {"staff_key": "", "admin_key": ADMIN_KEY},
        {"staff_key": STAFF_KEY, "admin_key": ""},
        {"staff_key": "change-me", "admin_key": ADMIN_KEY},
        {"staff_key": STAFF_KEY, "admin_key": "short-key"},
        {"staff_key": STAFF_KEY, "admin_key": "   secret   "},
    ],
)
def test_production_refuses_missing_or_placeholder_keys(built: Settings, tmp_path: Path, keys: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as err:
        create_app(make_settings(built, tmp_path, environment="production", **keys))
    for value in (STAFF_KEY, ADMIN_KEY, "change-me", "short-key"):
        assert value not in err.value.message


def test_production_starts_with_strong_keys(built: Settings, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(built, tmp_path, environment="production"), embedder=embedder)
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/ask", json={"question": IRON}).status_code == 200


# -- request logs -------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter_.format(record))


@contextlib.contextmanager
def captured_logs() -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger("askoleus")  # parent of askoleus.access: sees the request logs and the rest
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _exercise(c: TestClient) -> None:
    question = f"why is iron important for runners {MARK}?"
    assert c.post("/v1/ask", json={"question": question}).status_code == 200
    assert c.post("/v1/ask/stream", json={"question": question}).status_code == 200
    assert c.get("/v1/search", params={"q": f"iron {MARK}"}).status_code == 200
    assert (
        c.post(
            "/v1/ask", json={"question": question, "debug": True}, headers={"Authorization": f"Bearer {STAFF_KEY}"}
        ).status_code
        == 200
    )
    assert c.get("/v1/console/questions", headers={"Authorization": f"Bearer {STAFF_KEY}"}).status_code == 200
    assert c.post("/v1/admin/reload", headers={"X-Askoleus-Key": ADMIN_KEY}).status_code == 200
    assert c.get("/v1/console/questions", headers={"Authorization": f"Bearer wrong-{ADMIN_KEY}"}).status_code == 401
    assert c.post("/v1/ask", json={"question": f"bad\x00{MARK}"}).status_code == 422


def test_request_logs_are_json_with_request_ids_and_no_questions_or_keys(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client()
    with captured_logs() as logs:
        _exercise(c)
    records = [json.loads(line) for line in logs.lines]
    access = [r for r in records if r["logger"] == "askoleus.access"]
    assert len(access) == 8
    for r in access:
        assert r["level"] == "info"
        assert r["msg"] == "request"
        assert len(r["request_id"]) == 16
        assert r["route"]
        assert isinstance(r["status"], int)
        assert "ms" in r
        assert "question" not in r
    assert {r["status"] for r in access} == {200, 401, 422}
    text = "\n".join(logs.lines)
    for secret in (MARK, STAFF_KEY, ADMIN_KEY, "testclient"):
        assert secret not in text


def test_request_logs_and_metrics_name_the_route_that_served(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client()
    paths = ["/widget.js", "/console.css", "/docs", "/docs/swagger-ui.css", "/openapi.json", "/no-such-page", "/a/b"]
    with captured_logs() as logs:
        for path in paths:
            c.get(path)
    records = [json.loads(line) for line in logs.lines]
    routes = [r["route"] for r in records if r["logger"] == "askoleus.access"]
    assert routes == [*paths[:5], "/{name}", "unmatched"]
    assert 'route="/widget.js",status="200"' in c.get("/metrics").text


def test_request_logs_carry_the_question_only_when_enabled(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(log_questions=True)
    with captured_logs() as logs:
        _exercise(c)
    records = [json.loads(line) for line in logs.lines]
    routes = {r["request_id"]: r["route"] for r in records if r["logger"] == "askoleus.access"}
    with_question = [r for r in records if MARK in json.dumps(r)]
    assert with_question
    assert all(r["level"] == "info" for r in with_question)
    # tied to the answering requests by request id (search queries and rejected input are not logged)
    assert {routes[r["request_id"]] for r in with_question} == {"/v1/ask", "/v1/ask/stream"}
    text = "\n".join(logs.lines)
    assert STAFF_KEY not in text
    assert ADMIN_KEY not in text
