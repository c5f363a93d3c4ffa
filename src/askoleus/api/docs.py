"""The API docs: /openapi.json and Swagger UI at /docs, its files served from the installed
fastapi-swagger package (Swagger UI's dist build), never from a CDN, so /docs works offline.

The page has no inline script, so the pages' CSP (`script-src 'self'`) holds for it too.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

router = APIRouter(include_in_schema=False)
ASSETS = {  # file in fastapi_swagger/resources -> media type
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# relative URLs, so the page also works under a path prefix
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>askoleus API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body></html>
"""
CACHED = {"Cache-Control": "public, max-age=3600"}


@cache
def _asset(name: str) -> bytes:
    return resources.files("fastapi_swagger.resources").joinpath(name).read_bytes()


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of this app."""
    return JSONResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
async def docs() -> HTMLResponse:
    """Swagger UI over /openapi.json."""
    return HTMLResponse(PAGE)


@router.get("/docs/init.js")
async def docs_init() -> Response:
    """Swagger UI's start-up, as a file: the page's CSP allows no inline script."""
    return Response(INIT_JS, media_type="application/javascript; charset=utf-8", headers=CACHED)


def _serve(name: str, media_type: str) -> None:
    async def asset() -> Response:
        return Response(_asset(name), media_type=media_type, headers=CACHED)

    router.add_api_route(f"/docs/{name}", asset, methods=["GET"], name=f"docs_{name}")


for _name, _media_type in ASSETS.items():
    _serve(_name, _media_type)
