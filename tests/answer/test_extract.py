"""Answer-first extraction: the sentence that answers opens the reply, whatever kind of answer is asked for."""

from __future__ import annotations

import re

import pytest

from askoleus import DISCLAIMER
from askoleus.answer import Answerer
from askoleus.answer.extract import answer_type
from askoleus.config import Settings
from askoleus.evaluate import citations_valid
from askoleus.retrieve import QueryEncoder


@pytest.fixture(scope="module")
def answerer(built: Settings, embedder) -> Answerer:  # type: ignore[no-untyped-def]
    return Answerer(built, QueryEncoder(embedder))


def _sentences(answer_text: str) -> list[str]:
    body = answer_text.removesuffix(DISCLAIMER)
    return [s.strip() for s in re.split(r"\s\[\d+\]", body) if s.strip()]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Is the heaviness always persistent, or can a bit of rest clear it?", "verdict"),
        ("Should I just push through heavy legs?", "verdict"),
        ("Which two gaps should I address first?", None),  # "should I" inside a which-question asks for things
        ("What does it mean when runners say they have heavy legs?", "definition"),
        ("Physiologically, what is that sluggish, weighed-down sensation?", "definition"),
        ("How can I order OLEUS?", "purchase"),
        ("Where can I buy the Daily Shot?", "purchase"),
        ("How do I train in order to avoid heavy legs?", "advice"),  # "in order to" buys nothing
        ("How do I save money on my first order?", "discount"),
        ("any promo code?", "discount"),
        ("How can I make heavy legs lighter over time?", "advice"),
        ("How long do muscles store ATP?", "time"),
        ("Why do my legs feel heavy?", "cause"),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    """The question's wording says what its answer looks like: a ruling, a definition, a call to action, …"""
    assert answer_type(question) == kind


def test_a_yes_no_question_opens_with_the_ruling_on_its_own_subject(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """ "Always X, or can rest clear it?" is answered by the sentence that rules on rest ("Sometimes it is
    transient … a day or two of rest clears it"), not by a sentence that merely says "not" about something else."""
    a = answerer.ask(loaded, "Is the heaviness always persistent, or can a bit of rest clear it?")
    assert a.status == "answered"
    assert "a day or two of rest" in _sentences(a.answer)[0]


def test_a_ruling_about_something_else_does_not_open(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """Short "not" sentences of the introduction ("Your legs are not being dramatic.") share nothing with the
    question, so they cannot open the answer to "Is that even a real thing?"."""
    a = answerer.ask(
        loaded, "My thighs feel like concrete even though I slept and ate well. Is that even a real thing?"
    )
    sentences = _sentences(a.answer)
    assert "heaviness is real" in " ".join(sentences[:2])
    assert not any(s in sentences[0] for s in ("Not injured", "will not lighten", "not being dramatic"))


def test_a_what_is_question_opens_with_the_definition_of_its_subject(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """A definition names its subject before the verb ("Heavy legs are an energy supply lagging …")."""
    a = answerer.ask(loaded, "What does it mean when runners say they have heavy legs?")
    assert _sentences(a.answer)[0].startswith("Heavy legs are an energy supply")


def test_scene_setting_does_not_open_an_answer(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """A short sentence about the reader ("Some days your legs just feel heavy.") restates the question."""
    a = answerer.ask(loaded, "Physiologically, what is that sluggish, weighed-down sensation in my lower limbs?")
    assert a.status == "answered"
    assert not _sentences(a.answer)[0].startswith("Some days your legs")


def test_where_to_buy_opens_with_the_call_to_action(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """The shop link's four words match the question's vector poorly, yet they are the answer."""
    a = answerer.ask(loaded, "How can I order OLEUS?")
    assert a.status == "answered"
    assert _sentences(a.answer)[0] == "Shop the Daily Shot"
    assert citations_valid(a)


def test_a_lead_that_points_ahead_brings_the_sentence_after_it(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """ "That daily support is where OLEUS fits." opens a passage mid-section; what it points to follows it."""
    a = answerer.ask(loaded, "Where does OLEUS fit in?")
    sentences = _sentences(a.answer)
    assert sentences[0] == "That daily support is where OLEUS fits."
    assert "oleuropein" in sentences[1]
    assert len(sentences) <= 3


def test_what_a_product_holds_opens_with_its_compound(answerer, loaded) -> None:  # type: ignore[no-untyped-def]
    """Asked what the Daily Shot contains, the sentence naming its active compound opens the answer."""
    for q in ("What are the ingredients of the Daily Shot?", "What does OLEUS contain?"):
        a = answerer.ask(loaded, q)
        assert a.status == "answered", q
        assert _sentences(a.answer)[0].startswith("The active compound is oleuropein"), q
