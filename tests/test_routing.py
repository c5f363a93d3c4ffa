"""Routing runs before retrieval: red flags → emergency, personal medical questions → referral."""

from __future__ import annotations

import pytest

from askoleus.answer.routing import asks_for_reference, followup_kind, route


@pytest.mark.parametrize(
    "question",
    [
        "I have chest pain while running",
        "I fainted during my run yesterday",
        "I can't breathe properly and my lips are blue",
        "my heart is racing and won't slow down",
        "After the race my pee is cola-coloured",
        "I passed out at the finish line",
    ],
)
def test_red_flag_symptoms_are_emergencies(question: str) -> None:
    """Any red-flag symptom gets the fixed emergency template, whatever else is asked."""
    assert route(question) == "emergency"


@pytest.mark.parametrize(
    "question",
    [
        "I'm pregnant, can I take iron supplements while running?",
        "I have anemia, how much iron should I take?",
        "Can oleuropein treat my diabetes?",
        "Should I stop my blood pressure medication before a race?",
        "Do my heavy legs mean I have multiple sclerosis?",
        "What dose of magnesium is right for my kidney disease?",
    ],
)
def test_personal_medical_questions_are_referred(question: str) -> None:
    """Medication, diagnosis, disease, pregnancy and dosing go to a healthcare professional."""
    assert route(question) == "medical"


@pytest.mark.parametrize(
    "question",
    [
        "Why do my legs feel heavy when I run?",
        "Why is iron important for runners?",
        "Are heavy legs a sign that I'm injured?",
        "What is oleuropein?",
        "I ran with no chest pain at all, why are my legs heavy?",
    ],
)
def test_ordinary_questions_are_answered(question: str) -> None:
    """Article questions, including a negated symptom, are not misrouted."""
    assert route(question) == "answer"


def test_followups_are_recognised() -> None:
    """Short questions leaning on the previous turn are follow-ups; full questions are not."""
    assert followup_kind("and magnesium?") == "topic"
    assert followup_kind("what study says that?") == "pronoun"
    assert followup_kind("What about recovery?") == "topic"
    assert followup_kind("Why do my legs feel heavy when I run?") is None
    assert asks_for_reference("which study says that?")
    assert not asks_for_reference("and magnesium?")
