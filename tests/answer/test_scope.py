"""What the articles cover: requests to make something up, company facts, new subjects, misspellings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from askoleus.answer import Answerer
from askoleus.answer.routing import asks_to_create
from askoleus.answer.scope import SYNONYM, correct_spelling, fact_kind, nearest_word, states_fact
from askoleus.config import Settings
from askoleus.index import IndexStore, load_current, load_generation
from askoleus.index.loaded import WORD_VECTORS, WORDS, LoadedIndex
from askoleus.index.store import write_manifest
from askoleus.pipeline import build_index
from askoleus.retrieve import QueryEncoder
from conftest import CORPUS, FIXTURES, FakeEmbedder


@pytest.fixture(scope="module")
def answerer(built: Settings, embedder) -> Answerer:  # type: ignore[no-untyped-def]
    return Answerer(built, QueryEncoder(embedder))


def test_requests_to_make_something_up_are_out_of_scope(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """A joke, a story, a poem, code or a translation is nothing an article holds, whatever its words."""
    for q in ("Tell me a joke about runners.", "Write a poem about heavy legs.", "Tell me a funny story about iron."):
        assert answerer.ask(loaded, q).status == "not_covered", q
    assert asks_to_create("Translate 'good morning' into German.")
    assert asks_to_create("Write me a Python function to sort a list.")
    assert asks_to_create("Could you write a short motivational quote for my running club?")  # opens asking for text
    # the words alone are not a request: a question may end in "tell me", a study be about translating
    assert not asks_to_create("What does the condition of my legs after a marathon tell me?")
    assert not asks_to_create("What does 'Translating fatigue to human performance' say?")


def test_company_facts_need_a_passage_that_states_them(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """Where the company is based, who founded it, shipping, storage: only a passage stating it answers."""
    for q in (
        "Where is the OLEUS company based?",
        "Who founded OLEUS?",
        "When was OLEUS founded?",
        "How should I store the Daily Shot?",
        "Does OLEUS ship to Canada?",
    ):
        assert answerer.ask(loaded, q).status == "not_covered", q
    assert fact_kind("Where is OLEUS based?") == "place"
    assert fact_kind("Where does oleuropein come from?") is None  # a source, not a place the company is in
    assert fact_kind("Does iron deliver oxygen to the mitochondria?") is None
    assert states_fact("place", "OLEUS is based in Porto, Portugal.")
    assert not states_fact("place", "Iron carries oxygen to the mitochondria.")


def test_a_company_fact_is_answered_once_an_article_states_it(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Add a page that says where OLEUS is based, and the same question is answered from it."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(FIXTURES / "scope" / "who-we-are.md", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, embedder)
    index = load_current(settings.index_dir, embedder.name, embedder.dim)
    answerer = Answerer(settings, QueryEncoder(embedder))
    based = answerer.ask(index, "Where is the OLEUS company based?")
    assert based.status == "answered"
    assert "Porto" in based.answer
    assert answerer.ask(index, "Who founded OLEUS?").status == "not_covered"  # the page does not say


def test_a_new_subject_beside_the_title_words_is_not_covered(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """ "Heavy legs" and "run" are what the article is about; ice baths and treadmills are not in it."""
    for q in (
        "Are ice baths good for heavy legs after a run?",
        "Is running on a treadmill easier on the legs?",
        "Do massage guns help with heavy legs?",
        "Should I drink coffee before running?",
    ):
        assert answerer.ask(loaded, q).status == "not_covered", q
    # wording, comparisons and synonyms of the article's words are not new subjects
    for q in (
        "Is one bad day of heavy legs something to worry about?",
        "Why do my legs feel like bricks?",
        "Why are my legs so tired when I run?",
    ):
        assert answerer.ask(loaded, q).status == "answered", q


def test_misspelt_words_are_searched_as_meant(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """A rare word one edit from a word of the articles is a misspelling of it; real words stay."""
    assert correct_spelling(loaded, "is iorn importnat for runers") == "is iron important for runners"
    assert correct_spelling(loaded, "Are running shoes worth it?") == "Are running shoes worth it?"
    a = answerer.ask(loaded, "is iorn importnat for runers")
    assert a.status == "answered"
    assert "oxygen" in a.answer


def test_a_generation_keeps_the_articles_words_with_vectors(loaded: LoadedIndex, embedder) -> None:  # type: ignore[no-untyped-def]
    """Each content word of the articles has a vector, so a synonym finds its article word."""
    assert "fatigue" in loaded.vocabulary
    assert "the" not in loaded.vocabulary
    assert loaded.word_vectors.shape == (len(loaded.vocabulary), loaded.vectors.shape[1])
    encode = QueryEncoder(embedder)
    assert nearest_word(loaded, encode("tired")) >= SYNONYM  # "fatigue"
    assert nearest_word(loaded, encode("treadmill")) < SYNONYM


def test_an_older_generation_without_word_vectors_still_loads(
    corpus_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """Generations built before the vocabulary was stored load as before, without the new-subject check."""
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    build_index(settings, fake_embedder)
    gen = IndexStore(settings.index_dir).current_dir()
    manifest = load_generation(gen, "fake-hash").manifest
    (gen / WORDS).unlink()
    (gen / WORD_VECTORS).unlink()
    write_manifest(gen, {k: v for k, v in manifest.items() if k not in ("artifacts", "format")})
    old = load_generation(gen, "fake-hash")
    assert old.vocabulary == []
    assert len(old.word_vectors) == 0
    assert nearest_word(old, np.ones(64, dtype=np.float32)) == 0.0
    rebuilt = build_index(settings, fake_embedder)  # the same corpus: a new generation only to add the words
    assert not rebuilt.unchanged
    assert "fatigue" in load_current(settings.index_dir, "fake-hash").vocabulary
    assert build_index(settings, fake_embedder).unchanged


def test_asking_what_a_product_is_made_of_is_about_the_product(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """ "Ingredients" and "contain" say what is asked, not about what; a named substance stays the subject."""
    for q in ("What are the ingredients of the Daily Shot?", "What is the Daily Shot made of?"):
        assert answerer.ask(loaded, q).status == "answered", q
    for q in ("Does the Daily Shot contain caffeine?", "Does the Daily Shot contain gluten?"):
        assert answerer.ask(loaded, q).status == "not_covered", q


def test_a_question_a_sentence_matches_clearly_is_answered_whatever_word_it_adds(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """The new-subject check stops at NEW_SUBJECT_CEILING: "hurt" and "makes" are wording, not a new topic."""
    for q in ("Do heavy legs mean I'm hurt?", "What makes heavy legs go away?"):
        assert answerer.ask(loaded, q).status == "answered", q
    assert answerer.ask(loaded, "Are ice baths good for heavy legs after a run?").status == "not_covered"


def test_a_new_subject_beside_other_article_words_needs_a_wider_gap(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """ "endurance runners" are article words, yet creatine is what is asked; a paraphrase's odd words are not."""
    assert answerer.ask(loaded, "Is creatine good for endurance runners?").status == "not_covered"
    assert answerer.ask(loaded, "Which mineral ferries O2 to the powerhouses of my cells?").status == "answered"
