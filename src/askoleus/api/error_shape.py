"""The one JSON error shape: every error response, from a handler or a middleware, is written here."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from askoleus.errors import AskoleusError

log = logging.getLogger("askoleus")
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def error_response(
    status: int, code: str, message: str, request_id: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    """`{"error": {"code", "message", "request_id"}}` with the status."""
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    return JSONResponse(body, status, headers=headers)


def from_error(exc: AskoleusError, request_id: str = "", headers: dict[str, str] | None = None) -> JSONResponse:
    """The response for an AskoleusError (with Retry-After when it has one); a bare 500 says no more."""
    message = exc.message if exc.http_status < 500 or exc.code != "error" else "internal error"
    if exc.retry_after is not None:
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    return error_response(exc.http_status, exc.code, message, request_id, headers)


def internal_error(request_id: str) -> JSONResponse:
    """The 500 for an unexpected exception: no exception text, only the request id."""
    return error_response(500, "internal_error", "internal error", request_id)


def _validation_message(exc: RequestValidationError) -> str:
    """Where and why, for the first five problems: the input itself is never echoed back."""
    problems = []
    for e in exc.errors()[:5]:
        where = tuple(e.get("loc", ()))
        if e.get("type") == "extra_forbidden":
            where = where[:-1]  # an unknown field's name is input too
        loc = ".".join(str(p) for p in where if p != "body") or "body"
        reason = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{loc}: {reason}"[:200])
    return "; ".join(problems) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Map our errors, invalid requests and routing errors to the error shape.

    Unexpected exceptions are answered by ObserveMiddleware, so that they still pass its metrics and log.
    """

    @app.exception_handler(AskoleusError)
    async def askoleus_error(request: Request, exc: AskoleusError) -> JSONResponse:
        return from_error(exc, request.state.request_id)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _validation_message(exc), request.state.request_id)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else "request failed"
        return error_response(exc.status_code, code, message, request.state.request_id)
