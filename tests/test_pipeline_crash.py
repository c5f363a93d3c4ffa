"""Crash safety: a build killed with SIGKILL at any point leaves the previous generation current and loadable.

Each crash is deterministic: a small script runs build_index in a child process with one internal
function replaced by `os.kill(os.getpid(), SIGKILL)`, so the process dies exactly at that point
(no test hooks in production code, no timing).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from askoleus.config import Settings
from askoleus.errors import BuildLocked
from askoleus.index import IndexStore, load_current
from askoleus.index.store import MANIFEST
from askoleus.pipeline import build_index
from conftest import CORPUS, FIXTURES, SEED, FakeEmbedder

KILLED = -signal.SIGKILL

CRASHING_BUILD = textwrap.dedent(
    '''
    """Run build_index and SIGKILL ourselves at one chosen point."""
    import hashlib
    import os
    import signal
    import sys
    from pathlib import Path

    import numpy as np

    import askoleus.pipeline as pipeline_module
    import askoleus.index.store as store_module
    from askoleus.config import Settings
    from askoleus.index import IndexStore
    from askoleus.pipeline import build_index

    corpus, index, point = sys.argv[1], sys.argv[2], sys.argv[3]


    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)


    class FakeEmbedder:
        """Same vectors as the tests' FakeEmbedder; dies inside encode_passages at point 'embed'."""

        name, dim, max_tokens = "fake-hash", 64, 256

        def _vec(self, text):
            v = np.zeros(self.dim, dtype=np.float32)
            for w in text.lower().split():
                v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
            return v / max(float(np.linalg.norm(v)), 1e-9)

        def count_tokens(self, text):
            return len(text.split()) + 2

        def encode(self, texts, batch_size=32):  # the articles' words
            return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

        def encode_passages(self, texts, spans, batch_size=32):
            if point == "embed":
                die()
            vecs = np.stack([self._vec(t) for t in texts])
            return vecs, [np.stack([self._vec(t[s:e]) for s, e in sp]) if sp else np.zeros((0, self.dim), np.float32)
                          for t, sp in zip(texts, spans)]


    real_rename, real_replace = os.rename, os.replace


    def rename(src, dst, *args, **kwargs):  # IndexStore.commit: tmp/<gen> -> generations/<gen>
        if Path(dst).parent.name == "generations":
            die()
        return real_rename(src, dst, *args, **kwargs)


    def replace(src, dst, *args, **kwargs):  # IndexStore.activate: CURRENT.<pid>.tmp -> CURRENT
        if Path(dst).name == "CURRENT":
            die()
        return real_replace(src, dst, *args, **kwargs)


    if point == "write_manifest":  # every artifact is written, the manifest is not
        pipeline_module.write_manifest = die
    elif point == "commit":
        store_module.os.rename = rename
    elif point == "activate":
        store_module.os.replace = replace

    build_index(Settings(corpus_dir=Path(corpus), index_dir=Path(index)), FakeEmbedder())
    print("build finished without being killed")
    '''
)

HOLD_LOCK = textwrap.dedent(
    '''
    """Hold the build lock until the release file appears."""
    import sys
    import time
    from pathlib import Path

    from askoleus.index import IndexStore

    index, ready, release = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    with IndexStore(Path(index)).lock():
        ready.touch()
        while not release.exists():
            time.sleep(0.05)
    '''
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Three articles and an index with one current generation built from them."""
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "articles", corpus)
    shutil.copy(CORPUS / SEED, corpus / SEED)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, FakeEmbedder())
    return settings


def run_script(tmp_path: Path, source: str, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "script.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Poll until the child creates path (or fails)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"child exited early: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "child never became ready"
        time.sleep(0.05)


def leftovers(store: IndexStore) -> list[str]:
    found = [p.name for p in store.tmp.iterdir()] if store.tmp.is_dir() else []
    found += [p.name for p in store.root.glob("CURRENT.*")]
    found += [p.name for p in store.generations.iterdir() if not (p / MANIFEST).is_file()]
    return found


@pytest.mark.parametrize(
    ("point", "left_behind"),
    [
        ("embed", "tmp dir"),  # vectors are streamed into the new generation's directory
        ("write_manifest", "tmp dir"),
        ("commit", "tmp dir"),
        ("activate", "pointer file"),
    ],
)
def test_a_build_killed_mid_way_leaves_the_previous_generation_current(
    settings: Settings, tmp_path: Path, point: str, left_behind: str
) -> None:
    """SIGKILL while embedding, after the artifacts, before the commit rename or before the CURRENT
    switch: readers keep the old generation, and the next build succeeds and cleans up."""
    store = IndexStore(settings.index_dir)
    old = store.current_id()
    old_chunks = len(load_current(settings.index_dir).chunks)
    magnesium = settings.corpus_dir / "magnesium-and-cramps.md"
    magnesium.write_text(magnesium.read_text().replace("cover most of it.", "cover most of it. Cocoa too."))

    proc = run_script(tmp_path, CRASHING_BUILD, str(settings.corpus_dir), str(settings.index_dir), point)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == KILLED, f"not killed at {point}: {out} {err[-2000:]}"

    # the crash left something behind (or not), but readers see the old generation, intact
    if left_behind == "tmp dir":
        assert [p for p in store.tmp.iterdir() if p.is_dir()]
    elif left_behind == "pointer file":
        assert list(store.root.glob("CURRENT.*.tmp"))
    else:
        assert leftovers(store) == []
    assert store.current_id() == old
    index = load_current(settings.index_dir, "fake-hash", 64)
    assert index.generation == old
    assert len(index.chunks) == old_chunks
    assert not any("Cocoa" in c.text for c in index.chunks)

    # the next build takes the lock (released by the kernel), cleans up and succeeds
    report = build_index(settings, FakeEmbedder())
    assert store.current_id() == report.generation != old
    assert any("Cocoa" in c.text for c in load_current(settings.index_dir).chunks)
    assert leftovers(store) == []
    assert all(g.valid for g in store.status())


def test_a_second_build_fails_clearly_while_the_first_holds_the_lock(settings: Settings, tmp_path: Path) -> None:
    """Two builds at once: the second gets BuildLocked naming the holder's pid; the index is untouched."""
    store = IndexStore(settings.index_dir)
    old = store.current_id()
    ready, release = tmp_path / "ready", tmp_path / "release"
    holder = run_script(tmp_path, HOLD_LOCK, str(settings.index_dir), str(ready), str(release))
    try:
        wait_for(ready, holder)
        (settings.corpus_dir / "magnesium-and-cramps.md").unlink()
        with pytest.raises(BuildLocked, match=rf"another build \(pid {holder.pid}\) is running on "):
            build_index(settings, FakeEmbedder())
        assert store.current_id() == old
    finally:
        release.touch()
        try:
            holder.wait(60)
        finally:
            if holder.poll() is None:
                os.kill(holder.pid, signal.SIGKILL)
    assert holder.returncode == 0, holder.communicate()[1][-2000:]
    report = build_index(settings, FakeEmbedder())
    assert report.removed_articles == ["magnesium-and-cramps"]
    assert store.current_id() == report.generation


def test_a_lock_holder_killed_with_sigkill_does_not_block_the_next_build(settings: Settings, tmp_path: Path) -> None:
    """A stale lock file is harmless: the kernel drops the flock when the holder dies."""
    ready = tmp_path / "ready"
    holder = run_script(tmp_path, HOLD_LOCK, str(settings.index_dir), str(ready), str(tmp_path / "never"))
    try:
        wait_for(ready, holder)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(60)
    assert holder.returncode == KILLED
    assert (settings.index_dir / ".build.lock").exists()
    report = build_index(settings, FakeEmbedder())
    assert report.unchanged
    assert IndexStore(settings.index_dir).current_id() == report.generation
