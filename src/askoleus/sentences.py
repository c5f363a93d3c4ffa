"""A small rule-based sentence splitter that returns character spans (no models, no downloads)."""

from __future__ import annotations

import re

# Units (km, mg, min...) are not here: they take no period, so "I ran 30 km. Then..." is two sentences.
_ABBREVIATIONS = frozenset(
    [
        "al",
        "e.g",
        "i.e",
        "etc",
        "vs",
        "cf",
        "fig",
        "figs",
        "no",
        "nos",
        "vol",
        "pp",
        "p",
        "ed",
        "eds",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "approx",
        "ca",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s+)""")
_NEXT_START = re.compile(r"""\s+["'“‘(\[]?[A-Z0-9À-ÖØ-Þ]""")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at index dot ends an abbreviation or an initial rather than a sentence."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "([\"'":
        start -= 1
    word = text[start:dot].lower().rstrip(".")
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    # initials such as "R.M." or "J." and dotted acronyms like "U.S."
    return bool(re.fullmatch(r"(?:[a-z]\.)*[a-z]", word))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split text into sentences; returns (start, end) spans with surrounding whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if not _NEXT_START.match(text, end):
            continue
        last_dot = m.start() if m.group().startswith(".") and len(m.group().rstrip("\"'”’)]")) == 1 else -1
        if last_dot >= 0 and _is_abbreviation(text, last_dot):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of text, in order."""
    return [text[s:e] for s, e in sentence_spans(text)]
