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

Every question is embedded once; each configuration then ranks with that vector through
`askoleus.retrieve.Retriever.search(mode=...)`, so the numbers are those of the shipped code.
`hybrid chunks` is the hybrid fusion ranking loose chunks (heading weight 0, the ranking before
section-aware ranking); `hybrid sections h own b` ranks sections with heading weight h, of which
share b is the section's own heading and 1 - b its article's best heading.

Held-out split: in every question file, item i (0-based) is held out when i % 3 == 2; weights are
chosen on the other two thirds ("tune") and the held-out third is reported next to it.

    .venv/bin/python bench/retrieval.py                     # faq, subset, full, golden
    .venv/bin/python bench/retrieval.py --corpora faq golden --heading-weights 0.3 0.5
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
from askoleus.retrieve import HEADING_WEIGHT, OWN_HEADING_SHARE, QueryEncoder, Retriever

EVAL = ROOT / "eval"
SITE = "https://docs.python.org/3.11"
HEADING_WEIGHTS = [0.1, 0.2, 0.3, 0.5]
OWN_SHARES = [0.0, 0.25, 0.5, 1.0]
K = 10
HELD_OUT_EVERY = 3  # item i is held out when i % 3 == 2


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
        "skipped_files": report.skipped,
        "unchanged": report.unchanged,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return settings, info


# -- evaluation ------------------------------------------------------------------------------
Matcher = Callable[[dict, object], bool]


Config = tuple[str, str, float, float, float]  # label, mode, dense weight, heading weight, own-heading share


def configs(heading_weights: list[float], own_shares: list[float]) -> list[Config]:
    w = Settings().dense_weight
    return [
        ("dense", "dense", w, 0.0, 0.0),
        ("lexical", "lexical", w, 0.0, 0.0),
        ("rrf", "rrf", w, 0.0, 0.0),
        ("hybrid chunks", "hybrid", w, 0.0, 0.0),
    ] + [(f"hybrid sections {h:.2f} own {b:.2f}", "hybrid", w, h, b) for h in heading_weights for b in own_shares]


def held_out(i: int) -> bool:
    return i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "hit@1": sum(r == 1 for r in ranks if r) / n,
        "hit@3": sum(r <= 3 for r in ranks if r) / n,
        "hit@10": sum(1 for r in ranks if r) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def evaluate(
    index,
    encoder: QueryEncoder,
    items: list[dict],
    match: Matcher,  # type: ignore[no-untyped-def]
    heading_weights: list[float],
    own_shares: list[float],
    kinds: tuple[str, ...] | None,
) -> list[dict]:
    """One row per configuration: hit@1, hit@3, hit@10, MRR@10 on all items, the tune and the held-out part."""
    vectors = [encoder(it["question"]) for it in items]
    rows = []
    for label, mode, w, h, b in configs(heading_weights, own_shares):
        retrieve_module.OWN_HEADING_SHARE = b
        retriever = Retriever(index, encoder, candidates=Settings().candidates, dense_weight=w, heading_weight=h)
        ranks: list[int | None] = []
        for it, qv in zip(items, vectors, strict=True):
            hits = retriever.search(it["question"], K, kinds=kinds, mode=mode, query_vector=qv)  # type: ignore[arg-type]
            ranks.append(next((i for i, hit in enumerate(hits, 1) if match(it, hit.chunk)), None))
        retrieve_module.OWN_HEADING_SHARE = OWN_HEADING_SHARE
        rows.append(
            {
                "config": label,
                "heading_weight": h,
                "own_share": b,
                **metrics(ranks),
                "tune": metrics([r for i, r in enumerate(ranks) if not held_out(i)]),
                "held_out": metrics([r for i, r in enumerate(ranks) if held_out(i)]),
                "ranks": ranks,
            }
        )
    return rows


def table(title: str, rows: list[dict]) -> str:
    out = [
        f"### {title}",
        "",
        "| config | hit@1 | hit@3 | hit@10 | MRR@10 | tune hit@1 / MRR | held-out hit@1 / MRR |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        default = r["heading_weight"] == HEADING_WEIGHT and r["own_share"] == OWN_HEADING_SHARE
        label = r["config"] + (" (default)" if default else "")
        t, ho = r["tune"], r["held_out"]
        out.append(
            f"| {label} | {r['hit@1']:.3f} | {r['hit@3']:.3f} | {r['hit@10']:.3f} | {r['mrr']:.3f} | "
            f"{t['hit@1']:.3f} / {t['mrr']:.3f} | {ho['hit@1']:.3f} / {ho['mrr']:.3f} |"
        )
    return "\n".join(out)


def side_by_side(results: dict[str, dict]) -> str:
    """hit@1 / MRR@10 of every configuration on every corpus, then the mean tune MRR used to choose."""
    names = list(results)
    labels = [r["config"] for r in next(iter(results.values()))["rows"]]
    out = [
        "### side by side: hit@1 / MRR@10 (all items; held-out third in brackets)",
        "",
        "| config | " + " | ".join(names) + " | mean tune MRR |",
        "| --- | " + " | ".join("---" for _ in names) + " | --- |",
    ]
    for label in labels:
        cells, tune = [], []
        for name in names:
            r = next(r for r in results[name]["rows"] if r["config"] == label)
            ho = r["held_out"]
            cells.append(f"{r['hit@1']:.3f} / {r['mrr']:.3f} ({ho['hit@1']:.3f} / {ho['mrr']:.3f})")
            tune.append(r["tune"]["mrr"])
        out.append(f"| {label} | " + " | ".join(cells) + f" | {sum(tune) / len(tune):.3f} |")
    return "\n".join(out)


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--corpora", nargs="+", default=["faq", "subset", "full", "golden"], choices=["faq", "subset", "full", "golden"]
    )
    ap.add_argument("--heading-weights", nargs="+", type=float, default=HEADING_WEIGHTS)
    ap.add_argument("--own-shares", nargs="+", type=float, default=OWN_SHARES)
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
        rows = evaluate(index, encoder, items, match, args.heading_weights, args.own_shares, kinds)
        results[name] = {"index": info, "rows": rows}
        title = f"{name}: {len(items)} questions, {info['articles']} articles, {info['chunks']} chunks"
        print(f"\n[{name}] index: {json.dumps(info)}", flush=True)
        print(table(title, rows), flush=True)

    print("\n" + side_by_side(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
