"""HTML articles (hand-written or Sphinx-built): main content only, walked iteratively."""

from __future__ import annotations

import re
from bisect import bisect_right

import lxml.html
from lxml import etree

from askoleus.errors import IngestError
from .common import Heading, Item, Para, Parsed, is_true, line_span, line_starts, normalise

_NOISE_TAGS = frozenset(
    [
        "nav",
        "header",
        "footer",
        "aside",
        "script",
        "style",
        "noscript",
        "template",
        "form",
        "iframe",
        "svg",
        "button",
        "object",
        "embed",
        "canvas",
    ]
)
_NOISE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCKS = frozenset(["p", "li", "pre", "blockquote", "dd", "dt", "td", "th", "figcaption", "caption"]) | frozenset(
    _HEADINGS
)
_INLINE = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "br",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "ins",
        "kbd",
        "label",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "var",
        "wbr",
    ]
)
_TITLE_SEPARATORS = (" \u2014 ", " | ")
_FIRST_HEADING = "(.//*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6])[1]"


def _new_parser() -> lxml.html.HTMLParser:
    # huge_tree lifts libxml2's nesting limit from 256 to 2048; one parser per call (not thread-safe).
    return lxml.html.HTMLParser(encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True)


def _classes(el: lxml.html.HtmlElement) -> list[str]:
    return (el.get("class") or "").split()


def _is_noise(el: lxml.html.HtmlElement, drop_headers: bool) -> bool:
    """Elements whose text is never article content: chrome, scripts, forms, hidden things."""
    tag = el.tag
    if tag in _NOISE_TAGS:
        return tag != "header" or drop_headers
    if (el.get("role") or "").lower() in _NOISE_ROLES:
        return True
    if "hidden" in el.attrib or (el.get("aria-hidden") or "").lower() == "true":
        return True
    if _HIDDEN_STYLE_RE.search(el.get("style") or ""):
        return True
    return tag == "a" and "headerlink" in _classes(el)


def _drop_noise(root: lxml.html.HtmlElement, drop_headers: bool) -> None:
    doomed = [el for el in root.iter() if isinstance(el.tag, str) and _is_noise(el, drop_headers)]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the element's tail text


def _parse(raw: str, source: str) -> lxml.html.HtmlElement:
    parser = _new_parser()
    try:
        root = lxml.html.document_fromstring(raw.encode("utf-8", "replace"), parser=parser)
    except etree.ParserError:
        raise IngestError(source, "no text content") from None
    except (etree.XMLSyntaxError, ValueError) as e:
        raise IngestError(source, f"unparseable HTML: {normalise(str(e))}") from None
    for err in parser.error_log:
        if "Excessive depth" in err.message:
            # libxml2 stops there and silently loses the rest of the page: refuse instead.
            raise IngestError(source, "HTML is nested too deeply (over 2048 levels)", line=err.line)
    return root


def _meta(root: lxml.html.HtmlElement, name: str) -> str | None:
    for el in root.iter("meta"):
        if name in ((el.get("name") or "").lower(), (el.get("property") or "").lower()):
            value = normalise(el.get("content") or "")
            return value or None
    return None


def _canonical(root: lxml.html.HtmlElement) -> str | None:
    for el in root.iter("link"):
        href = (el.get("href") or "").strip()
        if href and "canonical" in (el.get("rel") or "").lower().split():
            return href
    return None


def _page_title(root: lxml.html.HtmlElement) -> str | None:
    """<title> text without a ' — Site name' or ' | Site name' suffix."""
    el = root.find(".//title")
    text = normalise(el.text_content()) if el is not None else ""
    for sep in _TITLE_SEPARATORS:
        if sep in text:
            text = text.rsplit(sep, 1)[0].strip()
            break
    return text or None


def _heading_text(el: lxml.html.HtmlElement) -> str:
    return normalise(el.text_content().replace("\u00b6", ""))


def _content_root(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The article's own subtree: <main>, <article>, role=main or Sphinx's .body, else <body>."""
    for path in ("//main", "//article", "//*[@role='main']", "//div[contains(concat(' ', @class, ' '), ' body ')]"):
        found = root.xpath(path)
        if found:
            return found[0]
    body = root.find("body")
    return body if body is not None else root


def _in_header(el: lxml.html.HtmlElement, stop: lxml.html.HtmlElement) -> bool:
    for anc in el.iterancestors():
        if anc is stop:
            return False
        if anc.tag == "header":
            return True
    return False


def _title_h1(root: lxml.html.HtmlElement, content: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The article's <h1>: inside <main>/<article> any, else one that is not in a site <header>."""
    if content.tag not in ("body", "html"):
        found = next(content.iter("h1"), None)
        if found is not None:
            return found
    return next((h for h in root.iter("h1") if not _in_header(h, root)), None)


def _heading_anchor(el: lxml.html.HtmlElement) -> str | None:
    """The heading's own id, else the id of the section it opens (Sphinx: <section id=…><h2>)."""
    own = (el.get("id") or "").strip()
    if own:
        return own
    for anc in el.iterancestors():
        if anc.tag == "section" or (anc.tag == "div" and "section" in _classes(anc)):
            first = next(iter(anc.xpath(_FIRST_HEADING)), None)
            if first is not el:
                return None
            return (anc.get("id") or "").strip() or None
    return None


def _trim_closing_tags(raw: str, start: int, stop: int) -> int:
    """Move a span's end back over trailing closing tags and whitespace, which hold no text."""
    while stop > start:
        while stop > start and raw[stop - 1].isspace():
            stop -= 1
        if raw[stop - 1] != ">":
            break
        lt = raw.rfind("<", start, stop)
        if lt <= start or raw[lt + 1 : lt + 2] != "/":
            break
        stop = lt
    return stop


class _Collector:
    """Accumulates text between block boundaries and emits Heading/Para items."""

    def __init__(self, raw: str, element_lines: list[int], skip_h1: lxml.html.HtmlElement | None) -> None:
        self.raw = raw
        self.starts = line_starts(raw)
        self.element_lines = element_lines
        self.skip = skip_h1
        self.items: list[Item] = []
        self.parts: list[str] = []
        self.first: int | None = None
        self.last = 0
        self.cursor = 1  # latest known source line, for text whose element has no line

    def add(self, text: str | None, line: int | None) -> None:
        self.cursor = line or self.cursor
        if not text:
            return
        self.parts.append(text)
        if text.strip():
            self.first = self.cursor if self.first is None else self.first
            self.last = max(self.last, self.cursor)

    def _span(self) -> tuple[int, int]:
        first = self.first or self.cursor
        self.last = max(self.last, first)
        # A block runs until the line before the next element that starts after its last text.
        nxt = bisect_right(self.element_lines, self.last)
        end = self.element_lines[nxt] - 1 if nxt < len(self.element_lines) else len(self.starts)
        start, stop = line_span(self.raw, self.starts, first - 1, max(end, self.last) - 1)
        return start, _trim_closing_tags(self.raw, start, stop)

    def flush(self, ctx: lxml.html.HtmlElement | None) -> None:
        text = normalise("".join(self.parts))
        if text and ctx is not None and ctx.tag in _HEADINGS:
            text = normalise(text.replace("\u00b6", ""))
            if text and ctx is not self.skip:
                start, end = self._span()
                self.items.append(Heading(text, _HEADINGS[ctx.tag], start, end, _heading_anchor(ctx)))
        elif text:
            start, end = self._span()
            self.items.append(Para(text, start, end))
        self.parts, self.first, self.last = [], None, 0


def _walk(content: lxml.html.HtmlElement, collector: _Collector) -> list[Item]:
    """Document-order walk with an explicit stack (no recursion, any nesting depth)."""
    ctx: list[lxml.html.HtmlElement] = []
    stack: list[tuple[lxml.html.HtmlElement, bool, bool]] = [(content, False, False)]
    while stack:
        el, leaving, breaks = stack.pop()
        if not isinstance(el.tag, str):
            collector.add(el.tail, None)
            continue
        if leaving:
            if breaks:
                collector.flush(ctx[-1] if ctx else None)
            if ctx and ctx[-1] is el:
                ctx.pop()
            if el is not content:
                collector.add(el.tail, el.sourceline)
            continue
        in_heading = bool(ctx) and ctx[-1].tag in _HEADINGS
        breaks = el.tag not in _INLINE and not in_heading
        if breaks:
            collector.flush(ctx[-1] if ctx else None)
            if el.tag in _BLOCKS:
                ctx.append(el)
        if el.tag == "br":
            collector.add(" ", el.sourceline)
        collector.add(el.text, el.sourceline)
        stack.append((el, True, breaks))
        stack.extend((child, False, False) for child in reversed(el))
    collector.flush(None)
    return collector.items


def parse_html(raw: str, source: str) -> Parsed:
    """Parse an HTML page into items; title from the first <h1>, else <title>."""
    root = _parse(raw, source)
    element_lines = sorted({el.sourceline for el in root.iter() if el.sourceline})
    draft = is_true(_meta(root, "draft"))
    page_title = _page_title(root)
    _drop_noise(root, drop_headers=False)
    content = _content_root(root)
    title_h1 = _title_h1(root, content)
    title = _heading_text(title_h1) if title_h1 is not None else None
    _drop_noise(root, drop_headers=True)
    several_h1 = sum(1 for _ in content.iter("h1")) > 1
    collector = _Collector(raw, element_lines, None if several_h1 else title_h1)
    items = _walk(content, collector)
    keywords = _meta(root, "keywords") or ""
    return Parsed(
        items=items,
        title=title or page_title,
        slug=_meta(root, "slug"),
        url=_canonical(root),
        date=_meta(root, "date") or _meta(root, "article:published_time"),
        tags=[t.strip() for t in keywords.split(",") if t.strip()],
        draft=draft,
    )


def fragment_text(html: str) -> str:
    """Visible text of an HTML fragment (used for raw HTML blocks inside Markdown)."""
    try:
        root = lxml.html.fragment_fromstring(html.encode("utf-8", "replace"), create_parent="div", parser=_new_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return ""
    _drop_noise(root, drop_headers=True)
    return normalise(root.text_content())
