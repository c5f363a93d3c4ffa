"""Routing before answering: red-flag symptoms, medical questions, follow-ups. Fixed templates only."""

from __future__ import annotations

import re
from typing import Literal

Route = Literal["emergency", "medical", "answer"]

EMERGENCY_TEXT = (
    "What you describe can be a sign of a medical emergency. Please stop exercising and seek medical "
    "care now: call your local emergency number (112 in Europe, 911 in the US) or go to the nearest "
    "emergency department. Our articles cannot help with this."
)
MEDICAL_TEXT = (
    "This sounds like a question about your personal health, a medical condition, medication or "
    "dosing. Our articles are general information and cannot answer it for you: please ask a doctor, "
    "pharmacist or other healthcare professional, who can take your situation into account."
)
MEDICAL_WITH_PASSAGES = " Here is what our articles say on the general topic:"
NOT_COVERED_TEXT = (
    "Sorry, our articles don't cover that. askoleus answers questions about the topics of the OLEUS "
    "blog, such as endurance running, recovery and cellular energy."
)
NOT_COVERED_RELATED = " These articles are the closest we have:"

_RED_FLAGS = [
    r"chest (?:pain|pains|pressure|tightness|hurts?)",
    r"pain in (?:my|the) chest",
    r"heart attack",
    r"faint(?:ed|ing|s)?\b",
    r"pass(?:ed|ing)? out",
    r"black(?:ed)? out",
    r"collaps(?:e|ed|ing)",
    r"los(?:t|e|ing) consciousness",
    r"unconscious",
    r"short(?:ness)? of breath",
    r"can'?t breathe",
    r"cannot breathe",
    r"(?:trouble|difficulty) breathing",
    r"struggling to breathe",
    r"blue lips",
    r"lips (?:are|turned|turning) blue",
    r"(?:irregular|racing|pounding) (?:heart ?beat|heart)",
    r"palpitations",
    r"heart (?:is )?racing",
    r"seizure",
    r"convulsion",
    r"stroke\b",
    r"slurred speech",
    r"numb(?:ness)? (?:on|in) one side",
    r"face (?:is )?drooping",
    r"coughing (?:up )?blood",
    r"vomiting blood",
    r"blood in (?:my )?(?:urine|stool)",
    r"(?:dark|brown|cola)[- ]colou?red (?:urine|pee)",
    r"(?:urine|pee) (?:is|was|looks|turned) (?:very )?(?:dark brown|brown|cola)",
    r"heat ?stroke",
    r"stopped sweating",
    r"severe (?:headache|bleeding|pain)",
    r"suicid",
    r"overdos",
]
_MEDICAL = [
    r"\bmedic(?:ation|ine|ines|ations)\b",
    r"\bmeds\b",
    r"\bprescri(?:bed|ption)",
    r"\bdrugs?\b",
    r"\bpills?\b",
    r"\bdiagnos",
    r"\bdo i have\b",
    r"\bam i (?:sick|ill|deficient|anemic|anaemic)",
    r"\bdiseases?\b",
    r"\bdisorders?\b",
    r"\bcondition\b",
    r"\bsyndrome\b",
    r"\btreat(?:s|ment|ing)?\b",
    r"\bcure[sd]?\b",
    r"\btherap(?:y|ies)\b",
    r"\bpregnan",
    r"\bbreast ?feeding\b",
    r"\bnursing\b",
    r"\bconceive\b",
    r"\bdos(?:e|es|age|ing)\b",
    r"\bhow (?:much|many) (?:mg|milligrams?|iron|magnesium|"
    r"capsules?|shots?|tablets?) (?:should|can|do) i\b",
    r"\bside[- ]effects?\b",
    r"\binteract",
    r"\ban(?:a)?emi(?:a|c)\b",
    r"\bdiabet",
    r"\bcancer\b",
    r"\bhypertension\b",
    r"\bblood pressure\b",
    r"\bthyroid\b",
    r"\bkidney\b",
    r"\bliver\b",
    r"\bheart (?:disease|condition|failure)\b",
    r"\basthma\b",
    r"\bdepress(?:ion|ed)\b",
    r"\bcoeliac\b",
    r"\bceliac\b",
    r"\bstatins?\b",
    r"\bmetformin\b",
    r"\bibuprofen\b",
    r"\bwarfarin\b",
    r"\bblood thinners?\b",
    r"\bantibiotics?\b",
    r"\bantidepressants?\b",
    r"\binsulin\b",
    r"\bmy doctor\b",
    r"\bsymptoms? of\b",
    r"\bsick\b",
    r"\binfection\b",
    r"\bmean (?:that )?i(?:'ve| have)\b",
    r"\bsclerosis\b",
    r"\bepilep",
    r"\bchild(?:ren)?\b",
    r"\bkids?\b",
    r"\bteen(?:ager)?s?\b",
    r"\bsurgery\b",
    r"\ballerg",
]
_RED_RE = re.compile("|".join(_RED_FLAGS), re.IGNORECASE)
_MED_RE = re.compile("|".join(_MEDICAL), re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:no|not|without|never)\s+(?:any\s+)?$", re.IGNORECASE)


def _first_unnegated(pattern: re.Pattern[str], text: str) -> bool:
    """True when pattern occurs and the occurrence is not directly negated ("no chest pain")."""
    return any(not _NEGATED.search(text[max(0, m.start() - 20) : m.start()]) for m in pattern.finditer(text))


def route(question: str) -> Route:
    """Emergency first (red-flag symptoms), then medical intent, else a normal answer."""
    text = question.replace("’", "'")
    if _first_unnegated(_RED_RE, text):
        return "emergency"
    if _first_unnegated(_MED_RE, text):
        return "medical"
    return "answer"


_FOLLOWUP_START = re.compile(
    r"^\s*(?:and|but|also|what about|how about|what of|and what about|same for|then|so|or)\b", re.IGNORECASE
)
_REFERENCE_ASK = re.compile(
    r"\b(?:stud(?:y|ies)|source|sources|reference|references|paper|evidence|research|citation|who says|"
    r"says who|proof)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(r"\b(?:that|this|it|they|them|those|these)\b", re.IGNORECASE)


FollowupKind = Literal["pronoun", "topic"]


def followup_kind(question: str) -> FollowupKind | None:
    """How a short question leans on the previous turn, if it does.

    "pronoun": it refers back ("where does it come from?", "what study says that?") and is searched
    together with the previous question. "topic": it moves to a new subject in the same frame
    ("and magnesium?"), which the articles must cover on its own before the frame is borrowed.
    """
    words = re.findall(r"\w+", question)
    if len(words) > 10:
        return None
    if len(words) <= 8 and (_ANAPHORA.search(question) or _REFERENCE_ASK.search(question)):
        return "pronoun"
    if _FOLLOWUP_START.match(question):
        return "topic"
    return None


def asks_for_reference(question: str) -> bool:
    """The reader asks which study or source backs the previous answer."""
    return bool(_REFERENCE_ASK.search(question))
