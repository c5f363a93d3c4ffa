"""An unhandled exception becomes the JSON 500, inside CORS and the security headers so it carries them."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from askoleus.api.error_shape import internal_error

log = logging.getLogger("askoleus")


class InternalErrorMiddleware:
    """The 500 for an unexpected exception: no exception text, only the request id (and the log line)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        responded = False

        async def tracking_send(message: Message) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if responded:
                raise
            rid = str(scope.get("state", {}).get("request_id", ""))
            log.exception("unhandled error", extra={"request_id": rid})
            await internal_error(rid)(scope, receive, send)
