"""Write the artifacts of a generation: chunks, vectors, dense and lexical indexes, article records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from askoleus.documents import Article, Chunk, PageSection

from .dense import build_dense, save_dense
from .lexical import LexicalIndex
from .loaded import ARTICLES, CHUNKS, DENSE, LEXICAL, VECTORS, WORD_VECTORS, WORDS
from .vectorfile import read_rows

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
    articles: list[Article],
    hnsw_threshold: int,
    dim: int,
    words: tuple[list[str], np.ndarray] | None = None,
) -> str:
    """Write the artifacts of a generation besides its vectors (already in out); returns the dense index kind."""
    with (out / CHUNKS).open("w", encoding="utf-8") as f:
        for c, h, s in zip(chunks, hashes, spans, strict=True):
            record = {**c.to_dict(), "hash": h, "sentences": s}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    dense, kind = build_dense(read_rows(out / VECTORS), hnsw_threshold)
    save_dense(dense, out / DENSE)
    LexicalIndex.build([c.embed_text for c in chunks]).save(out / LEXICAL)
    (out / ARTICLES).write_text(
        json.dumps([article_record(a) for a in articles], ensure_ascii=False, indent=1), encoding="utf-8"
    )
    if words is not None:  # the vocabulary and its vectors (the near-domain check finds synonyms in it)
        (out / WORDS).write_text(json.dumps(words[0], ensure_ascii=False), encoding="utf-8")
        np.save(out / WORD_VECTORS, words[1].astype(np.float16).reshape(len(words[0]), dim), allow_pickle=False)
    return kind
