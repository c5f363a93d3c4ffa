"""Golden-set evaluation of generated answers: drop share, fallbacks, and unsupported sentences shown."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .answer import Answer, Answerer
from .answer.common_words import word_table
from .answer.compose import GeneratedComposer, LLMMetrics
from .answer.compose.prompt import make_passages
from .answer.verify import Kept, draft_sentences, unit_vectors, verify_sentence
from .config import Settings
from .encoders import Embedder
from .index.loaded import LoadedIndex
from .retrieve import Hit, QueryEncoder

_MARKER = re.compile(r"\[(\d+)\]")


def unsupported_shown(answer: Answer, index: LoadedIndex, embedder: Embedder, threshold: float) -> list[str]:
    """Sentences a reader sees in a generated answer that fail verification against their citations.

    Re-checks the reader-facing text and citations (by chunk id), not the composer's own state: a
    sentence with a marker to no citation, or one its cited passage does not support, is counted.
    """
    by_n = {c.n: c for c in answer.citations}
    positions = {c.id: i for i, c in enumerate(index.chunks)}
    bad = []
    for sentence in draft_sentences(answer.answer.removesuffix(answer.disclaimer)):
        cited = [by_n.get(int(n)) for n in _MARKER.findall(sentence)]
        if not cited or None in cited:
            bad.append(sentence)
            continue
        hits = [Hit(positions[c.chunk_id], index.chunks[positions[c.chunk_id]], 0, 0, 0) for c in cited if c]
        passages = make_passages(index, hits)
        renumbered = _MARKER.sub("", sentence).rstrip() + "".join(f" [{p.n}]" for p in passages)
        vector = embedder.encode([_MARKER.sub("", sentence)])[0]
        units = unit_vectors(passages, embedder.encode)
        if not isinstance(verify_sentence(renumbered, vector, {p.n: p for p in passages}, units, threshold), Kept):
            bad.append(sentence)
    return bad


def evaluate_generated(
    items: list[dict[str, Any]], settings: Settings, embedder: Embedder, index: LoadedIndex
) -> dict[str, Any]:
    """Run the golden items through the configured model and report what verification did."""
    metrics = LLMMetrics()
    composer = GeneratedComposer(settings, embedder.encode, metrics)
    answerer = Answerer(settings, QueryEncoder(embedder, words=word_table(settings, embedder)), composer=composer)
    modes: Counter[str] = Counter()
    shown, unsupported, facts = 0, [], []
    for item in items:
        cid = answerer.ask(index, item["previous"]).conversation_id if item.get("previous") else None
        answer = answerer.ask(index, item["question"], conversation_id=cid)
        if answer.status != "answered":
            continue
        modes[answer.mode] += 1
        if answer.mode == "generated":
            shown += len(draft_sentences(answer.answer.removesuffix(answer.disclaimer)))
            unsupported += unsupported_shown(answer, index, embedder, settings.llm_support_threshold)
        if item.get("expect") and item["status"] == "answered":
            facts.append(all(e.lower() in answer.answer.lower() for e in item["expect"]))
    r = metrics.registry
    kept = int(r.get_sample_value("askoleus_llm_sentences_kept_total") or 0)
    dropped = {
        s.labels["reason"]: int(s.value)
        for m in r.collect()
        if m.name == "askoleus_llm_sentences_dropped"
        for s in m.samples
        if s.name.endswith("_total")
    }
    fallbacks = {
        s.labels["reason"]: int(s.value)
        for m in r.collect()
        if m.name == "askoleus_llm_fallbacks"
        for s in m.samples
        if s.name.endswith("_total")
    }
    drafted = kept + sum(dropped.values())
    return {
        "answered": sum(modes.values()),
        "generated": modes["generated"],
        "extractive": modes["extractive"],
        "fallbacks": fallbacks,
        "sentences": {"drafted": drafted, "kept": kept, "dropped": sum(dropped.values()), "dropped_by": dropped},
        "dropped_share": round(sum(dropped.values()) / drafted, 4) if drafted else 0.0,
        "shown": shown,
        "unsupported_shown": unsupported,
        "unsupported_rate": round(len(unsupported) / shown, 4) if shown else 0.0,
        "fact_rate": round(sum(facts) / len(facts), 4) if facts else 0.0,
    }


def format_generated_report(report: dict[str, Any]) -> str:
    """A human-readable report."""
    s = report["sentences"]
    lines = [
        f"answered: {report['answered']}  generated: {report['generated']}  extractive: {report['extractive']}",
        "fallbacks: " + (", ".join(f"{k} {v}" for k, v in sorted(report["fallbacks"].items())) or "none"),
        f"sentences drafted {s['drafted']}, kept {s['kept']}, dropped {s['dropped']} "
        f"(share {report['dropped_share']:.3f}): " + ", ".join(f"{k} {v}" for k, v in sorted(s["dropped_by"].items())),
        f"unsupported sentences shown after verification: {len(report['unsupported_shown'])} of {report['shown']} "
        f"(rate {report['unsupported_rate']:.3f})",
        f"answers containing the expected fact: {report['fact_rate']:.3f}",
    ]
    return "\n".join(lines)
