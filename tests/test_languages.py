"""The question's language: English stays English, other languages get fixed replies in their language."""

from __future__ import annotations

import pytest

from askoleus import DISCLAIMER
from askoleus.answer import Answerer
from askoleus.answer.languages import EMERGENCY, ENGLISH_ONLY, RELATED, SUPPORTED, detect_language, localized_route
from askoleus.config import Settings
from askoleus.retrieve import QueryEncoder

SETTINGS = Settings()


@pytest.mark.parametrize(
    "question",
    [
        "ATP?",
        "iron and magnesium",
        "oleuropein",
        "whats oleuropein",
        "is magnesum good for runers",
        "iron defficiency in femal runners?",
        "calcium in mitochondria",
        "Cell Metabolism 2024",
        "and magnesium?",
        "Why do my legs feel heavy when I run?",
    ],
)
def test_short_ambiguous_and_misspelt_english_stays_english(question: str) -> None:
    """Domain words, typos and fragments are English, and no localized reply replaces the English answer."""
    assert detect_language(question, SETTINGS) == "en"
    assert localized_route(question, SETTINGS) is None


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Warum fühlen sich meine Beine beim Laufen so schwer an?", "de"),
        ("Pourquoi ai-je les jambes lourdes quand je cours ?", "fr"),
        ("¿Por qué siento las piernas pesadas cuando corro?", "es"),
        ("Perché ho le gambe pesanti quando corro?", "it"),
        ("Waarom voelen mijn benen zwaar als ik hardloop?", "nl"),
        ("Por que sinto as pernas pesadas quando corro?", "pt"),
    ],
)
def test_other_languages_get_the_english_only_reply_in_their_language(question: str, lang: str) -> None:
    """A question in a supported language is recognised and answered with our fixed template in it."""
    assert detect_language(question, SETTINGS) == lang
    assert localized_route(question, SETTINGS) == ("english_only", lang)


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Ich habe Brustschmerzen beim Laufen", "de"),
        ("Ich bekomme beim Joggen keine Luft mehr", "de"),
        ("Je me suis évanouie pendant ma course", "fr"),
        ("J'ai du mal à respirer après le marathon", "fr"),
        ("Me desmayé mientras corría", "es"),
        ("Tengo dolor en el pecho al correr", "es"),
        ("Sono svenuta durante la corsa", "it"),
        ("Ho il fiato corto anche a riposo", "it"),
        ("Ik ben flauwgevallen tijdens het lopen", "nl"),
        ("Ik heb pijn op de borst tijdens het lopen", "nl"),
        ("Desmaiei durante a corrida", "pt"),
        ("Sinto falta de ar depois de correr", "pt"),
    ],
)
def test_red_flags_in_other_languages_get_the_emergency_reply_in_that_language(question: str, lang: str) -> None:
    """Chest pain, fainting and breathlessness in each language: the emergency template in that language."""
    assert localized_route(question, SETTINGS) == ("emergency", lang)


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Ich habe keine Brustschmerzen, aber schwere Beine beim Laufen", "de"),
        ("Je n'ai pas de douleur à la poitrine, mais j'ai les jambes lourdes", "fr"),
        ("No tengo dolor en el pecho, pero siento las piernas pesadas", "es"),
        ("Non ho dolore al petto, ma ho le gambe pesanti", "it"),
        ("Ik heb geen pijn op de borst, maar wel zware benen", "nl"),
        ("Não tenho dor no peito, mas sinto as pernas pesadas", "pt"),
    ],
)
def test_denied_red_flags_in_other_languages_are_not_emergencies(question: str, lang: str) -> None:
    """Each language's own negation ("keine", "pas de", "sin", "non", "geen", "não") denies the symptom."""
    assert localized_route(question, SETTINGS) == ("english_only", lang)


def test_english_red_flags_stay_with_the_english_router() -> None:
    """English emergencies get the English template from route(), not a localized one."""
    assert localized_route("I have chest pain while running", SETTINGS) is None
    assert localized_route("I keep getting palpitations on easy runs.", SETTINGS) is None


def test_every_supported_language_has_every_template() -> None:
    """No language can fall back to an English template by a missing key."""
    for table in (EMERGENCY, ENGLISH_ONLY, RELATED):
        assert set(table) == set(SUPPORTED)
        assert all(text.strip() and "112" in EMERGENCY[lang] for lang, text in table.items())


def test_the_english_threshold_is_a_setting() -> None:
    """With no room for doubt left (P(English) must be below 0), every question is English."""
    strict = Settings(language_max_english_probability=0.0)
    assert detect_language("Warum fühlen sich meine Beine beim Laufen so schwer an?", strict) == "en"


@pytest.fixture(scope="module")
def answerer(built: Settings, embedder) -> Answerer:  # type: ignore[no-untyped-def]
    return Answerer(built, QueryEncoder(embedder))


def test_a_german_question_gets_the_german_reply_with_nearby_articles(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """Status not_covered, language de, our German template, no quotes, and the disclaimer as always."""
    a = answerer.ask(loaded, "Was ist Oleuropein und warum hilft es Läufern?")
    assert (a.status, a.language) == ("not_covered", "de")
    assert a.answer.startswith(ENGLISH_ONLY["de"])
    assert a.citations == []
    assert a.answer.endswith(DISCLAIMER)
    if a.related:
        assert RELATED["de"].strip() in a.answer


def test_a_french_red_flag_gets_the_french_emergency_reply(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """The emergency template in French, before any retrieval."""
    a = answerer.ask(loaded, "J'ai une douleur à la poitrine en courant")
    assert (a.status, a.language) == ("emergency", "fr")
    assert a.answer.startswith(EMERGENCY["fr"])


def test_english_answers_say_english(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """Every answer carries its language; an ordinary English answer is "en"."""
    a = answerer.ask(loaded, "Why is iron important for runners?")
    assert (a.status, a.language) == ("answered", "en")
