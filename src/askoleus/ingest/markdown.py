"""Markdown articles: YAML front matter, then a CommonMark body parsed with markdown-it-py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from askoleus.errors import IngestError
from .common import Heading, Item, Para, Parsed, is_true, line_span, line_starts, normalise
from .html import fragment_text

_MD = MarkdownIt("commonmark").enable("table")


def _front_matter(raw: str, source: str) -> tuple[dict[str, Any], int]:
    """The YAML front matter mapping and the 0-based line where the body starts."""
    lines = raw.split("\n")
    if lines[0].strip() != "---":
        return {}, 0
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if close is None:
        raise IngestError(source, "front matter is not closed (no '---' line after the opening one)", line=1)
    try:
        data = yaml.safe_load("\n".join(lines[1:close]))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or getattr(e, "context", None) or type(e).__name__
        line = mark.line + 2 if mark is not None else 1  # +1 for 1-based, +1 for the opening ---
        raise IngestError(source, f"invalid YAML front matter: {normalise(str(problem))}", line=line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise IngestError(source, f"front matter must be a mapping of fields, not a {type(data).__name__}", line=2)
    return data, close + 1


def _str(value: Any) -> str | None:
    """A scalar front-matter value as a stripped string (None for missing/empty/non-scalars)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _tags(value: Any) -> list[str]:
    """Tags from a YAML list or a comma-separated string."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    return [tag for tag in (_str(v) for v in value) if tag]


def _inline_text(token: Token) -> str:
    """Visible text of an inline token: markup removed, link text kept, images and raw HTML dropped."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type == "image":
            continue
        if child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type in ("text", "text_special", "code_inline"):
            parts.append(child.content)
    return normalise("".join(parts))


@dataclass
class _ItemBuffer:
    """Text of an open list item, collected until the item closes or a nested list starts."""

    number: int | None
    parts: list[str] = field(default_factory=list)
    first: int | None = None
    last: int = 0


class _Walker:
    """Turns markdown-it tokens into Heading/Para items with spans in the full file text."""

    def __init__(self, raw: str, body_line: int) -> None:
        self.raw = raw
        self.starts = line_starts(raw)
        self.offset = body_line
        self.items: list[Item] = []
        self.open_items: list[_ItemBuffer] = []
        self.last_map: list[int] = [0, 1]

    def span(self, first: int, last_exclusive: int) -> tuple[int, int]:
        return line_span(self.raw, self.starts, first + self.offset, last_exclusive - 1 + self.offset)

    def add_text(self, text: str, tmap: list[int] | None) -> None:
        first, last = tmap if tmap else self.last_map
        self.last_map = [first, last]
        if not text:
            return
        if self.open_items:
            buf = self.open_items[-1]
            buf.parts.append(text)
            buf.first = first if buf.first is None else buf.first
            buf.last = max(buf.last, last)
            return
        start, end = self.span(first, last)
        self.items.append(Para(text, start, end))

    def flush(self, buf: _ItemBuffer) -> None:
        if buf.parts and buf.first is not None:
            start, end = self.span(buf.first, buf.last)
            self.items.append(Para(normalise(" ".join(buf.parts)), start, end, buf.number))
            buf.number = None  # text after a nested list continues the item, not a new entry
        buf.parts, buf.first = [], None

    def walk(self, tokens: list[Token]) -> list[Item]:
        heading: Token | None = None
        for tok in tokens:
            kind = tok.type
            if kind == "heading_open":
                heading = tok
            elif kind == "inline" and heading is not None:
                start, end = self.span(*(heading.map or self.last_map))
                self.items.append(Heading(_inline_text(tok), int(heading.tag[1:]), start, end))
                heading = None
            elif kind == "inline":
                self.add_text(_inline_text(tok), tok.map)
            elif kind in ("fence", "code_block"):
                self.add_text(normalise(tok.content), tok.map)
            elif kind == "html_block":
                self.add_text(fragment_text(tok.content), tok.map)
            elif kind in ("bullet_list_open", "ordered_list_open") and self.open_items:
                self.flush(self.open_items[-1])
            elif kind == "list_item_open":
                number = int(tok.info) if tok.info.isdigit() else None
                self.open_items.append(_ItemBuffer(number))
            elif kind == "list_item_close" and self.open_items:
                self.flush(self.open_items.pop())
        return self.items


def parse_md(raw: str, source: str) -> Parsed:
    """Parse a Markdown article with optional YAML front matter."""
    meta, body_line = _front_matter(raw, source)
    body = "\n".join(raw.split("\n")[body_line:])
    items = _Walker(raw, body_line).walk(_MD.parse(body))
    title = _str(meta.get("title"))
    headings = [i for i in items if isinstance(i, Heading)]
    h1 = next((h for h in headings if h.level == 1), None)
    if h1 is not None and headings[0] is h1 and (title is None or h1.text.casefold() == normalise(title).casefold()):
        items.remove(h1)  # the leading "# Title" is the article title, not a section
    if title is None and h1 is not None:
        title = h1.text
    return Parsed(
        items=items,
        title=title,
        slug=_str(meta.get("slug")),
        url=_str(meta.get("url")),
        date=_str(meta.get("date")),
        tags=_tags(meta.get("tags")),
        draft=is_true(meta.get("draft")),
    )
