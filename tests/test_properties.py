"""Property-based tests: any text in any format parses or fails cleanly, and chunks are always sound."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from askoleus.chunk import INDEXED_KINDS, ChunkerSettings, chunk_article
from askoleus.errors import IngestError
from askoleus.ingest import parse_text
from askoleus.tokenizer import count_tokens

SMALL = ChunkerSettings(max_tokens=40, min_tokens=8, overlap_sentences=1)
texty = st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000)
words = st.lists(
    st.sampled_from(
        [
            "iron",
            "ATP",
            "legs.",
            "heavy",
            "Why?",
            "é",
            "日本",
            "🏃",
            "\u00a0",
            "\t",
            "x" * 300,
            "\n",
            "\n\n",
            "# Heading",
            "<b>",
            "Sources",
            "1. A, B. (2020). T. J.",
        ]
    ),
    max_size=400,
).map(" ".join)


def _check_chunks(raw: str, fmt: str) -> None:
    try:
        article = parse_text(raw, source=f"a.{fmt}", fmt=fmt, site_url="http://x", sha256="0")
    except IngestError:
        return  # malformed input gets a clear error, never a crash
    chunks = chunk_article(article, SMALL)
    assert chunks == chunk_article(article, SMALL), "chunking is deterministic"
    for c in chunks:
        assert c.text.strip(), "no empty chunk"
        assert count_tokens(c.text) <= SMALL.max_tokens, "within the token budget"
    indexed = "".join(b.text for s in article.sections for b in s.blocks if b.kind in INDEXED_KINDS)
    covered = Counter("".join(c.text for c in chunks).replace(" ", "").replace("\n", ""))
    missing = Counter(indexed.replace(" ", "").replace("\n", "")) - covered
    assert not missing, f"chunks cover the text; missing {dict(missing)!r:.200}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(texty, words), fmt=st.sampled_from(["txt", "md", "html"]))
def test_any_text_parses_or_fails_cleanly_and_chunks_are_sound(raw: str, fmt: str) -> None:
    """Unicode, odd whitespace and giant lines never crash ingestion or chunking."""
    _check_chunks(raw, fmt)


@settings(max_examples=15, deadline=None)
@given(depth=st.integers(1, 3000), text=st.text(min_size=1, max_size=50))
def test_deep_html_never_crashes(depth: int, text: str) -> None:
    """Deeply nested HTML is parsed iteratively or refused with a clear error."""
    _check_chunks("<html><body>" + "<div>" * depth + f"<p>{text}</p>" + "</div>" * depth + "</body></html>", "html")


def test_a_giant_line_is_split_within_budget() -> None:
    """One 20,000-character line without punctuation still yields bounded chunks covering it."""
    _check_chunks("Title\n\n" + "word " * 4000, "txt")
