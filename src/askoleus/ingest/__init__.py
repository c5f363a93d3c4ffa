"""Ingest stage: article files (.txt, .md, .html) to Article objects; malformed files are reported."""

from .corpus import CorpusResult, Skipped, load_corpus
from .files import SUPPORTED_SUFFIXES, parse_file, parse_text

__all__ = [
    "SUPPORTED_SUFFIXES",
    "CorpusResult",
    "Skipped",
    "load_corpus",
    "parse_file",
    "parse_text",
]
