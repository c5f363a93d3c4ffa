"""The compact common-words check gives wordfreq's own verdict, word for word."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from wordfreq import iter_wordlist, zipf_frequency

from askoleus.answer.common_words import KEPT_ZIPF, zipf, zipf_at_least
from askoleus.answer.scope import COMMON_ZIPF

ROOT = Path(__file__).parents[2]
WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")  # how answer.scope splits a question


def words() -> set[str]:
    """The eval questions' words, the articles' words, wordfreq's 20,000 most frequent, numbers and contractions."""
    found: set[str] = set()
    for path in (ROOT / "eval").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                found.update(WORD.findall(str(json.loads(line).get("question", "")).lower()))
    for path in (p for p in (ROOT / "corpus").rglob("*") if p.is_file()):
        found.update(WORD.findall(path.read_text(encoding="utf-8").lower()))
    found.update(itertools.islice(iter_wordlist("en"), 20_000))
    found.update(["1", "2", "10", "100", "2024", "5k", "3rd", "vo2max", "don't", "it's", "i\u2019m", "café", "x"])
    return found


def test_every_word_gets_wordfreqs_verdict() -> None:
    """Same answer as zipf_frequency(word, "en") >= 5.5 on ~25,000 words, common ones and rare ones."""
    checked = words()
    assert len(checked) > 20_000
    mismatched = [w for w in checked if zipf_at_least(w, COMMON_ZIPF) != (zipf_frequency(w, "en") >= COMMON_ZIPF)]
    assert mismatched == []
    assert 200 < sum(zipf_at_least(w, COMMON_ZIPF) for w in checked) < 1000  # "make", "good", "year"…


def test_only_the_kept_range_can_be_asked() -> None:
    """Below Zipf 2.5 the compact list cannot tell, so it refuses rather than answers wrongly."""
    with pytest.raises(ValueError, match="Zipf"):
        zipf_at_least("running", 2.0)


def test_zipf_values_match_wordfreq_down_to_the_spelling_checks_level() -> None:
    """The kept list gives wordfreq's own Zipf at 2.5 and up, and 0.0 for rarer words (typos)."""
    checked = words() | {"iorn", "importnat", "runers", "oleuropein", "mitochondria"}
    expected = {w: zipf_frequency(w, "en") for w in checked}
    assert [w for w in checked if zipf(w) != (expected[w] if expected[w] >= KEPT_ZIPF else 0.0)] == []
    assert zipf("iorn") == 0.0
    assert zipf("iron") == zipf_frequency("iron", "en")
