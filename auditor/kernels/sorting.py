"""Sort-based distinct values. numpy 2's hash-based `np.unique` is an order of magnitude slower than a
sort on uint64 keys (4.9 s against 0.3 s for 5 million here), so the kernels use these instead."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

Scalar = TypeVar("Scalar", bound=np.generic)


def first_of_runs(ordered: npt.NDArray[Scalar]) -> npt.NDArray[np.bool_]:
    """True where a run of equal values starts in a sorted array (empty for an empty one)."""
    first = np.ones(len(ordered), dtype=np.bool_)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def unique_sorted(values: npt.NDArray[Scalar]) -> npt.NDArray[Scalar]:
    """Distinct values in ascending order."""
    ordered = np.sort(values)
    distinct: npt.NDArray[Scalar] = ordered[first_of_runs(ordered)]
    return distinct
