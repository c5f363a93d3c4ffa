"""What a running app holds: the current index (hot-swappable), the ask path, the log, limits, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from askoleus.api.security import KeyChecker, RateLimiter
from askoleus.asking import Asking
from askoleus.config import Settings
from askoleus.encoders import Embedder
from askoleus.errors import AskoleusError, IndexNotFound
from askoleus.index import IndexStore, LoadedIndex, load_generation
from askoleus.index.store import Fingerprint
from askoleus.qlog_store import LogStore
from askoleus.redisconn import SharedRedis

log = logging.getLogger("askoleus.index")


class IndexHolder:
    """The generation requests are served from; swapped atomically when a new one is activated.

    A generation that fails verification is remembered as refused (with its message) until CURRENT or
    the generation's files change, so polling neither hashes it again nor logs it again. A server that
    starts while CURRENT is unusable serves the newest earlier generation that was current and verifies
    (degraded, in memory only: CURRENT is never rewritten) and switches forward once CURRENT is good.
    """

    def __init__(
        self, index_dir: Path, embedder: Embedder, on_swap: Callable[[LoadedIndex], None] | None = None
    ) -> None:
        self.store = IndexStore(index_dir)
        self.embedder = embedder
        self.on_swap = on_swap  # told about every generation swapped in (the metrics)
        self.current: LoadedIndex | None = None
        self.wanted: str | None = None  # what CURRENT names while something else is served
        self.last_error: str = ""  # why CURRENT is not what is served, as of the latest look
        self._refused: dict[str, tuple[Fingerprint, str]] = {}
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        """Serving, but not what CURRENT names (it is unusable or was refused)."""
        return self.current is not None and bool(self.last_error)

    def get(self) -> LoadedIndex:
        """The current index, or IndexNotFound (a 503) when none is loaded."""
        index = self.current
        if index is None:
            raise IndexNotFound("the index is not loaded yet: run `askoleus build`")
        return index

    def reload(self, force: bool = False) -> bool:
        """Load the generation CURRENT points to if it changed; keep serving the old one on failure."""
        with self._lock:
            gen, problem = self.store.pointer()
            if gen is not None and not force and self.current is not None and self.current.generation == gen:
                self._report(None, "")  # CURRENT is (back) on the served generation: nothing to report
                return False
            if gen is not None:
                problem = self._try_load(gen, force)
                if not problem:
                    return True
            if self.current is None and problem:
                return self._fall_back(gen, problem)
            self._report(gen, problem)
            return False

    def _try_load(self, gen: str, force: bool) -> str:
        """Swap gen in and return "", or return why it is refused (remembered while its files are unchanged)."""
        fingerprint = self.store.fingerprint(gen)
        remembered = self._refused.get(gen)
        if remembered is not None and remembered[0] == fingerprint and not force:
            return remembered[1]
        try:
            self._swap(self._load(gen))
        except AskoleusError as exc:
            self._refused[gen] = (fingerprint, exc.message)
            return exc.message
        return ""

    def _load(self, gen: str) -> LoadedIndex:
        return load_generation(self.store.generations / gen, self.embedder.name, self.embedder.dim)

    def _swap(self, loaded: LoadedIndex) -> None:
        self.current = loaded  # a single reference swap: in-flight requests keep their generation
        self._refused.pop(loaded.generation, None)
        self._report(None, "")
        log.info("serving index generation %s", loaded.generation)
        if self.on_swap is not None:
            self.on_swap(loaded)

    def _fall_back(self, gen: str | None, problem: str) -> bool:
        """Nothing served and CURRENT unusable: serve the newest earlier generation that was current and verifies."""
        for older in reversed(self.store.activated()):
            if older == gen or (gen is not None and older > gen) or self._try_load(older, False):
                continue
            self.wanted, self.last_error = gen, problem
            log.error(
                "DEGRADED: CURRENT names %s, which cannot be served (%s); serving the earlier generation %s "
                "until a valid generation is activated (CURRENT is left as it is)",
                gen or "no usable generation",
                problem,
                older,
            )
            return True
        self._report(gen, problem)
        return False

    def _report(self, wanted: str | None, problem: str) -> None:
        """Record why CURRENT is not served; a new problem is logged once, not at every poll."""
        if problem and problem != self.last_error:
            served = self.current.generation if self.current else None
            log.error("CURRENT cannot be served (%s); serving %s", problem, served or "nothing")
        self.wanted, self.last_error = (wanted, problem) if problem else (None, "")

    async def watch(self, every_seconds: float) -> None:
        """Notice a newly activated generation (build or rollback) and swap it in, until cancelled."""
        while True:
            await asyncio.sleep(every_seconds)
            with contextlib.suppress(Exception):  # a failed look is retried at the next tick
                await anyio.to_thread.run_sync(self.reload)


@dataclass
class Metrics:
    """Prometheus metrics in a registry of their own (one per app)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("askoleus_requests_total", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "askoleus_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=r,
            buckets=(0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.answers = Counter("askoleus_answers_total", "Answers by status", ["status"], registry=r)
        self.generation = Gauge("askoleus_index_generation_info", "Index generation served", ["generation"], registry=r)
        self.chunks = Gauge("askoleus_index_chunks", "Chunks in the served generation", registry=r)
        self.degraded = Gauge(
            "askoleus_index_degraded", "1 while serving another generation than CURRENT names", registry=r
        )
        self.auth_failures = Counter(
            "askoleus_auth_failures_total", "Requests with a missing or wrong key", ["role"], registry=r
        )
        self.dependency_errors = Counter(
            "askoleus_dependency_errors_total",
            "Failed calls to a shared service (answers went on with local state)",
            ["dependency", "operation"],
            registry=r,
        )
        self.encode_batch = Histogram(
            "askoleus_encode_batch_texts",
            "Questions encoded together in one model call (micro-batching of concurrent answers)",
            registry=r,
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32),
        )
        self.log_pending = Gauge("askoleus_question_log_pending", "Log writes waiting for the database", registry=r)
        self.log_dropped = Counter(
            "askoleus_question_log_dropped_total", "Log writes dropped (queue full or refused)", registry=r
        )

    def dependency_error(self, dependency: str) -> Callable[[str], None]:
        """A callback counting failed operations on dependency."""
        return lambda operation: self.dependency_errors.labels(dependency, operation).inc()

    def count_answer(self, status: str) -> None:
        """One more answer of this status."""
        self.answers.labels(status).inc()

    def count_auth_failure(self, role: str) -> None:
        """One more wrong or missing key for role (staff, admin); never labelled by key or client."""
        self.auth_failures.labels(role).inc()

    def watch_holder(self, holder: IndexHolder) -> None:
        """Read the degraded state from holder at every scrape."""
        self.degraded.set_function(lambda: float(holder.degraded))

    def set_index(self, index: LoadedIndex) -> None:
        """Expose the served generation."""
        self.generation.clear()
        self.generation.labels(index.generation).set(1)
        self.chunks.set(len(index.chunks))


@dataclass
class Services:
    """Everything the routes need, created in the app's lifespan; routes get them through api.deps."""

    settings: Settings
    embedder: Embedder
    holder: IndexHolder
    asking: Asking
    qlog: LogStore
    metrics: Metrics
    limiter: RateLimiter
    keys: KeyChecker
    shared: SharedRedis | None = None  # ASKOLEUS_REDIS_URL: conversations, limits, reload notices
    # Up to ASKOLEUS_ANSWER_THREADS answers in worker threads; further requests queue on the event loop.
    # The encoder runs one model call at a time and puts the questions waiting meanwhile into that
    # call (askoleus.encoders.batching). More parallelism: ASKOLEUS_WORKERS.
    answer_slots: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(1))
