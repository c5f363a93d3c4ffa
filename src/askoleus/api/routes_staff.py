"""Staff console API and admin endpoints; each needs its key in the Authorization header."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response

from askoleus import analytics
from askoleus.api.deps import CallerDep, HolderDep, QuestionLogDep, ServicesDep
from askoleus.api.routes import ERRORS

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


@router.post("/v1/admin/reload", tags=["admin"], responses=ERRORS)
async def admin_reload(caller: CallerDep, holder: HolderDep) -> dict[str, Any]:
    """Load the current index generation now (normally noticed by polling)."""
    caller.require_admin()
    changed = await anyio.to_thread.run_sync(holder.reload)
    current = holder.current
    return {
        "reloaded": changed,
        "index_generation": current.generation if current else None,
        "error": holder.last_error or None,
    }
