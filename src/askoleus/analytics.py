"""What readers ask most: the question log's questions grouped by meaning."""

from __future__ import annotations

from typing import Any

import numpy as np

from askoleus.embed import Embedder
from askoleus.qlog import QuestionLog

SIMILAR = 0.82  # cosine above which two questions count as the same question


def group_similar(questions: list[str], vectors: np.ndarray, threshold: float = SIMILAR) -> list[dict[str, Any]]:
    """Greedy clustering of questions by cosine similarity, biggest groups first."""
    groups: list[dict[str, Any]] = []
    centroids: list[np.ndarray] = []
    for q, v in zip(questions, vectors, strict=True):
        sims = [float(c @ v) for c in centroids]
        best = int(np.argmax(sims)) if sims else -1
        if best >= 0 and sims[best] >= threshold:
            g = groups[best]
            g["count"] += 1
            if q not in g["examples"] and len(g["examples"]) < 5:
                g["examples"].append(q)
        else:
            groups.append({"question": q, "count": 1, "examples": [q]})
            centroids.append(v)
    return sorted(groups, key=lambda g: -g["count"])


def most_asked(qlog: QuestionLog, embedder: Embedder, days: int, limit: int) -> list[dict[str, Any]]:
    """The questions of the last days grouped by meaning, most asked first (each text encoded once)."""
    questions = qlog.questions_since(days)
    if not questions:
        return []
    distinct = list(dict.fromkeys(questions))
    vecs = embedder.encode(distinct, batch_size=64)
    by_text = {q: vecs[i] for i, q in enumerate(distinct)}
    return group_similar(questions, np.stack([by_text[q] for q in questions]))[:limit]
