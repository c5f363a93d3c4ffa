"""The FastAPI app factory: nothing heavy happens at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from askoleus import __version__
from askoleus.answer import Answerer
from askoleus.config import Settings, is_placeholder
from askoleus.embed import Embedder, load_embedder
from askoleus.errors import AskoleusError, ConfigError
from askoleus.logging import setup_logging
from askoleus.qlog import QuestionLog
from askoleus.retrieve import QueryEncoder
from . import pages, routes, routes_staff
from .security import (
    BodyLimitMiddleware,
    ClientIdentifier,
    InFlightMiddleware,
    RateLimited,
    RateLimiter,
    SecurityHeadersMiddleware,
    request_id,
)
from .state import IndexHolder, Metrics, Services

access = logging.getLogger("askoleus.access")
log = logging.getLogger("askoleus")


def check_production(settings: Settings) -> None:
    """Refuse to start in production with a missing or placeholder admin or staff key."""
    if settings.environment != "production":
        return
    for name in ("admin_key", "staff_key"):
        if is_placeholder(getattr(settings, name)):
            raise ConfigError(f"ASKOLEUS_{name.upper()} must be set to a strong secret (16+ chars) in production")


def _error(status: int, code: str, message: str, rid: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "request_id": rid}}, status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AskoleusError)
    async def askoleus_error(request: Request, exc: AskoleusError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        message = exc.message if exc.http_status < 500 or exc.code != "error" else "internal error"
        return _error(exc.http_status, exc.code, message, request.state.request_id, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # location and reason only: the input itself is never echoed back
        problems = []
        for e in exc.errors()[:5]:
            where = tuple(e.get("loc", ()))
            if e.get("type") == "extra_forbidden":
                where = where[:-1]  # an unknown field's name is input too
            loc = ".".join(str(p) for p in where if p != "body") or "body"
            reason = str(e.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(f"{loc}: {reason}"[:200])
        return _error(422, "invalid_request", "; ".join(problems) or "invalid request", request.state.request_id)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else "request failed"
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), message, request.state.request_id)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": getattr(request.state, "request_id", "")})
        return _error(500, "internal_error", "internal error", getattr(request.state, "request_id", ""))


class ObserveMiddleware:
    """Request id, metrics and one access-log line per HTTP request; an unhandled error is answered
    here as a JSON 500 so it still passes the security headers, metrics and log.

    Pure ASGI: the same job as an `@app.middleware("http")` function without BaseHTTPMiddleware's
    task group and memory streams, about a millisecond of event-loop time per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id()
        scope.setdefault("state", {})["request_id"] = rid  # what request.state.request_id reads
        started = time.perf_counter()
        status, elapsed, responded = 500, 0.0, False
        rid_header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, elapsed, responded
            if message["type"] == "http.response.start":
                responded = True
                status = message["status"]
                elapsed = time.perf_counter() - started
                message = {**message, "headers": [*message.get("headers", []), rid_header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if responded:
                raise
            log.exception("unhandled error", extra={"request_id": rid})
            await _error(500, "internal_error", "internal error", rid)(scope, receive, send_with_id)
        name = getattr(scope.get("route"), "path", "unmatched")
        app = scope.get("app")
        svc: Services | None = getattr(getattr(app, "state", None), "services", None)
        if svc is not None:
            svc.metrics.requests.labels(scope["method"], name, str(status)).inc()
            svc.metrics.latency.labels(name).observe(elapsed)
        access.info(
            "request",
            extra={
                "request_id": rid,
                "method": scope["method"],
                "route": name,
                "status": status,
                "ms": round(elapsed * 1000, 2),
            },
        )


async def _poll(app: FastAPI, svc: Services) -> None:
    """Notice a newly activated generation (build or rollback) and swap it in."""
    while True:
        await asyncio.sleep(svc.settings.reload_poll_seconds)
        with contextlib.suppress(Exception):
            if await anyio.to_thread.run_sync(svc.holder.reload) and svc.holder.current is not None:
                svc.metrics.set_index(svc.holder.current)


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; the model and index load in the lifespan, not here."""
    settings = settings or Settings()
    check_production(settings)
    setup_logging()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = embedder or await anyio.to_thread.run_sync(load_embedder, settings)
        prepare = getattr(model, "prepare_queries", None)  # faster single-question encodes, if offered
        if prepare is not None:
            await anyio.to_thread.run_sync(prepare)
        holder = IndexHolder(settings.index_dir, model)
        svc = Services(
            settings,
            model,
            holder,
            Answerer(settings, QueryEncoder(model)),
            QuestionLog(settings.question_db, settings.log_retention_days),
            Metrics(),
        )
        app.state.services = svc
        await anyio.to_thread.run_sync(holder.reload)
        if holder.current is not None:
            svc.metrics.set_index(holder.current)
            await anyio.to_thread.run_sync(svc.answerer.encode, "warm up")
        poller = asyncio.create_task(_poll(app, svc)) if settings.reload_poll_seconds > 0 else None
        try:
            yield
        finally:
            if poller:
                poller.cancel()
            svc.qlog.close()

    docs = settings.docs_enabled
    app = FastAPI(
        title="askoleus",
        version=__version__,
        lifespan=lifespan,
        description="Grounded, cited answers from the OLEUS blog articles. Every answer carries the disclaimer.",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.client_id = ClientIdentifier(settings.trusted_proxies)
    # Up to ASKOLEUS_ANSWER_THREADS answers in worker threads; further requests queue on the event
    # loop. The encoder runs one model call at a time and puts the questions waiting meanwhile into
    # that call (askoleus.encoders.batching). More parallelism: ASKOLEUS_WORKERS.
    app.state.answer_slots = anyio.CapacityLimiter(settings.answer_threads)
    _install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(routes_staff.router)
    app.include_router(pages.router)

    app.add_middleware(ObserveMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(InFlightMiddleware, limit=settings.max_in_flight)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app


def factory() -> FastAPI:
    """Entry point for `uvicorn --factory askoleus.api.app:factory` (settings from the environment)."""
    return create_app(Settings())
