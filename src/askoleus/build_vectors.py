"""A build's vectors, streamed to disk: passage, sentence and heading vectors, block by block.

Each block of EMBED_CALL chunks (or sections) takes its vectors from the previous generation
(memory-mapped) or from one encode call, and is appended to the new generation's .npy files,
so a build holds one block of vectors at a time, whatever the size of the corpus. Only the
fresh vectors of texts that occur again later in the corpus are kept until they are used.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from askoleus.documents import Chunk
from askoleus.encoders import Embedder, text_hash
from askoleus.encoders.export import export_lock
from askoleus.encoders.word_table import WordTable, list_hash, load_word_table, table_meta, table_paths
from askoleus.index.loaded import SENTENCES, VECTORS, LoadedIndex
from askoleus.index.sections import HEADINGS, HEADINGS_FORMAT, section_map
from askoleus.index.vectorfile import RowWriter
from askoleus.index.writer import Spans

Progress = Callable[[str, int, int], None]
Embedded = tuple[np.ndarray, np.ndarray]  # passage vector, its sentence vectors
EMBED_CALL = 256  # texts per encode call: progress granularity and peak memory without hurting throughput
log = logging.getLogger("askoleus.build")


def rows_by_hash(previous: LoadedIndex | None) -> dict[str, int]:
    """Embed-text hash → row of its vectors in the previous generation (the embedding cache)."""
    rows: dict[str, int] = {}
    for i, h in enumerate(previous.hashes if previous else []):
        rows.setdefault(h, i)
    return rows


def embed_spans(c: Chunk, spans: Spans) -> Spans:
    """Sentence spans of c.text, shifted to positions in c.embed_text."""
    shift = len(c.embed_text) - len(c.text)
    return [(s + shift, e + shift) for s, e in spans]


class Vectors:
    """Writes a new generation's vectors, reusing the previous generation's by text hash."""

    def __init__(self, previous: LoadedIndex | None, reuse: dict[str, int], progress: Progress | None) -> None:
        self.previous, self.reuse, self.progress = previous, reuse, progress

    def write_passages(
        self, out: Path, chunks: list[Chunk], hashes: list[str], spans: list[Spans], embedder: Embedder, batch: int
    ) -> None:
        """vectors.npy (float32, one row per chunk) and sentences.npy (float16, one row per sentence)."""
        repeats = Counter(hashes)
        total = len({h for h in hashes if h not in self.reuse})
        held: dict[str, Embedded] = {}  # fresh vectors of texts that occur again in a later block
        done = 0
        n_sentences = sum(len(s) for s in spans)
        with (
            RowWriter(out / VECTORS, len(chunks), embedder.dim, np.float32) as passages,
            RowWriter(out / SENTENCES, n_sentences, embedder.dim, np.float16) as sentences,
        ):
            for start in range(0, len(chunks), EMBED_CALL):
                block = range(start, min(start + EMBED_CALL, len(chunks)))
                todo = {hashes[i]: i for i in block if hashes[i] not in self.reuse and hashes[i] not in held}
                fresh = self._encode(todo, chunks, spans, embedder, batch)
                rows = [fresh.get(hashes[i]) or held.get(hashes[i]) or self._reused(hashes[i]) for i in block]
                passages.write(np.stack([v for v, _ in rows]))
                sent = [s for _, s in rows if len(s)]
                if sent:
                    sentences.write(np.concatenate(sent))
                held.update({h: (v.copy(), s.copy()) for h, (v, s) in fresh.items() if repeats[h] > 1})
                done += len(todo)
                if todo and self.progress:
                    self.progress("embed", done, total)

    def _encode(
        self, todo: dict[str, int], chunks: list[Chunk], spans: list[Spans], embedder: Embedder, batch: int
    ) -> dict[str, Embedded]:
        """Passage and sentence vectors of the chunks in todo (hash → chunk position), one encode call."""
        if not todo:
            return {}
        items = list(todo.values())
        texts = [chunks[i].embed_text for i in items]
        vecs, sents = embedder.encode_passages(texts, [embed_spans(chunks[i], spans[i]) for i in items], batch)
        return {h: (vecs[k], sents[k]) for k, h in enumerate(todo)}

    def _reused(self, h: str) -> Embedded:
        """The previous generation's passage and sentence vectors of text hash h."""
        assert self.previous is not None  # reuse is empty without a previous generation
        row = self.reuse[h]
        return self.previous.vectors[row], self.previous.sentence_vectors(row)

    def write_headings(self, out: Path, chunks: list[Chunk], embedder: Embedder, batch: int) -> dict[str, Any]:
        """headings.npy: every section's heading vector, cached ones reused; returns the manifest's entry."""
        sections = section_map(chunks)
        hashes = [text_hash(t) for t in sections.headings]
        repeats = Counter(hashes)
        known = self._heading_rows()  # hash → previous generation's vector; fresh ones of repeated headings join
        embedded = 0
        with RowWriter(out / HEADINGS, sections.size, embedder.dim, np.float32) as writer:
            for start in range(0, sections.size, EMBED_CALL):
                block = range(start, min(start + EMBED_CALL, sections.size))
                todo = {hashes[i]: sections.headings[i] for i in block if hashes[i] not in known}
                vectors: Any = embedder.encode(list(todo.values()), batch_size=batch) if todo else []
                fresh = dict(zip(todo, vectors, strict=True))
                writer.write(np.stack([fresh[hashes[i]] if hashes[i] in fresh else known[hashes[i]] for i in block]))
                known.update({h: v.copy() for h, v in fresh.items() if repeats[h] > 1})
                embedded += len(todo)
        return {"count": sections.size, "headings": HEADINGS_FORMAT, "embedded": embedded}

    def _heading_rows(self) -> dict[str, np.ndarray]:
        """Heading text hash → the previous generation's (memory-mapped) heading vector."""
        if self.previous is None or self.previous.headings is None:
            return {}
        rows: dict[str, np.ndarray] = {}
        for i, t in enumerate(self.previous.sections.headings):
            rows.setdefault(text_hash(t), self.previous.headings[i])
        return rows


def build_word_table(
    cache_dir: Path, embedder: Embedder, words: Sequence[str], progress: Callable[[int, int], None] | None = None
) -> WordTable:
    """The table of these words' vectors (encoders.word_table) in the embedder's space, written now unless it exists.

    About 50 s for the 53,572 kept English words with onnx on 2 cores; one process writes at a time.
    """
    digest = list_hash(words)
    found = load_word_table(cache_dir, embedder.name, words, digest)
    if found is not None:
        return found
    cache_dir.mkdir(parents=True, exist_ok=True)
    npy, meta_path = table_paths(cache_dir, embedder.name, words, digest)
    with export_lock(cache_dir):
        found = load_word_table(cache_dir, embedder.name, words, digest)  # another process may have made it meanwhile
        if found is not None:
            return found
        tmp = npy.with_name(f".{npy.name}.{os.getpid()}.tmp")
        try:
            with RowWriter(tmp, len(words), embedder.dim, np.float32) as writer:
                for start in range(0, len(words), EMBED_CALL):
                    writer.write(embedder.encode(list(words[start : start + EMBED_CALL]), batch_size=EMBED_CALL))
                    if progress is not None:
                        progress(min(start + EMBED_CALL, len(words)), len(words))
            os.replace(tmp, npy)
        finally:
            tmp.unlink(missing_ok=True)
        meta_tmp = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.tmp")
        meta = table_meta(embedder.name, digest, len(words), embedder.dim)
        meta_tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(meta_tmp, meta_path)
    table = load_word_table(cache_dir, embedder.name, words, digest)
    if table is None:  # pragma: no cover - just written
        raise OSError(f"the word table in {cache_dir} cannot be read back")
    log.info("word table built", extra={"words": len(words), "space": embedder.name})
    return table
