"""What a running app holds: the current index (hot-swappable), the answerer, the log, metrics."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from askoleus.answer import Answerer
from askoleus.config import Settings
from askoleus.embed import Embedder
from askoleus.errors import AskoleusError, IndexNotFound
from askoleus.index import IndexStore, LoadedIndex, load_generation
from askoleus.qlog import QuestionLog

log = logging.getLogger("askoleus.index")


class IndexHolder:
    """The generation requests are served from; swapped atomically when a new one is activated."""

    def __init__(self, index_dir: Path, embedder: Embedder) -> None:
        self.store = IndexStore(index_dir)
        self.embedder = embedder
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
            return True


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

    def set_index(self, index: LoadedIndex) -> None:
        """Expose the served generation."""
        self.generation.clear()
        self.generation.labels(index.generation).set(1)
        self.chunks.set(len(index.chunks))


@dataclass
class Services:
    """Everything the routes need, created by create_app."""

    settings: Settings
    embedder: Embedder
    holder: IndexHolder
    answerer: Answerer
    qlog: QuestionLog
    metrics: Metrics
