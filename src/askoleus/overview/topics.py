"""Gap topics: the questions the articles did not cover, grouped by meaning, with the closest article."""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from askoleus.encoders import Embedder
from askoleus.qlog import csv_cell
from askoleus.retrieve import Retriever

EXAMPLES = 3
MEMBERS = 20  # questions listed when a topic is opened
CSV_FIELDS = (
    "topic",
    "times_asked",
    "distinct_questions",
    "first_half",
    "second_half",
    "trend",
    "example_1",
    "example_2",
    "example_3",
    "closest_article",
    "closest_section",
    "closest_url",
    "closest_score",
)


@dataclass
class GapQuestion:
    """One distinct uncovered question and how often it was asked in each half of the range."""

    question: str
    count: int
    first_half: int
    second_half: int


@dataclass
class GapTopic:
    """Uncovered questions that mean about the same thing: an article the editors could write."""

    topic: str
    count: int
    first_half: int
    second_half: int
    trend: str
    examples: list[str]
    questions: list[dict[str, Any]]
    distinct: int = 0
    closest: dict[str, Any] | None = None
    _centroid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (without the centroid)."""
        d = asdict(self)
        d.pop("_centroid")
        return d


def trend(first: int, second: int) -> str:
    """rising / falling / steady / new, comparing the two halves of the range."""
    if first == 0:
        return "new" if second else "steady"
    if second >= first * 1.25 and second - first >= 2:
        return "rising"
    if first >= second * 1.25 and first - second >= 2:
        return "falling"
    return "steady"


class VectorCache:
    """Question vectors by (model, text), bounded; the overview re-embeds only questions it has not seen."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        """Normalised vectors of texts, one row each."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (embedder.name, t) not in self._vectors))
        fresh = embedder.encode(missing, batch_size=64) if missing else np.zeros((0, embedder.dim), np.float32)
        with self._lock:
            for t, v in zip(missing, fresh, strict=True):
                self._vectors[(embedder.name, t)] = np.asarray(v, dtype=np.float32)
            out = []
            for t in texts:
                key = (embedder.name, t)
                self._vectors.move_to_end(key)
                out.append(self._vectors[key])
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, embedder.dim), np.float32)


VECTORS = VectorCache()


def cluster(questions: list[GapQuestion], vectors: np.ndarray, threshold: float) -> list[GapTopic]:
    """Greedy clustering, most asked question first: join the closest topic (cosine to its mean) or start one."""
    topics: list[GapTopic] = []
    sums: list[np.ndarray] = []
    for q, v in zip(questions, vectors, strict=True):
        best = -1
        if sums:
            centroids = np.stack(sums)
            centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
            sims = centroids @ v
            best = int(np.argmax(sims)) if float(sims.max()) >= threshold else -1
        if best < 0:
            topics.append(GapTopic(q.question, 0, 0, 0, "", [], []))
            sums.append(np.zeros_like(v))
            best = len(topics) - 1
        t = topics[best]
        t.count += q.count
        t.first_half += q.first_half
        t.second_half += q.second_half
        t.distinct += 1
        sums[best] = sums[best] + v * q.count
        if len(t.questions) < MEMBERS:
            t.questions.append(asdict(q))
    for t, s in zip(topics, sums, strict=True):
        t.trend = trend(t.first_half, t.second_half)
        t.examples = [m["question"] for m in t.questions[:EXAMPLES]]
        t._centroid = (s / max(float(np.linalg.norm(s)), 1e-9)).astype(np.float32)
    return sorted(topics, key=lambda t: (-t.count, t.topic))


def closest_article(retriever: Retriever, topic: GapTopic, floor: float) -> dict[str, Any] | None:
    """The article passage nearest to the topic's mean question, if its cosine reaches floor."""
    hits = retriever.search(topic.topic, 3, kinds=("body",), query_vector=topic._centroid)
    if not hits or hits[0].dense < floor:
        return None
    c = hits[0].chunk
    return {
        "article_id": c.article_id,
        "title": c.title,
        "section": c.section,
        "url": c.url,
        "score": round(hits[0].dense, 3),
    }


def gap_topics(
    questions: list[GapQuestion],
    embedder: Embedder,
    retriever: Retriever | None,
    *,
    threshold: float,
    floor: float,
    limit: int = 50,
) -> list[GapTopic]:
    """The gap topics of the range, largest first, each with the closest article when one is near."""
    if not questions:
        return []
    vectors = VECTORS.encode(embedder, [q.question for q in questions])
    topics = cluster(questions, vectors, threshold)[:limit]
    if retriever is not None:
        for t in topics:
            t.closest = closest_article(retriever, t, floor)
    return topics


def topics_csv(topics: list[dict[str, Any]]) -> str:
    """Gap topics as CSV for the editors (cells that could run as spreadsheet formulas are neutralised)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for t in topics:
        examples = [*t["examples"], "", "", ""][:EXAMPLES]
        near = t.get("closest") or {}
        row = [
            t["topic"],
            t["count"],
            t["distinct"],
            t["first_half"],
            t["second_half"],
            t["trend"],
            *examples,
            near.get("title", ""),
            near.get("section", ""),
            near.get("url", ""),
            near.get("score", ""),
        ]
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
