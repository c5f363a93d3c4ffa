"""Public API routes: ask (JSON and SSE), search, feedback, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from askoleus.api.deps import AskingDep, CallerDep, HolderDep, MetricsDep, QuestionLogDep, ServicesDep, SettingsDep
from askoleus.api.error_shape import from_error
from askoleus.api.schemas import AskRequest, AskResponse, ErrorResponse, FeedbackRequest, SearchHit, SearchResponse
from askoleus.errors import IndexNotFound, NotFound, TimedOut
from askoleus.sentences import split_sentences

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 429, 503, 504)
}
STREAMED_AS_TEXT = {"answer"}  # every other field of the answer goes out in the `meta` event


async def _respond(body: AskRequest, svc: ServicesDep, caller: CallerDep) -> AskResponse:
    caller.take_token()
    question = svc.asking.check(body.question)
    if body.debug:
        caller.require_staff()
    top_k = min(body.top_k or svc.settings.top_k, svc.settings.max_top_k)
    index = svc.holder.get()

    def work() -> AskResponse:
        asked = svc.asking.ask(index, question, top_k, body.conversation_id, caller.request_id)
        debug = {"hits": [h.to_dict() for h in asked.answer.passages]} if body.debug else None
        return AskResponse(**asked.answer.model_dump(), answer_id=asked.answer_id, debug=debug)

    try:
        with anyio.fail_after(svc.settings.request_timeout_seconds):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=svc.answer_slots)
    except TimeoutError:
        raise TimedOut("the answer took too long; please try again") from None


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
    """The same answer as server-sent events: meta (all but the text), citations, delta…, disclaimer, done."""
    result = await _respond(body, svc, caller)
    disclaimer = result.disclaimer
    text = result.answer.removesuffix(disclaimer).rstrip()

    async def events() -> AsyncIterator[bytes]:
        try:
            meta = result.model_dump(exclude=STREAMED_AS_TEXT)
            yield _sse("meta", meta)
            yield _sse("citations", {"citations": meta["citations"]})
            pieces = split_sentences(text) or [text]
            for i, piece in enumerate(pieces):
                yield _sse("delta", {"text": piece + (" " if i < len(pieces) - 1 else "")})
                await asyncio.sleep(0)
            yield _sse("disclaimer", {"disclaimer": disclaimer})
            yield _sse("done", {"status": result.status, "took_ms": result.took_ms})
        except Exception:
            yield _sse("error", {"error": {"code": "internal_error", "message": "the answer could not be sent"}})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


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
    """An index is loaded and requests can be answered."""
    current = holder.current
    if current is None:
        return from_error(IndexNotFound("no index loaded"))
    return JSONResponse({"status": "ready", "index_generation": current.generation, "chunks": len(current.chunks)})


@router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
async def metrics(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus metrics: requests, latency, answer statuses, index generation."""
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
