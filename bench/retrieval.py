"""Retrieval quality of every fusion mode on real corpora: hit@1/3/10 and MRR@10.

Corpora (built once under bench/data/, then reused: build_index only embeds what changed):

  faq      the Python 3.11 FAQ pages, bench/data/pydocs/faq/*.html without index.html (8 pages),
           evaluated with eval/pydocs_faq.jsonl (60 items; a hit is a chunk whose `source` and
           `anchor` both match the item's).
  subset   the harder setting: faq/ + tutorial/ + howto/ + every other page of library/ (alphabetical,
           index.html pages left out): 200 pages, ~8,000 chunks; the same 60 FAQ items, now with the
           rest of the documentation as distractors. The full tree (530 pages, ~23,000 chunks) is
           too slow to build on 2 cores (see bench/RESULTS.md for the measured throughput);
           `--corpora full` builds it anyway.
  golden   the project's corpus/ with eval/golden.jsonl (items with an `anchor` and no `previous`;
           a hit is a chunk with that anchor), as `askoleus eval` ranks them (body chunks only).

Every question is embedded once; each mode then ranks with that vector through
`askoleus.retrieve.Retriever.search(mode=...)`, so the numbers are those of the shipped code.
`hybrid-best-hit` is the fusion as it was before it was re-measured (BM25 divided by the best
candidate's BM25 instead of the query's attainable maximum, weight 0.7), kept for comparison.

    .venv/bin/python bench/retrieval.py                     # faq, subset, golden
    .venv/bin/python bench/retrieval.py --corpora faq golden --weights 0.5 0.7 0.9
    bench/fetch_pydocs.sh                                   # first, if bench/data/pydocs is missing
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from common import DATA, PYDOCS, ROOT  # first: offline model, this checkout's src/ on sys.path

# isort: split
import askoleus.retrieve as retrieve_module
from askoleus.config import Settings
from askoleus.encoders import load_embedder
from askoleus.index import load_current
from askoleus.pipeline import build_index
from askoleus.retrieve import QueryEncoder, Retriever, fuse

EVAL = ROOT / "eval"
SITE = "https://docs.python.org/3.11"
DEFAULT_WEIGHTS = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.97]
PREVIOUS_WEIGHT = 0.7  # the default before the fusion was re-measured
K = 10


# -- corpora ---------------------------------------------------------------------------------
def pydocs_pages(corpus: str) -> list[Path]:
    """The pages of a named pydocs corpus, relative to PYDOCS, in a fixed order."""

    def html(sub: str) -> list[Path]:
        return sorted(p.relative_to(PYDOCS) for p in (PYDOCS / sub).glob("*.html") if p.name != "index.html")

    if corpus == "faq":
        return html("faq")
    if corpus == "subset":
        return html("faq") + html("tutorial") + html("howto") + html("library")[::2]
    if corpus == "full":
        return sorted(p.relative_to(PYDOCS) for p in PYDOCS.rglob("*.html"))
    raise ValueError(corpus)


def sync_corpus(pages: Iterable[Path], dest: Path, root: Path = PYDOCS) -> int:
    """Make dest hold exactly these files of root (same relative paths); unchanged files are left alone."""
    wanted = {p.as_posix() for p in pages}
    for p in [p for p in dest.rglob("*") if p.is_file()] if dest.exists() else []:
        if p.relative_to(dest).as_posix() not in wanted:
            p.unlink()
    for rel in sorted(wanted):
        src, dst = root / rel, dest / rel
        if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    return len(wanted)


def ensure_index(  # type: ignore[no-untyped-def]
    name: str, corpus_dir: Path, embedder, site_url: str = SITE
) -> tuple[Settings, dict]:
    """Build (or reuse) the index of corpus_dir under bench/data/index-<name>."""
    settings = Settings(corpus_dir=corpus_dir, index_dir=DATA / f"index-{name}", site_url=site_url)
    started = time.perf_counter()
    report = build_index(settings, embedder)
    info = {
        "articles": report.articles,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "skipped": len(report.skipped),
        "unchanged": report.unchanged,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return settings, info


# -- evaluation ------------------------------------------------------------------------------
Matcher = Callable[[dict, object], bool]


def configs(weights: list[float]) -> list[tuple[str, float | None]]:
    return [("dense", None), ("lexical", None), ("rrf", None), ("hybrid-best-hit", PREVIOUS_WEIGHT)] + [
        ("hybrid", w) for w in weights
    ]


def _fuse_scaled_by_best_hit(dense, lexical, mode, dense_weight, lexical_max=None):  # type: ignore[no-untyped-def]
    """The fusion before it was re-measured: BM25 divided by the best candidate's BM25."""
    return fuse(dense, lexical, mode, dense_weight)


def evaluate(
    index,
    encoder: QueryEncoder,
    items: list[dict],
    match: Matcher,  # type: ignore[no-untyped-def]
    weights: list[float],
    kinds: tuple[str, ...] | None,
) -> list[dict]:
    """One row per (mode, weight): hit@1, hit@3, hit@10, MRR@10."""
    vectors = [encoder(it["question"]) for it in items]
    rows = []
    for mode, w in configs(weights):
        retriever = Retriever(
            index,
            encoder,
            candidates=Settings().candidates,
            dense_weight=w if w is not None else Settings().dense_weight,
        )
        ranks: list[int | None] = []
        for it, qv in zip(items, vectors, strict=True):
            if mode == "hybrid-best-hit":
                retrieve_module.fuse = _fuse_scaled_by_best_hit
                try:
                    hits = retriever.search(it["question"], K, kinds=kinds, mode="hybrid", query_vector=qv)
                finally:
                    retrieve_module.fuse = fuse
            else:
                hits = retriever.search(
                    it["question"],
                    K,
                    kinds=kinds,
                    mode=mode,
                    query_vector=qv,  # type: ignore[arg-type]
                )
            ranks.append(next((i for i, h in enumerate(hits, 1) if match(it, h.chunk)), None))
        n = len(ranks)
        rows.append(
            {
                "mode": mode,
                "weight": w,
                "n": n,
                "hit@1": sum(r == 1 for r in ranks if r) / n,
                "hit@3": sum(r <= 3 for r in ranks if r) / n,
                "hit@10": sum(1 for r in ranks if r) / n,
                "mrr": sum(1 / r for r in ranks if r) / n,
                "ranks": ranks,
            }
        )
    return rows


def table(title: str, rows: list[dict]) -> str:
    dense = next(r for r in rows if r["mode"] == "dense")
    out = [
        f"### {title}",
        "",
        "| mode | weight | hit@1 | hit@3 | hit@10 | MRR@10 | vs dense (MRR) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        w = "" if r["weight"] is None else f"{r['weight']:.2f}"
        if r["mode"] == "hybrid" and r["weight"] == Settings().dense_weight:
            w += " (default)"
        delta = r["mrr"] - dense["mrr"]
        out.append(
            f"| {r['mode']} | {w} | {r['hit@1']:.3f} | {r['hit@3']:.3f} | {r['hit@10']:.3f} | "
            f"{r['mrr']:.3f} | {delta:+.3f} |"
        )
    return "\n".join(out)


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--corpora", nargs="+", default=["faq", "subset", "full", "golden"], choices=["faq", "subset", "full", "golden"]
    )
    ap.add_argument("--weights", nargs="+", type=float, default=DEFAULT_WEIGHTS)
    ap.add_argument("--json", type=Path, help="also write all rows (with per-item ranks) here")
    args = ap.parse_args()

    embedder = load_embedder(Settings())
    encoder = QueryEncoder(embedder, size=100_000)
    faq_items = load_jsonl(EVAL / "pydocs_faq.jsonl")
    golden = [it for it in load_jsonl(EVAL / "golden.jsonl") if it.get("anchor") and not it.get("previous")]
    results: dict[str, dict] = {}
    for name in args.corpora:
        if name == "golden":
            corpus_dir = DATA / "corpus-project"
            project = ROOT / "corpus"
            sync_corpus([p.relative_to(project) for p in project.rglob("*") if p.is_file()], corpus_dir, project)
            # default site URL, as bench/query.py builds the same index
            settings, info = ensure_index("project", corpus_dir, embedder, Settings().site_url)
            items: list[dict] = golden
            match: Matcher = lambda it, c: c.anchor == it["anchor"]  # noqa: E731
            kinds: tuple[str, ...] | None = ("body",)
        else:
            if not (PYDOCS / "faq").is_dir():
                sys.exit(f"{PYDOCS} is missing: run bench/fetch_pydocs.sh first")
            corpus_dir = DATA / f"corpus-{name}"
            pages = sync_corpus(pydocs_pages(name), corpus_dir)
            settings, info = ensure_index(name, corpus_dir, embedder)
            info["pages"] = pages
            items = faq_items
            match = lambda it, c: c.source == it["source"] and c.anchor == it["anchor"]  # noqa: E731
            kinds = ("body",)
        index = load_current(settings.index_dir, embedder.name, embedder.dim)
        rows = evaluate(index, encoder, items, match, args.weights, kinds)
        results[name] = {"index": info, "rows": rows}
        title = f"{name}: {len(items)} questions, {info['articles']} articles, {info['chunks']} chunks"
        print(f"\n[{name}] index: {json.dumps(info)}", flush=True)
        print(table(title, rows), flush=True)

    print("\n### hybrid minus dense (MRR@10 / hit@1 / hit@3 / hit@10), per weight ('old' = hybrid-best-hit)")
    for name, res in results.items():
        dense = next(r for r in res["rows"] if r["mode"] == "dense")
        cells = []
        for r in res["rows"]:
            if r["mode"].startswith("hybrid"):
                label = ("old " if r["mode"] != "hybrid" else "") + f"{r['weight']:.2f}"
                deltas = "/".join(f"{r[m] - dense[m]:+.3f}" for m in ("mrr", "hit@1", "hit@3", "hit@10"))
                cells.append(f"{label}: {deltas}")
        print(f"- {name}: " + ", ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
