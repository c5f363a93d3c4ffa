"""Micro-batching: questions that arrive together are encoded in one model call."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .base import Embedder


class _Waiting:
    __slots__ = ("done", "taken", "texts", "vectors")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.taken = False  # in a model call under way
        self.done = False


class BatchingEmbedder:
    """An Embedder whose small encode calls (questions) are combined across threads.

    No timer: a caller that finds the model free encodes everything waiting at that moment, its
    own texts included, and hands each waiting caller its rows; callers that arrive meanwhile wait
    for the model and are then served in the next call. Alone, a question goes straight through; under
    load, one forward pass serves many questions, which costs little more than one. Large calls
    (a build, the staff console) bypass the queue and run alone.

    `parallel` model calls may run at once (ASKOLEUS_ENCODER_CALLS): with one-thread encodes
    (ASKOLEUS_TORCH_THREADS=1) two calls keep two cores busy, where one call at a time leaves a core
    to the rest of the server. The torch backend runs one encode at a time whatever this says.
    """

    def __init__(self, inner: Embedder, max_batch: int = 32, parallel: int = 1) -> None:
        self.inner = inner
        self.max_batch = max_batch
        self.parallel = parallel
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.info: dict[str, Any] = dict(getattr(inner, "info", {}) or {})
        self._queue: list[_Waiting] = []
        self._changed = threading.Condition()
        self._running = 0  # model calls under way
        self.calls = 0  # model calls made for queued texts (tests, metrics)
        self.on_batch: Callable[[int], None] | None = None  # told each queued call's number of texts (metrics)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        if not texts or len(texts) > self.max_batch:
            with self._model():
                return self.inner.encode(texts, batch_size)
        me = _Waiting(texts)
        with self._changed:
            self._queue.append(me)
        while True:
            with self._changed:
                while not me.done and (me.taken or self._running >= self.parallel):
                    self._changed.wait()
                if me.done:
                    assert me.vectors is not None
                    return me.vectors
                self._running += 1
                batch: list[_Waiting] = []
                size = 0
                while self._queue and (not batch or size + len(self._queue[0].texts) <= self.max_batch):
                    size += len(self._queue[0].texts)
                    batch.append(self._queue.pop(0))
                    batch[-1].taken = True
            try:
                vectors = self.inner.encode([t for w in batch for t in w.texts], self.max_batch)
            except BaseException:
                with self._changed:  # the others try again; this caller sees the error
                    for w in batch:
                        w.taken = False
                    self._queue[:0] = [w for w in batch if w is not me]
                    self._running -= 1
                    self._changed.notify_all()
                if me in batch:
                    raise
                continue
            if self.on_batch is not None:
                self.on_batch(len(vectors))
            with self._changed:
                self.calls += 1
                row = 0
                for w in batch:
                    w.vectors, w.done = vectors[row : row + len(w.texts)], True
                    row += len(w.texts)
                self._running -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def _model(self) -> Iterator[None]:
        """Run the model exclusively (for calls that do not go through the queue)."""
        with self._changed:
            while self._running:
                self._changed.wait()
            self._running = self.parallel
        try:
            yield
        finally:
            with self._changed:
                self._running = 0
                self._changed.notify_all()

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage and sentence vectors (not batched across callers: builds are large already)."""
        with self._model():
            return self.inner.encode_passages(texts, spans, batch_size)

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for text, including special tokens."""
        return self.inner.count_tokens(text)

    def prepare_queries(self) -> bool:
        """The inner encoder's start-up preparation for questions, if it has one."""
        prepare = getattr(self.inner, "prepare_queries", None)
        return bool(prepare()) if prepare is not None else False
