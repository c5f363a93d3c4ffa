"""Golden-set evaluation: retrieval hit@k and MRR, facts, citation validity, statuses, disclaimer."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from .answer import Answer, Answerer
from .answer.compose import ExtractiveComposer
from .config import Settings
from .embed import Embedder
from .index.loaded import LoadedIndex
from .retrieve import QueryEncoder

# Measured on eval/golden.jsonl (README, Answer quality); CI fails below these.
THRESHOLDS = {
    "retrieval.hit@3": 0.85,
    "answers.fact_rate": 0.7,
    "citation_validity": 1.0,
    "status_accuracy.overall": 0.85,
    "disclaimer_rate": 1.0,
}
_MARKED = re.compile(r"(.+?)\s\[(\d+)\](?:\s|$)", re.DOTALL)


def load_items(path: Path) -> list[dict[str, Any]]:
    """Items of a JSON-lines golden file (blank lines and # comments skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def citations_valid(answer: Answer) -> bool:
    """Every [n] marker points to a returned citation whose snippet contains the marked sentence."""
    body = answer.answer.removesuffix(answer.disclaimer)
    by_n = {c.n: c for c in answer.citations}
    markers = _MARKED.findall(body)
    if answer.citations and not markers:
        return False
    used = set()
    for sentence, n in markers:
        c = by_n.get(int(n))
        sentence = re.sub(r"^(?:\[\d+\]\s*)+", "", sentence.strip())
        if c is None or sentence.split(": ")[-1] not in c.snippet:
            return False
        used.add(int(n))
    return used == set(by_n)


def _rank(answerer: Answerer, index: LoadedIndex, question: str, anchor: str) -> int | None:
    hits = answerer.retriever(index).search(question, 10, kinds=("body",))
    for i, h in enumerate(hits, 1):
        if h.chunk.anchor == anchor:
            return i
    return None


def evaluate_items(
    items: list[dict[str, Any]], settings: Settings, embedder: Embedder, index: LoadedIndex
) -> dict[str, Any]:
    """Run every item and aggregate the metrics."""
    answerer = Answerer(
        settings, QueryEncoder(embedder), composer=ExtractiveComposer()
    )  # generated: evaluate_generated
    ranks: list[int | None] = []
    facts, valid, disclaimers = [], [], []
    status_ok: dict[str, list[bool]] = defaultdict(list)
    failed: list[dict[str, Any]] = []
    for item in items:
        cid = None
        if item.get("previous"):
            cid = answerer.ask(index, item["previous"]).conversation_id
        answer = answerer.ask(index, item["question"], conversation_id=cid)
        problems = []
        if item.get("anchor") and not item.get("previous"):
            rank = _rank(answerer, index, item["question"], item["anchor"])
            ranks.append(rank)
            if rank is None or rank > 3:
                problems.append(f"retrieval rank {rank}")
        ok_status = answer.status == item["status"]
        status_ok[item["category"]].append(ok_status)
        if not ok_status:
            problems.append(f"status {answer.status}")
        if item["status"] == "answered" and item.get("expect"):
            text = answer.answer.lower()
            has = all(e.lower() in text for e in item["expect"])
            facts.append(has)
            if not has:
                problems.append("expected fact missing")
        cv = citations_valid(answer)
        valid.append(cv)
        if not cv:
            problems.append("invalid citation")
        has_disclaimer = answer.answer.endswith(settings.disclaimer) and answer.disclaimer == settings.disclaimer
        disclaimers.append(has_disclaimer)
        if problems:
            failed.append({"id": item.get("id"), "question": item["question"], "problems": problems})
    n = len(ranks)
    all_status = [x for v in status_ok.values() for x in v]
    return {
        "items": len(items),
        "retrieval": {
            "n": n,
            "hit@1": _rate([r == 1 for r in ranks]),
            "hit@3": _rate([r is not None and r <= 3 for r in ranks]),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 4) if n else 0.0,
        },
        "answers": {"n": len(facts), "fact_rate": _rate(facts)},
        "citation_validity": _rate(valid),
        "status_accuracy": {**{k: _rate(v) for k, v in sorted(status_ok.items())}, "overall": _rate(all_status)},
        "disclaimer_rate": _rate(disclaimers),
        "failures": failed,
    }


def _rate(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def evaluate_file(path: Path, settings: Settings, embedder: Embedder, index: LoadedIndex) -> dict[str, Any]:
    """evaluate_items over a golden file."""
    return evaluate_items(load_items(path), settings, embedder, index)


def metric(report: dict[str, Any], dotted: str) -> float:
    """A metric by dotted name ("retrieval.hit@3")."""
    value: Any = report
    for part in dotted.split("."):
        value = value[part]
    return float(value)


def failures(report: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Metrics below their thresholds, as readable strings."""
    return [f"{k} {metric(report, k):.3f} < {v}" for k, v in thresholds.items() if metric(report, k) < v]


def format_report(report: dict[str, Any]) -> str:
    """A human-readable report."""
    r, a = report["retrieval"], report["answers"]
    lines = [
        f"items: {report['items']}",
        f"retrieval (n={r['n']}): hit@1 {r['hit@1']:.3f}  hit@3 {r['hit@3']:.3f}  MRR {r['mrr']:.3f}",
        f"answers containing the expected fact (n={a['n']}): {a['fact_rate']:.3f}",
        f"citation validity: {report['citation_validity']:.3f}",
        "status accuracy: " + "  ".join(f"{k} {v:.3f}" for k, v in report["status_accuracy"].items()),
        f"disclaimer present: {report['disclaimer_rate']:.3f}",
    ]
    if report["failures"]:
        lines.append("items that missed (the gate is on the rates above):")
    for f in report["failures"]:
        lines.append(f"  miss {f['id']}: {f['question'][:70]!r}: {', '.join(f['problems'])}")
    return "\n".join(lines)
