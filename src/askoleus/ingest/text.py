"""Plain-text site exports: title line, blank-line paragraphs, short lines as headings."""

from __future__ import annotations

import re

from .common import (
    HEADING_MAX_CHARS,
    HEADING_MAX_WORDS,
    Heading,
    Item,
    Para,
    Parsed,
    is_disclaimer,
    is_promo,
    is_references_heading,
    is_separator,
    normalise,
)

# A line is (start, end): offsets of its first and one-past-last non-whitespace char.
Line = tuple[int, int]

_ENTRY_RE = re.compile(r"(?:(?P<n>\d{1,3})[.)]|[-*\u2022\u2013])\s+")
_NOT_HEADING_END = (".", ",", ";", ":")


def _lines(raw: str) -> list[Line | None]:
    """Every line as its trimmed span, or None when it is blank (whitespace/NBSP only)."""
    out: list[Line | None] = []
    offset = 0
    for text in raw.split("\n"):
        stripped = text.strip()
        if stripped:
            start = offset + len(text) - len(text.lstrip())
            out.append((start, start + len(stripped)))
        else:
            out.append(None)
        offset += len(text) + 1
    return out


def _paragraphs(raw: str) -> list[list[Line]]:
    """Groups of consecutive non-blank lines."""
    paras: list[list[Line]] = []
    current: list[Line] = []
    for line in _lines(raw):
        if line is None:
            if current:
                paras.append(current)
            current = []
        else:
            current.append(line)
    if current:
        paras.append(current)
    return paras


def _is_heading_text(text: str) -> bool:
    """Short, unpunctuated, not a list item, promo or disclaimer."""
    return (
        len(text.split()) <= HEADING_MAX_WORDS
        and len(text) <= HEADING_MAX_CHARS
        and not text.endswith(_NOT_HEADING_END)
        and not is_separator(text)
        and not _ENTRY_RE.match(text)
        and not is_promo(text)
        and not is_disclaimer(text)
    )


def _para(raw: str, lines: list[Line], number: int | None = None) -> Para:
    start, end = lines[0][0], lines[-1][1]
    return Para(normalise(raw[start:end]), start, end, number)


def _entries(raw: str, lines: list[Line]) -> list[Para]:
    """Reference entries: a numbered or bulleted line starts one, other lines continue it.

    Without any numbers or bullets, every line is an entry of its own.
    """
    if not any(_ENTRY_RE.match(raw, start, end) for start, end in lines):
        return [_para(raw, [line]) for line in lines]
    groups: list[tuple[int | None, list[Line]]] = []
    for start, end in lines:
        m = _ENTRY_RE.match(raw, start, end)
        if m or not groups:
            n = int(m.group("n")) if m and m.group("n") else None
            groups.append((n, [(m.end() if m else start, end)]))
        else:
            groups[-1][1].append((start, end))
    return [_para(raw, group, n) for n, group in groups]


def parse_txt(raw: str, source: str = "") -> Parsed:
    """Parse a plain-text export: first line title (a repeat of it is dropped), then paragraphs."""
    del source  # plain text has no syntax that can be malformed
    paras = _paragraphs(raw)
    if not paras:
        return Parsed(items=[])
    title_line, *rest_of_first = paras[0]
    title = normalise(raw[title_line[0] : title_line[1]])
    paras = ([rest_of_first] if rest_of_first else []) + paras[1:]
    if paras and normalise(raw[paras[0][0][0] : paras[0][0][1]]).casefold() == title.casefold():
        paras = ([paras[0][1:]] if len(paras[0]) > 1 else []) + paras[1:]

    # has_more[i]: some paragraph after i carries text, so a short line at i may be a heading.
    has_more = [False] * len(paras)
    seen_text = False
    for i in range(len(paras) - 1, -1, -1):
        has_more[i] = seen_text
        seen_text = seen_text or not is_separator(_para(raw, paras[i]).text)

    items: list[Item] = []
    in_refs = False
    for i, lines in enumerate(paras):
        first = normalise(raw[lines[0][0] : lines[0][1]])
        if is_references_heading(first) and (len(lines) > 1 or has_more[i]):
            items.append(Heading(first.rstrip(":").strip(), 2, lines[0][0], lines[0][1]))
            in_refs = True
            items.extend(_entries(raw, lines[1:]))
        elif len(lines) == 1 and has_more[i] and _is_heading_text(first):
            items.append(Heading(first, 2, lines[0][0], lines[0][1]))
            in_refs = False
        elif in_refs:
            items.extend(_entries(raw, lines))
        else:
            items.append(_para(raw, lines))
    return Parsed(items=items, title=title)
