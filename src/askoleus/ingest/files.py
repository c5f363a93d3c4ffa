"""One article file (.txt, .md, .html) to an Article: read, decode, parse; problems raise IngestError."""

from __future__ import annotations

import hashlib
from pathlib import Path

from askoleus.documents import Article
from askoleus.errors import IngestError

from .common import build_article, normalise
from .html import parse_html
from .markdown import parse_md
from .text import parse_txt

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
_FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
_PARSERS = {"txt": parse_txt, "md": parse_md, "html": parse_html}


def parse_text(raw: str, *, source: str, fmt: str, site_url: str, sha256: str) -> Article:
    """Parse already-decoded file text into an Article (pure: no I/O)."""
    if fmt not in _PARSERS:
        raise IngestError(source, f"unsupported format {fmt!r}")
    if not raw.strip():
        raise IngestError(source, "empty file")
    if raw.startswith("\ufeff"):
        raw = " " + raw[1:]  # same length, so spans stay offsets into the decoded file text
    parsed = _PARSERS[fmt](raw, source)
    return build_article(parsed, raw, source=source, fmt=fmt, site_url=site_url, sha256=sha256)


def relative(path: Path, root: Path) -> str:
    """path relative to root in POSIX form (its file name when it lies outside root)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _decode(data: bytes, rel: str) -> str:
    """UTF-8 text of a file, or an IngestError locating the first bad byte."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise IngestError(rel, f"binary file (NUL byte at offset {nul})", line=data.count(b"\n", 0, nul) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise IngestError(
            rel, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); save the file as UTF-8", line=line
        ) from None


def parse_file(path: Path, root: Path, site_url: str, max_bytes: int = 5_000_000) -> Article:
    """Read and parse one article file; raises IngestError naming the corpus-relative file."""
    rel = relative(path, root)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(rel, f"unsupported file type {path.suffix!r}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(rel, f"file too large ({size} bytes, limit {max_bytes})")
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(rel, f"cannot read file: {normalise(e.strerror or str(e))}") from None
    if len(data) > max_bytes:  # the file grew between stat and read
        raise IngestError(rel, f"file too large ({len(data)} bytes, limit {max_bytes})")
    raw = _decode(data, rel)
    if not raw.strip():
        raise IngestError(rel, "empty file")
    return parse_text(raw, source=rel, fmt=fmt, site_url=site_url, sha256=hashlib.sha256(data).hexdigest())
