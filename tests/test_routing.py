"""Routing runs before retrieval: red flags → emergency, personal medical questions → referral."""

from __future__ import annotations

from pathlib import Path

import pytest

from askoleus.answer.routing import asks_for_reference, followup_kind, route
from askoleus.answer.routing_eval import evaluate_routing, load

EVAL = Path(__file__).resolve().parents[1] / "eval"


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


@pytest.mark.parametrize(
    "question",
    [
        "Is a chocolate treat after a long run a bad idea?",
        "I'm a nursing student who runs before my shifts, why are my legs heavy?",
        "Does the Daily Shot come in pill form?",
        "What does the condition of my legs after a marathon tell me?",
        "My kids run too, do they get heavy legs as well?",
        "Is a good dose of rest enough to fix heavy legs?",
        "Do I have to rest a full day after a hard session?",
    ],
)
def test_ordinary_uses_of_trigger_words_are_answered(question: str) -> None:
    """A treat, pill form, a dose of rest, a nursing student: ordinary readings are not medical questions."""
    assert route(question) == "answer"


@pytest.mark.parametrize(
    "question",
    [
        "I don't have chest pain, but my legs are heavy. Why?",
        "I haven't fainted or anything, my legs just feel like lead.",
        "I never had chest pain, only heavy legs on hills.",
        "I no longer get short of breath, but my legs are still heavy.",
        "Without any chest tightness at all, why are my legs so heavy?",
        "My pace collapsed in the last 5k, is that low iron?",
        "How do I improve my swim stroke for a triathlon?",
        "Is there a faint taste of olive in the Daily Shot?",
    ],
)
def test_denied_or_figurative_red_flags_are_not_emergencies(question: str) -> None:
    """Contractions and "no longer", "never had", "without any" deny a symptom; a swim stroke is no stroke."""
    assert route(question) != "emergency"


@pytest.mark.parametrize(
    "question",
    [
        "I don't know if I fainted, everything went grey at the finish.",
        "I never had chest pain until today's run.",
        "Isn't chest pain during a run a reason to stop?",
        "I had crushing pressure in my chest on the last hill.",
        "A runner next to me collapsed and is not breathing.",
        "I think I'm having a stroke.",
    ],
)
def test_doubts_and_new_symptoms_stay_emergencies(question: str) -> None:
    """Doubt is not denial, a symptom that began "until today" is present, and a question does not deny."""
    assert route(question) == "emergency"


@pytest.mark.parametrize(
    "question",
    [
        "Can my kids take the Daily Shot before their school race?",
        "I'm nursing my newborn, can I drink the Daily Shot?",
        "Can I take the Daily Shot alongside my beta blockers?",
        "I take the contraceptive pill; does it affect my iron levels?",
        "What's the right dosage of magnesium for night cramps?",
    ],
)
def test_medical_readings_of_the_same_words_are_referred(question: str) -> None:
    """Giving a supplement to a child, nursing a baby, medication and dosing stay medical."""
    assert route(question) == "medical"


def test_labelled_sets_meet_the_routing_targets() -> None:
    """Golden medical and emergency items are all caught; benign questions rarely referred, never alarmed."""
    golden = evaluate_routing(load(EVAL / "golden.jsonl"))
    assert golden.recall("medical") == 1.0
    assert golden.recall("emergency") == 1.0
    benign = evaluate_routing(load(EVAL / "routing_benign.jsonl"))
    assert benign.benign >= 40
    assert benign.benign_to_emergency == 0
    assert benign.benign_to_medical / benign.benign <= 0.10
    true_cases = evaluate_routing(load(EVAL / "routing_medical.jsonl"))
    assert true_cases.recall("medical") == 1.0
    assert true_cases.recall("emergency") == 1.0
