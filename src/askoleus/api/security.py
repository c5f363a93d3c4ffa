"""Abuse limits and safe defaults: body size, rate limits, in-flight cap, keys, security headers."""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from askoleus.errors import AskoleusError


class Unauthorized(AskoleusError):
    """A staff or admin key is missing or wrong."""

    code = "unauthorized"
    http_status = 401


class RateLimited(AskoleusError):
    """The client asked too often; retry after the given seconds."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry in {retry_after} s")
        self.retry_after = retry_after


def error_body(code: str, message: str, request_id: str = "") -> bytes:
    """The one JSON error shape, as bytes (for raw ASGI responses)."""
    return json.dumps({"error": {"code": code, "message": message, "request_id": request_id}}).encode()


async def send_error(
    send: Send, status: int, code: str, message: str, request_id: str = "", headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a complete JSON error response from ASGI middleware."""
    body = error_body(code, message, request_id)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for bodies over the limit, enforced while reading (with or without Content-Length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    return await send_error(send, 413, "payload_too_large", "request body is too large")
        seen = 0
        started = False
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's own answer to the cut-off body (FastAPI makes it a 400) becomes the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            pass
        if exceeded and not started:
            await send_error(send, 413, "payload_too_large", "request body is too large")


class InFlightMiddleware:
    """A global cap on concurrent API requests: past it, a fast 503 instead of a queue."""

    def __init__(self, app: ASGIApp, limit: int, prefix: str = "/v1/") -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        if self.active >= self.limit:
            return await send_error(
                send, 503, "overloaded", "the server is busy; try again shortly", headers=[(b"retry-after", b"1")]
            )
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class SecurityHeadersMiddleware:
    """nosniff everywhere, no-store on the API, a CSP on pages, and an unframeable console."""

    PAGE_CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors {fa}"
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                ]
                if path.startswith("/v1/") and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                if path == "/widget.js":
                    extra.append((b"cross-origin-resource-policy", b"cross-origin"))
                elif not path.startswith("/v1/") and path not in ("/metrics", "/healthz", "/readyz"):
                    console = path.startswith("/console")
                    fa = "'none'" if console else "'self'"
                    extra.append((b"content-security-policy", self.PAGE_CSP.format(fa=fa).encode()))
                    extra.append((b"x-frame-options", b"DENY" if console else b"SAMEORIGIN"))
                message["headers"] = headers + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


class RateLimiter:
    """Per-client token buckets (burst, refilled at per_minute), bounded in memory."""

    def __init__(self, per_minute: int, burst: int, max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Take one token for client, or raise RateLimited with the wait in seconds."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                raise RateLimited(max(1, int((1.0 - tokens) / self.rate + 0.999)))
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


class ClientIdentifier:
    """The client's IP: the socket peer, or X-Forwarded-For only when the peer is a trusted proxy."""

    def __init__(self, trusted_proxies: list[str]) -> None:
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def _is_trusted(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.trusted)

    def __call__(self, request: Request) -> str:
        """Client address used for rate limiting (never stored or logged)."""
        peer = request.client.host if request.client else "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
        for hop in reversed(forwarded):  # the right-most hop not added by our own proxies
            if not self._is_trusted(hop):
                return hop
        return forwarded[0] if forwarded else peer


def check_key(request: Request, expected: str) -> None:
    """Require `Authorization: Bearer <key>` (or X-Askoleus-Key); constant-time; never from the query."""
    supplied = request.headers.get("x-askoleus-key", "")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        supplied = auth[7:].strip()
    if not expected or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise Unauthorized("a valid key is required")


def request_id() -> str:
    """A short random id for logs and error bodies."""
    return secrets.token_hex(8)
