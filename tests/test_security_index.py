"""Hostile or broken index directories: a garbage CURRENT, manifests that point outside, invalid generations.

Each case reproduces a finding of the hostile-client pass (issue 10) and states the expected behaviour:
a one-line error, no traceback, no file opened outside the generation, rollback still possible.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from askoleus.cli import main
from askoleus.config import Settings
from askoleus.errors import IndexCorrupt
from askoleus.index import IndexStore, load_generation
from askoleus.index.store import ACTIVATED, CURRENT, MANIFEST, sha256_file, verify_generation
from askoleus.pipeline import build_index
from conftest import FakeEmbedder


@pytest.fixture
def two_generations(tmp_path: Path, corpus_dir: Path) -> tuple[Path, list[str]]:
    """An index with two valid generations that have both been current (built with the fake model)."""
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    embedder = FakeEmbedder()
    first = build_index(settings, embedder).generation
    (corpus_dir / "extra.md").write_text("---\ntitle: Extra\n---\n\nRest days help the legs recover.\n")
    second = build_index(settings, embedder).generation
    return settings.index_dir, [first, second]


def cli(index_dir: Path, *args: str) -> tuple[int, str, str]:
    """Run `askoleus ARGS --index DIR` in-process with the fake model's name configured."""
    result = CliRunner().invoke(main, [*args, "--index", str(index_dir)], env={"ASKOLEUS_MODEL": "fake-hash"})
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, err: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: ")


def test_a_garbage_current_pointer_is_a_one_line_error_and_rollback_still_works(
    two_generations: tuple[Path, list[str]],
) -> None:
    index_dir, (_first, _second) = two_generations
    (index_dir / CURRENT).write_text("A" * 300)  # used to raise "File name too long" from every command

    store = IndexStore(index_dir)
    assert store.current_id() is None
    assert store.pointer() == (None, "CURRENT does not hold a generation id")

    code, out, err = cli(index_dir, "index", "status")
    assert_one_line_error(code, err)
    assert "CURRENT does not hold a generation id" in err
    assert out.count("ok") == 2  # the generations themselves are still listed

    code, out, err = cli(index_dir, "index", "rollback")
    assert code == 0, err
    assert store.current_id() is not None
    assert store.current_id() == _second
    assert f"generation {_second} is now current" in out


@pytest.mark.parametrize("pointer", ["../../etc", "gen/../../x", "\x00\x01", "a b"])
def test_a_pointer_that_is_not_a_generation_id_is_refused(tmp_path: Path, pointer: str) -> None:
    (tmp_path / CURRENT).write_text(pointer)
    assert IndexStore(tmp_path).current_id() is None


def _with_artifact(gen_dir: Path, rel: str) -> None:
    manifest = json.loads((gen_dir / MANIFEST).read_text())
    manifest["artifacts"][rel] = {"sha256": "0" * 64, "bytes": 1}
    (gen_dir / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("outside", ["/etc/shadow", "../../../../etc/passwd", "lexical/../../x"])
def test_artifact_paths_outside_the_generation_are_refused_before_any_file_is_opened(
    two_generations: tuple[Path, list[str]], outside: str
) -> None:
    index_dir, (_first, second) = two_generations
    gen_dir = index_dir / "generations" / second
    _with_artifact(gen_dir, outside)
    with pytest.raises(IndexCorrupt) as refused:
        verify_generation(gen_dir)
    # the same words whether or not the target exists: the message reveals nothing about the disk
    assert (
        refused.value.message
        == f"generation {second}: an artifact path in the manifest leaves the generation directory"
    )


def test_an_artifact_symlinked_out_of_the_generation_is_refused(two_generations: tuple[Path, list[str]]) -> None:
    index_dir, (_first, second) = two_generations
    gen_dir = index_dir / "generations" / second
    (gen_dir / "articles.json").unlink()
    (gen_dir / "articles.json").symlink_to("/etc/hostname")
    with pytest.raises(IndexCorrupt, match="leaves the generation directory"):
        verify_generation(gen_dir)


def test_a_generation_directory_symlinked_outside_the_index_is_refused(
    two_generations: tuple[Path, list[str]], tmp_path: Path
) -> None:
    index_dir, (_first, second) = two_generations
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(index_dir / "generations" / second, elsewhere)
    (index_dir / "generations" / "20990101T000000000000Z-evil00").symlink_to(elsewhere)
    (index_dir / CURRENT).write_text("20990101T000000000000Z-evil00\n")

    store = IndexStore(index_dir)
    assert store.current_id() is None
    assert "20990101T000000000000Z-evil00" not in store.ids()


def test_status_fails_when_the_current_generation_is_invalid(two_generations: tuple[Path, list[str]]) -> None:
    index_dir, (_first, second) = two_generations
    gen_dir = index_dir / "generations" / second
    manifest = json.loads((gen_dir / MANIFEST).read_text())
    manifest["artifacts"] = {}  # "ok" before: nothing to check, so nothing failed
    (gen_dir / MANIFEST).write_text(json.dumps(manifest))

    with pytest.raises(IndexCorrupt, match="lists no artifacts"):
        load_generation(gen_dir, "fake-hash")
    code, out, err = cli(index_dir, "index", "status")
    assert_one_line_error(code, err)
    assert f"the current generation {second} is invalid" in err
    assert "INVALID" in out


def test_status_checks_what_the_server_checks(two_generations: tuple[Path, list[str]]) -> None:
    """A generation whose files load but disagree with the manifest's counts is INVALID for status too."""
    index_dir, (_first, second) = two_generations
    code, _out, err = cli(index_dir, "index", "status")
    assert code == 0, err

    gen_dir = index_dir / "generations" / second
    manifest = json.loads((gen_dir / MANIFEST).read_text())
    manifest["counts"]["chunks"] += 1
    (gen_dir / MANIFEST).write_text(json.dumps(manifest))
    code, out, err = cli(index_dir, "index", "status")
    assert_one_line_error(code, err)
    assert "does not match" in out


def test_rollback_skips_generations_the_server_would_refuse(two_generations: tuple[Path, list[str]]) -> None:
    index_dir, (first, second) = two_generations
    store = IndexStore(index_dir)
    gen_dir = index_dir / "generations" / first
    manifest = json.loads((gen_dir / MANIFEST).read_text())
    manifest["counts"]["chunks"] += 1
    (gen_dir / MANIFEST).write_text(json.dumps(manifest))
    assert (gen_dir / ACTIVATED).exists()

    code, _out, err = cli(index_dir, "index", "rollback")
    assert_one_line_error(code, err)
    assert store.current_id() == second


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "//evil.example/x", "ftp://host/a"])
def test_front_matter_urls_that_are_not_http_are_rejected_at_ingest(tmp_path: Path, corpus_dir: Path, url: str) -> None:
    (corpus_dir / "bad-link.md").write_text(f"---\ntitle: Bad link\nurl: '{url}'\n---\n\nRest days help.\n")
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    report = build_index(settings, FakeEmbedder())
    [skipped] = report.skipped
    assert skipped["file"] == "bad-link.md"
    assert "url must be an absolute http(s) address" in skipped["reason"]
    loaded = load_generation(IndexStore(settings.index_dir).current_dir(), "fake-hash")
    assert all(c.url.startswith("http") for c in loaded.chunks)


def test_a_generation_holding_a_non_http_link_is_never_served(two_generations: tuple[Path, list[str]]) -> None:
    """Built by an older version or edited by hand: refused as a whole, the reader never gets the link."""
    index_dir, (_first, second) = two_generations
    gen_dir = index_dir / "generations" / second
    chunks = (gen_dir / "chunks.jsonl").read_text().splitlines()
    first = json.loads(chunks[0])
    first["url"] = "javascript:alert(document.cookie)"
    chunks[0] = json.dumps(first)
    (gen_dir / "chunks.jsonl").write_text("\n".join(chunks) + "\n")
    manifest = json.loads((gen_dir / MANIFEST).read_text())

    path = gen_dir / "chunks.jsonl"
    manifest["artifacts"]["chunks.jsonl"] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    (gen_dir / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="non-http"):
        load_generation(gen_dir, "fake-hash")
