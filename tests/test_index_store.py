"""IndexStore: generations on disk with checksummed manifests, an atomic CURRENT pointer, a lock, rollback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from askoleus.config import Settings
from askoleus.errors import BuildLocked, IndexCorrupt, IndexNotFound
from askoleus.index import IndexStore, load_current, load_generation
from askoleus.index.store import MANIFEST, sha256_file, verify_generation, write_manifest
from askoleus.pipeline import build_index
from conftest import FakeEmbedder


def make_generation(store: IndexStore, gen: str, payload: bytes = b"vectors") -> Path:
    """Write a tiny complete generation the way a build does: tmp dir, manifest, commit."""
    tmp = store.new_tmp_dir(gen)
    (tmp / "data.bin").write_bytes(payload)
    (tmp / "sub").mkdir()
    (tmp / "sub" / "more.json").write_text("{}", encoding="utf-8")
    write_manifest(
        tmp,
        {
            "generation": gen,
            "created": "2026-01-01T00:00:00+00:00",
            "model": {"name": "fake-hash", "dim": 64},
            "counts": {"chunks": 1, "articles": 1},
        },
    )
    return store.commit(tmp, gen)


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "index")


@pytest.fixture
def built_gen(corpus_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> Path:
    """The directory of a real generation built from the seed article with the fake embedder."""
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    build_index(settings, fake_embedder)
    return IndexStore(settings.index_dir).current_dir()


# --- commit, activate, status ----------------------------------------------------------------------


def test_an_empty_index_dir_has_no_current_generation(store: IndexStore) -> None:
    """Before the first build there is nothing current, and loading says to run a build."""
    assert store.current_id() is None
    assert store.ids() == []
    assert store.status() == []
    with pytest.raises(IndexNotFound, match="run `askoleus build`"):
        store.current_dir()
    with pytest.raises(IndexNotFound):
        load_current(store.root)


def test_commit_moves_a_finished_build_into_generations_without_activating_it(store: IndexStore) -> None:
    """commit() is the rename out of tmp/; only activate() changes what readers see."""
    final = make_generation(store, "g1")
    assert final == store.generations / "g1"
    assert (final / MANIFEST).is_file()
    assert list(store.tmp.iterdir()) == []
    assert store.ids() == ["g1"]
    assert store.current_id() is None


def test_activate_points_current_at_a_verified_generation(store: IndexStore) -> None:
    """activate() atomically rewrites CURRENT; no pointer temp file is left behind."""
    make_generation(store, "g1")
    store.activate("g1")
    assert store.current_id() == "g1"
    assert (store.root / "CURRENT").read_text() == "g1\n"
    assert list(store.root.glob("CURRENT.*")) == []
    assert store.current_dir() == store.generations / "g1"


def test_activate_refuses_a_corrupt_generation_and_keeps_current(store: IndexStore) -> None:
    """A generation that fails verification never becomes current."""
    make_generation(store, "g1")
    store.activate("g1")
    bad = make_generation(store, "g2")
    (bad / "data.bin").write_bytes(b"vectorz")
    with pytest.raises(IndexCorrupt, match="data.bin fails its sha256 check"):
        store.activate("g2")
    assert store.current_id() == "g1"


@pytest.mark.parametrize("pointer", ["", "missing-gen\n", "../outside\n", "\xff"])
def test_a_dangling_or_unsafe_current_pointer_means_no_current_generation(store: IndexStore, pointer: str) -> None:
    """CURRENT must name an existing generation directory; anything else is ignored."""
    make_generation(store, "g1")
    (store.root / "outside").mkdir()
    (store.root / "CURRENT").write_bytes(pointer.encode("latin-1"))
    assert store.current_id() is None


def test_status_lists_generations_newest_first_and_marks_the_current_one(store: IndexStore) -> None:
    """status() reports id, current flag, counts, model and validity of every generation."""
    for gen in ("g1", "g2", "g3"):
        make_generation(store, gen)
    store.activate("g2")
    (store.generations / "g3" / "data.bin").unlink()
    status = store.status()
    assert [(g.id, g.current, g.valid) for g in status] == [
        ("g3", False, False),
        ("g2", True, True),
        ("g1", False, True),
    ]
    assert "data.bin is missing" in status[0].problem
    assert (status[1].chunks, status[1].articles, status[1].model) == (1, 1, "fake-hash")
    assert status[1].to_dict()["id"] == "g2"


def test_status_reports_a_generation_with_malformed_counts_instead_of_crashing(store: IndexStore) -> None:
    """A manifest missing nested fields shows up as INVALID in status, it does not break the listing."""
    make_generation(store, "g1")
    edit(store.generations / "g1" / MANIFEST, counts={})
    (status,) = store.status()
    assert not status.valid
    assert "malformed" in status.problem


# --- rollback and prune ---------------------------------------------------------------------------


def test_rollback_makes_the_previous_valid_generation_current(store: IndexStore) -> None:
    """rollback() skips invalid generations and refuses when nothing older is valid."""
    for gen in ("g1", "g2", "g3"):
        make_generation(store, gen)
        store.activate(gen)
    (store.generations / "g2" / "data.bin").write_bytes(b"bit rot")
    assert store.rollback() == "g1"
    assert store.current_id() == "g1"
    with pytest.raises(IndexNotFound, match="no valid older generation"):
        store.rollback()
    assert store.current_id() == "g1"


def test_rollback_skips_generations_that_were_never_current(store: IndexStore) -> None:
    """A generation a crashed build completed but never activated is not a rollback target."""
    make_generation(store, "g1")
    store.activate("g1")
    make_generation(store, "g2")  # committed, then the build died before activate()
    make_generation(store, "g3")
    store.activate("g3")
    assert store.rollback() == "g1"


def test_prune_keeps_the_newest_generations_and_never_the_current_one(store: IndexStore) -> None:
    """prune(keep) deletes the oldest generations, except the current one even when it is old."""
    for gen in ("g1", "g2", "g3", "g4"):
        make_generation(store, gen)
    store.activate("g1")
    assert store.prune(2) == ["g2"]
    assert store.ids() == ["g1", "g3", "g4"]
    store.activate("g4")
    assert store.prune(1) == ["g1", "g3"]
    assert store.ids() == ["g4"]


# --- verification ---------------------------------------------------------------------------------


def test_a_built_generation_verifies_and_loads(built_gen: Path) -> None:
    """A fresh generation passes its checksums and loads with consistent counts."""
    manifest = verify_generation(built_gen, "fake-hash", 64)
    assert set(manifest["artifacts"]) >= {
        "chunks.jsonl",
        "vectors.npy",
        "sentences.npy",
        "dense.faiss",
        "articles.json",
    }
    assert any(name.startswith("lexical/") for name in manifest["artifacts"])
    index = load_generation(built_gen, "fake-hash", 64)
    assert len(index.chunks) == manifest["counts"]["chunks"] == index.vectors.shape[0] == index.dense.ntotal


def test_verify_refuses_a_truncated_artifact(built_gen: Path) -> None:
    """A short file (an interrupted copy, a full disk) is caught by its recorded size."""
    path = built_gen / "vectors.npy"
    path.write_bytes(path.read_bytes()[:-16])
    with pytest.raises(IndexCorrupt, match=r"artifact vectors\.npy has the wrong size \(truncated\?\)"):
        verify_generation(built_gen)


def test_verify_refuses_a_bit_flipped_artifact(built_gen: Path) -> None:
    """One flipped bit, same size, fails the sha256 check."""
    path = built_gen / "dense.faiss"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=r"artifact dense\.faiss fails its sha256 check"):
        verify_generation(built_gen)


@pytest.mark.parametrize("artifact", ["chunks.jsonl", "articles.json", "lexical/params.index.json"])
def test_verify_refuses_a_missing_artifact(built_gen: Path, artifact: str) -> None:
    """Every file listed in the manifest must exist."""
    (built_gen / artifact).unlink()
    with pytest.raises(IndexCorrupt, match=f"artifact {artifact} is missing"):
        load_generation(built_gen)


def edit(manifest: Path, drop: str = "", **changes: object) -> None:
    """Rewrite a manifest with some keys changed or one dropped."""
    data = {k: v for k, v in json.loads(manifest.read_text()).items() if k != drop}
    manifest.write_text(json.dumps({**data, **changes}))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda m: m.unlink(), "manifest.json is missing"),
        (lambda m: m.write_text("{not json"), "manifest.json is not valid JSON"),
        (lambda m: m.write_bytes(b"\xff\xfe"), "manifest.json is not valid JSON"),
        (lambda m: m.write_text("[]"), "manifest.json lacks required fields"),
        (lambda m: edit(m, drop="model"), "manifest.json lacks required fields"),
        (lambda m: edit(m, format=99), "unsupported manifest format 99"),
        (lambda m: edit(m, artifacts=["chunks.jsonl"]), "manifest.json is malformed"),
        (lambda m: edit(m, model="fake-hash"), "manifest.json is malformed"),
        (lambda m: edit(m, counts={"articles": 1}), "manifest.json is malformed"),
    ],
    ids=[
        "missing",
        "invalid-json",
        "not-utf8",
        "not-an-object",
        "no-model",
        "future-format",
        "artifacts-not-a-mapping",
        "model-not-a-mapping",
        "counts-without-chunks",
    ],
)
def test_verify_refuses_a_malformed_manifest(built_gen: Path, breakage, message: str) -> None:  # type: ignore[no-untyped-def]
    """A missing, unparsable or wrongly shaped manifest is IndexCorrupt with a clear reason."""
    breakage(built_gen / MANIFEST)
    with pytest.raises(IndexCorrupt, match=message):
        load_generation(built_gen)


def test_verify_refuses_a_generation_built_with_another_model(built_gen: Path) -> None:
    """Vectors from one model are meaningless to another: the names must match."""
    with pytest.raises(IndexCorrupt, match="built with model 'fake-hash', configured 'all-MiniLM-L6-v2'"):
        load_generation(built_gen, "all-MiniLM-L6-v2", 64)


def test_verify_refuses_a_dimension_mismatch(built_gen: Path) -> None:
    """The configured model's dimension must equal the generation's."""
    with pytest.raises(IndexCorrupt, match="has dimension 64, the model 384"):
        load_generation(built_gen, "fake-hash", 384)


def test_load_refuses_chunks_that_do_not_match_the_vectors(built_gen: Path) -> None:
    """Even with valid checksums, a chunk count that disagrees with the vectors is refused."""
    chunks = built_gen / "chunks.jsonl"
    lines = chunks.read_text(encoding="utf-8").splitlines(keepends=True)
    chunks.write_text("".join(lines[:-1]), encoding="utf-8")
    manifest = json.loads((built_gen / MANIFEST).read_text())
    manifest["artifacts"]["chunks.jsonl"] = {"sha256": sha256_file(chunks), "bytes": chunks.stat().st_size}
    (built_gen / MANIFEST).write_text(json.dumps(manifest))
    verify_generation(built_gen)  # the checksums now pass...
    with pytest.raises(IndexCorrupt, match=f"chunk count {len(lines) - 1} does not match vectors/index"):
        load_generation(built_gen)  # ...but the counts do not


# --- the build lock -------------------------------------------------------------------------------


def test_a_second_lock_while_the_first_is_held_raises_build_locked(store: IndexStore) -> None:
    """flock is per open file description, so a second lock() conflicts even within one process."""
    with store.lock():
        with pytest.raises(BuildLocked, match=f"another build \\(pid {os.getpid()}\\) is running"):
            with store.lock():
                pass
        with pytest.raises(BuildLocked):  # the failed attempt did not release the holder's lock
            with store.lock():
                pass
    with store.lock():  # released on exit
        pass


def test_lock_waits_for_a_holder_that_releases(store: IndexStore) -> None:
    """lock(wait_seconds) retries until the other holder lets go."""
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with store.lock():
            held.set()
            release.wait(30)
        done.set()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(30)
    release.set()
    with store.lock(wait_seconds=60):  # acquired once the holder lets go
        pass
    thread.join(30)
    assert done.is_set()


def test_build_locked_is_a_409_with_a_stable_code() -> None:
    """The API maps BuildLocked to 409 build_locked."""
    assert (BuildLocked.http_status, BuildLocked.code) == (409, "build_locked")


# --- leftovers ------------------------------------------------------------------------------------


def test_clean_leftovers_removes_what_a_crashed_build_left_behind(store: IndexStore) -> None:
    """tmp/ contents, CURRENT.*.tmp pointer files and generations without a manifest are removed."""
    make_generation(store, "g1")
    store.activate("g1")
    half = store.new_tmp_dir("g2")
    (half / "vectors.npy").write_bytes(b"half")
    (store.tmp / "stray-file").write_text("x")
    (store.root / "CURRENT.4242.tmp").write_text("g2\n")
    partial = store.generations / "g0-partial"
    partial.mkdir()
    (partial / "chunks.jsonl").write_text("")

    removed = store.clean_leftovers()
    assert sorted(removed) == sorted([half.name, "stray-file", "CURRENT.4242.tmp", "g0-partial"])
    assert list(store.tmp.iterdir()) == []
    assert not partial.exists()
    assert list(store.root.glob("CURRENT.*")) == []
    assert store.ids() == ["g1"]
    assert store.current_id() == "g1"
    assert store.clean_leftovers() == []


def test_clean_leftovers_keeps_the_current_generation_even_without_manifest(store: IndexStore) -> None:
    """The directory CURRENT points at is never deleted by cleanup (it fails verification instead)."""
    make_generation(store, "g1")
    store.activate("g1")
    (store.generations / "g1" / MANIFEST).unlink()
    store.clean_leftovers()
    assert (store.generations / "g1").is_dir()
    with pytest.raises(IndexCorrupt, match="manifest.json is missing"):
        load_current(store.root)


def test_a_generation_copied_elsewhere_still_verifies(built_gen: Path, tmp_path: Path) -> None:
    """Manifests use relative artifact paths, so an index directory can be moved or backed up."""
    copy = tmp_path / "backup" / built_gen.name
    shutil.copytree(built_gen, copy)
    assert load_generation(copy, "fake-hash", 64).generation == built_gen.name


# --- layering ----------------------------------------------------------------------------------------


def test_the_index_package_stores_and_loads_without_the_ingest_stack() -> None:
    """Loading an index (as the server does) imports no parser, tokenizer or build pipeline."""
    code = (
        "import sys\n"
        "import askoleus.index, askoleus.index.store, askoleus.index.loaded, askoleus.index.dense\n"
        "import askoleus.index.lexical, askoleus.index.writer\n"
        "heavy = ('lxml', 'yaml', 'markdown_it', 'tiktoken', 'askoleus.ingest', 'askoleus.chunk',\n"
        "         'askoleus.pipeline')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
