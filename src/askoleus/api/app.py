"""The FastAPI app factory: nothing heavy happens at import time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from askoleus import __version__
from askoleus.answer import Answerer
from askoleus.api import docs, pages, routes, routes_staff
from askoleus.api.error_shape import install_error_handlers
from askoleus.api.middleware import (
    BodyLimitMiddleware,
    InFlightMiddleware,
    ObserveMiddleware,
    SecurityHeadersMiddleware,
)
from askoleus.api.security import ClientIdentifier, RateLimiter
from askoleus.api.state import IndexHolder, Metrics, Services
from askoleus.asking import Asking
from askoleus.config import Settings, is_placeholder
from askoleus.embed import Embedder, load_embedder
from askoleus.errors import ConfigError
from askoleus.logs import setup_logging
from askoleus.qlog import QuestionLog
from askoleus.retrieve import QueryEncoder


def check_production(settings: Settings) -> None:
    """Refuse to start in production with a missing or placeholder admin or staff key."""
    if settings.environment != "production":
        return
    for name in ("admin_key", "staff_key"):
        if is_placeholder(getattr(settings, name)):
            raise ConfigError(f"ASKOLEUS_{name.upper()} must be set to a strong secret (16+ chars) in production")


async def _load_model(settings: Settings, embedder: Embedder | None) -> Embedder:
    """The given embedder, or the configured model loaded offline, ready for single-question encodes."""
    model: Embedder = embedder if embedder is not None else await anyio.to_thread.run_sync(load_embedder, settings)
    prepare = getattr(model, "prepare_queries", None)  # faster single-question encodes, if offered
    if prepare is not None:
        await anyio.to_thread.run_sync(prepare)
    return model


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; the model and index load in the lifespan, not here."""
    settings = settings or Settings()
    check_production(settings)
    setup_logging()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = await _load_model(settings, embedder)
        qlog = QuestionLog(settings.question_db, settings.log_retention_days)
        answerer = Answerer(settings, QueryEncoder(model))
        services = Services(
            settings=settings,
            embedder=model,
            holder=IndexHolder(settings.index_dir, model, on_swap=metrics.set_index),
            asking=Asking(settings, answerer, qlog, metrics.count_answer),
            qlog=qlog,
            metrics=metrics,
            limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
            client_id=ClientIdentifier(settings.trusted_proxies),
        )
        app.state.services = services  # the one thing app.state holds; routes reach it through api.deps
        await anyio.to_thread.run_sync(services.holder.reload)
        if services.holder.current is not None:
            await anyio.to_thread.run_sync(answerer.encode, "warm up")
        poll = settings.reload_poll_seconds
        watcher = asyncio.create_task(services.holder.watch(poll)) if poll > 0 else None
        try:
            yield
        finally:
            if watcher:
                watcher.cancel()
            qlog.close()

    app = FastAPI(
        title="askoleus",
        version=__version__,
        lifespan=lifespan,
        description="Grounded, cited answers from the OLEUS blog articles. Every answer carries the disclaimer.",
        docs_url=None,  # served by api.docs from a local copy of Swagger UI
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(routes_staff.router)
    if settings.docs_enabled:
        app.include_router(docs.router)
    app.include_router(pages.router)  # last: it ends with the catch-all 404 page

    app.add_middleware(ObserveMiddleware, metrics=metrics)
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
