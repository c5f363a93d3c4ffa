"""The shared Redis connection (ASKOLEUS_REDIS_URL): short timeouts and a breaker, so Redis never stalls answers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis

log = logging.getLogger("askoleus.redis")
T = TypeVar("T")
# What an unreachable, slow or restarting Redis raises (timeouts and refused connections are ConnectionErrors).
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def connect(url: str, timeout_seconds: float) -> redis.Redis:
    """A client with short socket timeouts; redis-py reconnects on the next command after a failure."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=5,
        decode_responses=True,
    )


class SharedRedis:
    """One client per process and a breaker: after a failure Redis is left alone for retry_seconds."""

    def __init__(
        self,
        url: str,
        timeout_seconds: float = 0.25,
        retry_seconds: float = 2.0,
        prefix: str = "askoleus:",
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout_seconds
        self.client = connect(url, timeout_seconds)
        self.retry_seconds = retry_seconds
        self.prefix = prefix
        self.on_error = on_error  # told the operation that failed (the dependency-errors metric)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def key(self, *parts: str) -> str:
        """A key in askoleus's namespace."""
        return self.prefix + ":".join(parts)

    @property
    def available(self) -> bool:
        """False while the breaker is open (a recent failure)."""
        return time.monotonic() >= self._down_until

    def failed(self, operation: str, exc: BaseException) -> None:
        """Open the breaker, count the failure, and warn once per outage."""
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + self.retry_seconds
        if self.on_error is not None:
            self.on_error(operation)
        if first:
            log.warning("redis unavailable (%s: %s): using local state until it answers", operation, type(exc).__name__)

    def succeeded(self) -> None:
        """Close the breaker after a failure, and say so."""
        if self._down_until:
            with self._lock:
                self._down_until = 0.0
            log.warning("redis answers again: shared state restored")

    def call(self, operation: str, fn: Callable[[redis.Redis], T], fallback: Callable[[], T]) -> T:
        """fn(client), or fallback() when Redis is down or fails now."""
        if not self.available:
            return fallback()
        try:
            result = fn(self.client)
        except REDIS_ERRORS as exc:
            self.failed(operation, exc)
            return fallback()
        self.succeeded()
        return result
