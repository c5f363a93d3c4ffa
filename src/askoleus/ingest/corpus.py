"""The whole corpus directory to articles: drafts set aside, malformed files reported, ids kept unique."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from askoleus.documents import Article
from askoleus.errors import IngestError

from .common import normalise
from .files import SUPPORTED_SUFFIXES, parse_file, relative


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed and why (one line, with the line number where it applies)."""

    file: str
    reason: str


@dataclass
class CorpusResult:
    """Everything load_corpus found: parsed articles, skipped files and draft files (front matter `draft`)."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)


def _corpus_files(corpus_dir: Path) -> list[Path]:
    """Supported, non-hidden files under corpus_dir, sorted by relative path."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(corpus_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(
            Path(dirpath) / name
            for name in filenames
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
        )
    return sorted(found, key=lambda p: p.relative_to(corpus_dir).as_posix())


def _skip_reason(err: IngestError) -> str:
    return normalise(f"line {err.line}: {err.reason}" if err.line is not None else err.reason)


def load_corpus(corpus_dir: Path, site_url: str, *, strict: bool = False, max_bytes: int = 5_000_000) -> CorpusResult:
    """Parse every article under corpus_dir; malformed files are skipped (or raise when strict)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise IngestError(str(corpus_dir), "corpus directory does not exist")
    result = CorpusResult()
    owners: dict[str, str] = {}
    for path in _corpus_files(corpus_dir):
        rel = relative(path, corpus_dir)
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
