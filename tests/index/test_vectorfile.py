"""RowWriter: a .npy written block by block reads back as the whole matrix, and a short or long write fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from askoleus.index.vectorfile import RowWriter, read_rows


def test_blocks_written_in_order_read_back_as_one_matrix(tmp_path: Path) -> None:
    matrix = np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)
    with RowWriter(tmp_path / "v.npy", 7, 4, np.float16) as writer:
        for start in range(0, 7, 3):
            writer.write(matrix[start : start + 3])
    assert np.array_equal(np.load(tmp_path / "v.npy"), matrix.astype(np.float16))
    mapped = read_rows(tmp_path / "v.npy")
    assert isinstance(mapped, np.memmap)
    assert mapped.dtype == np.float16
    assert np.array_equal(mapped, matrix.astype(np.float16))


def test_an_empty_matrix_is_a_valid_file(tmp_path: Path) -> None:
    with RowWriter(tmp_path / "v.npy", 0, 4, np.float32):
        pass
    assert np.load(tmp_path / "v.npy").shape == (0, 4)


def test_fewer_rows_than_promised_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 of 3 rows written"), RowWriter(tmp_path / "v.npy", 3, 4, np.float32) as w:
        w.write(np.zeros((2, 4)))


def test_more_rows_than_promised_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="more than 1"), RowWriter(tmp_path / "v.npy", 1, 4, np.float32) as writer:
        writer.write(np.zeros((2, 4)))


def test_rows_of_the_wrong_width_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="width 4"), RowWriter(tmp_path / "v.npy", 1, 4, np.float32) as writer:
        writer.write(np.zeros((1, 3)))
