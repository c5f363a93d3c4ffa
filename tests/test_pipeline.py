"""build_index: incremental (cached) embedding, clean deletes, skips and drafts, and failures that change nothing."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest

import askoleus.build_vectors as build_vectors
import askoleus.index.writer as writer_module
from askoleus.config import Settings
from askoleus.errors import BuildError, IngestError
from askoleus.index import IndexStore, LoadedIndex, load_current
from askoleus.index.vectorfile import RowWriter
from askoleus.pipeline import BuildReport, build_index
from conftest import CORPUS, FIXTURES, SEED, FakeEmbedder

MAGNESIUM = "magnesium-and-cramps.md"
IRON = "iron-for-runners.html"
DRAFT = "drafts/oleuropein-protocol.md"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Three articles (.txt seed, .md, .html) plus a draft, and an empty index directory."""
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "articles", corpus)
    shutil.copy(CORPUS / SEED, corpus / SEED)
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def build(settings: Settings, **kwargs) -> tuple[BuildReport, FakeEmbedder]:  # type: ignore[no-untyped-def]
    """Build with a fresh fake embedder; returns the report and the embedder (to count encode calls)."""
    embedder = FakeEmbedder()
    return build_index(settings, embedder, **kwargs), embedder


def current(settings: Settings) -> LoadedIndex:
    return load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_sentence(settings: Settings, sentence: str = "Dark chocolate adds a little too.") -> None:
    """Append one sentence to one paragraph of the magnesium article."""
    edit(settings.corpus_dir / MAGNESIUM, "cover most of it.", f"cover most of it. {sentence}")


def leftovers(settings: Settings) -> list[str]:
    """Anything a failed or crashed build could leave behind."""
    store = IndexStore(settings.index_dir)
    found = [p.name for p in store.tmp.iterdir()] if store.tmp.is_dir() else []
    found += [p.name for p in settings.index_dir.glob("CURRENT.*")]
    found += [p.name for p in store.generations.iterdir() if p.name not in store.ids()]
    return found


# --- first build and incremental rebuilds ---------------------------------------------------------


def test_first_build_embeds_every_chunk_and_makes_the_generation_current(settings: Settings) -> None:
    """An empty index gets one generation with every chunk embedded once, and every word of the articles."""
    report, embedder = build(settings)
    assert (report.articles, report.embedded, report.reused, report.removed) == (3, report.chunks, 0, 0)
    assert report.chunks > 0
    assert len(current(settings).vocabulary) > 0  # every word of the articles has a vector
    assert not report.unchanged
    assert report.skipped == []
    assert report.dense_index == "flat-ip"
    store = IndexStore(settings.index_dir)
    assert store.ids() == [report.generation]
    assert store.current_id() == report.generation
    index = current(settings)
    assert len(index.chunks) == report.chunks
    assert set(index.articles) == {"why-your-legs-feel-heavy-when-you-run", "iron-for-runners", "magnesium-and-cramps"}
    manifest = index.manifest
    assert manifest["counts"] == {"articles": 3, "chunks": report.chunks, "embedded": report.chunks, "reused": 0}
    assert manifest["model"] == {
        "name": "fake-hash",
        "dim": 64,
        "max_tokens": 256,
        "encoder": {"backend": "FakeEmbedder"},  # real encoders record backend, model and ONNX sha256
    }
    assert manifest["chunker"]["max_tokens"] == settings.chunk_max_tokens
    assert set(manifest["corpus"]) == {SEED, MAGNESIUM, IRON}
    words = len(current(settings).vocabulary)
    assert (
        embedder.calls == report.chunks + manifest["sections"]["embedded"] + words
    )  # each passage, heading, word once
    assert manifest["sections"]["count"] == index.sections.size
    assert manifest["sections"]["embedded"] == len(set(index.sections.headings))  # "Sources" is embedded once
    assert leftovers(settings) == []


def test_the_report_has_the_documented_fields(settings: Settings) -> None:
    """`askoleus build --json` prints exactly these keys."""
    report, _ = build(settings)
    assert set(report.to_dict()) == {
        "articles",
        "chunks",
        "embedded",
        "reused",
        "removed",
        "removed_articles",
        "skipped",
        "drafts",
        "generation",
        "unchanged",
        "dense_index",
        "seconds",
    }


def test_progress_is_reported_per_stage(settings: Settings) -> None:
    """The progress callback hears about chunking and embedding (the CLI draws a bar from it)."""
    calls: list[tuple[str, int, int]] = []
    report, _ = build(settings, progress=lambda *a: calls.append(a))
    assert calls[0] == ("chunk", 0, 3)
    assert calls[-1] == ("embed", report.chunks, report.chunks)


def test_rebuilding_an_unchanged_corpus_embeds_nothing(settings: Settings) -> None:
    """Same corpus, same model, same settings: no embedding, no new generation."""
    first, _ = build(settings)
    again, embedder = build(settings)
    assert embedder.calls == 0
    assert (again.embedded, again.reused, again.removed) == (0, first.chunks, 0)
    assert again.unchanged
    assert again.generation == first.generation
    assert IndexStore(settings.index_dir).ids() == [first.generation]


def test_editing_one_article_embeds_only_its_changed_chunks(settings: Settings) -> None:
    """Adding a sentence to one paragraph re-embeds just the chunks whose text changed (and its new words)."""
    first, _ = build(settings)
    before = current(settings)
    add_sentence(settings)
    report, embedder = build(settings)
    after = current(settings)

    old_texts = {c.embed_text for c in before.chunks}
    changed = [c for c in after.chunks if c.embed_text not in old_texts]
    new_words = set(after.vocabulary) - set(before.vocabulary)
    assert 0 < report.embedded == len(changed) == embedder.calls - len(new_words) < report.chunks
    assert "chocolate" in new_words
    assert {c.article_id for c in changed} == {"magnesium-and-cramps"}
    assert any("Dark chocolate" in c.text for c in changed)
    assert report.reused == report.chunks - report.embedded
    assert not report.unchanged
    assert report.generation != first.generation
    assert after.generation == report.generation


def test_reused_vectors_are_the_cached_ones(settings: Settings) -> None:
    """Unchanged chunks keep exactly the vectors of the previous generation."""
    build(settings)
    before = current(settings)
    add_sentence(settings)
    build(settings)
    after = current(settings)
    old = dict(zip(before.hashes, before.vectors, strict=False))
    for h, v in zip(after.hashes, after.vectors, strict=False):
        if h in old:
            assert np.array_equal(old[h], v)


def test_vectors_streamed_block_by_block_are_each_texts_own(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With blocks of two chunks (many blocks, repeated texts in different ones), every chunk's passage,
    sentence and heading vectors are those of its own text, and each distinct text is encoded once."""
    monkeypatch.setattr(build_vectors, "EMBED_CALL", 2)
    repost = (settings.corpus_dir / MAGNESIUM).read_text(encoding="utf-8").replace("slug: magnesium-and-cramps\n", "")
    (settings.corpus_dir / "archive").mkdir()
    (settings.corpus_dir / "archive" / MAGNESIUM).write_text(repost, encoding="utf-8")  # same texts, other id
    report, embedder = build(settings)
    index = current(settings)
    reference = FakeEmbedder()
    texts = [c.embed_text for c in index.chunks]
    assert report.embedded == len(set(texts)) < report.chunks  # the repeated paragraph is encoded once
    assert np.array_equal(index.vectors, reference.encode(texts))
    for i, (c, spans) in enumerate(zip(index.chunks, index.sent_spans, strict=True)):
        expected = reference.encode([c.text[s:e] for s, e in spans]).astype(np.float16)
        assert np.array_equal(index.sentence_vectors(i), expected.astype(np.float32))
    assert index.headings is not None
    assert np.array_equal(index.headings, reference.encode(index.sections.headings))
    headings = index.manifest["sections"]["embedded"]
    assert headings == len(set(index.sections.headings))
    assert embedder.calls == report.embedded + headings + len(index.vocabulary)  # and every word once


def test_a_rebuild_copies_reused_vectors_across_blocks(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks that mix reused and fresh chunks still put every vector in its chunk's row."""
    monkeypatch.setattr(build_vectors, "EMBED_CALL", 3)
    build(settings)
    add_sentence(settings)
    report, _ = build(settings)
    index = current(settings)
    assert 0 < report.embedded < report.chunks
    assert np.array_equal(index.vectors, FakeEmbedder().encode([c.embed_text for c in index.chunks]))


def test_deleting_an_article_leaves_no_orphan_chunks(settings: Settings) -> None:
    """A removed file's chunks and article record are gone from the new generation."""
    build(settings)
    iron_chunks = [c for c in current(settings).chunks if c.article_id == "iron-for-runners"]
    assert iron_chunks
    (settings.corpus_dir / IRON).unlink()
    report, embedder = build(settings)
    index = current(settings)
    assert report.removed_articles == ["iron-for-runners"]
    assert report.removed == len(iron_chunks)
    assert embedder.calls == report.embedded == 0
    assert not [c for c in index.chunks if c.article_id == "iron-for-runners" or c.source == IRON]
    assert "iron-for-runners" not in index.articles
    assert IRON not in index.manifest["corpus"]
    assert index.lexical.size == index.dense.ntotal == len(index.chunks) == report.chunks


def test_a_different_model_re_embeds_everything(settings: Settings) -> None:
    """The embedding cache is only used when the previous generation has the same model."""
    first, _ = build(settings)

    class OtherModel(FakeEmbedder):
        name = "other-fake"

    report = build_index(settings, OtherModel())
    assert report.embedded == report.chunks == first.chunks
    assert report.reused == 0
    assert load_current(settings.index_dir, "other-fake", 64).generation == report.generation


# --- skipped files, drafts, strict ---------------------------------------------------------------


def test_a_malformed_file_is_skipped_with_a_reason(settings: Settings) -> None:
    """By default a bad file is reported and the rest of the corpus is indexed."""
    (settings.corpus_dir / "broken.md").write_bytes(b"# Title\n\nfine\x00binary")
    report, _ = build(settings)
    assert report.articles == 3
    assert report.skipped == [{"file": "broken.md", "reason": "line 3: binary file (NUL byte at offset 13)"}]
    assert current(settings).manifest["skipped"] == report.skipped
    assert "broken.md" not in {c.source for c in current(settings).chunks}


@pytest.mark.parametrize("how", ["argument", "setting"])
def test_strict_fails_on_a_malformed_file_and_leaves_the_current_generation(settings: Settings, how: str) -> None:
    """--strict (or ASKOLEUS_STRICT) turns a skipped file into an IngestError; nothing changes on disk."""
    first, _ = build(settings)
    (settings.corpus_dir / "latin1.txt").write_bytes("Caf\xe9 au lait\n\nIron.".encode("latin-1"))
    strict = (
        (lambda: build(settings, strict=True))
        if how == "argument"
        else (lambda: build(settings.model_copy(update={"strict": True})))
    )
    with pytest.raises(IngestError, match=r"latin1\.txt:1: not valid UTF-8"):
        strict()
    store = IndexStore(settings.index_dir)
    assert store.current_id() == first.generation
    assert store.ids() == [first.generation]
    assert leftovers(settings) == []


def test_drafts_are_not_indexed(settings: Settings) -> None:
    """Files marked draft are listed in the report but never chunked."""
    report, _ = build(settings)
    assert report.drafts == [DRAFT]
    index = current(settings)
    assert not [c for c in index.chunks if c.source.startswith("drafts/") or "still being written" in c.text]
    assert DRAFT not in index.manifest["corpus"]


def test_an_empty_corpus_is_an_error_and_the_previous_generation_stays(settings: Settings) -> None:
    """A build that would produce an empty index refuses, keeping the current generation."""
    first, _ = build(settings)
    for p in [p for p in settings.corpus_dir.rglob("*") if p.is_file() and "drafts" not in p.parts]:
        p.unlink()
    with pytest.raises(BuildError, match=r"no articles to index .* the current index is unchanged"):
        build(settings)
    assert IndexStore(settings.index_dir).current_id() == first.generation
    assert len(current(settings).chunks) == first.chunks


def test_an_empty_corpus_without_an_index_is_an_error_too(tmp_path: Path) -> None:
    """The very first build of an empty directory fails clearly and creates no generation."""
    (tmp_path / "corpus").mkdir()
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    with pytest.raises(BuildError, match="no articles to index"):
        build(settings)
    assert IndexStore(settings.index_dir).ids() == []


# --- disk full ------------------------------------------------------------------------------------


def no_space(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("target", ["save_dense", "vectors"])
def test_disk_full_is_a_build_error_that_changes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """ENOSPC while writing artifacts: BuildError, the previous generation stays current and loadable,
    tmp/ is cleaned, and the next build (with space again) succeeds."""
    first, _ = build(settings)
    add_sentence(settings)
    if target == "vectors":
        monkeypatch.setattr(RowWriter, "write", no_space)
    else:
        monkeypatch.setattr(writer_module, "save_dense", no_space)

    with pytest.raises(BuildError, match="could not write the new index generation: No space left on device"):
        build(settings)
    store = IndexStore(settings.index_dir)
    assert store.current_id() == first.generation
    assert store.ids() == [first.generation]
    assert current(settings).generation == first.generation
    assert leftovers(settings) == []

    monkeypatch.undo()
    report, _ = build(settings)
    assert report.generation != first.generation
    assert store.current_id() == report.generation
    assert any("Dark chocolate" in c.text for c in current(settings).chunks)


# --- dense index kind, pruning, rollback ---------------------------------------------------------


def test_hnsw_is_used_above_the_threshold_and_recorded_in_the_manifest(settings: Settings) -> None:
    """More chunks than hnsw_threshold: an HNSW index, which still finds each chunk's own vector."""
    hnsw = settings.model_copy(update={"hnsw_threshold": 5})
    report, _ = build(hnsw)
    index = current(hnsw)
    assert report.chunks > 5
    assert report.dense_index == index.manifest["dense"]["kind"] == "hnsw-ip"
    assert index.manifest["dense"]["hnsw_threshold"] == 5
    assert hasattr(index.dense, "hnsw")
    _, ids = index.dense.search(index.vectors[:3], 1)
    assert ids[:, 0].tolist() == [0, 1, 2]


def test_a_flat_index_is_used_at_or_below_the_threshold(settings: Settings) -> None:
    """Small corpora get an exact inner-product index."""
    report, _ = build(settings.model_copy(update={"hnsw_threshold": 10_000}))
    assert report.dense_index == current(settings).manifest["dense"]["kind"] == "flat-ip"
    assert not hasattr(current(settings).dense, "hnsw")


def test_changing_the_hnsw_threshold_rebuilds_an_unchanged_corpus(settings: Settings) -> None:
    """A new threshold takes effect on the next build even if no article changed (embeddings reused)."""
    first, _ = build(settings)
    report, embedder = build(settings.model_copy(update={"hnsw_threshold": 5}))
    assert not report.unchanged
    assert report.generation != first.generation
    assert report.dense_index == current(settings).manifest["dense"]["kind"] == "hnsw-ip"
    assert embedder.calls == 0


def test_old_generations_are_pruned_to_keep_generations(settings: Settings) -> None:
    """Only the newest keep_generations generations stay on disk, the current one among them."""
    keep2 = settings.model_copy(update={"keep_generations": 2})
    gens = []
    for i in range(4):
        add_sentence(keep2, f"Edit number {i}.")
        gens.append(build(keep2)[0].generation)
    store = IndexStore(settings.index_dir)
    assert store.ids() == gens[-2:]
    assert store.current_id() == gens[-1]
    assert sorted(p.name for p in store.generations.iterdir()) == gens[-2:]


def test_rollback_then_status(settings: Settings) -> None:
    """Rolling back restores the previous generation's content; status shows which one is current."""
    first, _ = build(settings)
    add_sentence(settings)
    second, _ = build(settings)
    store = IndexStore(settings.index_dir)
    assert store.rollback() == first.generation
    assert [(g.id, g.current, g.valid) for g in store.status()] == [
        (second.generation, False, True),
        (first.generation, True, True),
    ]
    assert not any("Dark chocolate" in c.text for c in current(settings).chunks)

    third, embedder = build(settings)  # building again from the rolled-back state makes a fresh generation
    assert third.generation not in (first.generation, second.generation)
    assert store.current_id() == third.generation
    assert 0 < embedder.calls < third.chunks
