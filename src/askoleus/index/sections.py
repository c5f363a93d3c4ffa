"""Sections of a generation: which section each chunk belongs to, and each heading's own vector.

Section-aware ranking (askoleus.retrieve) scores a section by its best passage and by how close
its heading is to the question. The heading vectors are computed at build time and stored as
headings.npy, one row per section in order of first appearance among the chunks; the chunk →
section map is derived from chunks.jsonl, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from askoleus.documents import Chunk

HEADINGS = "headings.npy"
HEADINGS_FORMAT = "heading-text-v1"  # part of the build fingerprint: a change rewrites headings.npy


def heading_text(chunk: Chunk) -> str:
    """What a section's heading vector embeds: its heading (the article title for the intro)."""
    return chunk.section or chunk.title


@dataclass(frozen=True)
class SectionMap:
    """Chunk → section numbers and, per section, its chunks (CSR: members[offsets[s]:offsets[s+1]])."""

    of_chunk: np.ndarray  # int64, one per chunk
    members: np.ndarray  # int64 chunk positions grouped by section
    offsets: np.ndarray  # int64, sections + 1
    headings: list[str]  # heading text per section
    article: np.ndarray  # int64 article number per section (articles in order of first appearance)
    article_starts: np.ndarray  # int64 first section of each article (sections of an article are contiguous)

    @property
    def size(self) -> int:
        """Number of sections."""
        return len(self.headings)


def section_map(chunks: Sequence[Chunk]) -> SectionMap:
    """Number sections by (article, anchor) in order of first appearance."""
    numbers: dict[tuple[str, str], int] = {}
    articles: dict[str, int] = {}
    headings: list[str] = []
    article: list[int] = []
    of_chunk = np.empty(len(chunks), dtype=np.int64)
    for i, c in enumerate(chunks):
        key = (c.article_id, c.anchor)
        if key not in numbers:
            numbers[key] = len(headings)
            headings.append(heading_text(c))
            article.append(articles.setdefault(c.article_id, len(articles)))
        of_chunk[i] = numbers[key]
    members = np.argsort(of_chunk, kind="stable")
    offsets = np.zeros(len(headings) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(of_chunk, minlength=len(headings)))
    art = np.asarray(article, dtype=np.int64)
    if np.any(np.diff(art) < 0):  # chunks come article by article; anything else is a corrupt chunk list
        raise ValueError("the chunks of an article are not contiguous")
    starts = np.flatnonzero(np.concatenate([[True], art[1:] != art[:-1]])) if art.size else art
    return SectionMap(of_chunk, members, offsets, headings, art, starts)


def save_headings(vectors: np.ndarray, path: Path) -> None:
    """Write the heading vectors (float32, one row per section)."""
    np.save(path, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
