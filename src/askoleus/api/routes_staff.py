"""Staff console API and admin endpoints; each needs its key in the Authorization header."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from askoleus.overview.charts import overview_charts
from askoleus.overview.report import build_overview, day_range
from askoleus.overview.topics import topics_csv

from .routes import ERRORS, services
from .security import check_key

router = APIRouter()
SIMILAR = 0.82  # cosine above which two questions count as the same question


def _staff(request: Request) -> None:
    check_key(request, services(request).settings.staff_key)


@router.get("/v1/console/check", tags=["console"], responses=ERRORS)
async def console_check(request: Request) -> dict[str, bool]:
    """200 when the staff key is right (the console's login)."""
    _staff(request)
    return {"ok": True}


@router.get("/v1/console/questions", tags=["console"], responses=ERRORS)
async def recent_questions(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    status: str | None = Query(None, pattern="^(answered|not_covered|medical_referral|emergency)$"),
    feedback: str | None = Query(None, pattern="^(up|down)$"),
) -> dict[str, list[dict[str, Any]]]:
    """Recent questions with status and feedback."""
    _staff(request)
    items = await anyio.to_thread.run_sync(lambda: services(request).qlog.recent(limit, status, feedback))
    return {"items": items}


@router.get("/v1/console/gaps", tags=["console"], responses=ERRORS)
async def gaps(request: Request, limit: int = Query(100, ge=1, le=1000)) -> dict[str, list[dict[str, Any]]]:
    """Questions the articles did not cover: the content gaps."""
    _staff(request)
    return {"items": await anyio.to_thread.run_sync(services(request).qlog.gaps, limit)}


@router.get("/v1/console/thumbs-down", tags=["console"], responses=ERRORS)
async def thumbs_down(request: Request, limit: int = Query(100, ge=1, le=1000)) -> dict[str, list[dict[str, Any]]]:
    """Answers marked unhelpful, with the passages behind them."""
    _staff(request)
    return {"items": await anyio.to_thread.run_sync(services(request).qlog.thumbs_down, limit)}


def group_similar(questions: list[str], vectors: np.ndarray, threshold: float = SIMILAR) -> list[dict[str, Any]]:
    """Greedy clustering of questions by cosine similarity, biggest groups first."""
    groups: list[dict[str, Any]] = []
    centroids: list[np.ndarray] = []
    for q, v in zip(questions, vectors, strict=True):
        sims = [float(c @ v) for c in centroids]
        best = int(np.argmax(sims)) if sims else -1
        if best >= 0 and sims[best] >= threshold:
            g = groups[best]
            g["count"] += 1
            if q not in g["examples"] and len(g["examples"]) < 5:
                g["examples"].append(q)
        else:
            groups.append({"question": q, "count": 1, "examples": [q]})
            centroids.append(v)
    return sorted(groups, key=lambda g: -g["count"])


@router.get("/v1/console/top", tags=["console"], responses=ERRORS)
async def most_asked(
    request: Request, days: int = Query(30, ge=1, le=365), limit: int = Query(50, ge=1, le=500)
) -> dict[str, list[dict[str, Any]]]:
    """The most asked questions of the last days, grouped by meaning."""
    _staff(request)
    svc = services(request)

    def work() -> list[dict[str, Any]]:
        questions = svc.qlog.questions_since(days)
        if not questions:
            return []
        distinct = list(dict.fromkeys(questions))
        vecs = svc.embedder.encode(distinct, batch_size=64)
        by_text = {q: vecs[i] for i, q in enumerate(distinct)}
        return group_similar(questions, np.stack([by_text[q] for q in questions]))[:limit]

    return {"items": await anyio.to_thread.run_sync(work)}


@router.get(
    "/v1/console/export.csv",
    tags=["console"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **ERRORS},
)
async def export_csv(request: Request) -> Response:
    """The question log as CSV."""
    _staff(request)
    body = await anyio.to_thread.run_sync(services(request).qlog.export_csv)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="askoleus-questions.csv"'},
    )


# -- overview (issue 15): the aggregations live in askoleus.overview; this block only wires them --

FirstDay = Annotated[date | None, Query(alias="from", description="First day, YYYY-MM-DD (UTC)")]
LastDay = Annotated[date | None, Query(alias="to", description="Last day, YYYY-MM-DD (UTC; default today)")]


def _overview(request: Request, days: int | None, start: date | None, end: date | None) -> dict[str, Any]:
    svc = services(request)
    rng = day_range(days, start, end, svc.settings.log_retention_days)
    index = svc.holder.current
    retriever = svc.answerer.retriever(index) if index is not None else None
    return build_overview(
        svc.qlog.read,
        rng,
        svc.settings,
        embedder=svc.embedder,
        index=index,
        retriever=retriever,
        store=svc.holder.store,
    )


@router.get("/v1/console/overview", tags=["console"], responses=ERRORS)
async def overview(
    request: Request,
    days: int | None = Query(None, ge=1, le=366, description="The last N days (default 30)"),
    start: FirstDay = None,
    end: LastDay = None,
    charts: bool = Query(False, description="Add the charts as SVG documents (the console uses them)"),
) -> dict[str, Any]:
    """The overview: questions per day by status, rates, gap topics, citations, latency, index history."""
    _staff(request)

    def work() -> dict[str, Any]:
        data = _overview(request, days, start, end)
        if charts:
            data["charts"] = overview_charts(data)
        return data

    return await anyio.to_thread.run_sync(work)


@router.get(
    "/v1/console/overview/gaps.csv",
    tags=["console"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **ERRORS},
)
async def gap_topics_csv(
    request: Request,
    days: int | None = Query(None, ge=1, le=366, description="The last N days (default 30)"),
    start: FirstDay = None,
    end: LastDay = None,
) -> Response:
    """The gap topics of the range as CSV: the editors' to-write list."""
    _staff(request)
    data = await anyio.to_thread.run_sync(lambda: _overview(request, days, start, end))
    name = f"askoleus-gap-topics-{data['range']['from']}-{data['range']['to']}.csv"
    return Response(
        topics_csv(data["gap_topics"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/v1/admin/reload", tags=["admin"], responses=ERRORS)
async def admin_reload(request: Request) -> dict[str, Any]:
    """Load the current index generation now (normally noticed by polling)."""
    svc = services(request)
    check_key(request, svc.settings.admin_key)
    changed = await anyio.to_thread.run_sync(svc.holder.reload)
    if changed and svc.holder.current is not None:
        svc.metrics.set_index(svc.holder.current)
    current = svc.holder.current
    return {
        "reloaded": changed,
        "index_generation": current.generation if current else None,
        "error": svc.holder.last_error or None,
    }
