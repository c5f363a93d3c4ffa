"""Structured parsing of APA-ish Sources entries and detection of which ones a text cites."""

from __future__ import annotations

import re

from askoleus.documents import Reference

# "Authors (2016). Rest" — the year may carry a letter (2016a) or be "n.d.".
_AUTHOR_YEAR_RE = re.compile(r"^(?P<authors>.+?)\s*\((?P<year>\d{4}[a-z]?|n\.\s?d\.)\)\s*[.,:]?\s*(?P<rest>.*)$")
# The title ends at the first sentence end that is not an initial ("U.S.") nor inside brackets.
_TITLE_END_RE = re.compile(r"(?<![\s.][A-Z])([.?!])\s+(?=\S)")
# Volume/issue/pages start at the first ", <digit>" after the journal name.
_JOURNAL_RE = re.compile(r"^(?P<journal>.*?)(?:,\s*(?P<details>\d.*?))?\s*\.?$")


def parse_reference(n: int, text: str) -> Reference:
    """Parse 'Authors (Year). Title. Journal, vol(issue), pages.'; unparseable parts stay empty."""
    text = " ".join(text.split())
    try:
        return _parse(n, text)
    except Exception:
        return Reference(n=n, text=text)


def _parse(n: int, text: str) -> Reference:
    m = _AUTHOR_YEAR_RE.match(text)
    if not m:
        return Reference(n=n, text=text)
    authors, year, rest = m.group("authors").strip(), m.group("year"), m.group("rest").strip()
    end = _TITLE_END_RE.search(rest)
    if end:
        punct = end.group(1)
        title = rest[: end.start()] + ("" if punct == "." else punct)
        source = rest[end.end() :]
    else:
        title, source = rest.rstrip("."), ""
    journal, details = "", ""
    jm = _JOURNAL_RE.match(source.strip())
    if jm:
        journal = jm.group("journal").strip().rstrip(".,")
        details = (jm.group("details") or "").strip()
    return Reference(n=n, text=text, authors=authors, year=year, title=title.strip(), journal=journal, details=details)


def cited_references(text: str, refs: list[Reference]) -> tuple[int, ...]:
    """Numbers of the refs whose first author's surname appears in text as a whole word, in ref order."""
    cited: list[int] = []
    for ref in refs:
        surname = ref.first_author
        if surname and re.search(rf"(?<!\w){re.escape(surname)}(?!\w)", text):
            cited.append(ref.n)
    return tuple(cited)
