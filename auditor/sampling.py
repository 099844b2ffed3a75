"""Seeded random samples of posts or corpus rows, for a fast estimate with an honest interval. Pure.

Row sampling is Bernoulli: each row is kept when a hash of (its file, its row number, the seed) falls
below the fraction, so the sample does not depend on batch sizes, parts or worker counts, and the share
of sampled rows carrying posts estimates the corpus's share. Post sampling draws posts without
replacement, so the share of sampled posts found estimates the set's share.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from auditor.errors import UsageError


def splitmix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    result: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


@dataclass(frozen=True)
class RowSample:
    fraction: float
    seed: int = 0

    def __post_init__(self) -> None:
        check_seed(self.seed)
        if not 0.0 < self.fraction <= 1.0:
            raise UsageError(f"--sample-rows is a fraction above 0 and at most 1, got {self.fraction}.")

    def mask(self, file_name: str, first_row: int, rows: int) -> npt.NDArray[np.bool_]:
        """Which of rows first_row .. first_row + rows - 1 of the file are in the sample."""
        return self.mask_rows(file_name, np.arange(first_row, first_row + rows, dtype=np.int64))

    def mask_rows(self, file_name: str, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of the file's rows numbered `rows` are in the sample."""
        file_key = np.uint64(zlib.crc32(file_name.encode("utf-8")))
        numbers = rows.astype(np.uint64)
        keys = splitmix64(numbers ^ (file_key << np.uint64(40)) ^ splitmix64(np.array([self.seed], np.uint64))[0])
        if self.fraction >= 1.0:  # every row (2**64 itself is past uint64)
            return np.ones(len(rows), dtype=np.bool_)
        kept: npt.NDArray[np.bool_] = keys < np.uint64(int(self.fraction * 2.0**64))
        return kept


MAX_SEED = 2**63 - 1


def check_seed(seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {seed}.")


def check_post_sample(size: float) -> None:
    """Refuse a --sample-posts value that is neither a whole number of posts nor a fraction in (0, 1)."""
    if not math.isfinite(size) or size <= 0:
        raise UsageError(f"--sample-posts takes a number of posts or a fraction above 0, got {size}.")
    if size >= 1 and size != int(size):
        raise UsageError(f"--sample-posts takes a whole number of posts or a fraction below 1, got {size}.")


def sample_posts(count: int, size: float, seed: int = 0) -> npt.NDArray[np.int64]:
    """Sorted indices of a seeded sample of `size` posts (a number), or that fraction of them (below 1)."""
    check_post_sample(size)
    check_seed(seed)
    wanted = round(size * count) if size < 1 else int(size)
    wanted = min(max(wanted, 1), count)
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.sort(rng.choice(count, size=wanted, replace=False)).astype(np.int64)
