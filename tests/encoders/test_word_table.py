"""The word table: single words' vectors made once per vector space, looked up instead of encoded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from askoleus.build_vectors import build_word_table
from askoleus.encoders.word_table import load_word_table, table_paths
from askoleus.retrieve import QueryEncoder

WORDS = ["sauna", "yoga", "treadmill", "hello", "altitude"]


def test_a_built_table_gives_the_encoders_vectors(fake_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = build_word_table(tmp_path, fake_embedder, WORDS)
    assert len(table) == len(WORDS)
    for word in WORDS:
        got = table.get(word)
        assert got is not None
        assert got.dtype == np.float32
        assert np.allclose(got, fake_embedder.encode([word])[0])
    assert table.get("heavy") is None  # not in the list


def test_the_table_is_built_once(fake_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_word_table(tmp_path, fake_embedder, WORDS)
    calls = fake_embedder.calls
    again = build_word_table(tmp_path, fake_embedder, WORDS)
    assert fake_embedder.calls == calls  # found on disk, nothing encoded
    assert load_word_table(tmp_path, fake_embedder.name, WORDS) is not None
    assert again.get("yoga") is not None


def test_a_table_for_another_list_or_space_is_not_used(fake_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_word_table(tmp_path, fake_embedder, WORDS)
    assert load_word_table(tmp_path, fake_embedder.name, [*WORDS, "sprint"]) is None
    assert load_word_table(tmp_path, "another-model", WORDS) is None


def test_a_damaged_table_is_not_used(fake_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_word_table(tmp_path, fake_embedder, WORDS)
    npy, meta = table_paths(tmp_path, fake_embedder.name, WORDS)
    npy.write_bytes(b"not an array")
    assert load_word_table(tmp_path, fake_embedder.name, WORDS) is None
    build_word_table(tmp_path, fake_embedder, WORDS)  # made again
    meta.write_text(json.dumps({"space": "other"}), encoding="utf-8")
    assert load_word_table(tmp_path, fake_embedder.name, WORDS) is None


def test_no_table_is_no_table(fake_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert load_word_table(tmp_path / "missing", fake_embedder.name, WORDS) is None


def test_query_encoder_looks_words_up_without_a_model_call(fake_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = build_word_table(tmp_path, fake_embedder, WORDS)
    enc = QueryEncoder(fake_embedder, words=table)
    calls = fake_embedder.calls
    assert enc.remembers("sauna")
    assert not enc.remembers("ice baths")
    vectors = enc.many(["sauna", "yoga"])
    assert fake_embedder.calls == calls  # both from the table
    assert np.allclose(vectors[1], fake_embedder.encode(["yoga"])[0])
    calls = fake_embedder.calls
    enc.many(["sauna", "ice baths"])
    assert fake_embedder.calls == calls + 1  # only the text the table does not hold
    assert np.allclose(enc("hello"), fake_embedder.encode(["hello"])[0])
