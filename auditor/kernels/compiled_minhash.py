"""Compiled MinHash signatures, bit-identical to datasketch's default scheme (minhash.Permutations).

Each function here has a numpy reference elsewhere in kernels/ that defines its result; tests hold the
two equal on random and Unicode edge-case inputs. numba caches the machine code beside this file, so
only the first run on a machine pays the compile time (a few seconds).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True, nogil=True)
def signatures(
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
) -> npt.NDArray[np.uint32]:  # pragma: no cover - compiled
    """MinHash signatures of each group of mixed hashes: Permutations.signatures, compiled."""
    out = np.empty((len(window_offsets) - 1, len(a)), dtype=np.uint32)
    signatures_into(mixed, window_offsets, a, b, out)
    return out


@njit(cache=True, nogil=True)
def signatures_into(
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    out: npt.NDArray[np.uint32],
) -> None:  # pragma: no cover - compiled
    """`signatures` written into `out` (groups x num_perm), so a caller can reuse one buffer.

    The group's running minima live in one small row (in the L1 cache), and four windows go through
    the permutations together, so each slot is loaded and stored once per four windows and the loop
    over slots vectorizes into straight multiply, add and minimum (the product is cut to its low 32
    bits, as datasketch's affine32 takes it mod 2^32).
    """
    groups = len(window_offsets) - 1
    num_perm = len(a)
    row = np.empty(num_perm, dtype=np.uint32)
    for g in range(groups):
        row[:] = np.uint32(0xFFFFFFFF)
        w, end = window_offsets[g], window_offsets[g + 1]
        while w + 3 < end:
            y0, y1, y2, y3 = mixed[w], mixed[w + 1], mixed[w + 2], mixed[w + 3]
            for i in range(num_perm):
                ai, bi = a[i], b[i]
                low = min(np.uint32(ai * y0 + bi), np.uint32(ai * y1 + bi))
                high = min(np.uint32(ai * y2 + bi), np.uint32(ai * y3 + bi))
                row[i] = min(row[i], min(low, high))
            w += 4
        while w < end:
            y = mixed[w]
            for i in range(num_perm):
                row[i] = min(row[i], np.uint32(a[i] * y + b[i]))
            w += 1
        out[g] = row
