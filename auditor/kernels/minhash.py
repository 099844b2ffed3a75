"""MinHash signatures bit-identical to datasketch's default `affine32` scheme, computed per batch.

datasketch 2.x: slot i of a signature is min over shingles of (a_i * fmix32(h) + b_i) mod 2^32, with
(a_i, b_i) drawn by `np.random.RandomState(seed)` and every a_i odd. We draw them the way datasketch
does (tests compare them with datasketch's own for many seeds, so they cannot drift unnoticed) rather
than import datasketch, whose package import pulls in scipy and costs every audit process its start.

Because a_i is odd it is invertible mod 2^32: each slot value gives back fmix32(h) of the shingle that
won it. `winning_shingles` returns those, a uniform sample of a post's shingles, which is what makes
containment measurable from the signature alone (see containment.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from auditor.kernels import compiled_minhash
from auditor.kernels.codepoints import Offsets
from auditor.kernels.shingle_hash import Hashes

SCHEME = "affine32"
EMPTY_SLOT = np.uint32(0xFFFFFFFF)

Signatures = npt.NDArray[np.uint32]

# Rows of the (shingles x num_perm) permutation matrix materialized at once: bounds memory to about
# 128 MiB at num_perm = 128 whatever the batch.
_CHUNK_SHINGLES = 1 << 18


@lru_cache(maxsize=8)
def datasketch_permutations(num_perm: int, seed: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """datasketch 2.x `MinHash(num_perm, seed, scheme="affine32").permutations`: an odd multiplier a_i
    and an offset b_i, drawn in that order from one `np.random.RandomState(seed)`."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@dataclass(frozen=True)
class Permutations:
    """The affine permutations of datasketch's `affine32` scheme for one (num_perm, seed)."""

    num_perm: int
    seed: int
    a: npt.NDArray[np.uint32] = field(init=False, repr=False, compare=False)
    b: npt.NDArray[np.uint32] = field(init=False, repr=False, compare=False)
    a_inverse: npt.NDArray[np.uint32] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 16 <= self.num_perm <= 1024:
            raise ValueError(f"num_perm must be between 16 and 1024, got {self.num_perm}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be between 0 and 2**32 - 1, got {self.seed}")
        a, b = datasketch_permutations(self.num_perm, self.seed)
        inverse = np.array([pow(int(x), -1, 2**32) for x in a], dtype=np.uint32)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "a_inverse", inverse)

    def signatures(self, mixed: Hashes, window_offsets: Offsets) -> Signatures:
        """Signatures of each group of fmix32-mixed shingle hashes; an empty group gets EMPTY_SLOT."""
        result: Signatures = compiled_minhash.signatures(mixed, window_offsets, self.a, self.b)
        return result

    def signatures_reference(self, mixed: Hashes, window_offsets: Offsets) -> Signatures:
        """numpy reference of `signatures`, chunked over whole groups."""
        groups = len(window_offsets) - 1
        out = np.full((groups, self.num_perm), EMPTY_SLOT, dtype=np.uint32)
        sizes = np.diff(window_offsets)
        nonempty = np.flatnonzero(sizes > 0)
        start = 0
        while start < len(nonempty):
            # Take whole groups until the chunk holds _CHUNK_SHINGLES shingles (at least one group).
            first = int(window_offsets[nonempty[start]])
            limit = np.searchsorted(window_offsets[nonempty + 1], first + _CHUNK_SHINGLES, side="right")
            stop = max(int(limit), start + 1)
            chunk = nonempty[start:stop]
            lo, hi = first, int(window_offsets[chunk[-1] + 1])
            permuted = mixed[lo:hi, None] * self.a[None, :] + self.b[None, :]
            out[chunk] = np.minimum.reduceat(permuted, window_offsets[chunk] - lo, axis=0)
            start = stop
        return out

    def winning_shingles(self, signatures: Signatures) -> Hashes:
        """fmix32 hash of the shingle that won each slot: (v - b_i) * a_i^-1 mod 2^32."""
        return (signatures - self.b[None, :]) * self.a_inverse[None, :]
