"""Who is calling: per-client rate limits and open requests, the client address behind trusted proxies,
and key checks that throttle wrong keys."""

from __future__ import annotations

import hmac
import ipaddress
import math
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import Request
from starlette.types import Scope

from askoleus.errors import RateLimited, TooManyOpen, Unauthorized
from askoleus.redisconn import SharedRedis

SWEEP_SECONDS = 1.0


class LocalStorage(MemoryStorage):
    """`limits`' in-memory storage, sweeping expired counters inline at most once a second.

    MemoryStorage starts a new 10 ms `threading.Timer` thread on every hit whose previous timer has
    fired, i.e. on every request of a server that is not saturated: ~0.2 ms of thread start-up on the
    request path, then a sweep that takes the GIL from the next answer. Counting is unchanged (reads
    expire stale counters themselves); only when memory is reclaimed differs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()  # the one timer MemoryStorage starts itself
        self.timer.join()
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802  # overrides the name-mangled hook of every hit
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]  # name-mangled private method


class RateLimiter:
    """Per-client limit of `burst` requests in any window of burst / per_minute minutes (the `limits` library).

    The window is a sliding-window counter: O(1) state per client, atomic in Redis, so one limit holds
    across replicas when ASKOLEUS_REDIS_URL is set. While Redis is unreachable each process counts
    locally (in memory) until Redis answers again. The long-run rate is per_minute, as with the token
    bucket it replaces, and at most `burst` requests pass at once.
    """

    def __init__(self, per_minute: int, burst: int, shared: SharedRedis | None = None) -> None:
        self.item = RateLimitItemPerSecond(burst, max(1, math.ceil(burst * 60 / per_minute)))
        self.local = SlidingWindowCounterRateLimiter(LocalStorage())
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

    def peek(self, client: str) -> None:
        """RateLimited when client has no request left in the window; counts none."""
        if self.remote is not None and self.shared is not None:
            remote, shared = self.remote, self.shared
            allowed = shared.call("rate_limit", lambda _: remote.test(self.item, client), lambda: None)
            if allowed is not None:
                if not allowed:
                    reset = shared.call("rate_limit", lambda _: self._reset(remote, client), lambda: 0.0)
                    raise RateLimited(self._wait(reset))
                return
        if not self.local.test(self.item, client):
            raise RateLimited(self._wait(self._reset(self.local, client)))


class ClientSlots:
    """How many requests each client has open; past the limit a client gets 429 instead of a slot.

    One address cannot hold every connection the server will work on. Per process, bounded by the
    number of open requests (a client's entry goes when its last request ends).
    """

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._open: dict[str, int] = {}

    def enter(self, client: str) -> None:
        """Count one more open request of client, or raise TooManyOpen."""
        n = self._open.get(client, 0)
        if n >= self.per_client:
            raise TooManyOpen("too many requests at once from your address; retry in a moment")
        self._open[client] = n + 1

    def leave(self, client: str) -> None:
        """One open request of client has ended."""
        n = self._open.get(client, 0) - 1
        if n > 0:
            self._open[client] = n
        else:
            self._open.pop(client, None)


class ClientIdentifier:
    """The client's IP: the socket peer, or X-Forwarded-For only when the peer is a trusted proxy.

    The one place askoleus decides whom to believe: `askoleus serve` runs uvicorn without its own
    proxy-header handling, so the peer here is the real socket peer.
    """

    def __init__(self, trusted_proxies: list[str]) -> None:
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def _is_trusted(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.trusted)

    def of_scope(self, scope: Scope) -> str:
        """Client address of an ASGI request, used for limits (never stored or logged)."""
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"]
        forwarded = [p.strip() for p in ",".join(values).split(",") if p.strip()]
        for hop in reversed(forwarded):  # the right-most hop not added by our own proxies
            if not self._is_trusted(hop):
                return hop
        return forwarded[0] if forwarded else peer

    def __call__(self, request: Request) -> str:
        """Client address of a request (see of_scope)."""
        return self.of_scope(request.scope)


class KeyChecker:
    """Constant-time key checks where wrong keys are throttled per client.

    Every wrong key spends a token of the client's failed-auth bucket; a client with none left gets 429
    before its key is even compared, so keys cannot be guessed at request speed.
    """

    def __init__(self, failures: RateLimiter, on_failure: Callable[[str], None] | None = None) -> None:
        self.failures = failures
        self.on_failure = on_failure  # told the role (staff, admin) of each wrong key: aggregate metrics

    def require(self, request: Request, client: str, expected: str, role: str) -> None:
        """Require `Authorization: Bearer <key>` equal to expected; never from the query string."""
        self.failures.peek(client)
        auth = request.headers.get("authorization", "")
        supplied = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if expected and hmac.compare_digest(supplied.encode(), expected.encode()):
            return
        if self.on_failure is not None:
            self.on_failure(role)
        self.failures.check(client)  # a token is there (peeked): this failure spends it
        raise Unauthorized("a valid key is required")
