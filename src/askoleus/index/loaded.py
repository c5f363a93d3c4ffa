"""A generation loaded into memory and verified: what the retriever searches."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from askoleus.documents import Chunk, PageSection, Reference, is_web_url
from askoleus.errors import IndexCorrupt

from .dense import load_dense
from .lexical import LexicalIndex
from .sections import HEADINGS, SectionMap, section_map
from .store import verify_generation

CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
SENTENCES = "sentences.npy"
DENSE = "dense.faiss"
LEXICAL = "lexical"
ARTICLES = "articles.json"
WORDS = "words.json"  # the articles' vocabulary (optional: generations built before it lack it)
WORD_VECTORS = "words.npy"  # one vector per word of WORDS, same encoder
REQUIRED = (CHUNKS, VECTORS, SENTENCES, DENSE, ARTICLES)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")


@dataclass
class ArticleInfo:
    """What answers need to know about an article besides its chunks."""

    id: str
    title: str
    url: str
    source: str
    references: list[Reference] = field(default_factory=list)
    sections: list[PageSection] = field(default_factory=list)
    disclaimer: str | None = None


@dataclass
class LoadedIndex:
    """One verified generation in memory."""

    generation: str
    manifest: dict[str, Any]
    chunks: list[Chunk]
    hashes: list[str]
    vectors: np.ndarray
    sent_spans: list[list[tuple[int, int]]]
    sent_offsets: np.ndarray
    sent_vectors: np.ndarray
    dense: faiss.Index
    lexical: LexicalIndex
    articles: dict[str, ArticleInfo]
    vocabulary: list[str] = field(default_factory=list)  # rows of word_vectors; empty in older generations
    word_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    sections: SectionMap = field(default_factory=lambda: section_map([]))
    headings: np.ndarray | None = None  # one vector per section; None in generations built before them

    def sentence_vectors(self, i: int) -> np.ndarray:
        """Sentence vectors of chunk i (rows align with sent_spans[i])."""
        return self.sent_vectors[self.sent_offsets[i] : self.sent_offsets[i + 1]]

    @cached_property
    def words(self) -> frozenset[str]:
        """Every word the passages use, lowercased as written (spelling correction maps onto these)."""
        return frozenset(vocabulary(self.chunks))

    @cached_property
    def words_by_shape(self) -> dict[tuple[str, int], list[str]]:
        """The words grouped by first letter and length, so a one-edit lookup reads only its neighbours."""
        shapes: dict[tuple[str, int], list[str]] = {}
        for w in sorted(self.words):
            shapes.setdefault((w[:1], len(w)), []).append(w)
        return shapes

    @cached_property
    def kinds(self) -> np.ndarray:
        """Every chunk's kind, for filtering candidates without a Python loop."""
        return np.array([c.kind for c in self.chunks], dtype=object)


def vocabulary(chunks: list[Chunk]) -> list[str]:
    """The distinct lowercased words of the chunks' texts, sorted (digits and stray marks left out)."""
    return sorted({w.lower() for c in chunks for w in _WORD.findall(c.text)})


def read_words(gen_dir: Path, manifest: dict[str, Any], dim: int) -> tuple[list[str], np.ndarray]:
    """The vocabulary and its vectors, when the generation has them (checked like every artifact)."""
    if WORDS not in manifest["artifacts"] or WORD_VECTORS not in manifest["artifacts"]:
        return [], np.zeros((0, 0), dtype=np.float32)
    words = json.loads((gen_dir / WORDS).read_text(encoding="utf-8"))
    vectors = np.load(gen_dir / WORD_VECTORS, allow_pickle=False).astype(np.float32)
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError("words.json is not a list of words")
    if vectors.ndim != 2 or vectors.shape != (len(words), dim):
        raise IndexCorrupt(f"generation {gen_dir.name}: word vectors do not match the vocabulary")
    return words, vectors


def read_chunks(path: Path) -> tuple[list[Chunk], list[str], list[list[tuple[int, int]]]]:
    """Chunks, their embed-text hashes and sentence spans from chunks.jsonl."""
    chunks, hashes, spans = [], [], []
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            hashes.append(d.pop("hash"))
            spans.append([(int(a), int(b)) for a, b in d.pop("sentences")])
            chunks.append(Chunk.from_dict(d))
    return chunks, hashes, spans


def load_generation(
    gen_dir: Path, model: str | None = None, dim: int | None = None, *, mmap: bool = False
) -> LoadedIndex:
    """Verify and load a generation; IndexCorrupt on any mismatch.

    With mmap the vector files are mapped read-only, not read (sentence vectors stay float16): what
    a build needs of the previous generation, whose vectors it copies row by row.
    """
    manifest = verify_generation(gen_dir, model, dim, required=REQUIRED)
    name = gen_dir.name
    try:
        chunks, hashes, spans = read_chunks(gen_dir / CHUNKS)
        vectors = np.load(gen_dir / VECTORS, allow_pickle=False, mmap_mode="r" if mmap else None)
        sent_vectors = np.load(gen_dir / SENTENCES, allow_pickle=False, mmap_mode="r" if mmap else None)
        if not mmap:
            sent_vectors = sent_vectors.astype(np.float32)
        dense = load_dense(gen_dir / DENSE)
        lexical = LexicalIndex.load(gen_dir / LEXICAL)
        headings = _load_headings(gen_dir, manifest, mmap)
        raw_articles = json.loads((gen_dir / ARTICLES).read_text(encoding="utf-8"))
        articles = {
            a["id"]: ArticleInfo(
                a["id"],
                a["title"],
                a["url"],
                a["source"],
                [Reference(**r) for r in a.get("references", [])],
                [PageSection.from_dict(sec) for sec in a.get("sections", [])],
                a.get("disclaimer"),
            )
            for a in raw_articles
        }
        words, word_vectors = read_words(gen_dir, manifest, manifest["model"]["dim"])
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorrupt(f"generation {name} cannot be loaded: {type(exc).__name__}") from exc
    unsafe = next((c.id for c in chunks if not is_web_url(c.url)), None)
    if unsafe is not None:  # only http(s) links ever reach a reader, whatever built the generation
        raise IndexCorrupt(f"generation {name}: chunk {unsafe} links to a non-http(s) url")
    n = len(chunks)
    counts = (manifest["counts"]["chunks"], vectors.shape[0], dense.ntotal, lexical.size)
    if any(c != n for c in counts):
        raise IndexCorrupt(f"generation {name}: chunk count {n} does not match vectors/index {counts}")
    if vectors.ndim != 2 or (n and vectors.shape[1] != manifest["model"]["dim"]):
        raise IndexCorrupt(f"generation {name}: vectors have the wrong shape {vectors.shape}")
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in spans])
    if sent_vectors.ndim != 2 or sent_vectors.shape[0] != offsets[-1]:
        raise IndexCorrupt(f"generation {name}: sentence vectors do not match the chunks")
    sections = section_map(chunks)
    if headings is not None and headings.shape != (sections.size, manifest["model"]["dim"]):
        raise IndexCorrupt(f"generation {name}: heading vectors {headings.shape} do not match {sections.size} sections")
    return LoadedIndex(
        name,
        manifest,
        chunks,
        hashes,
        vectors,
        spans,
        offsets,
        sent_vectors,
        dense,
        lexical,
        articles,
        words,
        word_vectors,
        sections,
        headings,
    )


def _load_headings(gen_dir: Path, manifest: dict[str, Any], mmap: bool = False) -> np.ndarray | None:
    """Heading vectors (checksummed by verify_generation); None for a generation built before them."""
    if HEADINGS not in manifest["artifacts"] and "sections" not in manifest:
        return None
    headings: np.ndarray = np.load(gen_dir / HEADINGS, allow_pickle=False, mmap_mode="r" if mmap else None)
    if headings.ndim != 2 or headings.dtype != np.float32:
        raise ValueError("headings")
    return headings
