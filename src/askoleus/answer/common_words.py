"""Words too common in English to be what a question is about, by wordfreq's Zipf scale.

The same verdict as `wordfreq.zipf_frequency(word, "en") >= zipf`, without keeping wordfreq's whole
English list in memory (about 30 MB of Python strings in a server): only the words of Zipf 5 and up
are kept (a few hundred). A word with a part below that cannot reach Zipf 5.5, since wordfreq's
frequency of several parts is below each part's (tests/answer/test_common_words.py checks the
verdicts against wordfreq itself).
"""

from __future__ import annotations

import gc
import math
from functools import cache

from wordfreq import available_languages, cB_to_freq, read_cBpack
from wordfreq.numbers import digit_freq, smash_numbers
from wordfreq.tokens import lossy_tokenize

KEPT_ZIPF = 5.0  # the lowest Zipf kept; callers ask about higher ones


@cache
def _frequencies() -> dict[str, float]:
    """wordfreq's English frequencies (its "best" list) of the words at KEPT_ZIPF or above."""
    buckets = read_cBpack(available_languages("best")["en"])  # bucket i holds the words at -i centibels
    last = round((9 - KEPT_ZIPF) * 100)
    return {word: cB_to_freq(-i) for i, bucket in enumerate(buckets[: last + 1]) for word in bucket}


def warm() -> None:
    """Read the list now rather than on the first question, and hand back what reading it took."""
    _frequencies()
    gc.collect()  # measured: ~10 MB of the decoded list go back only after a collection


def zipf_at_least(word: str, zipf: float) -> bool:
    """Whether wordfreq rates word at `zipf` or more in English (zipf >= KEPT_ZIPF)."""
    if zipf < KEPT_ZIPF:
        raise ValueError(f"only Zipf {KEPT_ZIPF} and up are kept")
    freqs = _frequencies()
    tokens = lossy_tokenize(word, "en")
    if not tokens:
        return False
    one_over = 0.0
    for token in tokens:  # as wordfreq's _word_frequency combines the parts of a word
        smashed = smash_numbers(token)
        if smashed not in freqs:  # unknown, or below KEPT_ZIPF: the word is too
            return False
        freq = freqs[smashed] * (digit_freq(token) if smashed != token else 1.0)
        one_over += 1.0 / freq
    freq = max(1.0 / one_over, 1e-9)  # wordfreq's rounding: 3 significant digits, then Zipf to 0.01
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    return round(math.log(freq, 10) + 9, 2) >= zipf
