"""The default composer: the published sentences already selected by answer.extract, as they are."""

from __future__ import annotations

from collections.abc import Callable

from askoleus.answer.verify import Dropped
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit

from .base import ComposedAnswer, Fallback, SentenceEvent


class ExtractiveComposer:
    """Quotes only: the answer is the extractive fallback itself."""

    def compose(
        self,
        question: str,
        hits: list[Hit],
        index: LoadedIndex,
        fallback: Fallback,
        on_sentence: Callable[[SentenceEvent], None] | None = None,
    ) -> ComposedAnswer:
        """The extractive answer (nothing is streamed sentence by sentence)."""
        return extractive(fallback)


def extractive(
    fallback: Fallback, reason: str | None = None, dropped: tuple[Dropped, ...] = (), kept: int = 0
) -> ComposedAnswer:
    """The extractive answer, saying why it replaced a generated one (if it did), what was dropped and
    how many drafted sentences had passed (the drop rate's denominator is kept + dropped)."""
    return ComposedAnswer(fallback.text, fallback.citations, "extractive", dropped, kept, reason)
