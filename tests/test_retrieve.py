"""Hybrid retrieval over the real index: the right passage first, kinds respected, fusion sane."""

from __future__ import annotations

import numpy as np
import pytest

from askoleus.config import Settings
from askoleus.index import LoadedIndex, load_current
from askoleus.pipeline import build_index
from askoleus.retrieve import QueryEncoder, Retriever, fuse
from conftest import FIXTURES

IRON_ANCHOR = "why-would-your-engine-be-underpowered-even-when-you-feel-fine-otherwise"


def test_iron_question_ranks_the_iron_paragraph_first(loaded, embedder) -> None:  # type: ignore[no-untyped-def]
    """The acceptance query: iron carrying oxygen to the mitochondria comes first, with its deep link."""
    hits = Retriever(loaded, QueryEncoder(embedder)).search("why is iron important for runners", 5)
    top = hits[0].chunk
    assert "carries oxygen to the mitochondria" in top.text
    assert top.url.endswith("#" + IRON_ANCHOR)
    assert top.section.startswith("Why would your engine be underpowered")
    assert top.kind == "body"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_exact_terms_are_found_lexically(loaded, embedder) -> None:  # type: ignore[no-untyped-def]
    """An author name only the Sources list and one paragraph contain is found by BM25."""
    hits = Retriever(loaded, QueryEncoder(embedder)).search("Gherardi", 3, mode="lexical")
    assert any("Gherardi" in h.chunk.text for h in hits)


def test_kinds_filter(loaded, embedder) -> None:  # type: ignore[no-untyped-def]
    """Asking for references returns only the Sources list."""
    hits = Retriever(loaded, QueryEncoder(embedder)).search("iron study", 3, kinds=("references",))
    assert hits
    assert all(h.chunk.kind == "references" for h in hits)


def test_every_mode_returns_ranked_hits(loaded, embedder) -> None:  # type: ignore[no-untyped-def]
    """dense, lexical, rrf and hybrid all rank; none crash on a query with no known terms."""
    r = Retriever(loaded, QueryEncoder(embedder))
    for mode in ("dense", "lexical", "rrf", "hybrid"):
        assert r.search("heavy legs", 3, mode=mode)  # type: ignore[arg-type]
    assert r.search("zzzz qqqq", 3)  # dense still answers


def test_fuse_keeps_dense_scale_and_lets_terms_reorder() -> None:
    """Hybrid is a convex combination of cosine and max-scaled BM25."""
    dense = np.array([0.5, 0.48], dtype=np.float32)
    lexical = np.array([0.0, 4.0], dtype=np.float32)
    fused = fuse(dense, lexical, "hybrid", 0.7)
    assert fused[1] > fused[0]
    assert np.allclose(fuse(dense, lexical, "dense", 0.7), dense)
    assert np.allclose(fuse(dense, np.zeros(2, np.float32), "hybrid", 0.7), 0.7 * dense)


def test_query_vectors_are_cached(embedder) -> None:  # type: ignore[no-untyped-def]
    """Repeated questions are embedded once."""
    enc = QueryEncoder(embedder, size=2)
    a = enc("why heavy legs")
    assert enc("why heavy legs") is a
    enc("b"), enc("c")
    assert "why heavy legs" not in enc._cache


def test_several_short_texts_are_embedded_once(fake_embedder) -> None:  # type: ignore[no-untyped-def]
    """many() gives the same vectors as one call each and encodes only what it does not remember."""
    enc = QueryEncoder(fake_embedder)
    remembered = enc("ice")
    calls = fake_embedder.calls
    vectors = enc.many(["ice", "baths", "ice baths", "baths"])
    assert fake_embedder.calls == calls + 2  # only "baths" and "ice baths" are encoded
    assert np.allclose(vectors[0], remembered)
    assert np.allclose(vectors[1], vectors[3])
    assert np.allclose(vectors[2], fake_embedder.encode(["ice baths"])[0])
    assert enc("baths") is enc._cache["baths"]


# --- section-aware ranking on a small Hugo-like site (tests/fixtures/site) ------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder) -> LoadedIndex:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("site")
    settings = Settings(corpus_dir=FIXTURES / "site", index_dir=base / "index")
    build_index(settings, embedder)
    return load_current(settings.index_dir, embedder.name, embedder.dim)


def test_a_paraphrase_of_a_heading_finds_its_section_first(site, embedder) -> None:  # type: ignore[no-untyped-def]
    """Headings are the questions readers ask: their own vector pulls the section up."""
    hits = Retriever(site, QueryEncoder(embedder)).search("how quickly should I build up my weekly kilometres", 3)
    top = hits[0]
    assert (top.chunk.article_id, top.chunk.anchor) == ("faq/extending", "how-fast-can-i-increase-my-mileage")
    assert top.heading > 0.5
    assert top.chunk.url.endswith("/faq/extending#how-fast-can-i-increase-my-mileage")


def test_each_hit_is_the_best_passage_of_a_different_section(loaded, embedder) -> None:  # type: ignore[no-untyped-def]
    """Sections are ranked, so a long section cannot fill the list with its own passages."""
    encode = QueryEncoder(embedder)
    question = "why do my legs feel heavy when I run"
    hits = Retriever(loaded, encode).search(question, 20)
    sections = [loaded.sections.of_chunk[h.position] for h in hits]
    assert len(hits) == len(set(sections)) == loaded.sections.size  # fewer sections than k: each once
    chunks = {h.position: h.score for h in Retriever(loaded, encode, heading_weight=0).search(question, 10_000)}
    members = loaded.sections.members
    offsets = loaded.sections.offsets
    assert any(offsets[s + 1] - offsets[s] > 1 for s in sections)  # some sections have several passages
    for h, s in zip(hits, sections, strict=True):
        assert chunks[h.position] == max(chunks.get(int(i), -1.0) for i in members[offsets[s] : offsets[s + 1]])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_heading_weight_zero_ranks_loose_chunks_as_before(site, embedder) -> None:  # type: ignore[no-untyped-def]
    """The chunk ranking stays available (and is what the dense, lexical and rrf modes use)."""
    hits = Retriever(site, QueryEncoder(embedder), heading_weight=0).search("how much sleep do runners need", 20)
    assert len(hits) == len(site.chunks)
    assert all(h.heading == 0.0 for h in hits)


def test_answers_rank_loose_passages(loaded, embedder) -> None:  # type: ignore[no-untyped-def]
    """sections=False (the answer path) is the chunk ranking, so a section's second passage stays in reach."""
    encode = QueryEncoder(embedder)
    question = "why do my legs feel heavy when I run"
    loose = Retriever(loaded, encode).search(question, 20, sections=False)
    chunks = Retriever(loaded, encode, heading_weight=0).search(question, 20)
    assert [(h.position, h.score) for h in loose] == [(h.position, h.score) for h in chunks]
    assert len({loaded.sections.of_chunk[h.position] for h in loose}) < len(loose)
