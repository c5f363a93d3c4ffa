"""Routing and language-detection quality on labelled question sets: precision, recall, false alarms."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from askoleus.config import Settings

from .languages import detect_language, localized_route, warm
from .routing import route

ROUTES = ("emergency", "medical")


@dataclass
class Labelled:
    """One question with the route (or language) it should get."""

    question: str
    expect: str
    split: str = "all"


@dataclass
class RoutingReport:
    """Per-route precision and recall plus the benign false-alarm rates, per split."""

    split: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # route -> tp/fp/fn
    benign: int = 0
    benign_to_medical: int = 0
    benign_to_emergency: int = 0
    misses: list[str] = field(default_factory=list)

    def precision(self, r: str) -> float:
        """Of the questions sent to r, the share that belong there."""
        c = self.counts[r]
        return c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0

    def recall(self, r: str) -> float:
        """Of the questions that belong to r, the share sent there."""
        c = self.counts[r]
        return c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0


def load(path: Path) -> list[Labelled]:
    """A JSONL set: {"question", "expect", "split"}; golden items map `status` to a route."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "question" not in row:
            continue
        expect = row.get("expect")
        split = row.get("split", "golden")
        if not isinstance(expect, str):  # eval/golden.jsonl: the status names the route
            if row.get("language", "en") != "en":
                continue  # the keyword router reads English; other languages: evaluate_languages
            expect = {"emergency": "emergency", "medical_referral": "medical"}.get(row.get("status", ""), "answer")
            split = "golden"
        items.append(Labelled(row["question"], expect, split))
    return items


def evaluate_routing(items: Iterable[Labelled], split: str = "all") -> RoutingReport:
    """Score route() against the labels; 'answer' labels are the benign questions."""
    report = RoutingReport(split, {r: {"tp": 0, "fp": 0, "fn": 0} for r in ROUTES})
    for item in items:
        got = route(item.question)
        for r in ROUTES:
            c = report.counts[r]
            c["tp"] += got == r and item.expect == r
            c["fp"] += got == r and item.expect != r
            c["fn"] += got != r and item.expect == r
        if item.expect == "answer":
            report.benign += 1
            report.benign_to_medical += got == "medical"
            report.benign_to_emergency += got == "emergency"
        if got != item.expect:
            report.misses.append(f"{item.expect} -> {got}: {item.question}")
    return report


@dataclass
class LanguageReport:
    """Detection quality: English kept English, other languages recognised, per-call latency."""

    split: str
    english: int = 0
    english_as_other: list[str] = field(default_factory=list)
    other: int = 0
    other_correct: int = 0
    other_wrong_language: list[str] = field(default_factory=list)
    ms_per_call: float = 0.0


def evaluate_languages(items: list[Labelled], settings: Settings, split: str = "all") -> LanguageReport:
    """Score detect_language() on questions labelled with their ISO 639-1 code."""
    report = LanguageReport(split)
    warm()
    started = time.perf_counter()
    got = [detect_language(i.question, settings) for i in items]
    report.ms_per_call = (time.perf_counter() - started) * 1000 / max(1, len(items))
    for item, lang in zip(items, got, strict=True):
        if item.expect == "en":
            report.english += 1
            if lang != "en":
                report.english_as_other.append(f"{lang}: {item.question}")
        else:
            report.other += 1
            report.other_correct += lang == item.expect
            if lang not in (item.expect, "en"):
                report.other_wrong_language.append(f"{item.expect} -> {lang}: {item.question}")
    return report


def localized_emergencies(items: list[Labelled], settings: Settings) -> list[str]:
    """Foreign red-flag questions that do not get the emergency reply in their language."""
    misses = []
    for item in items:
        local = localized_route(item.question, settings)
        if local is None or local[0] != "emergency" or local[1] != item.expect:
            misses.append(f"{item.expect} -> {local}: {item.question}")
    return misses


MAX_BENIGN_TO_MEDICAL = 0.10


def _language_items(eval_dir: Path) -> list[Labelled]:
    """eval/languages.jsonl plus every English question of the routing and golden sets."""
    items = [
        Labelled(row["question"], row["lang"], row.get("split", "all"))
        for row in map(json.loads, (eval_dir / "languages.jsonl").read_text(encoding="utf-8").splitlines())
    ]
    for name in ("golden.jsonl", "routing_benign.jsonl", "routing_medical.jsonl"):
        if (eval_dir / name).exists():
            items += [Labelled(i.question, "en", "english") for i in load(eval_dir / name)]
    return items


def report(eval_dir: Path, settings: Settings) -> tuple[list[str], bool]:
    """Printable lines for routing and language detection on the sets in eval_dir, and whether targets hold."""
    routed = [i for name in ("routing_benign.jsonl", "routing_medical.jsonl") for i in load(eval_dir / name)]
    routed += load(eval_dir / "golden.jsonl")
    lines, ok = [], True
    for split in dict.fromkeys(i.split for i in routed):
        r = evaluate_routing([i for i in routed if i.split == split], split)
        cells = " ".join(f"{k} P={r.precision(k):.3f} R={r.recall(k):.3f}" for k in ROUTES)
        to_med = r.benign_to_medical / r.benign if r.benign else 0.0
        lines.append(
            f"routing [{split}] {cells} benign={r.benign} ->medical {to_med:.3f} (<= {MAX_BENIGN_TO_MEDICAL})"
            f" ->emergency {r.benign_to_emergency} (= 0)"
        )
        lines += [f"  miss {m}" for m in r.misses]
        recall_ok = split != "golden" or all(r.recall(k) == 1.0 for k in ROUTES)
        ok = ok and recall_ok and to_med <= MAX_BENIGN_TO_MEDICAL and r.benign_to_emergency == 0
    langs = _language_items(eval_dir)
    for split in dict.fromkeys(i.split for i in langs):
        lr = evaluate_languages([i for i in langs if i.split == split], settings, split)
        lines.append(
            f"language [{split}] English kept {lr.english - len(lr.english_as_other)}/{lr.english} (target: all)"
            f" other recognised {lr.other_correct}/{lr.other} wrong language {len(lr.other_wrong_language)}"
            f" {lr.ms_per_call:.3f} ms/call"
        )
        lines += [f"  English read as {m}" for m in lr.english_as_other]
        lines += [f"  wrong language {m}" for m in lr.other_wrong_language]
        ok = ok and not lr.english_as_other
    flags = [
        Labelled(row["question"], row["lang"], row["expect"])
        for row in map(json.loads, (eval_dir / "red_flags_languages.jsonl").read_text(encoding="utf-8").splitlines())
    ]
    misses = localized_emergencies([f for f in flags if f.split == "emergency"], settings)
    false_alarms = [
        f.question
        for f in flags
        if f.split != "emergency" and localized_route(f.question, settings) != ("english_only", f.expect)
    ]
    lines.append(
        f"red flags in other languages: emergency in the right language {len(flags) - len(false_alarms) - len(misses)}"
        f"/{len(flags)} (target: all)"
    )
    lines += [f"  miss {m}" for m in misses] + [f"  false alarm {q}" for q in false_alarms]
    ok = ok and not misses and not false_alarms
    lines.append("PASS" if ok else "FAIL")
    return lines, ok
