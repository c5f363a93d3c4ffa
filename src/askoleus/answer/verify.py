"""Verification of a generated draft: kept sentences with their markers, dropped ones with a reason.

A pure function of the draft, the passages the model was given and an encoder; it never calls the
model. A sentence survives only if it cites a passage we gave, names no number, year, name, journal
or product that the cited passage lacks, makes no disease claim, repeats no instruction aimed at a
model, and is supported by what it cites.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from askoleus.index.lexical import STOPWORDS, tokenize
from askoleus.sentences import sentence_spans

Encode = Callable[[list[str]], np.ndarray]
Reason = Literal[
    "no_marker",
    "unknown_marker",
    "disease_claim",
    "instruction",
    "unsupported_number",
    "unsupported_name",
    "unsupported",
    "incomplete",  # the model stopped mid-sentence (its token limit)
]
# Support = W_COSINE * best cosine to a cited sentence or pair of adjacent sentences (each encoded on
# its own) + (1 - W_COSINE) * share of the claim's content words found in the cited passages. The
# weight and the threshold (Settings.llm_support_threshold) are chosen on eval/support_labels.jsonl
# by bench/support_threshold.py (README, Generated answers).
W_COSINE = 0.6

_MARKER = re.compile(r"\[(\d{1,3})\]")
_MARKER_GROUP = re.compile(r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]")
# "… oxygen. [1][2]" → "… oxygen [1][2]." so the splitter keeps markers with their sentence
_MARKERS_AFTER_STOP = re.compile(r"\s*([.!?…]+)((?:\s*\[\d{1,3}\])+)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100", "thousand": "1000",
    "million": "1000000", "billion": "1000000000", "dozen": "12",
}  # fmt: skip
_APOSTROPHES = "'\u2019"
_WORD = re.compile(rf"[A-Za-zÀ-ÖØ-öø-ÿ][\w{_APOSTROPHES}-]*")
_CLAIM_VERB = re.compile(
    r"\b(?:cur(?:e|es|ed|ing)|treat(?:s|ed|ing|ment|ments)?|prevent(?:s|ed|ing|ion|ive)?|diagnos\w*|"
    r"heal(?:s|ed|ing)?|remed(?:y|ies|ied)|revers(?:e|es|ed|ing)|mitigat\w*|alleviat\w*|combat\w*|"
    r"protect(?:s|ed|ing)?\s+against|fight(?:s|ing)?\s+(?:off|against))\b",
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"\b(?:diseases?|conditions?|disorders?|illness(?:es)?|syndromes?|infections?|deficienc(?:y|ies)|"
    r"an(?:a)?emi\w*|diabet\w*|cancers?|tumou?rs?|depression|anxiety|insomnia|hypertension|inflammation|"
    r"injur(?:y|ies)|cramps?|dementia|alzheimer\w*|parkinson\w*|obesity|asthma|"
    r"\w+itis|(?!diagnos)\w+osis|\w+(?:a)?emia|\w+pathy|\w+pathies)\b",
    re.IGNORECASE,
)
# Text addressed to a model rather than to a reader: an article may carry it, the answer never repeats it.
_INSTRUCTION = re.compile(
    r"(?:^|[\s\"'(])(?:system|assistant|developer|user)\s*:|"
    r"\b(?:ignore|disregard|forget|override)\b[^.]{0,40}\b(?:instructions?|rules|prompts?|guidelines)\b|"
    r"\b(?:reveal|print|show|output|repeat|leak|dump)\b[^.]{0,40}\b(?:keys?|passwords?|secrets?|"
    r"environment|env|system prompt|prompts?|instructions|credentials|tokens?)\b|"
    r"\b(?:system prompt|jailbreak|developer mode)\b|\byou are now\b",
    re.IGNORECASE,
)
_OPENERS = ":;(\"'\u2014\u2013\u201c\u2018"


@dataclass(frozen=True)
class Passage:
    """One passage as the model saw it: number [n], text, its sentences, studies and label."""

    n: int
    text: str
    sentences: tuple[str, ...]
    studies: tuple[str, ...] = ()  # Sources entries the passage relies on (given to the model with it)
    label: str = ""  # article title and section heading (given to the model with it)

    @property
    def evidence(self) -> str:
        """Everything the model was shown for this passage."""
        return "\n".join((self.label, self.text, *self.studies))

    def units(self) -> list[tuple[int, ...]]:
        """What a sentence may paraphrase: each sentence, and each pair of adjacent sentences."""
        n = len(self.sentences)
        return [(i,) for i in range(n)] + [(i, i + 1) for i in range(n - 1)]


UnitVectors = dict[int, np.ndarray]  # passage n → vectors of its units, row-aligned with Passage.units()


def unit_vectors(passages: Sequence[Passage], encode: Encode, cache: UnitVectors | None = None) -> UnitVectors:
    """Vectors of the passages' units (memoised in cache, so a streamed draft encodes each passage once)."""
    cache = {} if cache is None else cache
    todo = [p for p in passages if p.n not in cache]
    texts = [" ".join(p.sentences[i] for i in unit) for p in todo for unit in p.units()]
    vectors = encode(texts) if texts else np.zeros((0, 0), dtype=np.float32)
    start = 0
    for p in todo:
        k = len(p.units())
        cache[p.n] = vectors[start : start + k]
        start += k
    return cache


@dataclass(frozen=True)
class Kept:
    """A verified sentence: text without markers, the passages it cites, its support and best evidence."""

    text: str
    markers: tuple[int, ...]
    support: float
    evidence: tuple[tuple[int, int], ...]  # (passage n, sentence index) that supports it best, per passage


@dataclass(frozen=True)
class Dropped:
    """A sentence that did not survive, as drafted, and why."""

    text: str
    reason: Reason
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """The outcome for a whole draft."""

    kept: tuple[Kept, ...]
    dropped: tuple[Dropped, ...]

    @property
    def enough(self) -> bool:
        """At least one sentence survived, and at least half of the draft."""
        return bool(self.kept) and 2 * len(self.kept) >= len(self.kept) + len(self.dropped)


def normalise_markers(text: str) -> str:
    """One marker per bracket ("[1, 2]" → "[1] [2]"), placed before the sentence's final stop."""
    text = _MARKER_GROUP.sub(lambda m: " ".join(f"[{n}]" for n in re.findall(r"\d+", m.group())), text)
    return _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
_WORDS_OUTSIDE_MARKERS = re.compile(r"[^\W\d_]")


def _line_sentences(line: str) -> list[str]:
    line = _BULLET.sub("", line)
    return [line[s:e] for s, e in sentence_spans(line)]


def draft_sentences(text: str) -> list[str]:
    """The draft's sentences, each with its markers (a line break or a list item also ends one)."""
    return [s for line in normalise_markers(text).split("\n") for s in _line_sentences(line) if s.strip()]


def split_complete(buffer: str) -> tuple[list[str], str]:
    """Sentences of a growing draft that are complete, and the rest to keep buffering.

    A sentence is complete once the next one has begun with words: markers written after the stop
    ("… oxygen. [1]") still belong to it.
    """
    text = normalise_markers(buffer)
    *lines, last = text.split("\n")
    done = [s for line in lines for s in _line_sentences(line) if s.strip()]
    spans = sentence_spans(last)
    k = len(spans) - 1
    while k > 0 and not _WORDS_OUTSIDE_MARKERS.search(_MARKER.sub("", last[spans[k][0] :])):
        k -= 1
    if k <= 0:
        return done, last
    head = last[: spans[k][0]]
    return done + _line_sentences(head), last[spans[k][0] :]


def strip_markers(sentence: str) -> str:
    """The sentence without its [n] markers and the spaces they leave."""
    text = _MARKER.sub("", sentence)
    return re.sub(r"\s+([.,;:!?…])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def disease_claim(text: str) -> bool:
    """A cure / treat / prevent / diagnose verb together with a disease or condition."""
    return bool(_CLAIM_VERB.search(text)) and bool(_CONDITION.search(text))


def numbers(text: str) -> set[str]:
    """Numbers (digits, thousands separators removed) and number words (as digits) in text."""
    found = {re.sub(r",(?=\d{3}\b)", "", m.group()).rstrip(".,") for m in _NUMBER.finditer(text)}
    words = {_NUMBER_WORDS[w.lower()] for w in _WORD.findall(text) if w.lower() in _NUMBER_WORDS}
    return found | words


def unsupported_names(text: str, evidence: str) -> list[str]:
    """Capitalised words (names, journals, products, acronyms) in text that the evidence lacks.

    A word opening the sentence (or a clause after a colon or a quote) may be an ordinary word
    capitalised: it passes if it is a stop word or its stem occurs in the evidence.
    """
    words = set(re.findall(rf"[\w{_APOSTROPHES}-]+", evidence))
    stems = set(tokenize(evidence))
    missing = []
    for m in _WORD.finditer(text):
        word = re.sub(rf"[{_APOSTROPHES}]s$", "", m.group()).rstrip(_APOSTROPHES + "-")
        if not word[:1].isupper() or word == "I" or word in words:
            continue
        before = text[: m.start()].rstrip()
        opens = not before or before[-1] in _OPENERS or before[-1] in ".!?"
        if opens and (word.lower() in STOPWORDS or set(tokenize(word)) <= stems):
            continue
        missing.append(word)
    return missing


def support(
    claim: str, vector: np.ndarray, cited: Sequence[Passage], units: UnitVectors
) -> tuple[float, tuple[tuple[int, int], ...]]:
    """Support score of a claim by the cited passages, and the sentences that support it best."""
    best_cos, evidence = -1.0, list[tuple[int, int]]()
    for p in cited:
        vectors = units.get(p.n)
        if vectors is None or len(vectors) == 0:
            continue
        sims = vectors @ vector
        j = int(np.argmax(sims))
        evidence.extend((p.n, i) for i in p.units()[j])
        best_cos = max(best_cos, float(sims[j]))
    terms = set(tokenize(claim))
    stems = {s for p in cited for s in tokenize(p.evidence)}
    overlap = len(terms & stems) / len(terms) if terms else 0.0
    return W_COSINE * best_cos + (1 - W_COSINE) * overlap, tuple(evidence)


def verify_sentence(
    sentence: str, vector: np.ndarray, passages: Mapping[int, Passage], units: UnitVectors, threshold: float
) -> Kept | Dropped:
    """Keep the sentence only if it passes every rule, in order: markers, disease claim, facts, support."""
    markers = tuple(dict.fromkeys(int(n) for n in _MARKER.findall(sentence)))
    claim = strip_markers(sentence)
    if not markers:
        return Dropped(sentence, "no_marker")
    unknown = [n for n in markers if n not in passages]
    if unknown:
        return Dropped(sentence, "unknown_marker", f"no passage {unknown}")
    if disease_claim(claim):
        return Dropped(sentence, "disease_claim")
    if _INSTRUCTION.search(claim):
        return Dropped(sentence, "instruction")
    cited = [passages[n] for n in markers]
    evidence = "\n".join(p.evidence for p in cited)
    extra = sorted(numbers(claim) - numbers(evidence))
    if extra:
        return Dropped(sentence, "unsupported_number", ", ".join(extra))
    names = unsupported_names(claim, evidence)
    if names:
        return Dropped(sentence, "unsupported_name", ", ".join(names))
    score, best = support(claim, vector, cited, units)
    if score < threshold:
        return Dropped(sentence, "unsupported", f"support {score:.3f} < {threshold}")
    return Kept(claim, markers, round(score, 4), best)


def verify(
    sentences: Sequence[str],
    passages: Sequence[Passage],
    encode: Encode,
    threshold: float,
    cache: UnitVectors | None = None,
) -> tuple[Kept | Dropped, ...]:
    """Verify sentences (with markers) against the passages given; one result per sentence, in order.

    Only the passages a sentence cites are encoded (once per cache).
    """
    by_n = {p.n: p for p in passages}
    if not sentences:
        return ()
    cited = {int(n) for s in sentences for n in _MARKER.findall(s)}
    units = unit_vectors([p for p in passages if p.n in cited], encode, cache)
    vectors = encode([strip_markers(s) for s in sentences])
    return tuple(verify_sentence(s, v, by_n, units, threshold) for s, v in zip(sentences, vectors, strict=True))


def verify_draft(draft: str, passages: Sequence[Passage], encode: Encode, threshold: float) -> Verdict:
    """Split a whole draft into sentences and verify each."""
    results = verify(draft_sentences(draft), passages, encode, threshold)
    return Verdict(
        tuple(r for r in results if isinstance(r, Kept)), tuple(r for r in results if isinstance(r, Dropped))
    )
