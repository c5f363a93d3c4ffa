"""The golden set is the quality gate: CI fails when a metric drops below its measured threshold."""

from __future__ import annotations

from pathlib import Path

from askoleus.answer import Answer, Citation
from askoleus.evaluate import THRESHOLDS, citations_valid, evaluate_file, failures

GOLDEN = Path(__file__).resolve().parent.parent / "eval" / "golden.jsonl"


def test_golden_set_meets_thresholds(built, embedder, loaded) -> None:  # type: ignore[no-untyped-def]
    """Retrieval hit@3, facts, citation validity, statuses and the disclaimer stay above their bars."""
    report = evaluate_file(GOLDEN, built, embedder, loaded)
    print(report["retrieval"], report["answers"], report["status_accuracy"])
    assert report["disclaimer_rate"] == 1.0
    assert report["citation_validity"] == 1.0
    assert failures(report, THRESHOLDS) == []


def _answer(text: str, snippet: str) -> Answer:
    c = Citation(n=1, title="t", url="u#a", section="s", snippet=snippet, source="x.txt", score=1.0, chunk_id="c")
    return Answer(
        answer=text + "\n\nD",
        status="answered",
        citations=[c],
        disclaimer="D",
        conversation_id="c" * 10,
        index_generation="g",
        took_ms=1.0,
    )


def test_citation_validity_catches_bad_markers() -> None:
    """A marker must point at a returned citation whose snippet holds the sentence."""
    assert citations_valid(_answer("Iron carries oxygen. [1]", "Iron carries oxygen."))
    assert not citations_valid(_answer("Iron carries oxygen. [2]", "Iron carries oxygen."))
    assert not citations_valid(_answer("Something invented. [1]", "Iron carries oxygen."))
    assert not citations_valid(_answer("No marker at all.", "Iron carries oxygen."))
