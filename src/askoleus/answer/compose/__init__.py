"""Answer composers: extractive (default) and generated → verify → fallback (ASKOLEUS_LLM_BASE_URL)."""

from .base import ComposedAnswer, Composer, Fallback, FinalEvent, Mode, SentenceEvent, StreamEvent
from .breaker import CircuitBreaker
from .extractive import ExtractiveComposer, extractive
from .generated import GeneratedComposer, generated_composer
from .metrics import LLMMetrics

__all__ = [
    "CircuitBreaker",
    "ComposedAnswer",
    "Composer",
    "ExtractiveComposer",
    "Fallback",
    "FinalEvent",
    "GeneratedComposer",
    "LLMMetrics",
    "Mode",
    "SentenceEvent",
    "StreamEvent",
    "extractive",
    "generated_composer",
]
