"""Who is calling: per-client rate limits, the client address behind trusted proxies, and key checks."""

from __future__ import annotations

import hmac
import ipaddress
import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import Request

from askoleus.errors import RateLimited, Unauthorized
from askoleus.redisconn import SharedRedis


class RateLimiter:
    """Per-client limit of `burst` requests in any window of burst / per_minute minutes (the `limits` library).

    The window is a sliding-window counter: O(1) state per client, atomic in Redis, so one limit holds
    across replicas when ASKOLEUS_REDIS_URL is set. While Redis is unreachable each process counts
    locally (in memory) until Redis answers again. The long-run rate is per_minute, as with the token
    bucket it replaces, and at most `burst` requests pass at once.
    """

    def __init__(self, per_minute: int, burst: int, shared: SharedRedis | None = None) -> None:
        self.item = RateLimitItemPerSecond(burst, max(1, math.ceil(burst * 60 / per_minute)))
        self.local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.shared = shared
        self.remote = (
            SlidingWindowCounterRateLimiter(
                RedisStorage(
                    shared.url,
                    key_prefix=shared.key("limits"),
                    socket_timeout=shared.timeout,
                    socket_connect_timeout=shared.timeout,
                )
            )
            if shared is not None
            else None
        )

    def check(self, client: str) -> None:
        """Count one request for client, or raise RateLimited with the wait in seconds."""
        if self.remote is not None and self.shared is not None:
            remote, shared = self.remote, self.shared
            allowed = shared.call("rate_limit", lambda _: remote.hit(self.item, client), lambda: None)
            if allowed is not None:
                if not allowed:
                    reset = shared.call("rate_limit", lambda _: self._reset(remote, client), lambda: 0.0)
                    raise RateLimited(self._wait(reset))
                return
        if not self.local.hit(self.item, client):
            raise RateLimited(self._wait(self._reset(self.local, client)))

    def _reset(self, limiter: SlidingWindowCounterRateLimiter, client: str) -> float:
        return float(limiter.get_window_stats(self.item, client).reset_time)

    def _wait(self, reset: float) -> int:
        """Whole seconds until a request passes again (the window length when unknown)."""
        return max(1, math.ceil(reset - time.time())) if reset else self.item.get_expiry()


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
