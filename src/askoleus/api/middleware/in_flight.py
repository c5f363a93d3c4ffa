"""A global cap on concurrent API requests (ASKOLEUS_MAX_IN_FLIGHT)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from askoleus.api.error_shape import from_error
from askoleus.api.middleware.body_limit import OWN_HEADERS
from askoleus.errors import Overloaded


class InFlightMiddleware:
    """Past the cap, a fast 503 instead of a queue; pages, health and metrics are never capped."""

    def __init__(self, app: ASGIApp, limit: int, prefix: str = "/v1/") -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        if self.active >= self.limit:
            busy = Overloaded("the server is busy; try again shortly")
            return await from_error(busy, headers=OWN_HEADERS)(scope, receive, send)
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
