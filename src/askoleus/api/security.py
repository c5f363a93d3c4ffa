"""Who is calling: per-client rate limits, the client address behind trusted proxies, and key checks."""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
from collections import OrderedDict

from starlette.requests import Request

from askoleus.errors import RateLimited, Unauthorized


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
