"""The `askoleus` command: a thin layer over the library functions."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .config import Settings
from .errors import AskoleusError, BuildLocked, ConfigError, IndexCorrupt

if TYPE_CHECKING:
    from .asking import Asking
    from .index import LoadedIndex

F = TypeVar("F", bound=Callable[..., Any])
EXIT_ERROR, EXIT_LOCKED = 1, 3


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(exc: AskoleusError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(EXIT_LOCKED if isinstance(exc, BuildLocked) else EXIT_ERROR)


def handle_errors(fn: F) -> F:
    """Print AskoleusError as one line on stderr and exit non-zero."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AskoleusError as exc:
            _fail(exc)

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper  # type: ignore[return-value]


def count(n: int, noun: str) -> str:
    """'1 article', '2 articles', '0 articles'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _Progress:
    """Progress on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty and total:
            width = 30
            filled = int(width * done / total)
            click.echo(f"\r{stage:>6} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", err=True, nl=False)
            if done >= total:
                click.echo("", err=True)


def _announce(settings: Settings, generation: str) -> None:
    """Tell every replica through Redis (ASKOLEUS_REDIS_URL) that generation is current; polling is the fallback."""
    if not settings.redis_url:
        return
    from .notify import publish_generation
    from .redisconn import SharedRedis

    shared = SharedRedis(settings.redis_url, settings.redis_timeout_seconds, prefix=settings.redis_prefix)
    if not publish_generation(shared, generation):
        click.echo("warning: redis unreachable: replicas switch when they next poll", err=True)


@click.group()
@click.version_option(package_name="askoleus")
def main() -> None:
    """askoleus: grounded, cited answers from the OLEUS blog articles."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@main.command()
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), help="Corpus directory.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--strict", is_flag=True, default=None, help="Fail on the first malformed article.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def build(corpus_dir: Path | None, index_dir: Path | None, strict: bool | None, as_json: bool) -> None:
    """Build a new index generation from the corpus and make it current."""
    from .answer.common_words import words
    from .build_vectors import build_word_table
    from .encoders import load_embedder
    from .pipeline import build_index

    settings = _settings(corpus_dir=corpus_dir, index_dir=index_dir)
    embedder = load_embedder(settings)
    progress = _Progress()
    report = build_index(settings, embedder, strict=strict, progress=progress)
    if settings.word_table:  # the near-domain check's word vectors, once per vector space (about 50 s)
        build_word_table(
            settings.encoder_cache(), embedder, words(), lambda done, total: progress("words", done, total)
        )
    if not report.unchanged:
        _announce(settings, report.generation)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    for s in report.skipped:
        click.echo(f"warning: skipped {s['file']}: {s['reason']}", err=True)
    state = "unchanged, still" if report.unchanged else "now"
    click.echo(
        f"{count(report.articles, 'article')}, {count(report.chunks, 'chunk')} ({report.embedded} embedded, "
        f"{report.reused} reused, {report.removed} removed), {len(report.skipped)} skipped, "
        f"{count(len(report.drafts), 'draft')}; generation {report.generation} is {state} current "
        f"[{report.seconds:.1f}s]"
    )


def _asking(settings: Settings, question: str) -> tuple[Asking, LoadedIndex, str]:
    """The ask path (no question log, no metrics), the current index and the checked question."""
    from .answer import Answerer
    from .answer.common_words import word_table
    from .asking import Asking, check_question
    from .encoders import load_embedder
    from .index import IndexStore, load_current
    from .retrieve import QueryEncoder

    question = check_question(question, settings.max_question_chars)  # bad input fails before the model loads
    IndexStore(settings.index_dir).current_dir()  # and so does a missing index
    embedder = load_embedder(settings)
    index = load_current(settings.index_dir, embedder.name, embedder.dim)
    encoder = QueryEncoder(embedder, words=word_table(settings, embedder))
    return Asking(settings, Answerer(settings, encoder)), index, question


@main.command()
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 100), default=None, help="How many passages.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["body", "promo", "references"]))
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical", "rrf"]), default="hybrid")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@handle_errors
def search(
    question: str, k: int | None, index_dir: Path | None, kinds: tuple[str, ...], mode: str, as_json: bool
) -> None:
    """Ranked passages for QUESTION, with scores."""
    settings = _settings(index_dir=index_dir)
    asking, index, question = _asking(settings, question)
    hits = asking.search(index, question, k or settings.top_k, kinds=kinds or None, mode=mode)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return
    for rank, h in enumerate(hits, 1):
        click.echo(f"{rank}. [{h.score:.3f}] {h.chunk.title} — {h.chunk.section} ({h.chunk.kind})")
        click.echo(f"   {h.chunk.url}")
        click.echo(f"   {h.chunk.text[:300]}{'…' if len(h.chunk.text) > 300 else ''}\n")


@main.group()
def index() -> None:
    """Inspect or roll back index generations."""


@index.command("status")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def index_status(index_dir: Path | None, as_json: bool) -> None:
    """List generations, newest first, marking the current one; exit 1 when the current one is unusable."""
    from .index import IndexStore, load_generation

    settings = _settings(index_dir=index_dir)
    store = IndexStore(settings.index_dir)
    gens = store.status(verify=lambda path: load_generation(path, settings.model))  # what the server checks
    current, problem = store.pointer()
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in gens]))
    else:
        if not gens:
            click.echo("no generations: run `askoleus build`")
        for g in gens:
            mark = "*" if g.current else " "
            sizes = f"{count(g.articles, 'article')}, {count(g.chunks, 'chunk')}"
            detail = f"{sizes}, {g.model}, {g.created}" if g.valid else g.problem
            click.echo(f"{mark} {g.id}  {'ok     ' if g.valid else 'INVALID'}  {detail}")
    if problem:
        raise AskoleusError(problem)
    if current is not None and not any(g.current and g.valid for g in gens):
        raise IndexCorrupt(f"the current generation {current} is invalid: run `askoleus index rollback`")


@index.command("rollback")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@handle_errors
def index_rollback(index_dir: Path | None) -> None:
    """Make the previous valid generation current."""
    from .index import IndexStore, load_generation

    settings = _settings(index_dir=index_dir)
    store = IndexStore(settings.index_dir)
    with store.lock():
        gen = store.rollback(verify=lambda path: load_generation(path, settings.model))
    _announce(settings, gen)
    click.echo(f"generation {gen} is now current")


def _answer_text(answer: dict[str, Any]) -> str:
    lines = [f"[{answer['status']}]", answer["answer"], ""]
    for c in answer["citations"]:
        lines.append(f"[{c['n']}] {c['title']} — {c['section']}\n    {c['url']}")
        lines.extend(f"    study: {r['text']}" for r in c.get("references", []))
    lines.extend(f"related: {r['title']} — {r['url']}" for r in answer.get("related", []))
    return "\n".join(lines).rstrip()


@main.command()
@click.argument("question")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("-k", "k", type=click.IntRange(1, 100), default=None, help="Passages to consider.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer object.")
@handle_errors
def ask(question: str, index_dir: Path | None, k: int | None, as_json: bool) -> None:
    """Answer QUESTION from the articles, with numbered sources and the disclaimer."""
    settings = _settings(index_dir=index_dir)
    asking, index, question = _asking(settings, question)
    answer = asking.ask(index, question, k).answer
    click.echo(answer.model_dump_json() if as_json else _answer_text(answer.model_dump()))


def listen_url(host: str, port: int) -> str:
    """The base URL of a server bound to host:port (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@main.command()
@click.option("--host", default=None, help="Bind address (ASKOLEUS_HOST).")
@click.option("--port", type=int, default=None, help="Port (ASKOLEUS_PORT).")
@click.option("--workers", type=int, default=None, help="uvicorn worker processes (ASKOLEUS_WORKERS).")
@handle_errors
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API, the widget and the console with uvicorn."""
    import uvicorn

    from .api.app import check_production

    settings = _settings(host=host, port=port, workers=workers)
    check_production(settings)
    for name, value in (("HOST", settings.host), ("PORT", settings.port), ("WORKERS", settings.workers)):
        os.environ[f"ASKOLEUS_{name}"] = str(value)  # workers re-read settings from the environment
    url = listen_url(settings.host, settings.port)
    click.echo(f"askoleus serving on {url} once the model and index are loaded (Ctrl+C stops)")
    click.echo(f"  demo page {url}/   staff console {url}/console   API docs {url}/docs")
    uvicorn.run(
        "askoleus.api.app:factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        # whom to believe about the client address is askoleus's decision (ASKOLEUS_TRUSTED_PROXIES, made in
        # api.security): uvicorn's own handling would trust X-Forwarded-For from 127.0.0.1 and rewrite it first
        proxy_headers=False,
        forwarded_allow_ips="",
        timeout_keep_alive=settings.keep_alive_seconds,
        # no limit_concurrency: it counts idle connections too, so holding sockets open would 503 everyone;
        # per-client and per-lane limits live in the app (api.middleware.admission)
    )


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option(
    "--mode",
    type=click.Choice(["extractive", "generated"]),
    default="extractive",
    show_default=True,
    help="generated: also run the set through the model (ASKOLEUS_LLM_*) and report what verification did.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--check/--no-check", default=True, help="Exit 1 when a metric is below its threshold.")
@handle_errors
def evaluate(file: Path, index_dir: Path | None, mode: str, as_json: bool, check: bool) -> None:
    """Run a golden question set against the index and report quality metrics."""
    from .encoders import load_embedder
    from .evaluate import THRESHOLDS, evaluate_file, failures, format_report, load_items
    from .evaluate_generated import evaluate_generated, format_generated_report
    from .index import IndexStore, load_current

    settings = _settings(index_dir=index_dir)
    if mode == "generated" and not settings.generated:
        raise ConfigError("--mode generated needs a model: set ASKOLEUS_LLM_BASE_URL (and ASKOLEUS_LLM_MODEL)")
    IndexStore(settings.index_dir).current_dir()  # fail fast, before the model loads
    embedder = load_embedder(settings)
    index = load_current(settings.index_dir, embedder.name, embedder.dim)
    report = evaluate_file(file, settings, embedder, index)
    generated = evaluate_generated(load_items(file), settings, embedder, index) if mode == "generated" else None
    if as_json:
        click.echo(json.dumps(report if generated is None else {**report, "generated": generated}, indent=2))
    else:
        click.echo(format_report(report))
        if generated is not None:
            click.echo("\ngenerated answers (" + settings.llm_model + "):\n" + format_generated_report(generated))
    # verification must never let an unsupported sentence through: any one shown fails the check
    if check and (failures(report, THRESHOLDS) or (generated is not None and generated["unsupported_shown"])):
        sys.exit(EXIT_ERROR)


@main.command("eval-routing")
@click.option(
    "--eval-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("eval"),
    help="Folder with golden.jsonl, routing_*.jsonl, languages.jsonl and red_flags_languages.jsonl.",
)
@click.option("--check/--no-check", default=True, help="Exit 1 when a target is missed.")
@handle_errors
def eval_routing(eval_dir: Path, check: bool) -> None:
    """Routing precision and recall, benign false alarms, and language detection on the labelled sets."""
    from .answer.routing_eval import report

    lines, ok = report(eval_dir, _settings())
    click.echo("\n".join(lines))
    if check and not ok:
        sys.exit(1)
