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

from askoleus.api.security import ClientIdentifier, RateLimiter
from askoleus.asking import Asking
from askoleus.config import Settings
from askoleus.embed import Embedder
from askoleus.errors import AskoleusError, IndexNotFound
from askoleus.index import IndexStore, LoadedIndex, load_generation
from askoleus.qlog import QuestionLog

log = logging.getLogger("askoleus.index")


class IndexHolder:
    """The generation requests are served from; swapped atomically when a new one is activated."""

    def __init__(
        self, index_dir: Path, embedder: Embedder, on_swap: Callable[[LoadedIndex], None] | None = None
    ) -> None:
        self.store = IndexStore(index_dir)
        self.embedder = embedder
        self.on_swap = on_swap  # told about every generation swapped in (the metrics)
        self.current: LoadedIndex | None = None
        self.last_error: str = ""
        self._lock = threading.Lock()

    def get(self) -> LoadedIndex:
        """The current index, or IndexNotFound (a 503) when none is loaded."""
        index = self.current
        if index is None:
            raise IndexNotFound("the index is not loaded yet: run `askoleus build`")
        return index

    def reload(self, force: bool = False) -> bool:
        """Load the generation CURRENT points to if it changed; keep serving the old one on failure."""
        with self._lock:
            gen = self.store.current_id()
            if gen is None or (not force and self.current is not None and self.current.generation == gen):
                if gen is not None:
                    self.last_error = ""  # CURRENT is (back) on the served generation: nothing to report
                return False
            try:
                loaded = load_generation(self.store.generations / gen, self.embedder.name, self.embedder.dim)
            except AskoleusError as exc:
                self.last_error = exc.message
                log.error("index generation refused, still serving the previous one: %s", exc.message)
                return False
            self.current = loaded  # a single reference swap: in-flight requests keep their generation
            self.last_error = ""
            log.info("serving index generation %s", gen)
            if self.on_swap is not None:
                self.on_swap(loaded)
            return True

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

    def count_answer(self, status: str) -> None:
        """One more answer of this status."""
        self.answers.labels(status).inc()

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
    qlog: QuestionLog
    metrics: Metrics
    limiter: RateLimiter
    client_id: ClientIdentifier
    # Answers run one at a time in a worker thread (the model is locked per encode anyway): waiting
    # requests queue on the event loop instead of crowding threads and torch's threads onto the same
    # cores, which on 2 cores gave +30% answers/s at 8 concurrent clients and ~50 MB less RSS
    # (bench/query.py). More parallelism: ASKOLEUS_WORKERS.
    answer_slots: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(1))
