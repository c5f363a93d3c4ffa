"""Log writes that wait for the database: bounded, in order, written by one thread, dropped only when counted."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("askoleus.qlog")
C = TypeVar("C")  # what a write needs: a database connection
Write = Callable[[C], None]


class WriteQueue(Generic[C]):
    """Pending writes, applied in batches by a daemon thread; while the database is down they wait.

    write_batch(writes) applies writes in one transaction or raises: a `retryable` error (the database
    is unreachable) keeps them queued, retried every retry_seconds; any other error drops that batch,
    counted and logged. Past max_pending a new write is dropped and counted.
    """

    def __init__(
        self,
        write_batch: Callable[[list[Write[C]]], None],
        max_pending: int,
        retryable: tuple[type[BaseException], ...],
        retry_seconds: float = 1.0,
        batch_size: int = 200,
        on_error: Callable[[BaseException], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
        on_pending: Callable[[int], None] | None = None,
    ) -> None:
        self.write_batch = write_batch
        self.max_pending = max_pending
        self.retryable = retryable
        self.retry_seconds = retry_seconds
        self.batch_size = batch_size
        self.on_error = on_error
        self.on_dropped = on_dropped
        self.on_pending = on_pending
        self.dropped = 0
        self.healthy = True  # the last batch was written
        self._pending: deque[Write[C]] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="askoleus-qlog-writer", daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def idle(self) -> bool:
        """Nothing waiting and the database took the last batch."""
        return self.healthy and not self._pending

    def submit(self, write: Write[C]) -> bool:
        """Queue a write; False when the queue is full and it is dropped (counted, logged)."""
        with self._cond:
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                dropped = self.dropped
            else:
                self._pending.append(write)
                self._cond.notify()
                dropped = 0
            pending = len(self._pending)
        if dropped:
            if dropped == 1 or dropped % 100 == 0:
                log.error("question log queue full (%d pending): %d writes dropped so far", pending, dropped)
            if self.on_dropped is not None:
                self.on_dropped(1)
            return False
        if self.on_pending is not None:
            self.on_pending(pending)
        return True

    def flush(self, timeout: float) -> bool:
        """Wait up to timeout seconds for the queue to empty; True when it did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and time.monotonic() < deadline:
                self._cond.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            return not self._pending

    def close(self, timeout: float = 5.0) -> int:
        """Write what can be written within timeout, then stop; returns the writes left (counted dropped)."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            left = len(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        self._thread.join(timeout=self.retry_seconds + 2)
        if left:
            self.dropped += left
            log.error("question log: %d writes could not be written before shutdown", left)
            if self.on_dropped is not None:
                self.on_dropped(left)
        return left

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                batch = list(self._pending)[: self.batch_size]
            try:
                self.write_batch(batch)
            except self.retryable as exc:  # the database is down: keep the batch, retry
                if self.healthy:
                    log.warning("question log database unavailable (%s): writes wait in memory", type(exc).__name__)
                self.healthy = False
                if self.on_error is not None:
                    self.on_error(exc)
                with self._cond:
                    self._cond.wait(self.retry_seconds)
                continue
            except Exception:  # the database refused these writes: retrying would block the queue
                log.exception("question log: %d writes refused by the database and dropped", len(batch))
                self.dropped += len(batch)
                if self.on_dropped is not None:
                    self.on_dropped(len(batch))
            with self._cond:
                for _ in range(min(len(batch), len(self._pending))):  # close() may have emptied it
                    self._pending.popleft()
                pending = len(self._pending)
                self._cond.notify_all()
            if not self.healthy:
                log.warning("question log database answers again: %d queued writes left", pending)
            self.healthy = True
            if self.on_pending is not None:
                self.on_pending(pending)
