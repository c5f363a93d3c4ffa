"""Choose the support check's cosine weight and threshold on eval/support_labels.jsonl; print the numbers.

Builds a throw-away index of corpus/ and the test articles with the real model, scores each labelled
sentence against the passage it cites (best cosine to a sentence or adjacent pair, and content-word
overlap), picks (weight, threshold) on the tune pairs by Youden's J (supported kept minus unsupported
passed; ties: fewer unsupported passed) and reports the held-out pairs.

    PYTHONPATH=src python bench/support_threshold.py
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from askoleus.answer.compose.prompt import make_passages
from askoleus.answer.verify import Kept, unit_vectors, verify_sentence
from askoleus.config import Settings
from askoleus.encoders import load_embedder
from askoleus.evaluate import load_items
from askoleus.index import load_current
from askoleus.index.lexical import tokenize
from askoleus.pipeline import build_index
from askoleus.retrieve import Hit

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = [ROOT / "corpus", ROOT / "tests/fixtures/articles", ROOT / "tests/fixtures/hostile"]
WEIGHTS = np.round(np.arange(0.0, 1.01, 0.1), 2)
THRESHOLDS = np.round(np.arange(0.30, 0.95, 0.01), 2)


@dataclass
class Row:
    id: str
    sentence: str
    supported: bool
    contradiction: bool
    tune: bool
    cosine: float
    overlap: float
    kept: bool = False  # by the full verification with the chosen values


def rates(rows: list[Row], w: float, t: float) -> tuple[float, float]:
    """(supported kept, unsupported passed) by the support score alone."""
    sup = [w * r.cosine + (1 - w) * r.overlap >= t for r in rows if r.supported]
    uns = [w * r.cosine + (1 - w) * r.overlap >= t for r in rows if not r.supported]
    return sum(sup) / max(len(sup), 1), sum(uns) / max(len(uns), 1)


def main() -> None:
    items = load_items(ROOT / "eval/support_labels.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for folder in ARTICLES:
            for f in folder.iterdir():
                if f.is_file():
                    shutil.copy(f, corpus / f.name)
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        embedder = load_embedder(settings)
        build_index(settings, embedder)
        index = load_current(settings.index_dir, embedder.name, embedder.dim)
    vectors = embedder.encode([it["sentence"] for it in items])
    rows, checks = [], []
    for it, vec in zip(items, vectors, strict=True):
        squash = re.sub(r"\s+", " ", it["cites"])
        pos = next(i for i, c in enumerate(index.chunks) if squash in re.sub(r"\s+", " ", c.text))
        passage = make_passages(index, [Hit(pos, index.chunks[pos], 1.0, 1.0, 0.0)])[0]
        units = unit_vectors([passage], embedder.encode)
        terms = set(tokenize(it["sentence"]))
        overlap = len(terms & set(tokenize(passage.evidence))) / max(len(terms), 1)
        pair = (int(it["id"][1:]) - 1) // 2
        rows.append(
            Row(it["id"], it["sentence"], it["supported"], it.get("kind") == "contradiction", pair % 2 == 0,
                float((units[1] @ vec).max()), overlap)
        )  # fmt: skip
        checks.append((it["sentence"] + " [1]", vec, {1: passage}, units))
    tune = [r for r in rows if r.tune]
    held = [r for r in rows if not r.tune]
    w, t = max(
        ((w, t) for w in WEIGHTS for t in THRESHOLDS),
        key=lambda wt: (rates(tune, *wt)[0] - rates(tune, *wt)[1], -rates(tune, *wt)[1]),
    )
    print(f"labelled sentences: {len(rows)} (tune {len(tune)}, held out {len(held)})")
    print(f"chosen on tune: cosine weight {w}, threshold {t}")
    for name, part in (("tune", tune), ("held out", held), ("all", rows)):
        kept, passed = rates(part, w, t)
        print(f"  {name:9s} supported kept {kept:.3f}   unsupported passed {passed:.3f}")
    for wc in (0.0, 1.0):
        tc = max(THRESHOLDS, key=lambda x: rates(tune, wc, x)[0] - rates(tune, wc, x)[1])
        kept, passed = rates(held, wc, tc)
        print(f"  one signal (cosine weight {wc}, threshold {tc}): held out kept {kept:.3f}, passed {passed:.3f}")
    contra = [r for r in rows if r.contradiction]
    passed = sum(w * r.cosine + (1 - w) * r.overlap >= t for r in contra)
    print(f"  contradictions passed (a limit of the check): {passed} of {len(contra)}")
    import askoleus.answer.verify as verify_module

    verify_module.W_COSINE = float(w)
    for r, (sentence, vec, passages, units) in zip(rows, checks, strict=True):
        r.kept = isinstance(verify_sentence(sentence, vec, passages, units, float(t)), Kept)
    for name, part in (("held out", held), ("all", rows)):
        sup = [r.kept for r in part if r.supported]
        uns = [r.kept for r in part if not r.supported]
        print(f"full verification, {name}: supported kept {np.mean(sup):.3f}   unsupported kept {np.mean(uns):.3f}")
    for r in rows:
        if r.kept != r.supported:
            score = w * r.cosine + (1 - w) * r.overlap
            label = "supported" if r.supported else "unsupported"
            print(f"  miss {r.id} ({label}, {'tune' if r.tune else 'held out'}) score {score:.3f}: {r.sentence}")


if __name__ == "__main__":
    main()
