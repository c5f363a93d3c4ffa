"""How common a word is in English, by wordfreq's Zipf scale, for the Zipf levels the answers ask about.

The same values as `wordfreq.zipf_frequency(word, "en")` wherever they are at least KEPT_ZIPF, without
keeping wordfreq's whole English list in memory (about 30 MB of Python strings in a server): only
the words of Zipf 2.5 and up are kept (about 54,000; the spelling check asks whether a word is rarer
than that, the subject check whether it is commoner than 5.5). A word with a part below KEPT_ZIPF
cannot reach it, since wordfreq's frequency of several parts is below each part's
(tests/answer/test_common_words.py checks the values against wordfreq itself).
"""

from __future__ import annotations

import gc
import math
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from wordfreq import available_languages, cB_to_freq, read_cBpack
from wordfreq.numbers import digit_freq, smash_numbers
from wordfreq.tokens import lossy_tokenize

from askoleus.encoders.word_table import WordTable, load_word_table

if TYPE_CHECKING:
    from askoleus.config import Settings
    from askoleus.encoders import Embedder

KEPT_ZIPF = 2.5  # the lowest Zipf kept; callers ask about this or higher ones


@cache
def _frequencies() -> dict[str, float]:
    """wordfreq's English frequencies (its "best" list) of the words at KEPT_ZIPF or above."""
    buckets = read_cBpack(available_languages("best")["en"])  # bucket i holds the words at -i centibels
    last = round((9 - KEPT_ZIPF) * 100)
    kept: dict[str, float] = {}
    for i, bucket in enumerate(buckets[: last + 1]):
        freq = cB_to_freq(-i)  # one float per bucket, shared by its words
        kept.update(dict.fromkeys(bucket, freq))
    return kept


def warm() -> None:
    """Read the list now rather than on the first question, and hand back what reading it took."""
    _frequencies()
    gc.collect()  # measured: ~10 MB of the decoded list go back only after a collection


@lru_cache(maxsize=2048)  # the same words come back question after question
def zipf(word: str) -> float:
    """wordfreq's Zipf of word in English where it is at least KEPT_ZIPF, else 0.0 (rarer than that)."""
    freqs = _frequencies()
    tokens = lossy_tokenize(word, "en")
    if not tokens:
        return 0.0
    one_over = 0.0
    for token in tokens:  # as wordfreq's _word_frequency combines the parts of a word
        smashed = smash_numbers(token)
        if smashed not in freqs:  # unknown, or below KEPT_ZIPF: the word is too
            return 0.0
        freq = freqs[smashed] * (digit_freq(token) if smashed != token else 1.0)
        one_over += 1.0 / freq
    freq = max(1.0 / one_over, 1e-9)  # wordfreq's rounding: 3 significant digits, then Zipf to 0.01
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    value = round(math.log(freq, 10) + 9, 2)
    return value if value >= KEPT_ZIPF else 0.0


def zipf_at_least(word: str, level: float) -> bool:
    """Whether wordfreq rates word at `level` or more in English (level >= KEPT_ZIPF)."""
    if level < KEPT_ZIPF:
        raise ValueError(f"only Zipf {KEPT_ZIPF} and up are kept")
    return zipf(word) >= level


def words() -> list[str]:
    """The kept words (Zipf KEPT_ZIPF and up), in wordfreq's order: the word table's rows."""
    return list(_frequencies())


def word_table(settings: Settings, embedder: Embedder) -> WordTable | None:
    """The vectors of the kept words in the embedder's vector space, if `askoleus build` has made them."""
    if not settings.word_table:
        return None
    return load_word_table(settings.encoder_cache(), embedder.name, words())
