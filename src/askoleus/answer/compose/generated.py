"""Generated answers: the model drafts from the passages, every sentence is verified, else extractive.

Only the sentences that pass answer.verify reach the reader. A model that is down, slow, answers an
error or something malformed, or whose draft mostly fails verification, gives the extractive answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from askoleus.answer.models import Citation, Study
from askoleus.answer.verify import Dropped, Encode, Kept, Passage, UnitVectors, Verdict, split_complete, verify
from askoleus.config import Settings
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit

from .base import ComposedAnswer, Fallback, FinalEvent, SentenceEvent, StreamEvent
from .breaker import CircuitBreaker
from .client import ModelFailure, stream_draft
from .extractive import extractive
from .metrics import LLMMetrics
from .prompt import make_passages, messages

log = logging.getLogger(__name__)

# The model gets this share of ASKOLEUS_REQUEST_TIMEOUT_SECONDS at most: the rest is for retrieval,
# verification and, if the model fails late, the extractive answer.
REQUEST_SHARE = 0.6


class _Numbering:
    """Answer markers [1].. in order of first use, and the citations behind them."""

    def __init__(self, hits: list[Hit], passages: list[Passage], index: LoadedIndex) -> None:
        self.hits, self.passages, self.index = hits, passages, index
        self.numbers: dict[int, int] = {}
        self.snippets: dict[int, list[str]] = {}
        self.sentences: list[str] = []

    def add(self, kept: Kept) -> SentenceEvent:
        new = [n for n in kept.markers if n not in self.numbers]
        for n in new:
            self.numbers[n] = len(self.numbers) + 1
        for n, j in kept.evidence:
            sentence = self.passages[n - 1].sentences[j]
            if sentence not in self.snippets.setdefault(n, []):
                self.snippets[n].append(sentence)
        text = kept.text + "".join(f" [{self.numbers[n]}]" for n in kept.markers)
        self.sentences.append(text)
        return SentenceEvent(text, [self.citation(n) for n in new])

    def citation(self, n: int) -> Citation:
        """The citation for passage n: the snippet is the passage's sentences that support the answer."""
        hit = self.hits[n - 1]
        c = hit.chunk
        article = self.index.articles.get(c.article_id)
        refs = [r for r in (article.references if article else []) if r.n in c.ref_ids]
        return Citation(
            n=self.numbers[n],
            title=c.title,
            url=c.url,
            section=c.section,
            snippet=" ".join(self.snippets.get(n, [])),
            source=c.source,
            score=round(hit.score, 4),
            chunk_id=c.id,
            references=[
                Study(n=r.n, text=r.text, authors=r.authors, year=r.year, title=r.title, journal=r.journal)
                for r in refs
            ],
        )

    def answer(self, dropped: tuple[Dropped, ...]) -> ComposedAnswer:
        citations = [self.citation(n) for n in self.numbers]
        return ComposedAnswer(" ".join(self.sentences), citations, "generated", dropped, len(self.sentences))


class GeneratedComposer:
    """Drafts with the configured model, verifies, falls back; one per process (it holds the breaker)."""

    def __init__(
        self,
        settings: Settings,
        encode: Encode,
        metrics: LLMMetrics | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.settings = settings
        self.encode = encode
        self.metrics = metrics or LLMMetrics()
        self.breaker = breaker or CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_seconds)

    def budget(self) -> float:
        """Seconds the model may take for one answer."""
        return min(self.settings.llm_timeout_seconds, REQUEST_SHARE * self.settings.request_timeout_seconds)

    def compose(
        self,
        question: str,
        hits: list[Hit],
        index: LoadedIndex,
        fallback: Fallback,
        on_sentence: Callable[[SentenceEvent], None] | None = None,
    ) -> ComposedAnswer:
        """The verified generated answer, or the extractive one; for a worker thread (no running loop)."""
        return asyncio.run(self.compose_async(question, hits, index, fallback, on_sentence))

    async def compose_async(
        self,
        question: str,
        hits: list[Hit],
        index: LoadedIndex,
        fallback: Fallback,
        on_sentence: Callable[[SentenceEvent], None] | None = None,
    ) -> ComposedAnswer:
        """compose for async callers."""
        final: ComposedAnswer | None = None
        async for event in self.stream(question, hits, index, fallback):
            if isinstance(event, FinalEvent):
                final = event.answer
            elif on_sentence is not None:
                on_sentence(event)
        assert final is not None  # stream always ends with a FinalEvent
        return final

    async def stream(
        self, question: str, hits: list[Hit], index: LoadedIndex, fallback: Fallback
    ) -> AsyncIterator[StreamEvent]:
        """Verified sentences as each completes (never raw tokens), then one FinalEvent."""
        if not hits:
            yield FinalEvent(self._fallback(fallback, "no_passages"))
            return
        if not self.breaker.allow():
            yield FinalEvent(self._fallback(fallback, "circuit_open"))
            return
        passages = make_passages(index, hits)
        numbering = _Numbering(hits, passages, index)
        queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        started = time.monotonic()
        deadline = started + self.budget()
        producer = asyncio.create_task(self._produce(question, passages, queue))
        results: list[Kept | Dropped] = []
        failure: str | None = None
        try:
            while True:
                try:
                    kind, value = await asyncio.wait_for(queue.get(), max(deadline - time.monotonic(), 0.0))
                except TimeoutError:
                    failure = "timeout"
                    break
                if kind == "failure":
                    failure = str(value)
                    break
                if kind == "end":
                    break
                assert isinstance(value, Kept | Dropped)
                results.append(value)
                if isinstance(value, Kept):
                    yield numbering.add(value)
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
        self.metrics.latency.observe(time.monotonic() - started)
        dropped = tuple(r for r in results if isinstance(r, Dropped))
        for d in dropped:
            self.metrics.dropped.labels(d.reason).inc()
        kept = [r for r in results if isinstance(r, Kept)]
        self.metrics.kept.inc(len(kept))
        shown = bool(kept)
        if failure is not None:
            self.breaker.failure()
            self.metrics.calls.labels(failure).inc()
            self.metrics.failures.labels(failure).inc()
            log.warning("model call failed (%s); extractive answer", failure)
            yield FinalEvent(self._fallback(fallback, failure, dropped, len(kept)), replace=shown)
            return
        self.breaker.success()
        self.metrics.calls.labels("ok").inc()
        self._breaker_gauge()
        if not results:
            yield FinalEvent(self._fallback(fallback, "empty"))
        elif not Verdict(tuple(kept), dropped).enough:
            log.info("%d of %d drafted sentences dropped; extractive answer", len(dropped), len(results))
            yield FinalEvent(self._fallback(fallback, "too_little_survived", dropped, len(kept)), replace=shown)
        else:
            self.metrics.answers.labels("generated").inc()
            yield FinalEvent(numbering.answer(dropped))

    async def _produce(self, question: str, passages: list[Passage], queue: asyncio.Queue[tuple[str, object]]) -> None:
        """Read the model's stream, verify sentences as they complete, and queue the results."""
        chat = messages(question, passages, self.settings.max_answer_sentences)
        buffer, finish = "", None
        cache: UnitVectors = {}
        try:
            async for piece, reason in stream_draft(self.settings, chat, self.budget()):
                buffer += piece
                finish = reason or finish
                done, buffer = split_complete(buffer)
                for result in await self._verify(done, passages, cache):
                    queue.put_nowait(("result", result))
            tail = buffer.strip()
            if tail and finish == "length":
                queue.put_nowait(("result", Dropped(tail, "incomplete")))
            elif tail:
                for result in await self._verify([tail], passages, cache):
                    queue.put_nowait(("result", result))
            queue.put_nowait(("end", None))
        except ModelFailure as exc:
            queue.put_nowait(("failure", exc.reason))
        except Exception:  # a failure of ours must still give the reader the extractive answer
            log.exception("generated answer failed")
            queue.put_nowait(("failure", "error"))

    async def _verify(
        self, sentences: Sequence[str], passages: list[Passage], cache: UnitVectors
    ) -> tuple[Kept | Dropped, ...]:
        if not sentences:
            return ()
        threshold = self.settings.llm_support_threshold
        return await asyncio.to_thread(verify, sentences, passages, self.encode, threshold, cache)

    def _fallback(
        self, fallback: Fallback, reason: str, dropped: tuple[Dropped, ...] = (), kept: int = 0
    ) -> ComposedAnswer:
        self.metrics.fallbacks.labels(reason).inc()
        self.metrics.answers.labels("extractive").inc()
        self._breaker_gauge()
        return extractive(fallback, reason, dropped, kept)

    def _breaker_gauge(self) -> None:
        self.metrics.breaker_open.set(1 if self.breaker.open else 0)


def generated_composer(
    settings: Settings, encode: Encode, metrics: LLMMetrics | None = None
) -> GeneratedComposer | None:
    """The generated composer when ASKOLEUS_LLM_BASE_URL is set, else None (extractive answers)."""
    return GeneratedComposer(settings, encode, metrics) if settings.generated else None
