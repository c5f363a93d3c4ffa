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
    r"chest (?:pain|pains|pressure|tightness|hurts?|aches?|feels? tight)",
    r"\b(?:pain|pressure|tightness|tight|squeez\w*|crushing|ache|aching|burning|heaviness)\b[^.?!,;]{0,25}"
    r"\b(?:in|on|across|around) (?:my|the) chest",
    r"heart attack",
    r"\bfaint(?:ed|ing|s)\b",
    r"\b(?:feel|feels|felt|feeling|go|goes|going to|about to|might|may|could|almost|nearly|would|i|me) faint\b",
    r"pass(?:ed|ing|es)? out",
    r"black(?:ed|s|ing)? out",
    r"collaps(?:e|ed|es|ing)",
    r"los(?:t|e|ing) consciousness",
    r"unconscious",
    r"unresponsive",
    r"\b(?:not|isn't|wasn't|stopped|stops) (?:breathing|responding)",
    r"short(?:ness)? of breath",
    r"can'?t breathe",
    r"cannot breathe",
    r"(?:trouble|difficulty) breathing",
    r"struggling to breathe",
    r"gasping for (?:air|breath)",
    r"can'?t catch (?:my|his|her|their) breath",
    r"blue lips",
    r"lips (?:are|turned|turning) blue",
    r"(?:irregular|racing|pounding) (?:heart ?beat|heart)",
    r"\bheart\b[^.?!,;]{0,25}\birregular",
    r"palpitations",
    r"\bsyncope\b",
    r"heart (?:is )?racing",
    r"seizure",
    r"convulsion",
    r"\b(?:a|an|mini|minor|major)[- ]stroke\b",
    r"\bstroke (?:symptoms|signs)\b",
    r"\bsigns? of (?:a )?stroke\b",
    r"slurred speech",
    r"speech (?:is |was |sounds? )?slurred",
    r"face (?:feels |is |went |goes )?(?:numb|drooping)",
    r"numb(?:ness)? (?:on|in) (?:one|half|the left|the right)",
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
# Readings of a red-flag word that describe no symptom: a match inside one of these is not a red flag.
_RED_FLAG_BENIGN = [
    r"\b(?:pace|splits?|times?|form|motivation|performance|speed|plans?|economy|confidence|mileage|training|"
    r"season|stride|cadence) (?:\w+ )?collaps\w*",
    r"\b(?:swim(?:ming)?|breast|back|butterfly|freestyle|paddle|paddling|rowing|pedal(?:ling)?|arm) strokes?\b",
    r"\bstrokes? (?:rate|count|technique|length|of (?:luck|genius))\b",
]
_MEDICAL = [
    r"\bmedic(?:ation|ine|ines|ations)\b",
    r"\bmeds\b",
    r"\bprescri(?:bed|ption)",
    r"\bdrugs?\b",
    r"\bpills?\b",
    r"\btablets?\b",
    r"\bdiagnos",
    r"\bdo i have\b",
    r"\bam i (?:sick|ill|deficient|anemic|anaemic)",
    r"\bdiseases?\b",
    r"\bdisorders?\b",
    r"\billness(?:es)?\b",
    r"\bcondition\b",
    r"\bsyndrome\b",
    r"\btreat(?:s|ment|ments|ing|ed)?\b",
    r"\bcure[sd]?\b",
    r"\btherap(?:y|ies)\b",
    r"\bpregnan",
    r"\bbreast ?feeding\b",
    r"\bnursing\b",
    r"\bconceive\b",
    r"\bdos(?:e|es|age|ing|ed)\b",
    r"\bhow (?:much|many|often)\b[^.?!;]{0,30}\b(?:should|can|must|do) i (?:take|supplement|use|drink|have)\b",
    r"\bside[- ]effects?\b",
    r"\binteract(?:s|ion|ions|ing)?\b",
    r"\binterfere",
    r"\ban(?:a)?emi(?:a|c)\b",
    r"\bdiabet",
    r"\bcancer\b",
    r"\bhypertension\b",
    r"\bantihypertensive",
    r"\bblood pressure\b",
    r"\bblood (?:test|tests|work|results?)\b",
    r"\blab (?:test|tests|results?)\b",
    r"thyroid",
    r"\bkidneys?\b",
    r"\bliver\b",
    r"\bheart (?:disease|condition|failure|problems?|surgery)\b",
    r"\barrhythmi",
    r"\basthma\b",
    r"\barthritis\b",
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
    r"\bbeta[- ]?blockers?\b",
    r"\bace inhibitors?\b",
    r"\banticoagulants?\b",
    r"\bpainkillers?\b",
    r"\bnsaids?\b",
    r"\b(?:cortico)?steroids?\b",
    r"\bchemo(?:therapy)?\b",
    r"\bcontracepti",
    r"\binsulin\b",
    r"\bmy (?:doctor|gp|physician|cardiologist|specialist)\b",
    r"\bgp\b",
    r"\bsymptoms? of\b",
    r"\bsick\b",
    r"\binfection\b",
    r"\bmean (?:that )?i(?:'ve| have)\b",
    r"\bsclerosis\b",
    r"\bepilep",
    r"\bsurgery\b",
    r"\ballerg",
]
# Ordinary readings of medical trigger words: a treat, pill form, a dose of rest, the condition of my legs.
_MEDICAL_BENIGN = [
    r"\b(?:a|an|the|my|your|what|which|this|that|little|nice|sweet|special|good|tasty|favou?rite|post-(?:run|race)) "
    r"treats?\b",
    r"\btreats? (?:myself|yourself|ourselves|themselves|himself|herself)\b",
    r"\btreats?(?= (?:after|before|or|and|that|when|is|are|was|do|does)\b)",  # a noun: "a chocolate treat after"
    r"\b(?:in|as an?|as) (?:pills?|tablets?)\b",
    r"\b(?:pills?|tablets?) (?:form|version)\b",
    r"\bnursing (?:students?|homes?|shifts?|school|degree|staff|job|career|work|course)\b",
    r"\bcondition of\b",
    r"\b(?:the|physical|good|great|bad|poor|top|peak|overall|race|running|weather|which|what|perfect|fitness) "
    r"condition\b",
    r"\bsick (?:of|and tired)\b",
    r"\bdo i have (?:to|time)\b",
    r"\bmean (?:that )?i(?:'ve| have) (?:been|to|trained|overtrained|done|pushed|run)\b",
    r"\b(?:double |healthy |good |big |small |daily |extra |weekly )?dose of (?:\w+ )?"
    r"(?:rest|sleep|sun(?:shine|light)?|fresh air|motivation|reality|patience|fun|humou?r|nature|recovery|"
    r"running|training|miles|exercise|intervals|speed ?work|hills)\b",
    r"\bsports? medicine\b",
]
# A minor is a medical question only together with taking or giving something.
_MINOR = re.compile(
    r"\b(?:child(?:ren)?|kids?|teen(?:ager)?s?|son|daughter|\d{1,2}[- ]years?[- ]olds?)\b", re.IGNORECASE
)
_INTAKE = re.compile(
    r"\b(?:take|takes|taking|give|giving|safe|suitable|ok|okay|allowed|drink|drinking|use|using|dose|"
    r"supplement(?:s|ing)?)\b",
    re.IGNORECASE,
)
_RED_RE = re.compile("|".join(_RED_FLAGS), re.IGNORECASE)
_RED_BENIGN_RE = re.compile("|".join(_RED_FLAG_BENIGN), re.IGNORECASE)
_MED_RE = re.compile("|".join(_MEDICAL), re.IGNORECASE)
_MED_BENIGN_RE = re.compile("|".join(_MEDICAL_BENIGN), re.IGNORECASE)

# Negation: a cue a few words before the trigger, in the same clause ("I don't have chest pain").
NEGATION_EN = re.compile(
    r"no|not|never|without|none|nor|neither|nothing|\w+n't|"
    r"dont|doesnt|didnt|havent|hasnt|hadnt|isnt|wasnt|arent|werent|wont|cant|couldnt|shouldnt|wouldnt",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(
    r"[.;:!?,()\n]|\b(?:but|although|though|yet|however|except|aber|doch|sondern|mais|pero|sino|ma|però|"
    r"maar|mas|porém|contudo)\b",
    re.IGNORECASE,
)
# Between the cue and the trigger these words make it a doubt, not a denial ("I don't know if I fainted").
_NOT_A_DENIAL = re.compile(
    r"sure|know|knew|think|thought|idea|if|whether|why|how|what|when|tell|remember|recall|certain|only|just|"
    r"stop|help|explain|understand|mean|wonder|weiß|sais|sé|so|weet|sei",
    re.IGNORECASE,
)
_REVIVED = re.compile(r"\b(?:until|till|bis|jusqu|hasta|fino|tot|até)\b", re.IGNORECASE)
_WORD = re.compile(r"[\w']+")
NEGATION_WINDOW = 3  # words allowed between the cue and the trigger ("haven't had any chest pain")


def negated(text: str, start: int, end: int, cues: re.Pattern[str]) -> bool:
    """True when the trigger at text[start:end] is denied in its clause ("no longer", "never had", "don't")."""
    before = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause_start = breaks[-1].end() if breaks else 0
    words = _WORD.findall(before[clause_start:])
    after = _CLAUSE_BREAK.split(text[end:], maxsplit=1)[0]
    for i in range(len(words) - 1, max(-1, len(words) - NEGATION_WINDOW - 2), -1):
        if not cues.fullmatch(words[i]):
            continue
        between = words[i + 1 :]
        if any(_NOT_A_DENIAL.fullmatch(w) for w in between) or _REVIVED.search(after):
            return False
        at_question_start = i == 0 and words[i].lower().endswith(("n't", "nt")) and "?" in text[end:]
        return not at_question_start  # "Isn't chest pain a warning sign?" asks, it does not deny
    return False


def first_unnegated(
    pattern: re.Pattern[str], text: str, cues: re.Pattern[str], benign: re.Pattern[str] | None = None
) -> bool:
    """True when pattern occurs outside a benign reading and is not denied."""
    matches = list(pattern.finditer(text))
    if not matches:  # most questions: no need to look for benign readings
        return False
    spans = [(m.start(), m.end()) for m in benign.finditer(text)] if benign else []
    for m in matches:
        if any(s <= m.start() and m.end() <= e for s, e in spans):
            continue
        if not negated(text, m.start(), m.end(), cues):
            return True
    return False


def without_denied(question: str) -> str:
    """The question without the symptoms and conditions it denies ("I don't have chest pain, but …")."""
    text = question.replace("\u2019", "'")
    spans = [
        (m.start(), m.end())
        for pattern in (_RED_RE, _MED_RE)
        for m in pattern.finditer(text)
        if negated(text, m.start(), m.end(), NEGATION_EN)
    ]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


def _about_minor(text: str) -> bool:
    """A question about giving or taking something for a child or teenager."""
    return first_unnegated(_MINOR, text, NEGATION_EN) and bool(_INTAKE.search(text))


def route(question: str) -> Route:
    """Emergency first (red-flag symptoms), then medical intent, else a normal answer."""
    text = question.replace("\u2019", "'")
    if first_unnegated(_RED_RE, text, NEGATION_EN, _RED_BENIGN_RE):
        return "emergency"
    if first_unnegated(_MED_RE, text, NEGATION_EN, _MED_BENIGN_RE) or _about_minor(text):
        return "medical"
    return "answer"


# Requests for content no article holds (a joke, a story, a poem, a recipe, code, a translation): out
# of scope by kind, whatever words of the articles they contain ("Tell me a joke about runners.").
_CREATE = re.compile(
    r"\b(?:tell|give|write|compose|create|generate|make up|invent|sing|draft)\b(?: (?:me|us))?(?: \w+){0,3}? "
    r"(?:jokes?|stor(?:y|ies)|poems?|haiku|limericks?|songs?|lyrics|raps?|riddles?|puns?|essays?|recipes?|code|"
    r"scripts?|programs?|functions?|slogans?|tweets?)\b"
    r"|\b(?:jokes?|poems?|haiku|limericks?|riddles?|puns?|lyrics)\b|\btranslate\b|\btranslation (?:of|into)\b"
    # a question that opens by asking us to write something asks for text no article holds
    r"|^\W*(?:(?:please|can you|could you|would you)\W+)?(?:write|compose|draft|generate|invent|make up)\b",
    re.IGNORECASE,
)


def asks_to_create(question: str) -> bool:
    """The reader asks us to make something up (a joke, a story, a poem, a recipe, code, a translation)."""
    return bool(_CREATE.search(question))


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
