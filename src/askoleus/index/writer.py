"""Write the artifacts of a generation: chunks, vectors, dense and lexical indexes, article records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from askoleus.documents import Article, Chunk, PageSection

from .dense import build_dense, save_dense
from .lexical import LexicalIndex
from .loaded import ARTICLES, CHUNKS, DENSE, LEXICAL, SENTENCES, VECTORS

Embedded = tuple[np.ndarray, np.ndarray]  # passage vector, sentence vectors
Spans = list[tuple[int, int]]


def article_record(a: Article) -> dict[str, Any]:
    """What a generation keeps of an article besides its chunks (articles.json)."""
    return {
        "id": a.id,
        "title": a.title,
        "url": a.url,
        "source": a.source,
        "sha256": a.sha256,
        "format": a.format,
        "date": a.date,
        "tags": a.tags,
        "references": [r.to_dict() for r in a.references],
        "disclaimer": a.disclaimer,
        "sections": [PageSection.of(sec).to_dict() for sec in a.sections],
    }


def write_artifacts(
    out: Path,
    chunks: list[Chunk],
    hashes: list[str],
    spans: list[Spans],
    embedded: list[Embedded],
    articles: list[Article],
    hnsw_threshold: int,
    dim: int,
) -> str:
    """Write every artifact of a generation into out; returns the dense index kind."""
    with (out / CHUNKS).open("w", encoding="utf-8") as f:
        for c, h, s in zip(chunks, hashes, spans, strict=True):
            record = {**c.to_dict(), "hash": h, "sentences": s}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    vectors = np.stack([v for v, _ in embedded]) if embedded else np.zeros((0, dim), dtype=np.float32)
    sents = [s for _, s in embedded if len(s)]
    sent_matrix = np.concatenate(sents) if sents else np.zeros((0, dim), dtype=np.float32)
    np.save(out / VECTORS, vectors.astype(np.float32), allow_pickle=False)
    np.save(out / SENTENCES, sent_matrix.astype(np.float16), allow_pickle=False)
    dense, kind = build_dense(vectors, hnsw_threshold)
    save_dense(dense, out / DENSE)
    LexicalIndex.build([c.embed_text for c in chunks]).save(out / LEXICAL)
    (out / ARTICLES).write_text(
        json.dumps([article_record(a) for a in articles], ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return kind
