"""Prometheus metrics of generated answers: calls, latency, failures, drops, fallbacks, breaker state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class LLMMetrics:
    """The generated-answer metrics, in the registry given (the app's) or one of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.calls = Counter(
            "askoleus_llm_calls_total", "Model calls by outcome (ok or a failure reason)", ["outcome"], registry=r
        )
        self.latency = Histogram(
            "askoleus_llm_seconds",
            "Time from the model call to the end of its draft",
            buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20),
            registry=r,
        )
        self.failures = Counter("askoleus_llm_failures_total", "Failed model calls by reason", ["reason"], registry=r)
        self.kept = Counter(
            "askoleus_llm_sentences_kept_total", "Generated sentences that passed verification", registry=r
        )
        self.dropped = Counter(
            "askoleus_llm_sentences_dropped_total",
            "Generated sentences dropped by verification",
            ["reason"],
            registry=r,
        )
        self.fallbacks = Counter(
            "askoleus_llm_fallbacks_total", "Answers that fell back to extractive, by reason", ["reason"], registry=r
        )
        self.answers = Counter(
            "askoleus_llm_answers_total", "Answers by the mode that produced them", ["mode"], registry=r
        )
        self.breaker_open = Gauge(
            "askoleus_llm_breaker_open", "1 while the circuit breaker skips the model", registry=r
        )
