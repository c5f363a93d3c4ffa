"""Compose answers: route, retrieve, extract sentences, cite, append the disclaimer."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from askoleus.config import Settings
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit, QueryEncoder, Retriever

from . import common_words, languages
from .compose import Composer, Fallback, Mode, SentenceEvent, generated_composer
from .conversations import Conversations, ConversationStore, Turn, new_conversation_id
from .extract import Quote, answer_type, select_quotes, signals_kind
from .languages import EMERGENCY, ENGLISH_ONLY, RELATED, localized_route
from .models import Answer, Citation, Related, Status, Study
from .routing import (
    EMERGENCY_TEXT,
    MEDICAL_TEXT,
    MEDICAL_WITH_PASSAGES,
    NOT_COVERED_RELATED,
    NOT_COVERED_TEXT,
    asks_for_reference,
    asks_to_create,
    followup_kind,
    route,
)
from .scope import (
    LEXICAL_COVERAGE,
    asks_about_offer,
    correct_spelling,
    coverage,
    fact_kind,
    lexical_coverage,
    near_domain,
    section_key,
    states_fact,
    suggestions,
)
from .verify import Dropped

ANSWER_KINDS = ("body",)
OFFER_KINDS = ("body", "promo")  # promo and call-to-action blocks answer offer questions only
RELATED_MARGIN = 0.12  # how far below the answer threshold an article still counts as "near"
MAX_RESOLVED_CHARS = 400
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def warm() -> None:
    """Load the language detector and the common-words list now rather than on a first question.

    The server calls it before loading the encoder: both readers briefly need several times the memory
    they keep, and that peak then stays below the encoder's.
    """
    languages.warm()
    common_words.warm()


@dataclass(frozen=True)
class Reply:
    """An answer before timing and conversation bookkeeping."""

    text: str
    status: Status
    quotes: list[Quote]
    related: list[Related]
    resolved: str | None  # the question as searched, remembered for follow-ups; None: nothing to remember
    hits: tuple[Hit, ...] = ()  # what the search found: suggestions, and the passages staff debug shows
    language: str = "en"  # ISO 639-1 code of the reply


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
        conversations: ConversationStore | None = None,
        composer: Composer | None = None,
    ) -> None:
        self.settings = settings
        self.encode = encoder
        # generated answers when ASKOLEUS_LLM_BASE_URL is set; only `answered` replies reach the model
        if composer is None and settings.generated:
            composer = generated_composer(settings, encoder.embedder.encode)
        self.composer = composer
        self.conversations: ConversationStore = (
            conversations  # an empty store is falsy (it has a length): compare with None
            if conversations is not None
            else Conversations(
                settings.max_conversations, settings.conversation_turns, settings.conversation_ttl_seconds
            )
        )
        warm()

    def retriever(self, index: LoadedIndex) -> Retriever:
        """A retriever over index with the configured fusion."""
        return Retriever(
            index,
            self.encode,
            candidates=self.settings.candidates,
            dense_weight=self.settings.dense_weight,
            heading_weight=self.settings.heading_weight,
        )

    def ask(
        self,
        index: LoadedIndex,
        question: str,
        top_k: int | None = None,
        conversation_id: str | None = None,
        on_sentence: Callable[[SentenceEvent], None] | None = None,
    ) -> Answer:
        """The full answer for a (validated) question; on_sentence gets generated sentences once verified."""
        started = time.perf_counter()
        question = " ".join(question.split())
        cid = conversation_id if conversation_id and _CONVERSATION_ID.match(conversation_id) else None
        previous = self.conversations.last(cid)
        if previous is None or cid is None:  # only ids we issued and still remember continue a conversation
            cid = new_conversation_id()
        reply = self._reply(index, question, top_k or self.settings.top_k, previous)
        text, citations = compose(reply.quotes, index)
        mode: Mode = "extractive"
        dropped: tuple[Dropped, ...] = ()
        drafted = 0
        if reply.status == "answered" and reply.hits and self.composer is not None:
            composed = self.composer.compose(question, list(reply.hits), index, Fallback(text, citations), on_sentence)
            text, citations, mode, dropped = composed.text, composed.citations, composed.mode, composed.dropped
            drafted = composed.kept + len(dropped)
        body = reply.text if not text else (f"{reply.text} {text}" if reply.status != "answered" else text)
        shown = previous.shown if previous else frozenset()
        offered = suggestions(index, reply.quotes, list(reply.hits), shown) if reply.status == "answered" else []
        if reply.resolved is not None:
            positions = tuple(dict.fromkeys(q.hit.position for q in reply.quotes))
            quoted = {section_key(q.hit.chunk.article_id, q.hit.chunk.anchor) for q in reply.quotes}
            seen = shown | quoted | {key for key, _ in offered}
            self.conversations.add(cid, Turn(reply.resolved, positions, index.generation, frozenset(seen)))
        answer = Answer(
            answer=f"{body}\n\n{self.settings.disclaimer}",
            status=reply.status,
            citations=citations,
            related=reply.related,
            suggestions=[heading for _, heading in offered],
            disclaimer=self.settings.disclaimer,
            conversation_id=cid,
            index_generation=index.generation,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            language=reply.language,
            passages=list(reply.hits),
            mode=mode,
            dropped_sentences=len(dropped),
        )
        answer._dropped = [(d.text, d.reason) for d in dropped]
        answer._drafted = drafted
        return answer

    def _hits(
        self, index: LoadedIndex, text: str, k: int, vec: np.ndarray | None = None, offer: bool | None = None
    ) -> list[Hit]:
        """Passages for text (of vector vec), promo blocks only for offer questions (offer: asks_about_offer)."""
        offer = asks_about_offer(text) if offer is None else offer
        kinds = OFFER_KINDS if offer else ANSWER_KINDS
        vec = self.encode(text) if vec is None else vec
        # loose passages: a section's second passage often holds the answer, and coverage is calibrated
        # on them; measured on eval/golden.jsonl, heading shares lowered fact-first or refusals (README)
        return self.retriever(index).search(text, k, kinds=kinds, query_vector=vec, sections=False)

    def _search(self, index: LoadedIndex, text: str, k: int) -> tuple[list[Hit], np.ndarray, bool]:
        """Passages for text (promo blocks only for offer questions), its vector, and whether it is covered.

        Covered: a passage or sentence matches well enough, the words the articles never use are not
        the question's subject (near_domain), and a question asking for a price or a quantity in a unit
        (a pace, a distance) finds one.
        """
        vec = self.encode(text)
        offer = asks_about_offer(text)
        hits = self._hits(index, text, k, vec, offer)
        cov = coverage(index, hits, vec)
        covered = cov >= self.settings.not_covered_threshold
        if not covered:  # worded like one sentence of the articles: covered however loose the vector match
            covered = lexical_coverage(index, text, hits) >= LEXICAL_COVERAGE
        if offer and not covered:  # promo blocks word offers their own way ("10% off" for "discount")
            covered = any(h.chunk.kind == "promo" for h in hits)
        kind = answer_type(text)
        if covered and kind in ("price", "measure"):  # a price or a pace the passages never give is not covered
            covered = any(signals_kind(kind, h.chunk.text) for h in hits)
        fact = fact_kind(text)
        if covered and fact:  # where the company is based, who founded it: only a passage stating it answers
            covered = any(states_fact(fact, h.chunk.text) for h in hits)
        if covered and not offer:  # a joke, a poem, code: nothing an article holds; last, as it may encode
            covered = not asks_to_create(text) and not near_domain(index, text, hits, vec, cov, self.encode)
        return hits, vec, covered

    def _reply(self, index: LoadedIndex, question: str, k: int, previous: Turn | None) -> Reply:
        local = localized_route(question, self.settings)
        if local is not None:  # another language: a fixed reply in it (languages.py)
            fixed, lang = local
            if fixed == "emergency":
                return Reply(EMERGENCY[lang], "emergency", [], [], None, language=lang)
            hits = self._hits(index, question, k)  # only for related articles: no coverage checks
            related = _related(hits, self.settings.not_covered_threshold - RELATED_MARGIN)
            text = ENGLISH_ONLY[lang] + (RELATED[lang] if related else "")
            return Reply(text, "not_covered", [], related, None, tuple(hits), language=lang)
        intent = route(question)
        if intent == "emergency":
            return Reply(EMERGENCY_TEXT, "emergency", [], [], None)
        kind = followup_kind(question) if previous else None
        same_index = previous is not None and previous.generation == index.generation
        if kind == "pronoun" and previous and same_index and asks_for_reference(question):
            quotes = _reference_quotes(index, previous)
            if quotes:
                return Reply("", "answered", quotes, [], previous.question)
        # a follow-up is searched together with the question it follows, so "it" keeps its referent;
        # "and magnesium?" must be covered on its own first, or any topic would borrow the old frame
        question = correct_spelling(index, question)  # routed as written, searched as meant
        framed = f"{previous.question} {question}"[-MAX_RESOLVED_CHARS:] if previous else question
        resolved = framed if kind == "pronoun" else question
        hits, search_vec, covered = self._search(index, resolved, k)
        if kind == "topic" and covered:
            resolved = framed
            hits, search_vec, covered = self._search(index, resolved, k)
        n = self.settings.max_answer_sentences
        if intent == "medical":
            body = [h for h in hits if h.chunk.kind in ANSWER_KINDS]
            quotes = select_quotes(index, body, search_vec, max_sentences=min(2, n), question=question)
            quotes = quotes if covered else []
            return Reply(
                MEDICAL_TEXT + (MEDICAL_WITH_PASSAGES if quotes else ""),
                "medical_referral",
                quotes,
                [],
                resolved,
                tuple(hits),
            )
        if not covered:
            related = _related(hits, self.settings.not_covered_threshold - RELATED_MARGIN)
            text = NOT_COVERED_TEXT + (NOT_COVERED_RELATED if related else "")
            return Reply(text, "not_covered", [], related, None, tuple(hits))
        # a new topic in the old frame ("and magnesium?") was searched with the frame; its sentences
        # are chosen by the new topic alone, or the previous answer would come back
        quote_vec = self.encode(question) if resolved != question and kind == "topic" else search_vec
        quotes = select_quotes(index, hits, quote_vec, max_sentences=n, question=question)
        return Reply("", "answered", quotes, [], resolved, tuple(hits))


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
                quotes.append(Quote(hit, j, sentence, 1.0))  # j: the sentence's position in the passage
    return quotes[:4]
