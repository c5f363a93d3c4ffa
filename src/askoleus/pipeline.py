"""The build pipeline: corpus → chunks → (cached) embeddings → a new index generation.

It sits above `ingest`, `chunk`, `embed` and `index`, so `index` only stores and loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from askoleus import __version__
from askoleus.build_vectors import Progress, Vectors, rows_by_hash
from askoleus.chunk import ChunkerSettings, chunk_article, fit_to_limit
from askoleus.config import Settings
from askoleus.documents import Article, Chunk
from askoleus.encoders import Embedder, encoder_record, text_hash
from askoleus.errors import BuildError, IndexCorrupt
from askoleus.index.lexical import STOPWORDS
from askoleus.index.loaded import LoadedIndex, load_generation, vocabulary
from askoleus.index.sections import HEADINGS_FORMAT
from askoleus.index.store import IndexStore, new_generation_id, write_manifest
from askoleus.index.writer import Spans, article_record, write_artifacts
from askoleus.ingest.corpus import load_corpus
from askoleus.sentences import sentence_spans

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    """What a build did; `askoleus build --json` prints this."""

    articles: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    removed_articles: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    generation: str = ""
    unchanged: bool = False
    dense_index: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def chunker_settings(settings: Settings) -> ChunkerSettings:
    """Chunker knobs from the settings."""
    return ChunkerSettings(settings.chunk_max_tokens, settings.chunk_min_tokens, settings.chunk_overlap_sentences)


def _previous(store: IndexStore, embedder: Embedder) -> LoadedIndex | None:
    """The current generation, if valid and built with the same model: the embedding cache (vectors mapped)."""
    gen = store.current_id()
    if gen is None:
        return None
    try:
        return load_generation(store.generations / gen, embedder.name, embedder.dim, mmap=True)
    except IndexCorrupt as exc:
        log.warning("current generation not reusable as cache: %s", exc.message)
        return None


def _word_vectors(
    chunks: list[Chunk], previous: LoadedIndex | None, embedder: Embedder, batch_size: int
) -> tuple[list[str], np.ndarray]:
    """The articles' content words and a vector for each, reusing the previous generation's."""
    words = [w for w in vocabulary(chunks) if w not in STOPWORDS and len(w) > 1]
    known = dict(zip(previous.vocabulary, previous.word_vectors, strict=True)) if previous else {}
    missing = [w for w in words if w not in known]
    if missing:
        known.update(zip(missing, embedder.encode(missing, batch_size=batch_size), strict=True))
    if not words:
        return [], np.zeros((0, embedder.dim), dtype=np.float32)
    return words, np.stack([np.asarray(known[w], dtype=np.float32) for w in words])


def build_index(
    settings: Settings,
    embedder: Embedder,
    *,
    strict: bool | None = None,
    progress: Progress | None = None,
    lock_wait_seconds: float = 0.0,
) -> BuildReport:
    """Build a new generation from settings.corpus_dir and make it current; the old one stays on failure."""
    started = time.perf_counter()
    store = IndexStore(settings.index_dir)
    report = BuildReport()
    with store.lock(lock_wait_seconds):
        store.clean_leftovers()
        corpus = load_corpus(
            settings.corpus_dir,
            settings.site_url,
            strict=settings.strict if strict is None else strict,
            max_bytes=settings.max_file_bytes,
        )
        report.skipped = [{"file": s.file, "reason": s.reason} for s in corpus.skipped]
        report.drafts = corpus.drafts
        if not corpus.articles:
            raise BuildError(f"no articles to index in {settings.corpus_dir}; the current index is unchanged")
        if progress:
            progress("chunk", 0, len(corpus.articles))
        csettings = chunker_settings(settings)
        chunks = [c for a in corpus.articles for c in chunk_article(a, csettings)]
        chunks = fit_to_limit(chunks, embedder.count_tokens, embedder.max_tokens)
        hashes = [text_hash(c.embed_text) for c in chunks]
        spans = [sentence_spans(c.text) for c in chunks]

        previous = _previous(store, embedder)
        reuse = rows_by_hash(previous)
        missing = {h for h in hashes if h not in reuse}
        report.articles, report.chunks = len(corpus.articles), len(chunks)
        report.embedded = len(missing)
        report.reused = sum(1 for h in hashes if h not in missing)
        if previous:
            new_hashes = set(hashes)
            report.removed = sum(1 for h in previous.hashes if h not in new_hashes)
            new_ids = {a.id for a in corpus.articles}
            report.removed_articles = sorted(set(previous.articles) - new_ids)

        fingerprint = _fingerprint(chunks, hashes, corpus.articles, embedder, csettings, settings.hnsw_threshold)
        stale = previous is not None and not previous.vocabulary  # built before generations kept their words
        if previous and previous.manifest.get("fingerprint") == fingerprint and not stale:
            report.generation, report.unchanged = previous.generation, True
            report.dense_index = previous.manifest["dense"]["kind"]
            report.seconds = round(time.perf_counter() - started, 3)
            return report

        words = _word_vectors(chunks, previous, embedder, settings.embed_batch_size)
        gen = new_generation_id()
        try:
            report.dense_index = _write_generation(
                store,
                gen,
                settings,
                embedder,
                csettings,
                report,
                corpus.articles,
                chunks,
                hashes,
                spans,
                Vectors(previous, reuse, progress),
                words,
                fingerprint,
            )
        except OSError as exc:  # disk full, permissions, I/O error: the current generation is untouched
            store.clean_leftovers()
            raise BuildError(f"could not write the new index generation: {exc.strerror or exc}") from exc
        store.prune(settings.keep_generations)
        report.generation = gen
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _write_generation(
    store: IndexStore,
    gen: str,
    settings: Settings,
    embedder: Embedder,
    csettings: ChunkerSettings,
    report: BuildReport,
    articles: list[Article],
    chunks: list[Chunk],
    hashes: list[str],
    spans: list[Spans],
    vectors: Vectors,
    words: tuple[list[str], np.ndarray],
    fingerprint: str,
) -> str:
    """Write, checksum, fsync and activate a generation; returns the dense index kind."""
    tmp = store.new_tmp_dir(gen)
    vectors.write_passages(tmp, chunks, hashes, spans, embedder, settings.embed_batch_size)
    kind = write_artifacts(tmp, chunks, hashes, spans, articles, settings.hnsw_threshold, embedder.dim, words)
    sections = vectors.write_headings(tmp, chunks, embedder, settings.embed_batch_size)
    write_manifest(
        tmp,
        {
            "generation": gen,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "askoleus_version": __version__,
            "model": {
                "name": embedder.name,
                "dim": embedder.dim,
                "max_tokens": embedder.max_tokens,
                "encoder": encoder_record(embedder),
            },
            "chunker": csettings.to_dict(),
            "dense": {"kind": kind, "hnsw_threshold": settings.hnsw_threshold},
            "lexical": {"kind": "bm25s", "tokenizer": "snowball-english"},
            "counts": {
                "articles": report.articles,
                "chunks": report.chunks,
                "embedded": report.embedded,
                "reused": report.reused,
            },
            "corpus": {a.source: a.sha256 for a in articles},
            "skipped": report.skipped,
            "sections": sections,
            "fingerprint": fingerprint,
        },
    )
    store.commit(tmp, gen)
    store.activate(gen)
    return kind


def _fingerprint(
    chunks: list[Chunk],
    hashes: list[str],
    articles: list[Article],
    embedder: Embedder,
    cs: ChunkerSettings,
    hnsw_threshold: int,
) -> str:
    """Identifies the content of a generation: same fingerprint, nothing to rebuild."""
    h = hashlib.sha256()
    h.update(json.dumps([embedder.name, embedder.dim, cs.to_dict(), hnsw_threshold, HEADINGS_FORMAT]).encode())
    for c, th in zip(chunks, hashes, strict=True):
        h.update(json.dumps([c.to_dict(), th], sort_keys=True).encode())
    for a in articles:
        h.update(json.dumps(article_record(a), sort_keys=True).encode())
    return h.hexdigest()
