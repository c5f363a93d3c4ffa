"""Golden-set evaluation: answer-first facts, abstention, statuses, citations and the gate."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from .answer import Answer, Answerer
from .answer.common_words import word_table
from .answer.compose import ExtractiveComposer
from .answer.extract import LEANS_BACK
from .config import Settings
from .encoders import Embedder
from .index.loaded import LoadedIndex
from .retrieve import QueryEncoder

# What a reply that reads like an answer must reach (issue 9), on all items. Not every bar is met yet:
# the README's Quality section shows where the answers stand.
TARGETS: dict[str, tuple[str, float]] = {
    "fact_first": (">=", 0.75),
    "fact_anywhere": (">=", 0.90),
    "sentences_mean": ("<=", 2.5),
    "refused": (">=", 0.90),
    "answered": (">=", 0.95),
    "citation_validity": (">=", 1.0),
    "disclaimer": (">=", 1.0),
    "retrieval_hit@3": (">=", 0.85),
}
# The CI gate: every target is met (README, Answer quality), so the gate is the targets themselves.
# Should one ever be missed again while work is under way, gate it on a floor just under the level of
# the day here, never lower, and raise it back as the answers improve.
THRESHOLDS: dict[str, tuple[str, float]] = dict(TARGETS)
LABELS = {
    "fact_first": "fact in the first sentence",
    "fact_anywhere": "fact anywhere in the answer",
    "sentences_mean": "sentences per answer, mean",
    "sentences_max": "sentences per answer, max",
    "refused": "out of scope refused (near-domain included)",
    "near_domain": "near-domain questions refused",
    "answered": "answerable questions answered",
    "reply_language": "reply in the expected language",
    "safety": "medical and emergency routed as labelled",
    "citation_validity": "citation validity",
    "disclaimer": "disclaimer present",
    "retrieval_hit@3": "retrieval hit@3",
    "retrieval_mrr": "retrieval MRR",
}
SPLITS = ("tune", "held_out", "all")
_MARKED = re.compile(r"(.+?)\s\[(\d+)\](?:\s|$)", re.DOTALL)


def load_items(path: Path) -> list[dict[str, Any]]:
    """Items of a JSON-lines golden file (blank lines and # comments skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _body(answer: Answer) -> str:
    return answer.answer.removesuffix(answer.disclaimer)


def quoted_sentences(answer: Answer) -> list[str]:
    """The sentences an answer quotes, in order (one [n] marker each)."""
    return [re.sub(r"^(?:\[\d+\]\s*)+", "", s.strip()) for s, _ in _MARKED.findall(_body(answer))]


def lead(sentences: list[str]) -> str:
    """The first sentence, with the sentences right after it that lean on it ("It carries oxygen …").

    Such a sentence cannot open an answer, so the sentence it depends on comes first: the two are
    one opening.
    """
    out = sentences[:1]
    for s in sentences[1:]:
        if not LEANS_BACK.match(s):
            break
        out.append(s)
    return " ".join(out)


def citations_valid(answer: Answer) -> bool:
    """Every [n] marker points to a returned citation whose snippet contains the marked sentence."""
    by_n = {c.n: c for c in answer.citations}
    markers = _MARKED.findall(_body(answer))
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


def judge(item: dict[str, Any], answer: Answer, settings: Settings) -> dict[str, Any]:
    """Per-item outcomes: each key a metric this item counts towards (absent: it does not count)."""
    out: dict[str, Any] = {"status_ok": answer.status == item["status"]}
    expected = item["status"]
    if expected == "answered":
        out["answered"] = answer.status == "answered"
    if expected == "not_covered":
        out["refused"] = answer.status == "not_covered"
        if item["category"] == "near_domain":
            out["near_domain"] = out["refused"]
    if expected in ("medical_referral", "emergency"):
        out["safety"] = out["status_ok"]
    if expected == "answered" and item.get("expect"):
        text = answer.answer.lower()
        out["fact_anywhere"] = answer.status == "answered" and all(e.lower() in text for e in item["expect"])
    sentences = quoted_sentences(answer)
    if expected == "answered" and item.get("first"):
        first = lead(sentences).lower() if answer.status == "answered" else ""
        out["fact_first"] = any(f.lower() in first for f in item["first"])
    if answer.status == "answered":
        out["sentences"] = len(sentences)
    if "language" in item:
        out["reply_language"] = getattr(answer, "language", "en") == item["language"]
    out["citation_validity"] = citations_valid(answer)
    out["disclaimer"] = answer.answer.endswith(settings.disclaimer) and answer.disclaimer == settings.disclaimer
    return out


def evaluate_items(
    items: list[dict[str, Any]], settings: Settings, embedder: Embedder, index: LoadedIndex
) -> dict[str, Any]:
    """Run every item and aggregate the metrics per split (tune, held_out) and over all items."""
    encoder = QueryEncoder(embedder, words=word_table(settings, embedder))
    answerer = Answerer(settings, encoder, composer=ExtractiveComposer())  # generated: evaluate_generated
    outcomes: list[tuple[str, dict[str, Any]]] = []
    status_ok: dict[str, list[bool]] = defaultdict(list)
    misses: list[dict[str, Any]] = []
    for item in items:
        cid = answerer.ask(index, item["previous"]).conversation_id if item.get("previous") else None
        answer = answerer.ask(index, item["question"], conversation_id=cid)
        got = judge(item, answer, settings)
        if item.get("anchor") and not item.get("previous"):
            got["rank"] = _rank(answerer, index, item["question"], item["anchor"])
        outcomes.append((item.get("split", "tune"), got))
        status_ok[item["category"]].append(got["status_ok"])
        problems = _problems(got, answer)
        if problems:
            misses.append({"id": item.get("id"), "question": item["question"], "problems": problems})
    report: dict[str, Any] = {"items": len(items), "splits": {}}
    for split in SPLITS:
        rows = [g for s, g in outcomes if split in ("all", s)]
        report["splits"][split] = _aggregate(rows)
    report["status_accuracy"] = {k: _rate(v) for k, v in sorted(status_ok.items())}
    report["failures"] = misses
    return report


def _problems(got: dict[str, Any], answer: Answer) -> list[str]:
    checks = {
        "status_ok": f"status {answer.status}",
        "fact_first": "fact not in the first sentence",
        "fact_anywhere": "expected fact missing",
        "reply_language": f"reply language {getattr(answer, 'language', 'en')}",
        "citation_validity": "invalid citation",
        "disclaimer": "disclaimer missing",
    }
    problems = [text for key, text in checks.items() if got.get(key) is False]
    if "rank" in got and (got["rank"] is None or got["rank"] > 3):
        problems.append(f"retrieval rank {got['rank']}")
    return problems


def _aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def rate(key: str) -> float:
        return _rate([bool(r[key]) for r in rows if key in r])

    counts = [int(r["sentences"]) for r in rows if "sentences" in r]
    ranks = [r["rank"] for r in rows if "rank" in r]
    out: dict[str, Any] = {k: rate(k) for k in LABELS if k in _RATES}
    out["sentences_mean"] = round(sum(counts) / len(counts), 3) if counts else 0.0
    out["sentences_max"] = max(counts, default=0)
    out["retrieval_hit@3"] = _rate([r is not None and r <= 3 for r in ranks])
    out["retrieval_mrr"] = round(sum(1 / r for r in ranks if r) / len(ranks), 4) if ranks else 0.0
    out["n"] = {k: sum(1 for r in rows if k in r) for k in (*_RATES, "sentences", "rank")}
    return out


_RATES = (
    "fact_first",
    "fact_anywhere",
    "refused",
    "near_domain",
    "answered",
    "reply_language",
    "safety",
    "citation_validity",
    "disclaimer",
)


def _rate(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def evaluate_file(path: Path, settings: Settings, embedder: Embedder, index: LoadedIndex) -> dict[str, Any]:
    """evaluate_items over a golden file."""
    return evaluate_items(load_items(path), settings, embedder, index)


def metric(report: dict[str, Any], name: str, split: str = "all") -> float:
    """A metric of one split by name ("fact_first")."""
    return float(report["splits"][split][name])


def _passes(value: float, rule: tuple[str, float]) -> bool:
    op, bar = rule
    return value <= bar if op == "<=" else value >= bar


def failures(report: dict[str, Any], thresholds: dict[str, tuple[str, float]]) -> list[str]:
    """Gated metrics (all items) that miss their thresholds, as readable strings."""
    return [
        f"{k} {metric(report, k):.3f} (needs {op} {bar})"
        for k, (op, bar) in thresholds.items()
        if not _passes(metric(report, k), (op, bar))
    ]


def format_report(report: dict[str, Any], thresholds: dict[str, tuple[str, float]] | None = None) -> str:
    """A human-readable report: tune, held-out and all side by side, target and gate, then PASS or FAIL."""
    thresholds = THRESHOLDS if thresholds is None else thresholds
    s = report["splits"]
    head = f"{'metric':46} {'tune':>7} {'held_out':>9} {'all':>7}   {'target (all)':16} gate (all)"
    lines = [f"items: {report['items']}", head]
    for key, label in LABELS.items():
        vals = [s[sp][key] for sp in SPLITS]
        cells = " ".join(f"{v:>{w}.3f}" for v, w in zip(vals, (7, 9, 7), strict=True))
        lines.append(f"{label:46} {cells}   {_rule(report, key, TARGETS, 'BELOW'):16} {_rule(report, key, thresholds)}")
    lines.append("status accuracy: " + "  ".join(f"{k} {v:.3f}" for k, v in report["status_accuracy"].items()))
    if report["failures"]:
        lines.append("items that missed (the gate is on the rates above):")
    lines.extend(f"  miss {f['id']}: {f['question'][:70]!r}: {', '.join(f['problems'])}" for f in report["failures"])
    below = failures(report, TARGETS)
    lines.append("targets: all met" if not below else "targets not met yet: " + "; ".join(below))
    bad = failures(report, thresholds)
    lines.append("PASS: every gated metric meets its threshold" if not bad else "FAIL: " + "; ".join(bad))
    return "\n".join(lines)


def _rule(report: dict[str, Any], key: str, rules: dict[str, tuple[str, float]], miss: str = "FAIL") -> str:
    rule = rules.get(key)
    if rule is None:
        return "(reported)"
    return f"{rule[0]} {rule[1]}  " + ("ok" if _passes(metric(report, key), rule) else miss)
