"""The FastAPI app factory: nothing heavy happens at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from askoleus import __version__
from askoleus.answer import Answerer, warm
from askoleus.answer.common_words import word_table
from askoleus.answer.compose import LLMMetrics, generated_composer
from askoleus.answer.conversations import Conversations, ConversationStore
from askoleus.answer.conversations_redis import RedisConversations
from askoleus.api import docs, pages, routes, routes_staff
from askoleus.api.error_shape import install_error_handlers
from askoleus.api.middleware import (
    AdmissionMiddleware,
    InternalErrorMiddleware,
    ObserveMiddleware,
    SecurityHeadersMiddleware,
)
from askoleus.api.security import ClientIdentifier, KeyChecker, RateLimiter
from askoleus.api.state import IndexHolder, Metrics, Services
from askoleus.asking import Asking
from askoleus.config import Settings, is_placeholder
from askoleus.encoders import BatchingEmbedder, Embedder, load_embedder
from askoleus.errors import ConfigError
from askoleus.logs import setup_logging
from askoleus.notify import GenerationListener
from askoleus.qlog_store import open_question_log
from askoleus.redisconn import SharedRedis
from askoleus.retrieve import QueryEncoder

log = logging.getLogger("askoleus.api")


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


def shared_redis(settings: Settings, on_error: Callable[[str], None]) -> SharedRedis | None:
    """The process's Redis client when ASKOLEUS_REDIS_URL is set."""
    if not settings.redis_url:
        return None
    return SharedRedis(
        settings.redis_url,
        settings.redis_timeout_seconds,
        settings.redis_retry_seconds,
        settings.redis_prefix,
        on_error,
    )


def conversation_store(settings: Settings, shared: SharedRedis | None) -> ConversationStore:
    """Conversations in Redis when it is configured (this process's memory as the fallback), else in memory."""
    local = Conversations(settings.max_conversations, settings.conversation_turns, settings.conversation_ttl_seconds)
    if shared is None:
        return local
    return RedisConversations(shared, local, settings.conversation_turns, settings.conversation_ttl_seconds)


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; the model and index load in the lifespan, not here."""
    settings = settings or Settings()
    check_production(settings)
    setup_logging()
    metrics = Metrics()
    # generated answers (ASKOLEUS_LLM_BASE_URL) count calls, latency, drops and fallbacks on /metrics;
    # made once per app, as the registry is (a lifespan may run more than once)
    llm_metrics = LLMMetrics(metrics.registry) if settings.generated else None
    client_id = ClientIdentifier(settings.trusted_proxies)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(warm)  # first: its transient peak is then lower than the encoder's
        model = await _load_model(settings, embedder)
        if isinstance(model, BatchingEmbedder):
            model.on_batch = metrics.encode_batch.observe
        qlog = await anyio.to_thread.run_sync(
            lambda: open_question_log(
                settings, metrics.dependency_error("postgresql"), metrics.log_dropped.inc, metrics.log_pending.set
            )
        )
        shared = shared_redis(settings, metrics.dependency_error("redis"))
        composer = generated_composer(settings, model.encode, llm_metrics)
        words = await anyio.to_thread.run_sync(word_table, settings, model)
        if words is None and settings.word_table:
            log.warning("no word table for this encoder: new words are encoded per question (run `askoleus build`)")
        answerer = Answerer(settings, QueryEncoder(model, words=words), conversation_store(settings, shared), composer)
        services = Services(
            settings=settings,
            embedder=model,
            holder=IndexHolder(settings.index_dir, model, on_swap=metrics.set_index),
            asking=Asking(settings, answerer, qlog, metrics.count_answer),
            qlog=qlog,
            metrics=metrics,
            limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst, shared),
            keys=KeyChecker(
                RateLimiter(settings.auth_failures_per_minute, settings.auth_failure_burst, shared),
                metrics.count_auth_failure,
            ),
            answer_slots=anyio.CapacityLimiter(settings.answer_threads),
            shared=shared,
        )
        app.state.services = services  # the one thing app.state holds; routes reach it through api.deps
        metrics.watch_holder(services.holder)
        await anyio.to_thread.run_sync(services.holder.reload)
        if services.holder.current is not None:
            await anyio.to_thread.run_sync(answerer.encode, "warm up")
        poll = settings.reload_poll_seconds
        watcher = asyncio.create_task(services.holder.watch(poll)) if poll > 0 else None
        listener = GenerationListener(shared, services.holder.reload) if shared is not None else None
        if listener is not None:
            listener.start()
        try:
            yield
        finally:
            if watcher:
                watcher.cancel()
            if listener is not None:
                await anyio.to_thread.run_sync(listener.stop)
            await anyio.to_thread.run_sync(qlog.close)

    app = FastAPI(
        title="askoleus",
        version=__version__,
        lifespan=lifespan,
        description="Grounded, cited answers from the OLEUS blog articles. Every answer carries the disclaimer.",
        redirect_slashes=False,  # its redirect would copy the Host header into Location
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

    # add_middleware puts each layer outside the ones before: innermost first here
    app.add_middleware(
        AdmissionMiddleware,
        client_id=client_id,
        per_client=settings.max_in_flight_per_client,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout_seconds,
        in_flight=settings.max_in_flight,
        in_flight_staff=settings.max_in_flight_staff,
    )
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        expose_headers=["Retry-After", "X-Request-ID"],
        max_age=600,
    )
    app.add_middleware(ObserveMiddleware, metrics=metrics)
    return app


def factory() -> FastAPI:
    """Entry point for `uvicorn --factory --no-proxy-headers askoleus.api.app:factory` (settings from the
    environment); `askoleus serve` runs it so. The client address is askoleus's call (ASKOLEUS_TRUSTED_PROXIES)."""
    return create_app(Settings())
