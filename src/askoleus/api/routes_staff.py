"""Staff console API and admin endpoints; each needs its key in the Authorization header."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response

from askoleus import analytics, notify
from askoleus.api.deps import CallerDep, HolderDep, QuestionLogDep, ServicesDep
from askoleus.api.routes import ERRORS
from askoleus.api.state import Services
from askoleus.overview.charts import overview_charts
from askoleus.overview.report import build_overview, day_range
from askoleus.overview.topics import topics_csv

router = APIRouter()


@router.get("/v1/console/check", tags=["console"], responses=ERRORS)
async def console_check(caller: CallerDep) -> dict[str, bool]:
    """200 when the staff key is right (the console's login)."""
    caller.require_staff()
    return {"ok": True}


@router.get("/v1/console/questions", tags=["console"], responses=ERRORS)
async def recent_questions(
    caller: CallerDep,
    qlog: QuestionLogDep,
    limit: int = Query(100, ge=1, le=1000),
    status: str | None = Query(None, pattern="^(answered|not_covered|medical_referral|emergency)$"),
    feedback: str | None = Query(None, pattern="^(up|down)$"),
) -> dict[str, list[dict[str, Any]]]:
    """Recent questions with status and feedback."""
    caller.require_staff()
    return {"items": await anyio.to_thread.run_sync(lambda: qlog.recent(limit, status, feedback))}


@router.get("/v1/console/gaps", tags=["console"], responses=ERRORS)
async def gaps(
    caller: CallerDep, qlog: QuestionLogDep, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, list[dict[str, Any]]]:
    """Questions the articles did not cover: the content gaps."""
    caller.require_staff()
    return {"items": await anyio.to_thread.run_sync(qlog.gaps, limit)}


@router.get("/v1/console/thumbs-down", tags=["console"], responses=ERRORS)
async def thumbs_down(
    caller: CallerDep, qlog: QuestionLogDep, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, list[dict[str, Any]]]:
    """Answers marked unhelpful, with the passages behind them."""
    caller.require_staff()
    return {"items": await anyio.to_thread.run_sync(qlog.thumbs_down, limit)}


@router.get("/v1/console/top", tags=["console"], responses=ERRORS)
async def most_asked(
    caller: CallerDep,
    svc: ServicesDep,
    days: int = Query(30, ge=1, le=365),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, list[dict[str, Any]]]:
    """The most asked questions of the last days, grouped by meaning."""
    caller.require_staff()
    return {"items": await anyio.to_thread.run_sync(analytics.most_asked, svc.qlog, svc.embedder, days, limit)}


@router.get(
    "/v1/console/export.csv",
    tags=["console"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **ERRORS},
)
async def export_csv(caller: CallerDep, qlog: QuestionLogDep) -> Response:
    """The question log as CSV."""
    caller.require_staff()
    body = await anyio.to_thread.run_sync(qlog.export_csv)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="askoleus-questions.csv"'},
    )


# -- overview (issue 15): the aggregations live in askoleus.overview; this block only wires them --

FirstDay = Annotated[date | None, Query(alias="from", description="First day, YYYY-MM-DD (UTC)")]
LastDay = Annotated[date | None, Query(alias="to", description="Last day, YYYY-MM-DD (UTC; default today)")]


def _overview(svc: Services, days: int | None, start: date | None, end: date | None) -> dict[str, Any]:
    rng = day_range(days, start, end, svc.settings.log_retention_days)
    index = svc.holder.current
    retriever = svc.asking.answerer.retriever(index) if index is not None else None
    return build_overview(
        svc.qlog.read,
        rng,
        svc.settings,
        embedder=svc.embedder,
        index=index,
        retriever=retriever,
        store=svc.holder.store,
        dialect=svc.qlog.dialect,
    )


@router.get("/v1/console/overview", tags=["console"], responses=ERRORS)
async def overview(
    caller: CallerDep,
    svc: ServicesDep,
    days: int | None = Query(None, ge=1, le=366, description="The last N days (default 30)"),
    start: FirstDay = None,
    end: LastDay = None,
    charts: bool = Query(False, description="Add the charts as SVG documents (the console uses them)"),
) -> dict[str, Any]:
    """The overview: questions per day by status, rates, gap topics, citations, latency, index history."""
    caller.require_staff()

    def work() -> dict[str, Any]:
        data = _overview(svc, days, start, end)
        if charts:
            data["charts"] = overview_charts(data)
        return data

    return await anyio.to_thread.run_sync(work)


@router.get("/v1/console/generated", tags=["console"], responses=ERRORS)
async def generated_answers(
    caller: CallerDep,
    svc: ServicesDep,
    days: int | None = Query(None, ge=1, le=366, description="The last N days (default 30)"),
    start: FirstDay = None,
    end: LastDay = None,
    limit: int = Query(200, ge=1, le=1000, description="How many dropped sentences to list, newest first"),
) -> dict[str, Any]:
    """Generated answers over the range: the drop rate (dropped / drafted sentences) and each dropped sentence."""
    caller.require_staff()
    rng = day_range(days, start, end, svc.settings.log_retention_days)
    since, until = rng.first * 86400.0, (rng.last + 1) * 86400.0
    review = await anyio.to_thread.run_sync(lambda: svc.qlog.generated_review(since, until, limit))
    return {"range": rng.to_dict(), **review}


@router.get(
    "/v1/console/overview/gaps.csv",
    tags=["console"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **ERRORS},
)
async def gap_topics_csv(
    caller: CallerDep,
    svc: ServicesDep,
    days: int | None = Query(None, ge=1, le=366, description="The last N days (default 30)"),
    start: FirstDay = None,
    end: LastDay = None,
) -> Response:
    """The gap topics of the range as CSV: the editors' to-write list."""
    caller.require_staff()
    data = await anyio.to_thread.run_sync(lambda: _overview(svc, days, start, end))
    name = f"askoleus-gap-topics-{data['range']['from']}-{data['range']['to']}.csv"
    return Response(
        topics_csv(data["gap_topics"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/v1/admin/reload", tags=["admin"], responses=ERRORS)
async def admin_reload(caller: CallerDep, holder: HolderDep, svc: ServicesDep) -> dict[str, Any]:
    """Load the current index generation now and tell the other replicas (normally noticed by polling)."""
    caller.require_admin()
    changed = await anyio.to_thread.run_sync(holder.reload)
    current = holder.current
    if current is not None and svc.shared is not None:
        await anyio.to_thread.run_sync(notify.publish_generation, svc.shared, current.generation)
    return {
        "reloaded": changed,
        "index_generation": current.generation if current else None,
        "error": holder.last_error or None,
    }
