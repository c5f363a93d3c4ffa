"""The `askoleus` command as a user runs it: real processes, JSON output, exit codes, one-line errors.

Commands that load the embedding model cost ~10 s each, so the module runs each of them once
(build, search, ask and a search against a missing index), two at a time, and shares the results.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from askoleus import DISCLAIMER
from askoleus.cli import main
from askoleus.config import Settings
from askoleus.index import IndexStore
from askoleus.pipeline import build_index
from conftest import CORPUS, FIXTURES, SEED, FakeEmbedder

ASKOLEUS = Path(sys.executable).parent / "askoleus"
IRON_QUESTION = "why is iron important for runners"


@dataclass
class Run:
    """A finished command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def start(cwd: Path, *args: str, settings: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `askoleus ARGS` in cwd (so no stray .env applies), with only the given ASKOLEUS_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKOLEUS_")}
    env["HF_HUB_OFFLINE"] = "1"
    env.update(settings or {})
    return subprocess.Popen(
        [str(ASKOLEUS), *args], cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finish(proc: subprocess.Popen[str]) -> Run:
    out, err = proc.communicate(timeout=300)
    return Run(tuple(proc.args[1:]), proc.returncode, out, err)  # type: ignore[index]


def run(cwd: Path, *args: str, settings: dict[str, str] | None = None) -> Run:
    return finish(start(cwd, *args, settings=settings))


# the two_generations fixture builds with the fake model: status and rollback check generations against
# the configured model, as the server does
FAKE_MODEL = {"ASKOLEUS_MODEL": FakeEmbedder.name}


def assert_one_line_error(r: Run, code: int = 1) -> str:
    """Non-zero exit, a single 'error: ...' line on stderr, no traceback, nothing on stdout."""
    assert r.returncode == code, (r.args, r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
    assert r.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cli")
    shutil.copytree(CORPUS, base / "corpus")
    return base


@pytest.fixture(scope="module")
def runs(work: Path) -> dict[str, Run]:
    """One build of the seed corpus, then search and ask against it (each pair runs concurrently)."""
    index = str(work / "index")
    build = start(work, "build", "--corpus", str(work / "corpus"), "--index", index, "--json")
    missing = start(work, "search", IRON_QUESTION, "--json", "--index", str(work / "no-such-index"))
    results = {"build": finish(build), "missing": finish(missing)}
    assert results["build"].returncode == 0, results["build"].stderr[-3000:]
    search = start(work, "search", IRON_QUESTION, "--json", "--index", index)
    ask = start(work, "ask", IRON_QUESTION + "?", "--json", "--index", index)
    results.update(search=finish(search), ask=finish(ask))
    return results


@pytest.fixture
def two_generations(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """An index with two different generations (built in-process with the fake embedder: no model load)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / SEED, corpus / SEED)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = build_index(settings, FakeEmbedder()).generation
    (corpus / SEED).write_text((corpus / SEED).read_text() + "\n\nOne more paragraph about iron.\n")
    second = build_index(settings, FakeEmbedder()).generation
    assert first != second
    yield settings.index_dir, first, second


# --- build ----------------------------------------------------------------------------------------


def test_build_json_prints_one_report_object(runs: dict[str, Run]) -> None:
    """`askoleus build --json` prints exactly one JSON object describing the new generation."""
    r = runs["build"]
    assert len(r.stdout.strip().splitlines()) == 1
    report = json.loads(r.stdout)
    assert {"articles", "chunks", "embedded", "reused", "removed", "skipped", "generation", "seconds"} <= set(report)
    assert report["articles"] == 1
    assert report["chunks"] == report["embedded"] > 0
    assert report["reused"] == report["removed"] == 0
    assert report["skipped"] == []
    assert isinstance(report["skipped"], list)
    assert report["generation"]
    assert isinstance(report["seconds"], float)
    assert "Traceback" not in r.stderr


def test_build_summary_counts_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The human summary says "1 article" for one and "2 articles" for two (fake embedder: no model load)."""
    monkeypatch.setattr("askoleus.embed.load_embedder", lambda settings: FakeEmbedder())
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(CORPUS / SEED, corpus / SEED)
    one = CliRunner().invoke(main, ["build", "--corpus", str(corpus), "--index", str(index)])
    assert one.exit_code == 0, one.output
    assert one.output.startswith("1 article, ")
    assert ", 0 drafts; generation " in one.output
    shutil.copy(FIXTURES / "articles" / "magnesium-and-cramps.md", corpus)
    two = CliRunner().invoke(main, ["build", "--corpus", str(corpus), "--index", str(index)])
    assert two.output.startswith("2 articles, ")
    status = CliRunner().invoke(main, ["index", "status", "--index", str(index)], env=FAKE_MODEL)
    newest, oldest = status.output.splitlines()
    assert "  2 articles, " in newest
    assert "  1 article, " in oldest


def test_build_made_its_generation_current(runs: dict[str, Run], work: Path) -> None:
    """The generation the report names is the one CURRENT points at."""
    assert IndexStore(work / "index").current_id() == json.loads(runs["build"].stdout)["generation"]


# --- search and ask -------------------------------------------------------------------------------


def test_search_finds_the_iron_paragraph_first(runs: dict[str, Run]) -> None:
    """`askoleus search --json` ranks the iron paragraph first, with everything needed to cite it."""
    r = runs["search"]
    assert r.returncode == 0, r.stderr[-3000:]
    hits = json.loads(r.stdout)
    assert isinstance(hits, list)
    assert hits
    top = hits[0]
    assert "carries oxygen to the mitochondria" in top["text"]
    assert "#why-would-your-engine-be-underpowered" in top["url"]
    assert top["section"] == "Why would your engine be underpowered even when you feel fine otherwise?"
    assert top["source"] == "why-your-legs-feel-heavy-when-you-run.txt"
    assert top["kind"] == "body"
    assert isinstance(top["score"], float)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_ask_answers_with_citations_and_the_disclaimer(runs: dict[str, Run]) -> None:
    """`askoleus ask --json` answers from the iron paragraph, cites it and carries the disclaimer."""
    r = runs["ask"]
    assert r.returncode == 0, r.stderr[-3000:]
    answer = json.loads(r.stdout)
    assert answer["status"] == "answered"
    assert answer["citations"]
    assert answer["citations"][0]["n"] == 1
    assert "#why-would-your-engine-be-underpowered" in answer["citations"][0]["url"]
    assert "[1]" in answer["answer"]
    assert "oxygen" in answer["answer"]
    assert answer["disclaimer"] == DISCLAIMER
    assert answer["answer"].endswith(DISCLAIMER)


def test_a_missing_index_is_a_one_line_error(runs: dict[str, Run]) -> None:
    """Searching an index that was never built exits 1 with the reason and the fix, no traceback."""
    line = assert_one_line_error(runs["missing"])
    assert "no index generation is current" in line
    assert "run `askoleus build`" in line


def test_an_empty_question_is_refused_before_loading_anything(tmp_path: Path) -> None:
    """Invalid input gets a one-line error, without echoing the input."""
    line = assert_one_line_error(run(tmp_path, "ask", "   ", "--index", str(tmp_path / "index")))
    assert line == "error: question is empty"


def test_an_empty_search_is_refused_before_loading_anything(tmp_path: Path) -> None:
    line = assert_one_line_error(run(tmp_path, "search", "\t", "--index", str(tmp_path / "index")))
    assert line == "error: question is empty"


def test_serve_prints_the_url_it_listens_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """`askoleus serve` says where to point a browser before uvicorn takes over the terminal."""
    for name in ("HOST", "PORT", "WORKERS"):  # serve exports these for uvicorn's workers: restored after
        monkeypatch.setenv(f"ASKOLEUS_{name}", "")
        monkeypatch.delenv(f"ASKOLEUS_{name}")
    ran: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.update(kw))
    result = CliRunner().invoke(main, ["serve", "--host", "127.0.0.1", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123" in result.output.splitlines()[0]
    assert "http://127.0.0.1:8123/docs" in result.output
    assert (ran["host"], ran["port"]) == ("127.0.0.1", 8123)


# --- index status and rollback --------------------------------------------------------------------


def test_index_status_lists_generations_newest_first(two_generations: tuple[Path, str, str]) -> None:
    """`askoleus index status` shows every generation and marks the current one."""
    index, first, second = two_generations
    r = run(index.parent, "index", "status", "--index", str(index), "--json", settings=FAKE_MODEL)
    assert r.returncode == 0, r.stderr
    gens = json.loads(r.stdout)
    assert [(g["id"], g["current"], g["valid"]) for g in gens] == [(second, True, True), (first, False, True)]
    text = run(index.parent, "index", "status", "--index", str(index), settings=FAKE_MODEL)
    assert text.returncode == 0
    assert text.stdout.splitlines()[0].startswith(f"* {second}  ok")


def test_index_rollback_then_nothing_left_to_roll_back(two_generations: tuple[Path, str, str]) -> None:
    """Rollback switches to the previous generation (exit 0); with nothing older it fails in one line."""
    index, first, _ = two_generations
    r = run(index.parent, "index", "rollback", "--index", str(index), settings=FAKE_MODEL)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"generation {first} is now current"
    assert IndexStore(index).current_id() == first

    again = run(index.parent, "index", "rollback", "--index", str(index), settings=FAKE_MODEL)
    assert assert_one_line_error(again) == "error: no valid older generation to roll back to"
    assert IndexStore(index).current_id() == first


def test_index_rollback_while_a_build_runs_exits_3(two_generations: tuple[Path, str, str]) -> None:
    """Rollback takes the build lock; while a build holds it, the command fails with exit code 3."""
    index, _, second = two_generations
    with IndexStore(index).lock():
        r = run(index.parent, "index", "rollback", "--index", str(index), settings=FAKE_MODEL)
    line = assert_one_line_error(r, code=3)
    assert f"another build (pid {os.getpid()}) is running" in line
    assert IndexStore(index).current_id() == second


def test_index_status_of_an_empty_directory_says_to_build(tmp_path: Path) -> None:
    """No generations is not an error for status; it tells the user what to do."""
    r = run(tmp_path, "index", "status", "--index", str(tmp_path / "index"))
    assert r.returncode == 0
    assert r.stdout.strip() == "no generations: run `askoleus build`"
