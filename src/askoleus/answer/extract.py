"""Extractive answers: the published sentence that answers the question first, then what adds to it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from askoleus.index.lexical import tokenize
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit

# A sentence opening like this leans on the one before it; quote that one too.
LEANS_BACK = re.compile(
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
ECHO_FREE = 0.4  # a sentence sharing this much with the question is relevant, not yet an echo
CONTEXT = 0.5  # weight of the sentence before, for a sentence that leans on it

# What kind of answer a question asks for, and what a sentence giving that kind of answer contains.
_ANSWER_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("price", re.compile(r"\bhow much\b[^?]*\bcosts?\b|\b(?:prices?|priced|expensive|cheap(?:er|est)?)\b", re.I)),
    ("source", re.compile(r"\b(?:which|what|whose) (?:study|studies|journal|paper|review|research)|^\s*who\b", re.I)),
    ("time", re.compile(r"\bhow (?:long|soon|often)\b|\b(?:what|which) year\b|^\s*when\b", re.I)),
    ("number", re.compile(r"\bhow (?:many|much)\b", re.I)),
    ("cause", re.compile(r"^\s*why\b|\bwhat (?:causes?|makes)\b|\breasons?\b", re.I)),
    ("definition", re.compile(r"^\s*what (?:is|are|does .{1,40} mean)\b", re.I)),
]
_CUES: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"[€$£]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:€|eur|euros?|dollars?|pounds?)\b", re.I),
    "source": re.compile(r"\b(?:study|studies|review|reviews|colleagues|et al|journal|research)\b|\b(?:19|20)\d\d\b"),
    "time": re.compile(r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|daily|(?:19|20)\d\d)\b", re.I),
    "number": re.compile(
        r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|several|few)\b", re.I
    ),
    "cause": re.compile(
        r"\b(?:because|causes?|caused|reasons?|driven by|due to|so that|leads? to|why|when .+ cannot)\b", re.I
    ),
    "definition": re.compile(r"\b(?:is|are|means?|refers to)\b", re.I),
}


def signals_kind(kind: str, text: str) -> bool:
    """Whether text holds the kind of answer named (a price for "price", a number for "number", …)."""
    return bool(_CUES[kind].search(text))


def answer_type(question: str) -> str | None:
    """The kind of answer the question asks for (cause, definition, source, time, number, price)."""
    return next((name for name, pattern in _ANSWER_TYPES if pattern.search(question)), None)


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made up; chosen on the golden set's tune split (README)."""

    sentence: float = 0.6  # standalone sentence cosine with the question
    passage: float = 0.2  # the passage's fused retrieval score
    terms: float = 0.1  # share of the question's terms the sentence contains
    echo: float = 0.3  # penalty when the sentence's words are mostly the question's own
    cue: float = 0.08  # bonus when the sentence holds the kind of answer asked for
    margin: float = 0.08  # further sentences must score within this of the best one


WEIGHTS = Weights()


@dataclass(frozen=True)
class Quote:
    """One sentence taken verbatim from a retrieved passage; sentence_pos is its index in the passage."""

    hit: Hit
    sentence_pos: int
    text: str
    score: float


def echo_share(sentence_terms: set[str], question_terms: set[str]) -> float:
    """0 while at most ECHO_FREE of the sentence's terms are the question's, rising to 1 for a pure echo."""
    if not sentence_terms:
        return 1.0
    share = len(sentence_terms & question_terms) / len(sentence_terms)
    return max(0.0, share - ECHO_FREE) / (1 - ECHO_FREE)


def _cue_pattern(kind: str | None, index: LoadedIndex, hit: Hit) -> re.Pattern[str] | None:
    """The cue for an answer type; for sources, also the surnames of the article's cited authors."""
    if kind != "source":
        return _CUES.get(kind) if kind else None
    article = index.articles.get(hit.chunk.article_id)
    names = [r.first_author for r in (article.references if article else []) if r.first_author]
    if not names:
        return _CUES["source"]
    return re.compile(_CUES["source"].pattern + "|" + "|".join(rf"\b{re.escape(n)}\b" for n in names))


def candidates(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, question: str, w: Weights) -> list[Quote]:
    """Every sentence of the hits, scored as an answer to the question."""
    terms = set(tokenize(question))
    kind = answer_type(question)
    quotes: list[Quote] = []
    for hit in hits:
        spans = index.sent_spans[hit.position]
        sims = _in_context(index.sentence_vectors(hit.position), spans, hit.chunk.text) @ qv if spans else np.zeros(0)
        cue = _cue_pattern(kind, index, hit)
        for j, (s, e) in enumerate(spans):
            text = hit.chunk.text[s:e]
            own = set(tokenize(text))
            overlap = len(terms & own) / len(terms) if terms else 0.0
            score = w.sentence * float(sims[j]) + w.passage * hit.score + w.terms * overlap
            score -= w.echo * echo_share(own, terms)
            if cue is not None and cue.search(text):
                score += w.cue
            quotes.append(Quote(hit, j, text, score))
    return quotes


def _in_context(vecs: np.ndarray, spans: list[tuple[int, int]], text: str) -> np.ndarray:
    """Sentence vectors where one that leans back ("It carries oxygen …") also means the one before."""
    out = vecs.astype(np.float32, copy=True)
    for j in range(1, len(spans)):
        if LEANS_BACK.match(text[spans[j][0] : spans[j][1]]):
            v = vecs[j] + CONTEXT * vecs[j - 1]
            out[j] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def select_quotes(
    index: LoadedIndex,
    hits: list[Hit],
    qv: np.ndarray,
    *,
    max_sentences: int = 3,
    question: str = "",
    weights: Weights = WEIGHTS,
) -> list[Quote]:
    """The best sentence first (after the sentence it leans on), then close runners-up in reading order."""
    quotes = sorted(candidates(index, hits, qv, question, weights), key=lambda q: -q.score)
    quotes = [q for q in quotes if len(q.text.split()) >= 3 and not _SIGNPOST.search(q.text)]
    if not quotes:
        return []
    best = quotes[0].score
    chosen: list[Quote] = []
    chosen_vecs: list[np.ndarray] = []
    for q in quotes:
        if chosen and (q.score < best - weights.margin or _size(index, [*chosen, q]) > max_sentences):
            continue
        v = index.sentence_vectors(q.hit.position)[q.sentence_pos]
        if any(q.text == c.text or float(v @ cv) > NEAR_DUPLICATE for c, cv in zip(chosen, chosen_vecs, strict=True)):
            continue
        chosen.append(q)
        chosen_vecs.append(v)
    rank = {id(h): i for i, h in enumerate(hits)}
    lead, rest = chosen[0], sorted(chosen[1:], key=lambda q: (rank.get(id(q.hit), 0), q.sentence_pos))
    return _with_antecedents(index, [lead, *rest])


def _antecedent(index: LoadedIndex, q: Quote) -> Quote | None:
    """The sentence q leans on ("It carries oxygen" needs "Iron is the big one"), if any."""
    if q.sentence_pos == 0 or not LEANS_BACK.match(q.text):
        return None
    s, e = index.sent_spans[q.hit.position][q.sentence_pos - 1]
    return Quote(q.hit, q.sentence_pos - 1, q.hit.chunk.text[s:e], q.score)


def _size(index: LoadedIndex, quotes: list[Quote]) -> int:
    """Sentences quotes make once each brings the sentence it leans on."""
    return len(_with_antecedents(index, quotes))


def _with_antecedents(index: LoadedIndex, quotes: list[Quote]) -> list[Quote]:
    """quotes in order, each preceded by the sentence it leans on, without repeats."""
    out: list[Quote] = []
    have: set[tuple[int, int]] = set()
    for q in quotes:
        chain = [q]
        while (before := _antecedent(index, chain[0])) is not None and len(chain) < 2:
            chain.insert(0, before)
        for c in chain:
            key = (c.hit.position, c.sentence_pos)
            if key not in have:
                have.add(key)
                out.append(c)
    return out
