"""What a request must pass before any work: its client's open-request limit, a body that arrives in
time and fits ASKOLEUS_MAX_BODY_BYTES, then a free slot of its lane (public API or staff)."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from askoleus.api.error_shape import from_error
from askoleus.api.security import ClientIdentifier, ClientSlots
from askoleus.errors import AskoleusError, BodyTimeout, Overloaded, PayloadTooLarge, TooManyOpen

OPERATIONS = ("/healthz", "/readyz", "/metrics")  # never limited: probes and scrapes must get through
STAFF_PREFIXES = ("/v1/console/", "/v1/admin/")


@dataclass
class Lane:
    """A budget of requests at work at once."""

    limit: int
    active: int = 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body read already, then passes on (to see a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class AdmissionMiddleware:
    """Admits a request to the app only once it has its body, so a stalled upload holds no shared slot.

    1. The client may have at most ASKOLEUS_MAX_IN_FLIGHT_PER_CLIENT requests open (else 429).
    2. The whole body must arrive within ASKOLEUS_BODY_TIMEOUT_SECONDS (else 408, connection closed)
       and fit ASKOLEUS_MAX_BODY_BYTES (else 413, refused before reading when the length is declared).
    3. Then API requests take a slot of their lane: ASKOLEUS_MAX_IN_FLIGHT for the public API,
       ASKOLEUS_MAX_IN_FLIGHT_STAFF for the console and admin, so staff never wait behind readers
       (else a fast 503). Pages and operations endpoints have no lane.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        client_id: ClientIdentifier,
        per_client: int,
        max_body_bytes: int,
        body_timeout: float,
        in_flight: int,
        in_flight_staff: int,
    ) -> None:
        self.app = app
        self.client_id = client_id
        self.slots = ClientSlots(per_client)
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.public = Lane(in_flight)
        self.staff = Lane(in_flight_staff)

    def _lane(self, path: str) -> Lane | None:
        if path.startswith(STAFF_PREFIXES):
            return self.staff
        return self.public if path.startswith("/v1/") else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = self.client_id.of_scope(scope)
        scope.setdefault("state", {})["client"] = client  # decided once; api.deps reads it
        counted = scope["path"] not in OPERATIONS
        try:
            if counted:
                self.slots.enter(client)
        except TooManyOpen as exc:
            return await _refuse(exc, scope, receive, send)
        try:
            body = await self._read_body(scope, receive, send)
            if body is not None:
                await self._admit(scope, _replay(body, receive), send)
        finally:
            if counted:
                self.slots.leave(client)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None when the request was answered (408, 413) or the client left."""
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_body_bytes):
                await _refuse(PayloadTooLarge("request body is too large"), scope, receive, send)
                return None
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.body_timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    break
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        if deadline.cancelled_caught:
            late = BodyTimeout("the request body did not arrive in time")
            await _refuse(late, scope, receive, send, {"Connection": "close"})
        else:
            await _refuse(PayloadTooLarge("request body is too large"), scope, receive, send)
        return None

    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self._lane(scope["path"])
        if lane is None:
            return await self.app(scope, receive, send)
        if lane.active >= lane.limit:
            return await _refuse(Overloaded("the server is busy; try again shortly"), scope, receive, send)
        lane.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            lane.active -= 1


async def _refuse(
    exc: AskoleusError, scope: Scope, receive: Receive, send: Send, headers: dict[str, str] | None = None
) -> None:
    """The error response, with the request id (CORS and security headers are added further out)."""
    rid = str(scope.get("state", {}).get("request_id", ""))
    await from_error(exc, rid, headers)(scope, receive, send)
