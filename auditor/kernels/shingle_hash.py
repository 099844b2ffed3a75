"""The base hash of character shingles, vectorized over a flat code point array.

A shingle is `size` consecutive code points of normalized text. Its base hash is vector multiply-shift
(Dietzfelbinger 1996; Thorup, "High Speed Hashing for Integers and Strings", 3.3):

    h(c_1..c_k) = ((a_0 + sum_j a_j * c_j) mod 2^64) >> 32

with a_j 64-bit coefficients drawn from a key. For code points below 2^32 it is strongly universal into
32 bits, needs no per-shingle Python, and computes in `size` multiply-adds over the whole batch. The same
function is available per shingle (`hash_shingle`) so plain datasketch reproduces our signatures:
`MinHash(hashfunc=hasher.hash_shingle)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from auditor.kernels.codepoints import Codepoints, Offsets

BASE_HASH_NAME = "multiply-shift-64"
_MASK64 = (1 << 64) - 1

Hashes = npt.NDArray[np.uint32]


def _coefficients(size: int, key: bytes) -> npt.NDArray[np.uint64]:
    seed = int.from_bytes(hashlib.sha256(b"provenance-auditor base hash\0" + key).digest()[:16], "little")
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.integers(0, 2**64, size=size + 1, dtype=np.uint64, endpoint=False)


@dataclass(frozen=True)
class ShingleHasher:
    """Hashes every `size`-code-point window of normalized text with a keyed base hash."""

    size: int
    key: bytes = b""
    coefficients: npt.NDArray[np.uint64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 64:
            raise ValueError(f"shingle size must be between 1 and 64 characters, got {self.size}")
        object.__setattr__(self, "coefficients", _coefficients(self.size, self.key))

    def hash_shingle(self, shingle: str | bytes) -> int:
        """Reference base hash of one shingle (str, or UTF-8 bytes); the hashfunc for datasketch."""
        if isinstance(shingle, bytes):
            shingle = shingle.decode("utf-8")
        if len(shingle) != self.size:
            raise ValueError(f"a shingle has exactly {self.size} characters, got {len(shingle)}")
        acc = int(self.coefficients[0])
        for j, char in enumerate(shingle):
            acc = (acc + int(self.coefficients[j + 1]) * ord(char)) & _MASK64
        return acc >> 32

    def window_hashes(self, codepoints: Codepoints, offsets: Offsets) -> tuple[Hashes, Offsets]:
        """Base hashes of every window lying inside one string.

        Returns (hashes, window_offsets): the windows of string i are hashes[window_offsets[i]:
        window_offsets[i + 1]], in text order. A string shorter than `size` has none.
        """
        lengths = np.diff(offsets)
        windows = np.maximum(lengths - self.size + 1, 0)
        window_offsets = np.zeros(len(windows) + 1, dtype=np.int64)
        np.cumsum(windows, out=window_offsets[1:])
        total = int(window_offsets[-1])
        if total == 0:
            return np.zeros(0, dtype=np.uint32), window_offsets
        span = len(codepoints) - self.size + 1
        wide = codepoints.astype(np.uint64)
        acc = np.full(span, self.coefficients[0], dtype=np.uint64)
        for j in range(self.size):
            acc += self.coefficients[j + 1] * wide[j : j + span]
        all_hashes = (acc >> np.uint64(32)).astype(np.uint32)
        # Window w of string d starts at offsets[d] + (w - window_offsets[d]).
        string_of_window = np.repeat(np.arange(len(windows)), windows)
        starts = offsets[:-1][string_of_window] + (np.arange(total) - window_offsets[:-1][string_of_window])
        return all_hashes[starts], window_offsets


def fmix32(values: Hashes) -> Hashes:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before its affine permutations."""
    h = values.astype(np.uint32, copy=True)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h
