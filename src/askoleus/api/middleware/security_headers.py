"""Safe response headers: nosniff everywhere, no-store on the API, a CSP on pages, an unframeable console."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors {fa}"
)
NOT_PAGES = ("/metrics", "/healthz", "/readyz")


class SecurityHeadersMiddleware:
    """Adds the headers a response does not set itself, and drops the Server header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                ]
                if path.startswith("/v1/") and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                if path == "/widget.js":
                    extra.append((b"cross-origin-resource-policy", b"cross-origin"))
                elif not path.startswith("/v1/") and path not in NOT_PAGES:
                    console = path.startswith("/console")
                    fa = "'none'" if console else "'self'"
                    extra.append((b"content-security-policy", PAGE_CSP.format(fa=fa).encode()))
                    extra.append((b"x-frame-options", b"DENY" if console else b"SAMEORIGIN"))
                message["headers"] = headers + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, with_headers)
