"""A circuit breaker: after N consecutive failures, skip the model for a cool-down, then try once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed → open after `failures` consecutive failures; after `cooldown` seconds one trial call
    is let through (half-open): a success closes the breaker, a failure opens it again."""

    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """True while calls are being skipped."""
        with self._lock:
            return self._opened_at is not None and (self._trial or self.clock() - self._opened_at < self.cooldown)

    def allow(self) -> bool:
        """Whether to call the model now (claims the single half-open trial when the cool-down is over)."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._trial or self.clock() - self._opened_at < self.cooldown:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        """The model answered: close the breaker."""
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        """The model failed: count it, and open (or re-open) the breaker at the threshold."""
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.threshold:
                self._opened_at, self._trial = self.clock(), False
