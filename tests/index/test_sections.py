"""Heading vectors: built once per heading, stored and verified with the generation, cached across builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from askoleus.config import Settings
from askoleus.errors import IndexCorrupt
from askoleus.index import IndexStore, load_current
from askoleus.index.sections import HEADINGS
from askoleus.index.store import MANIFEST, write_manifest
from askoleus.pipeline import build_index
from askoleus.retrieve import QueryEncoder, Retriever
from conftest import FIXTURES, FakeEmbedder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    shutil.copytree(FIXTURES / "site", tmp_path / "site")
    return Settings(corpus_dir=tmp_path / "site", index_dir=tmp_path / "index")


def generation(settings: Settings) -> Path:
    return IndexStore(settings.index_dir).current_dir()


def test_every_section_gets_its_heading_vector(settings: Settings) -> None:
    build_index(settings, FakeEmbedder())
    index = load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim)
    assert index.headings is not None
    assert index.headings.shape == (index.sections.size, FakeEmbedder.dim)
    assert "How fast can I increase my mileage?" in index.sections.headings
    assert index.manifest["sections"] == {"count": index.sections.size, "headings": "heading-text-v1", "embedded": 11}
    row = index.sections.headings.index("Fuelling longer runs")
    assert np.allclose(index.headings[row], FakeEmbedder().encode(["Fuelling longer runs"])[0])
    assert [index.sections.headings[s] for s in index.sections.of_chunk] == [c.section for c in index.chunks]


def test_a_rebuild_embeds_only_new_headings(settings: Settings) -> None:
    build_index(settings, FakeEmbedder())
    before = set(load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim).vocabulary)
    page = settings.corpus_dir / "other" / "index.md"
    page.write_text(page.read_text() + "\n## Do rest days count as training?\n\nYes: adaptation happens at rest.\n")
    embedder = FakeEmbedder()
    report = build_index(settings, embedder)
    index = load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim)
    assert index.manifest["sections"]["embedded"] == 1
    new_words = set(index.vocabulary) - before  # the new section's words get their vectors too
    assert embedder.calls == report.embedded + 1 + len(new_words)


def test_a_tampered_heading_file_is_refused(settings: Settings) -> None:
    build_index(settings, FakeEmbedder())
    path = generation(settings) / HEADINGS
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=r"headings\.npy"):
        load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim)


def test_heading_vectors_of_the_wrong_shape_are_refused(settings: Settings) -> None:
    build_index(settings, FakeEmbedder())
    gen = generation(settings)
    np.save(gen / HEADINGS, np.zeros((2, FakeEmbedder.dim), dtype=np.float32))
    manifest = json.loads((gen / MANIFEST).read_text())
    write_manifest(gen, {k: v for k, v in manifest.items() if k not in ("format", "artifacts")})
    with pytest.raises(IndexCorrupt, match="heading vectors"):
        load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim)


def test_a_generation_from_before_heading_vectors_still_serves_and_seeds_the_cache(settings: Settings) -> None:
    """Upgrading keeps serving (ranking loose chunks) and the next build embeds only the headings."""
    first = build_index(settings, FakeEmbedder())
    gen = generation(settings)
    (gen / HEADINGS).unlink()
    manifest = json.loads((gen / MANIFEST).read_text())
    write_manifest(gen, {k: v for k, v in manifest.items() if k not in ("format", "artifacts", "sections")})
    old = load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim)
    assert old.headings is None
    hits = Retriever(old, QueryEncoder(FakeEmbedder())).search("sleep runner", 20)  # type: ignore[arg-type]
    assert len(hits) == len(old.chunks)
    (settings.corpus_dir / "a-post" / "index.html").touch()
    embedder = FakeEmbedder()
    manifest["fingerprint"] = "from an older askoleus"
    write_manifest(gen, {k: v for k, v in manifest.items() if k not in ("format", "artifacts", "sections")})
    report = build_index(settings, embedder)
    assert (report.embedded, embedder.calls) == (0, 11)
    assert report.chunks == first.chunks
