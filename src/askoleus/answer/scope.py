"""What a question is about: coverage by the articles, near-domain terms, offers, and what to ask next."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from askoleus.index.lexical import STOPWORDS
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit

from .extract import Quote

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
# Questions about an offer, a discount, the newsletter or where to buy may quote promo blocks.
_OFFER = re.compile(
    r"\b(?:discounts?|offers?|deals?|promos?|promotions?|coupons?|vouchers?|codes?|newsletters?|subscrib\w*|"
    r"sign(?:ing)? up|buy|buying|purchase|(?<!in )order(?:ing)?|shop|shopping|money off|sales?|save|saving)\b",
    re.IGNORECASE,
)
# How much worse the question matches its best sentence than its known words alone do, before the
# words the articles never use count as the real subject (measured on the tune split, README).
NEAR_DOMAIN_MARGIN = 0.10


def asks_about_offer(question: str) -> bool:
    """The reader asks about an offer, a discount, the newsletter or where to buy."""
    return bool(_OFFER.search(question))


def best_sentence(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, depth: int = 3) -> tuple[float, np.ndarray]:
    """The best standalone sentence cosine among the top hits, and that sentence's vector."""
    best, vec = -1.0, np.zeros_like(qv)
    for h in hits[:depth]:
        sent = index.sentence_vectors(h.position)
        if len(sent):
            sims = sent @ qv
            j = int(sims.argmax())
            if float(sims[j]) > best:
                best, vec = float(sims[j]), sent[j]
    return best, vec


def coverage(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, depth: int = 3) -> float:
    """How well the articles cover a question: the best passage or sentence cosine among the top hits.

    Sentence vectors catch a question answered by one sentence of a long passage; the threshold
    on this value is calibrated on the labelled golden set (README, Answer quality).
    """
    return max(max((h.dense for h in hits), default=-1.0), best_sentence(index, hits, qv, depth)[0])


def near_domain(
    index: LoadedIndex, question: str, hits: list[Hit], qv: np.ndarray, encode: Callable[[str], np.ndarray]
) -> bool:
    """True when the question's subject is words the articles never use, and only its other words match.

    "Is the Daily Shot vegan?": "vegan" occurs nowhere in the index, and the best sentence matches
    "Daily Shot" alone better than the whole question, so the match is about something else. A
    paraphrase ("which mineral ferries O2 …") also uses unknown words, but they carry its match:
    dropping them makes the best sentence fit worse.
    """
    words = [w for w in _WORD.findall(question.lower()) if w not in STOPWORDS]
    known = [w for w in words if index.lexical.knows(w)]
    if not known or len(known) == len(words):
        return False
    _, vec = best_sentence(index, hits, qv)
    return float(vec @ qv) - float(vec @ encode(" ".join(known))) < -NEAR_DOMAIN_MARGIN


def section_key(article_id: str, anchor: str) -> str:
    """How a conversation remembers a section it has shown."""
    return f"{article_id}#{anchor}"


def suggestions(
    index: LoadedIndex, quotes: list[Quote], hits: list[Hit], shown: frozenset[str]
) -> list[tuple[str, str]]:
    """(key, heading) of up to 3 question headings of sections near the answer not shown yet.

    Near means: the sections of the other retrieved passages (by rank), then the sections right
    after and before the quoted ones in their article.
    """
    quoted = {section_key(q.hit.chunk.article_id, q.hit.chunk.anchor) for q in quotes}
    near = [(section_key(h.chunk.article_id, h.chunk.anchor), h.chunk.section) for h in hits]
    for q in quotes:
        article = index.articles.get(q.hit.chunk.article_id)
        sections = article.sections if article else []
        at = next((i for i, s in enumerate(sections) if s.anchor == q.hit.chunk.anchor), None)
        around = [i for i in ((at + 1, at - 1) if at is not None else ()) if 0 <= i < len(sections)]
        near.extend((section_key(q.hit.chunk.article_id, sections[i].anchor), sections[i].heading) for i in around)
    out: dict[str, tuple[str, str]] = {}
    for key, heading in near:
        heading = heading.strip()
        if key in quoted or key in shown or heading in out or not heading.endswith("?"):
            continue
        out[heading] = (key, heading)
    return list(out.values())[:3]
