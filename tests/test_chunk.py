"""Chunking: heading-aware, sentence-bounded passages sized in cl100k tokens that the model never truncates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from askoleus import DISCLAIMER
from askoleus.chunk import ChunkerSettings, chunk_article, fit_to_limit
from askoleus.config import Settings
from askoleus.documents import Article, Block, Chunk, Section
from askoleus.ingest import load_corpus, parse_file
from askoleus.pipeline import chunker_settings
from askoleus.sentences import split_sentences
from askoleus.tokenizer import count_tokens

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SEED = CORPUS / "why-your-legs-feel-heavy-when-you-run.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "articles"
SITE = "https://oleus.example/blog"
IRON_ANCHOR = "why-would-your-engine-be-underpowered-even-when-you-feel-fine-otherwise"
DEFAULT = chunker_settings(Settings())


@pytest.fixture(scope="module")
def seed() -> Article:
    return parse_file(SEED, CORPUS, SITE)


@pytest.fixture(scope="module")
def all_articles() -> list[Article]:
    """The project corpus plus the .md and .html fixture articles (drafts excluded)."""
    articles = load_corpus(CORPUS, SITE).articles + load_corpus(FIXTURES, SITE).articles
    assert len(articles) == 3
    return articles


@pytest.fixture(scope="module")
def seed_chunks(seed: Article) -> list[Chunk]:
    return chunk_article(seed, DEFAULT)


def iron_chunk(chunks: list[Chunk]) -> Chunk:
    return next(c for c in chunks if "carries oxygen to the mitochondria" in c.text)


def one_paragraph_article(text: str) -> Article:
    """An article whose only content is one body paragraph."""
    section = Section("Iron", "iron", 2, [Block("body", text, 0, len(text))])
    return Article("a", "Title", f"{SITE}/a", "a.txt", "0" * 64, "txt", sections=[section])


# --- size -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [32, 64, 160, 220])
def test_every_chunk_is_within_chunk_max_tokens(all_articles: list[Article], max_tokens: int) -> None:
    """No chunk exceeds chunk_max_tokens cl100k tokens, at any allowed setting."""
    settings = ChunkerSettings(max_tokens=max_tokens, min_tokens=min(40, max_tokens), overlap_sentences=1)
    for article in all_articles:
        for c in chunk_article(article, settings):
            assert count_tokens(c.text) <= max_tokens, (c.id, count_tokens(c.text))


def test_default_chunk_size_comes_from_settings() -> None:
    """The build chunks with the Settings values (160 tokens, 40 minimum, 1 sentence overlap)."""
    assert ChunkerSettings(max_tokens=160, min_tokens=40, overlap_sentences=1) == DEFAULT


def test_no_chunk_is_truncated_by_the_embedding_model(all_articles: list[Article], embedder) -> None:  # type: ignore[no-untyped-def]
    """Every chunk's embed text (title + heading + passage) fits the model's window, [CLS]/[SEP] included."""
    assert embedder.max_tokens == 256
    for article in all_articles:
        for c in chunk_article(article, DEFAULT):
            assert embedder.count_tokens(c.embed_text) <= embedder.max_tokens, c.id


def test_no_chunk_of_the_built_index_is_truncated_by_the_embedding_model(loaded, embedder) -> None:  # type: ignore[no-untyped-def]
    """What the build actually embedded fits the model window too."""
    assert loaded.chunks
    for c in loaded.chunks:
        assert embedder.count_tokens(c.embed_text) <= embedder.max_tokens, c.id


# --- what is indexed, and how ---------------------------------------------------------------------


def test_the_disclaimer_is_never_indexed(all_articles: list[Article]) -> None:
    """The FDA disclaimer belongs to answers, not to retrievable passages."""
    for article in all_articles:
        assert article.disclaimer == DISCLAIMER
        for c in chunk_article(article, DEFAULT):
            assert c.kind != "disclaimer"
            assert "Food and Drug Administration" not in c.text


def test_promo_chunks_have_kind_promo(seed_chunks: list[Chunk]) -> None:
    """Newsletter and shop boxes are indexed as promo, never mixed into body chunks."""
    promos = [c for c in seed_chunks if c.kind == "promo"]
    assert {c.anchor for c in promos} == {
        "train-smarter-every-weekend-save-on-your-first-order",
        "run-on-a-better-supplied-engine",
    }
    for marker in ("BLOGLOVERS", "Shop the Daily Shot", "Trusted by over 5,000"):
        assert [c.kind for c in seed_chunks if marker in c.text] == ["promo"], marker


def test_references_are_their_own_chunks_without_ref_ids(seed_chunks: list[Chunk]) -> None:
    """The Sources list is indexed as references chunks (all four entries), which cite nothing themselves."""
    refs = [c for c in seed_chunks if c.kind == "references"]
    assert refs
    assert all(c.anchor == "sources" and c.ref_ids == () for c in refs)
    joined = "\n".join(c.text for c in refs)
    for author in ("Enoka", "Sim", "Nielsen", "Gherardi"):
        assert author in joined


def test_the_iron_paragraph_is_one_body_chunk_with_a_deep_link(seed_chunks: list[Chunk]) -> None:
    """The iron paragraph is kept whole, as a body chunk linking to its section."""
    chunk = iron_chunk(seed_chunks)
    assert chunk.kind == "body"
    assert chunk.text.startswith("Iron is the big one for runners.")
    assert chunk.text.endswith("micronutrients most endurance athletes are deficient in.")
    assert chunk.url.endswith("#" + IRON_ANCHOR)
    assert chunk.url == f"{SITE}/why-your-legs-feel-heavy-when-you-run#{IRON_ANCHOR}"
    assert chunk.section == "Why would your engine be underpowered even when you feel fine otherwise?"
    assert sum("carries oxygen to the mitochondria" in c.text for c in seed_chunks) == 1


def test_the_iron_chunk_cites_the_sim_reference(seed: Article, seed_chunks: list[Chunk]) -> None:
    """ref_ids are the numbers of the Sources entries the passage mentions: Sim (2) and Nielsen (3)."""
    chunk = iron_chunk(seed_chunks)
    assert 2 in chunk.ref_ids
    assert seed.references[1].n == 2
    assert seed.references[1].first_author == "Sim"
    assert chunk.ref_ids == (2, 3)


def test_chunks_carry_article_identity_and_embed_text_context(seed: Article, seed_chunks: list[Chunk]) -> None:
    """Each chunk knows its article, source file and section; the embed text prefixes title and heading."""
    assert len({c.id for c in seed_chunks}) == len(seed_chunks)
    for c in seed_chunks:
        assert (c.article_id, c.title, c.source) == (seed.id, seed.title, "why-your-legs-feel-heavy-when-you-run.txt")
        assert c.id.startswith(f"{seed.id}/{c.anchor}/")
        assert c.embed_text.endswith(c.text)
        assert c.embed_text.startswith(seed.title)
        assert c.text.strip() == c.text
        assert c.text


def test_chunking_is_deterministic(seed: Article) -> None:
    """The same article always gives the same chunks (ids, texts, spans), even when re-parsed."""
    assert chunk_article(seed, DEFAULT) == chunk_article(parse_file(SEED, CORPUS, SITE), DEFAULT)


# --- long paragraphs ------------------------------------------------------------------------------

SENTENCES = [f"Sentence number {i} explains how iron carries oxygen in runners." for i in range(30)]


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_a_long_paragraph_splits_at_sentence_boundaries_with_overlap(overlap: int) -> None:
    """Windows are runs of whole sentences; consecutive windows share exactly `overlap` sentences."""
    settings = ChunkerSettings(max_tokens=50, min_tokens=0, overlap_sentences=overlap)
    chunks = chunk_article(one_paragraph_article(" ".join(SENTENCES)), settings)
    assert len(chunks) > 3
    windows = []
    for c in chunks:
        assert count_tokens(c.text) <= 50
        parts = split_sentences(c.text)
        assert all(p in SENTENCES for p in parts), "no sentence is cut"
        idx = [SENTENCES.index(p) for p in parts]
        assert idx == list(range(idx[0], idx[0] + len(idx))), "consecutive sentences"
        windows.append(idx)
    assert windows[0][0] == 0 and windows[-1][-1] == len(SENTENCES) - 1, "the whole paragraph is covered"
    for prev, nxt in zip(windows, windows[1:]):
        assert nxt[0] == prev[-1] + 1 - overlap


def test_the_seed_iron_paragraph_splits_at_its_sentence_boundaries_under_a_small_budget(seed: Article) -> None:
    """With a 64-token budget the iron paragraph becomes overlapping windows of its own sentences."""
    settings = ChunkerSettings(max_tokens=64, min_tokens=0, overlap_sentences=1)
    para = next(b.text for s in seed.sections for b in s.blocks if b.text.startswith("Iron is the big one"))
    sentences = split_sentences(para)
    windows = [
        c for c in chunk_article(seed, settings) if c.anchor == IRON_ANCHOR and split_sentences(c.text)[0] in sentences
    ]
    assert len(windows) >= 2
    for prev, nxt in zip(windows, windows[1:]):
        assert split_sentences(nxt.text)[0] == split_sentences(prev.text)[-1], "one sentence of overlap"
    for c in windows:
        assert all(s in sentences for s in split_sentences(c.text))
        assert count_tokens(c.text) <= 64


def test_small_neighbouring_paragraphs_are_merged_up_to_the_budget() -> None:
    """Paragraphs under min_tokens join their neighbour (blank line between) while the result fits."""
    blocks = [Block("body", "Iron matters.", 0, 13), Block("body", "So does magnesium.", 15, 33)]
    article = Article("a", "T", f"{SITE}/a", "a.txt", "0", "txt", sections=[Section("H", "h", 2, blocks)])
    (chunk,) = chunk_article(article, ChunkerSettings(max_tokens=160, min_tokens=40, overlap_sentences=1))
    assert chunk.text == "Iron matters.\n\nSo does magnesium."
    assert (chunk.start, chunk.end) == (0, 33)


# --- fit_to_limit ---------------------------------------------------------------------------------


def words(text: str) -> int:
    """A toy model tokenizer: one token per word."""
    return len(text.split())


def test_fit_to_limit_leaves_chunks_that_fit_alone(seed_chunks: list[Chunk]) -> None:
    """Chunks within the model limit pass through unchanged."""
    assert fit_to_limit(seed_chunks, words, 10_000) == seed_chunks


def test_fit_to_limit_splits_over_long_chunks_for_a_tiny_limit(seed_chunks: list[Chunk]) -> None:
    """Each over-long chunk is halved (by sentences, then words) until its embed text fits; no word is lost."""
    limit = 40
    out = fit_to_limit(seed_chunks, words, limit)
    assert len(out) > len(seed_chunks)
    assert all(words(c.embed_text) <= limit for c in out)
    for original in seed_chunks:
        pieces = [c for c in out if c.id == original.id or c.id.startswith(original.id + ".")]
        assert " ".join(p.text for p in pieces).split() == original.text.split(), original.id
        for p in pieces:
            assert (p.url, p.kind, p.section, p.ref_ids) == (
                original.url,
                original.kind,
                original.section,
                original.ref_ids,
            )
            assert p.id == original.id or re.fullmatch(re.escape(original.id) + r"(\.[01])+", p.id)
    assert len({c.id for c in out}) == len(out)


def test_fit_to_limit_refuses_a_limit_nothing_can_meet(seed_chunks: list[Chunk]) -> None:
    """When even one word plus title and heading is too long, the build fails loudly instead of truncating."""
    with pytest.raises(ValueError, match="cannot be split below the model limit"):
        fit_to_limit(seed_chunks[:1], words, 3)
