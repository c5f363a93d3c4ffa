"""Read the article corpus (.txt, .md, .html) into Article objects; malformed files are reported."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from askoleus.documents import Article
from askoleus.errors import IngestError
from .common import build_article, one_line
from .html import parse_html
from .markdown import parse_md
from .text import parse_txt

__all__ = [
    "SUPPORTED_SUFFIXES",
    "CorpusResult",
    "Skipped",
    "load_corpus",
    "parse_file",
    "parse_text",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
_FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
_PARSERS = {"txt": parse_txt, "md": parse_md, "html": parse_html}


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed and why (one line, with the line number where it applies)."""

    file: str
    reason: str


@dataclass
class CorpusResult:
    """Everything load_corpus found: parsed articles, skipped files and draft files."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)


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


def _relative(path: Path, root: Path) -> str:
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
    rel = _relative(path, root)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(rel, f"unsupported file type {path.suffix!r}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(rel, f"file too large ({size} bytes, limit {max_bytes})")
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(rel, f"cannot read file: {one_line(e.strerror or str(e))}") from None
    if len(data) > max_bytes:  # the file grew between stat and read
        raise IngestError(rel, f"file too large ({len(data)} bytes, limit {max_bytes})")
    raw = _decode(data, rel)
    if not raw.strip():
        raise IngestError(rel, "empty file")
    return parse_text(raw, source=rel, fmt=fmt, site_url=site_url, sha256=hashlib.sha256(data).hexdigest())


def _corpus_files(corpus_dir: Path) -> list[Path]:
    """Supported, non-hidden files under corpus_dir, sorted by relative path."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(corpus_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(corpus_dir).as_posix())


def _skip_reason(err: IngestError) -> str:
    return one_line(f"line {err.line}: {err.reason}" if err.line is not None else err.reason)


def load_corpus(corpus_dir: Path, site_url: str, *, strict: bool = False, max_bytes: int = 5_000_000) -> CorpusResult:
    """Parse every article under corpus_dir; malformed files are skipped (or raise when strict)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise IngestError(str(corpus_dir), "corpus directory does not exist")
    result = CorpusResult()
    owners: dict[str, str] = {}
    for path in _corpus_files(corpus_dir):
        rel = _relative(path, corpus_dir)
        try:
            article = parse_file(path, corpus_dir, site_url, max_bytes)
            if article.draft:
                result.drafts.append(rel)
                continue
            if article.id in owners:
                raise IngestError(rel, f"duplicate article id {article.id!r} (already used by {owners[article.id]})")
        except IngestError as e:
            if strict:
                raise
            result.skipped.append(Skipped(rel, _skip_reason(e)))
            continue
        owners[article.id] = rel
        result.articles.append(article)
    return result
