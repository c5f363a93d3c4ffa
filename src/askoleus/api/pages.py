"""HTML pages and static assets: the demo article page, article pages, the widget, the console."""

from __future__ import annotations

from html import escape
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from askoleus.api.deps import HolderDep
from askoleus.errors import NotFound
from askoleus.index.loaded import ArticleInfo

router = APIRouter(include_in_schema=False)
DEMO_SUGGESTIONS = "Why do my legs feel heavy?|Why is iron important for runners?|What is oleuropein?"
STATIC = {
    "widget.js": "application/javascript; charset=utf-8",
    "console.js": "application/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}


def _static(name: str) -> bytes:
    try:
        return resources.files("askoleus").joinpath("static", name).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{name} is not available") from None


def render_article(article: ArticleInfo, widget_attrs: str = "") -> str:
    """An article page with section anchors and the widget embedded by its one tag."""
    parts = [f"<h1>{escape(article.title)}</h1>"]
    for sec in article.sections:
        level = min(max(sec.level, 2), 4)
        if sec.level > 0:
            parts.append(f'<h{level} id="{escape(sec.anchor)}">{escape(sec.heading)}</h{level}>')
        elif sec.anchor:
            parts.append(f'<span id="{escape(sec.anchor)}"></span>')
        parts.extend(f'<p class="{escape(b.kind)}">{escape(b.text)}</p>' for b in sec.blocks if b.kind != "disclaimer")
    if article.disclaimer:
        parts.append(f'<p class="disclaimer"><small>{escape(article.disclaimer)}</small></p>')
    body = "\n".join(parts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(article.title)} — OLEUS blog (askoleus demo)</title>
<style>body{{font:17px/1.6 Georgia,serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1d1d1b}}
h1,h2,h3{{font-family:system-ui,sans-serif;line-height:1.25}}.promo{{background:#f3f1ea;padding:.75rem;border-radius:6px}}
.references{{font-size:.9rem}}.disclaimer{{color:#555;border-top:1px solid #ccc;padding-top:.5rem}}
header{{font-family:system-ui,sans-serif;color:#1f5f46;font-weight:700}}</style></head>
<body><header>OLEUS blog · askoleus demo</header><main><article>
{body}
</article></main>
<script src="/widget.js" data-api="" data-suggestions="{escape(DEMO_SUGGESTIONS)}"{widget_attrs} defer></script>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
async def demo(holder: HolderDep) -> HTMLResponse:
    """A corpus article with the widget embedded, to try askoleus after `askoleus serve`."""
    index = holder.get()
    if not index.articles:
        raise NotFound("no articles are indexed")
    return HTMLResponse(render_article(index.articles[sorted(index.articles)[0]]))


@router.get("/articles/{article_id:path}", response_class=HTMLResponse)
async def article_page(holder: HolderDep, article_id: str) -> HTMLResponse:
    """An indexed article (the default site URL points here, so citation links work locally)."""
    article = holder.get().articles.get(article_id)
    if article is None:
        raise NotFound("no such article")
    return HTMLResponse(render_article(article))


@router.get("/console", response_class=HTMLResponse)
async def console() -> HTMLResponse:
    """The support-staff console (its API calls need the staff key)."""
    return HTMLResponse(_static("console.html"))


def _serve(name: str, media_type: str) -> None:
    """A route of its own per file, so logs and metrics name the file."""

    async def static_file() -> Response:
        return Response(_static(name), media_type=media_type, headers={"Cache-Control": "public, max-age=300"})

    router.add_api_route(f"/{name}", static_file, methods=["GET"], name=name)


for _name, _media_type in STATIC.items():
    _serve(_name, _media_type)


@router.get("/{name}")
async def no_such_page(name: str) -> Response:
    """Any other top-level path: the JSON 404."""
    raise NotFound("no such page")
