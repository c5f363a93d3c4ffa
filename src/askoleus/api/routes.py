"""Public API routes: ask (JSON and SSE), search, feedback, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from askoleus.answer import Answer
from askoleus.errors import AskoleusError, InvalidRequest, NotFound
from askoleus.sentences import split_sentences
from .schemas import AskRequest, ErrorResponse, FeedbackRequest, clean_question
from .security import check_key
from .state import Services

router = APIRouter()
qlog_logger = logging.getLogger("askoleus.questions")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 429, 503, 504)
}


class TimedOut(AskoleusError):
    """The answer took longer than the per-request timeout."""

    code = "timeout"
    http_status = 504


class AskResponse(Answer):
    """An answer plus the id to send feedback about it (and staff-only debug data)."""

    answer_id: str = Field(description="Id for POST /v1/feedback")
    debug: dict[str, Any] | None = Field(None, description="Staff only: retrieved passages with scores")


class SearchHit(BaseModel):
    """One ranked passage."""

    id: str
    text: str
    title: str
    url: str
    section: str
    anchor: str
    source: str
    kind: str
    article_id: str
    score: float
    dense: float
    lexical: float


class SearchResponse(BaseModel):
    """Ranked passages for a query."""

    query: str
    index_generation: str
    hits: list[SearchHit]


def services(request: Request) -> Services:
    """The app's Services."""
    return request.app.state.services  # type: ignore[no-any-return]


def _validate_question(svc: Services, question: str) -> None:
    if len(question) > svc.settings.max_question_chars:
        raise InvalidRequest(f"question is longer than {svc.settings.max_question_chars} characters")


async def _answer(request: Request, body: AskRequest) -> AskResponse:
    svc = services(request)
    request.app.state.limiter.check(request.app.state.client_id(request))
    _validate_question(svc, body.question)
    if body.debug:
        check_key(request, svc.settings.staff_key)
    top_k = min(body.top_k or svc.settings.top_k, svc.settings.max_top_k)
    index = svc.holder.get()

    def work() -> AskResponse:
        answer = svc.answerer.ask(index, body.question, top_k, body.conversation_id)
        top = max((c.score for c in answer.citations), default=None)
        answer_id = svc.qlog.record(
            body.question,
            answer.status,
            answer.answer,
            [c.model_dump() for c in answer.citations],
            answer.index_generation,
            top,
            latency_ms=answer.took_ms,
        )
        svc.metrics.answers.labels(answer.status).inc()
        if svc.settings.log_questions:  # off by default: question text can be personal
            qlog_logger.info(
                "question",
                extra={
                    "request_id": getattr(request.state, "request_id", ""),
                    "question": body.question,
                    "status": answer.status,
                },
            )
        debug = None
        if body.debug:
            hits = svc.answerer.retriever(index).search(body.question, top_k, kinds=("body",))
            debug = {"hits": [h.to_dict() for h in hits]}
        return AskResponse(**answer.model_dump(), answer_id=answer_id, debug=debug)

    try:
        with anyio.fail_after(svc.settings.request_timeout_seconds):
            return await anyio.to_thread.run_sync(
                work, abandon_on_cancel=True, limiter=getattr(request.app.state, "answer_slots", None)
            )
    except TimeoutError:
        raise TimedOut("the answer took too long; please try again") from None


@router.post("/v1/ask", response_model=AskResponse, responses=ERRORS, tags=["answers"])
async def ask(request: Request, body: AskRequest) -> AskResponse:
    """Answer a question from the articles only, with citations and the disclaimer."""
    return await _answer(request, body)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@router.post(
    "/v1/ask/stream",
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    tags=["answers"],
)
async def ask_stream(request: Request, body: AskRequest) -> StreamingResponse:
    """The same answer as server-sent events: meta (citations), delta…, disclaimer, done (or error)."""
    result = await _answer(request, body)
    disclaimer = result.disclaimer
    text = result.answer.removesuffix(disclaimer).rstrip()

    async def events() -> AsyncIterator[bytes]:
        try:
            meta = result.model_dump(
                include={"status", "conversation_id", "answer_id", "index_generation", "citations", "related"}
            )
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
    request: Request,
    q: str = Query(..., min_length=1, description="Search text"),
    k: int = Query(10, ge=1, le=100, description="How many passages (capped by ASKOLEUS_MAX_TOP_K)"),
    kind: str | None = Query(None, pattern="^(body|promo|references)$", description="Only this kind"),
) -> SearchResponse:
    """Ranked passages with scores, article, section and kind (for support staff)."""
    svc = services(request)
    request.app.state.limiter.check(request.app.state.client_id(request))
    try:
        q = clean_question(q)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    _validate_question(svc, q)
    index = svc.holder.get()
    k = min(k, svc.settings.max_top_k)
    hits = await anyio.to_thread.run_sync(
        lambda: svc.answerer.retriever(index).search(q, k, kinds=(kind,) if kind else None)
    )
    return SearchResponse(query=q, index_generation=index.generation, hits=[SearchHit(**h.to_dict()) for h in hits])


@router.post("/v1/feedback", status_code=204, responses=ERRORS, tags=["answers"])
async def feedback(request: Request, body: FeedbackRequest) -> None:
    """Record a reader's thumbs up or down on an answer."""
    svc = services(request)
    request.app.state.limiter.check(request.app.state.client_id(request))
    if not await anyio.to_thread.run_sync(svc.qlog.feedback, body.answer_id, body.rating):
        raise NotFound("no such answer")


@router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"], responses={503: {"model": ErrorResponse}})
async def readyz(request: Request) -> JSONResponse:
    """An index is loaded and requests can be answered."""
    holder = services(request).holder
    if holder.current is None:
        return JSONResponse(
            {"error": {"code": "index_not_found", "message": "no index loaded", "request_id": ""}}, status_code=503
        )
    return JSONResponse(
        {"status": "ready", "index_generation": holder.current.generation, "chunks": len(holder.current.chunks)}
    )


@router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus metrics: requests, latency, answer statuses, index generation."""
    return PlainTextResponse(generate_latest(services(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)
