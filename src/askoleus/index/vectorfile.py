"""A .npy file written row block by row block, so a build never holds all its vectors in memory."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np


class RowWriter:
    """Writes a 2-D .npy of a known shape: the header first, then rows in order, checked on close."""

    def __init__(self, path: Path, rows: int, dim: int, dtype: type[np.floating]) -> None:
        self.path = Path(path)
        self.rows, self.dim, self.dtype = rows, dim, np.dtype(dtype)
        self.written = 0
        self._file: BinaryIO = self.path.open("wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (rows, dim)}
        np.lib.format.write_array_header_1_0(self._file, header)

    def write(self, block: np.ndarray) -> None:
        """Append rows (converted to the file's dtype); more rows than the shape allows is a ValueError."""
        if block.ndim != 2 or block.shape[1] != self.dim:
            raise ValueError(f"{self.path.name}: rows of width {self.dim} expected, got shape {block.shape}")
        if self.written + block.shape[0] > self.rows:
            raise ValueError(f"{self.path.name}: more than {self.rows} rows written")
        self._file.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())
        self.written += block.shape[0]

    def close(self) -> None:
        """Close the file; a ValueError when fewer rows were written than its header promises."""
        self._file.close()
        if self.written != self.rows:
            raise ValueError(f"{self.path.name}: {self.written} of {self.rows} rows written")

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:  # the build failed already: just release the file, the half-written generation is discarded
            self._file.close()


def read_rows(path: Path) -> np.ndarray:
    """A .npy of vectors as a read-only memory map (pages are read when rows are used)."""
    rows: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    return rows
