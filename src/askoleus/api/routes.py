"""Public API routes: ask (JSON and SSE), search, feedback, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from askoleus.answer.compose import SentenceEvent
from askoleus.api.deps import (
    AskingDep,
    Caller,
    CallerDep,
    HolderDep,
    MetricsDep,
    QuestionLogDep,
    ServicesDep,
    SettingsDep,
)
from askoleus.api.error_shape import from_error
from askoleus.api.schemas import AskRequest, AskResponse, ErrorResponse, FeedbackRequest, SearchHit, SearchResponse
from askoleus.api.state import Services
from askoleus.errors import IndexNotFound, NotFound, TimedOut
from askoleus.index.loaded import LoadedIndex
from askoleus.sentences import split_sentences

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 429, 503, 504)
}
STREAMED_AS_TEXT = {"answer"}  # every other field of the answer goes out in the `meta` event


def _checked(body: AskRequest, svc: Services, caller: Caller) -> tuple[str, int, LoadedIndex]:
    """Rate limit, question check and staff check: errors that must come before any answer is sent."""
    caller.take_token()
    question = svc.asking.check(body.question)
    if body.debug:
        caller.require_staff()
    return question, min(body.top_k or svc.settings.top_k, svc.settings.max_top_k), svc.holder.get()


async def _answer(
    body: AskRequest,
    svc: Services,
    caller: Caller,
    checked: tuple[str, int, LoadedIndex],
    on_sentence: Callable[[SentenceEvent], None] | None = None,
) -> AskResponse:
    question, top_k, index = checked

    def work() -> AskResponse:
        asked = svc.asking.ask(index, question, top_k, body.conversation_id, caller.request_id, on_sentence)
        debug = {"hits": [h.to_dict() for h in asked.answer.passages]} if body.debug else None
        return AskResponse(**asked.answer.model_dump(), answer_id=asked.answer_id, debug=debug)

    try:
        with anyio.fail_after(svc.settings.request_timeout_seconds):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=svc.answer_slots)
    except TimeoutError:
        raise TimedOut("the answer took too long; please try again") from None


async def _respond(body: AskRequest, svc: ServicesDep, caller: CallerDep) -> AskResponse:
    return await _answer(body, svc, caller, _checked(body, svc, caller))


@router.post("/v1/ask", response_model=AskResponse, responses=ERRORS, tags=["answers"])
async def ask(body: AskRequest, svc: ServicesDep, caller: CallerDep) -> AskResponse:
    """Answer a question from the articles only, with citations and the disclaimer."""
    return await _respond(body, svc, caller)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@router.post(
    "/v1/ask/stream",
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    tags=["answers"],
)
async def ask_stream(body: AskRequest, svc: ServicesDep, caller: CallerDep) -> StreamingResponse:
    """The same answer as server-sent events: meta (all but the text), citations, delta…, disclaimer, done.

    With generated answers (ASKOLEUS_LLM_BASE_URL) each verified sentence is a delta as soon as it
    completes, with the citations it adds, before meta; `replace` then carries the whole answer text when
    the extractive answer took the place of sentences already sent.
    """
    if svc.settings.generated:
        return _event_stream(_generated_events(body, svc, caller, _checked(body, svc, caller)))
    result = await _respond(body, svc, caller)

    async def events() -> AsyncIterator[bytes]:
        try:
            for event in _answer_events(result, streamed=False):
                yield event
                await asyncio.sleep(0)
        except Exception:
            yield _STREAM_ERROR

    return _event_stream(events())


_STREAM_ERROR = _sse("error", {"error": {"code": "internal_error", "message": "the answer could not be sent"}})


def _event_stream(events: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


def _answer_events(result: AskResponse, streamed: bool) -> Iterator[bytes]:
    """meta, citations, the text (unless its sentences were streamed already), disclaimer, done."""
    disclaimer = result.disclaimer
    text = result.answer.removesuffix(disclaimer).rstrip()
    meta = result.model_dump(exclude=STREAMED_AS_TEXT)
    yield _sse("meta", meta)
    yield _sse("citations", {"citations": meta["citations"]})
    if streamed and result.mode == "extractive":  # the fallback replaces the sentences already shown
        yield _sse("replace", {"text": text})
    elif not streamed:
        pieces = split_sentences(text) or [text]
        for i, piece in enumerate(pieces):
            yield _sse("delta", {"text": piece + (" " if i < len(pieces) - 1 else "")})
    yield _sse("disclaimer", {"disclaimer": disclaimer})
    yield _sse("done", {"status": result.status, "took_ms": result.took_ms})


def _sentence_delta(event: SentenceEvent, after_another: bool) -> bytes:
    """A verified sentence as a delta with the citations it adds (a space first unless it opens the answer)."""
    citations = [c.model_dump() for c in event.citations]
    return _sse("delta", {"text": (" " if after_another else "") + event.text, "citations": citations})


async def _generated_events(
    body: AskRequest, svc: Services, caller: Caller, checked: tuple[str, int, LoadedIndex]
) -> AsyncIterator[bytes]:
    """Verified sentences as the worker thread passes them, then the answer's own events."""
    loop = asyncio.get_running_loop()
    sentences: asyncio.Queue[SentenceEvent] = asyncio.Queue()

    def on_sentence(event: SentenceEvent) -> None:  # called in the worker thread
        loop.call_soon_threadsafe(sentences.put_nowait, event)

    task = asyncio.ensure_future(_answer(body, svc, caller, checked, on_sentence))
    streamed = False
    try:
        while True:
            getter = asyncio.ensure_future(sentences.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            yield _sentence_delta(getter.result(), streamed)
            streamed = True
        while not sentences.empty():  # sentences queued just before the answer was done
            yield _sentence_delta(sentences.get_nowait(), streamed)
            streamed = True
        try:
            result = task.result()
        except TimedOut as exc:
            yield _sse("error", {"error": {"code": exc.code, "message": str(exc)}})
            return
        for sse in _answer_events(result, streamed):
            yield sse
    except Exception:
        yield _STREAM_ERROR
    finally:
        task.cancel()


@router.get("/v1/search", response_model=SearchResponse, responses=ERRORS, tags=["search"])
async def search(
    asking: AskingDep,
    holder: HolderDep,
    settings: SettingsDep,
    caller: CallerDep,
    q: str = Query(..., min_length=1, description="Search text"),
    k: int = Query(10, ge=1, le=100, description="How many passages (capped by ASKOLEUS_MAX_TOP_K)"),
    kind: str | None = Query(None, pattern="^(body|promo|references)$", description="Only this kind"),
) -> SearchResponse:
    """Ranked passages with scores, article, section and kind (for support staff)."""
    caller.take_token()
    q = asking.check(q)
    index = holder.get()
    k = min(k, settings.max_top_k)
    hits = await anyio.to_thread.run_sync(lambda: asking.search(index, q, k, kinds=(kind,) if kind else None))
    return SearchResponse(query=q, index_generation=index.generation, hits=[SearchHit(**h.to_dict()) for h in hits])


@router.post("/v1/feedback", status_code=204, responses=ERRORS, tags=["answers"])
async def feedback(body: FeedbackRequest, qlog: QuestionLogDep, caller: CallerDep) -> None:
    """Record a reader's thumbs up or down on an answer."""
    caller.take_token()
    if not await anyio.to_thread.run_sync(qlog.feedback, body.answer_id, body.rating):
        raise NotFound("no such answer")


@router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"], responses={503: {"model": ErrorResponse}})
async def readyz(holder: HolderDep) -> JSONResponse:
    """An index is loaded and requests can be answered; `degraded` while CURRENT's generation cannot be served."""
    current = holder.current
    if current is None:
        return from_error(IndexNotFound("no index loaded"))
    ready = {"status": "ready", "index_generation": current.generation, "chunks": len(current.chunks)}
    if holder.degraded:  # the ids only: the reason (which may name paths) is for the log and admin reload
        ready.update(status="degraded", wanted_generation=holder.wanted)
    return JSONResponse(ready)


@router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
async def metrics(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus metrics: requests, latency, answer statuses, index generation."""
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
