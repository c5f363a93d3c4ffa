"""Compose answers: route, retrieve, extract sentences, cite, append the disclaimer."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from askoleus.config import Settings
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit, QueryEncoder, Retriever

from .compose import Composer, Fallback, Mode, generated_composer
from .conversations import Conversations, Turn
from .extract import Quote, select_quotes
from .models import Answer, Citation, Related, Status, Study
from .routing import (
    EMERGENCY_TEXT,
    MEDICAL_TEXT,
    MEDICAL_WITH_PASSAGES,
    NOT_COVERED_RELATED,
    NOT_COVERED_TEXT,
    asks_for_reference,
    followup_kind,
    route,
)
from .verify import Dropped

ANSWER_KINDS = ("body",)
RELATED_MARGIN = 0.12
MAX_RESOLVED_CHARS = 400  # how far below the answer threshold an article still counts as "near"
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Draft:
    """An answer before timing and conversation bookkeeping."""

    text: str
    status: Status
    quotes: list[Quote]
    related: list[Related]
    resolved: str | None  # the question as searched, remembered for follow-ups; None: nothing to remember
    hits: tuple[Hit, ...] = ()  # the passages searched, for a generated answer (answered only)


def compose(quotes: list[Quote], index: LoadedIndex) -> tuple[str, list[Citation]]:
    """Answer text with [n] markers in order of appearance, and the citations behind them."""
    numbers: dict[int, int] = {}
    snippets: dict[int, list[str]] = {}
    parts = []
    for q in quotes:
        n = numbers.setdefault(q.hit.position, len(numbers) + 1)
        snippets.setdefault(q.hit.position, []).append(q.text)
        parts.append(f"{q.text} [{n}]")
    citations = []
    for pos, n in numbers.items():
        hit = next(q.hit for q in quotes if q.hit.position == pos)
        c = hit.chunk
        article = index.articles.get(c.article_id)
        refs = [r for r in (article.references if article else []) if r.n in c.ref_ids]
        citations.append(
            Citation(
                n=n,
                title=c.title,
                url=c.url,
                section=c.section,
                snippet=" ".join(snippets[pos]),
                source=c.source,
                score=round(hit.score, 4),
                chunk_id=c.id,
                references=[
                    Study(n=r.n, text=r.text, authors=r.authors, year=r.year, title=r.title, journal=r.journal)
                    for r in refs
                ],
            )
        )
    return " ".join(parts), citations


class Answerer:
    """Answers questions from one loaded generation at a time; only quotes and fixed templates."""

    def __init__(
        self,
        settings: Settings,
        encoder: QueryEncoder,
        conversations: Conversations | None = None,
        composer: Composer | None = None,
    ) -> None:
        self.settings = settings
        self.encode = encoder
        # generated answers when ASKOLEUS_LLM_BASE_URL is set; only `answered` drafts reach the model
        self.composer = composer or generated_composer(settings, encoder.embedder.encode)
        self.conversations = conversations or Conversations(
            settings.max_conversations, settings.conversation_turns, settings.conversation_ttl_seconds
        )

    def retriever(self, index: LoadedIndex) -> Retriever:
        """A retriever over index with the configured fusion."""
        return Retriever(
            index, self.encode, candidates=self.settings.candidates, dense_weight=self.settings.dense_weight
        )

    def ask(
        self, index: LoadedIndex, question: str, top_k: int | None = None, conversation_id: str | None = None
    ) -> Answer:
        """The full answer for a (validated) question."""
        started = time.perf_counter()
        question = " ".join(question.split())
        cid = conversation_id if conversation_id and _CONVERSATION_ID.match(conversation_id) else None
        previous = self.conversations.last(cid)
        if previous is None:  # only ids we issued and still remember continue a conversation
            cid = Conversations.new_id()
        draft = self._draft(index, question, top_k or self.settings.top_k, previous)
        text, citations = compose(draft.quotes, index)
        mode: Mode = "extractive"
        dropped: tuple[Dropped, ...] = ()
        if draft.status == "answered" and draft.hits and self.composer is not None:
            composed = self.composer.compose(question, list(draft.hits), index, Fallback(text, citations))
            text, citations, mode, dropped = composed.text, composed.citations, composed.mode, composed.dropped
        body = draft.text if not text else (f"{draft.text} {text}" if draft.status != "answered" else text)
        if draft.resolved is not None:
            positions = tuple(dict.fromkeys(q.hit.position for q in draft.quotes))
            self.conversations.add(cid, Turn(draft.resolved, positions, index.generation))
        answer = Answer(
            answer=f"{body}\n\n{self.settings.disclaimer}",
            status=draft.status,
            citations=citations,
            related=draft.related,
            disclaimer=self.settings.disclaimer,
            conversation_id=cid,
            index_generation=index.generation,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            mode=mode,
            dropped_sentences=len(dropped),
        )
        answer._dropped = [(d.text, d.reason) for d in dropped]
        return answer

    def _search(self, index: LoadedIndex, text: str, k: int) -> tuple[list[Hit], np.ndarray, bool]:
        """Body passages for text, its vector, and whether the articles cover it."""
        vec = self.encode(text)
        hits = self.retriever(index).search(text, k, kinds=ANSWER_KINDS, query_vector=vec)
        return hits, vec, coverage(index, hits, vec) >= self.settings.not_covered_threshold

    def _draft(self, index: LoadedIndex, question: str, k: int, previous: Turn | None) -> Draft:
        intent = route(question)
        if intent == "emergency":
            return Draft(EMERGENCY_TEXT, "emergency", [], [], None)
        kind = followup_kind(question) if previous else None
        same_index = previous is not None and previous.generation == index.generation
        if kind == "pronoun" and previous and same_index and asks_for_reference(question):
            quotes = _reference_quotes(index, previous)
            if quotes:
                return Draft("", "answered", quotes, [], previous.question)
        # a follow-up is searched together with the question it follows, so "it" keeps its referent;
        # "and magnesium?" must be covered on its own first, or any topic would borrow the old frame
        framed = f"{previous.question} {question}"[-MAX_RESOLVED_CHARS:] if previous else question
        resolved = framed if kind == "pronoun" else question
        hits, search_vec, covered = self._search(index, resolved, k)
        if kind == "topic" and covered:
            resolved = framed
            hits, search_vec, covered = self._search(index, resolved, k)
        n = self.settings.max_answer_sentences
        if intent == "medical":
            quotes = select_quotes(index, hits, search_vec, max_sentences=min(2, n), question=question)
            quotes = quotes if covered else []
            return Draft(
                MEDICAL_TEXT + (MEDICAL_WITH_PASSAGES if quotes else ""), "medical_referral", quotes, [], resolved
            )
        if not covered:
            related = _related(hits, self.settings.not_covered_threshold - RELATED_MARGIN)
            return Draft(NOT_COVERED_TEXT + (NOT_COVERED_RELATED if related else ""), "not_covered", [], related, None)
        quotes = select_quotes(index, hits, search_vec, max_sentences=n, question=question)
        return Draft("", "answered", quotes, [], resolved, tuple(hits))


def coverage(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, depth: int = 3) -> float:
    """How well the articles cover a question: the best passage or sentence cosine among the top hits.

    Sentence vectors catch a question answered by one sentence of a long passage; the threshold
    on this value is calibrated on the labelled golden set (README, Answer quality).
    """
    best = max((h.dense for h in hits), default=-1.0)
    for h in hits[:depth]:
        sent = index.sentence_vectors(h.position)
        if len(sent):
            best = max(best, float((sent @ qv).max()))
    return best


def _related(hits: list[Hit], floor: float) -> list[Related]:
    seen: dict[str, Related] = {}
    for h in hits:
        if h.dense >= floor and h.chunk.article_id not in seen:
            base = h.chunk.url.split("#", 1)[0]
            seen[h.chunk.article_id] = Related(title=h.chunk.title, url=base)
    return list(seen.values())[:3]


def _reference_quotes(index: LoadedIndex, previous: Turn) -> list[Quote]:
    """For "what study says that?": the previous passages' sentences that name their studies."""
    quotes: list[Quote] = []
    for pos in previous.chunk_positions:
        chunk = index.chunks[pos]
        article = index.articles.get(chunk.article_id)
        if not article or not chunk.ref_ids:
            continue
        names = [r.first_author for r in article.references if r.n in chunk.ref_ids and r.first_author]
        hit = Hit(pos, chunk, 1.0, 1.0, 0.0)
        for j, (s, e) in enumerate(index.sent_spans[pos]):
            sentence = chunk.text[s:e]
            if any(re.search(rf"\b{re.escape(name)}\b", sentence) for name in names):
                quotes.append(Quote(hit, j, sentence, 1.0))
    return quotes[:4]
