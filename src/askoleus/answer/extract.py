"""Extractive answers: pick the published sentences that best answer the question."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from askoleus.index.lexical import tokenize
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit

# A sentence opening like this leans on the one before it; quote that one too.
_LEANS_BACK = re.compile(
    r"^(?:it|its|this|that|these|those|they|their|he|she|but|and|so|also|however|either way|"
    r"then|such|the same)\b",
    re.IGNORECASE,
)
# Sentences that only point to another page ("The wider picture is in our guide to …") say nothing
# on their own: the site exports them without the link, so quoting them answers nothing.
_SIGNPOST = re.compile(
    r"\b(?:(?:is|are) in our (?:guide|article|post|piece)|we (?:break down|cover|explain|look at) in|"
    r"read (?:more|our)|see our (?:guide|article|post))\b",
    re.IGNORECASE,
)
NEAR_DUPLICATE = 0.92


@dataclass(frozen=True)
class Quote:
    """One sentence taken verbatim from a retrieved passage."""

    hit: Hit
    sentence: int
    text: str
    score: float


W_SENTENCE, W_PASSAGE, W_TERMS = 0.5, 0.4, 0.1  # chosen on eval/golden.jsonl (README)


def _candidates(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, terms: set[str]) -> list[Quote]:
    quotes: list[Quote] = []
    for hit in hits:
        spans = index.sent_spans[hit.position]
        vecs = index.sentence_vectors(hit.position)
        sims = vecs @ qv if len(spans) else np.zeros(0)
        for j, (s, e) in enumerate(spans):
            text = hit.chunk.text[s:e]
            overlap = len(terms & set(tokenize(text))) / len(terms) if terms else 0.0
            # passage relevance keeps sentences anchored to the best passages; shared terms
            # rescue sentences whose pooled vector is diluted by their neighbours
            score = W_SENTENCE * float(sims[j]) + W_PASSAGE * hit.score + W_TERMS * overlap
            quotes.append(Quote(hit, j, text, score))
    return quotes


def select_quotes(
    index: LoadedIndex,
    hits: list[Hit],
    qv: np.ndarray,
    *,
    max_sentences: int = 4,
    margin: float = 0.2,
    question: str = "",
) -> list[Quote]:
    """Up to max_sentences good, non-duplicate sentences in reading order (passage rank, position)."""
    quotes = sorted(_candidates(index, hits, qv, set(tokenize(question))), key=lambda q: -q.score)
    if not quotes:
        return []
    best = quotes[0].score
    chosen: list[Quote] = []
    chosen_vecs: list[np.ndarray] = []
    for q in quotes:
        if len(chosen) >= max_sentences or q.score < best - margin:
            break
        if len(q.text.split()) < 3 or _SIGNPOST.search(q.text):
            continue
        v = index.sentence_vectors(q.hit.position)[q.sentence]
        if any(q.text == c.text or float(v @ cv) > NEAR_DUPLICATE for c, cv in zip(chosen, chosen_vecs)):
            continue
        chosen.append(q)
        chosen_vecs.append(v)
    chosen = _add_antecedents(index, chosen, max_sentences)
    rank = {id(h): i for i, h in enumerate(hits)}
    return sorted(chosen, key=lambda q: (rank.get(id(q.hit), 0), q.sentence))


def _add_antecedents(index: LoadedIndex, chosen: list[Quote], max_sentences: int) -> list[Quote]:
    """Quote the sentence before one that starts with "It …" or "This …" so the answer reads well."""
    have = {(q.hit.position, q.sentence) for q in chosen}
    out = list(chosen)
    for q in chosen:
        if len(out) >= max_sentences + 1 or q.sentence == 0 or not _LEANS_BACK.match(q.text):
            continue
        key = (q.hit.position, q.sentence - 1)
        if key in have:
            continue
        s, e = index.sent_spans[q.hit.position][q.sentence - 1]
        out.append(Quote(q.hit, q.sentence - 1, q.hit.chunk.text[s:e], q.score))
        have.add(key)
    return out
