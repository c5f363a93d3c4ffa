"""The answer-composer seam: what every composer returns, and the events a streaming one yields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from askoleus.answer.models import Citation
from askoleus.answer.verify import Dropped
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit

Mode = Literal["extractive", "generated"]


@dataclass(frozen=True)
class Fallback:
    """The extractive answer (text with [n] markers, its citations): what a reader gets if generation fails."""

    text: str
    citations: list[Citation]


@dataclass(frozen=True)
class ComposedAnswer:
    """An answer body (no disclaimer) with its citations, the mode that produced it and what was dropped."""

    text: str
    citations: list[Citation]
    mode: Mode
    dropped: tuple[Dropped, ...] = ()
    kept: int = 0  # drafted sentences that passed verification (also counted when the answer fell back)
    fallback_reason: str | None = None  # why the extractive answer was used instead of a generated one

    @property
    def dropped_sentences(self) -> int:
        """How many drafted sentences verification dropped."""
        return len(self.dropped)


@dataclass(frozen=True)
class SentenceEvent:
    """One verified sentence, ready to show: text with its (answer-numbered) markers, new citations."""

    text: str
    citations: list[Citation] = field(default_factory=list)


@dataclass(frozen=True)
class FinalEvent:
    """The whole answer once the draft is done; `replace` asks the reader's view to show it instead
    of the sentences already streamed (the extractive fallback arrived after some were shown)."""

    answer: ComposedAnswer
    replace: bool = False


StreamEvent = SentenceEvent | FinalEvent


class Composer(Protocol):
    """Turns retrieved passages into an answer body for an `answered` question."""

    def compose(
        self,
        question: str,
        hits: list[Hit],
        index: LoadedIndex,
        fallback: Fallback,
        on_sentence: Callable[[SentenceEvent], None] | None = None,
    ) -> ComposedAnswer:
        """The answer body, citations and mode; on_sentence gets each verified sentence as it completes."""
        ...
