"""Compiled passes of building the prefix index (containment.ContainmentIndex.build): hash counts by
low bits, radix bucket starts, the choice of each post's held-apart (heavy) prefix entries; and which of
the prefix hashes a corpus holds often a scan may skip (`skippable`, ContainmentIndex.skip_common).

Each function here has a numpy reference elsewhere in kernels/ that defines its result; tests hold the
two equal on random and Unicode edge-case inputs. numba caches the machine code beside this file, so
only the first run on a machine pays the compile time (a few seconds).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True, nogil=True)
def bucket_starts(
    entries: npt.NDArray[np.uint64], shift: int, starts: npt.NDArray[np.uint32]
) -> None:  # pragma: no cover - compiled
    """starts[b] = the first index of sorted `entries` whose value >> shift is at least b; the last
    item is len(entries). What np.searchsorted gives for every b, in one pass."""
    bucket = 0
    for i in range(len(entries)):
        top = np.int64(entries[i] >> np.uint64(shift))
        while bucket <= top:
            starts[bucket] = i
            bucket += 1
    while bucket < len(starts):
        starts[bucket] = len(entries)
        bucket += 1


@njit(cache=True, nogil=True)
def count_low_bits(
    values: npt.NDArray[np.uint32], counts: npt.NDArray[np.uint16], mask: np.uint32
) -> None:  # pragma: no cover - compiled
    """counts[v & mask] += 1 for every value, saturating at 65,535: a frequency table of mixed hashes."""
    for v in values:
        slot = v & mask
        if counts[slot] < 65535:
            counts[slot] += 1


@njit(cache=True, nogil=True)
def _hash_run_end(entries: npt.NDArray[np.uint64], i: int) -> int:  # pragma: no cover - compiled
    """One past the last of the sorted entries from i on that share entry i's hash (top 32 bits)."""
    j = i + 1
    while j < len(entries) and entries[j] >> np.uint64(32) == entries[i] >> np.uint64(32):
        j += 1
    return j


@njit(cache=True, nogil=True)
def select_heavy(
    entries: npt.NDArray[np.uint64], least: int, slot_bits: int, budget: npt.NDArray[np.int64], width: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """Per post, the indices of its sorted `entries` whose hash `least` or more entries share, at most
    budget[post] of them (`width` at the least), the most shared first, then in entry order; with how many
    share each and how many each post has: containment.select_heavy_reference, in one pass over the
    entries and memory of `width` a post (no sort of the candidates, which number hundreds of millions
    in a set of ten million posts)."""
    posts = len(budget)
    picked = np.empty((posts, max(width, 1)), dtype=np.int64)
    shared = np.empty((posts, max(width, 1)), dtype=np.uint32)
    counts = np.zeros(posts, dtype=np.int64)
    i = 0
    while i < len(entries):
        j = _hash_run_end(entries, i)
        size = np.uint32(j - i)
        if j - i >= least:
            for k in range(i, j):
                post = np.int64((entries[k] & np.uint64(0xFFFFFFFF)) >> np.uint64(slot_bits))
                keep = budget[post]
                count = counts[post]
                at = count  # after every candidate shared as much or more: entry order breaks ties
                while at > 0 and shared[post, at - 1] < size:
                    at -= 1
                if at >= keep:
                    continue
                last = min(count, keep - 1)
                for m in range(last, at, -1):
                    picked[post, m] = picked[post, m - 1]
                    shared[post, m] = shared[post, m - 1]
                picked[post, at] = k
                shared[post, at] = size
                counts[post] = min(count + 1, keep)
        i = j
    return picked, shared, counts


@njit(cache=True, nogil=True, inline="always")
def _bucket(
    radix: npt.NDArray[np.uint32], radix_shift: int, count: int, value: np.uint64
) -> tuple[int, int]:  # pragma: no cover - compiled
    """The range of sorted prefix entries whose hash shares `value`'s radix bucket (containment.radix_table),
    within the `count` entries: a damaged table reads nothing out of bounds (its end is clamped to its
    start, so the range is never negative)."""
    bucket = value >> np.uint64(radix_shift)
    low = min(int(radix[bucket]), count)
    return low, max(min(int(radix[bucket + np.uint64(1)]), count), low)


@njit(cache=True, nogil=True, inline="always")
def _kept(requirement: int, keep: float) -> int:  # pragma: no cover - compiled
    """The least of a requirement a skip leaves: the share `keep` of it, rounded up, and one at the least."""
    return max(1, int(np.ceil(requirement * keep)))


@njit(cache=True, nogil=True)
def skippable(
    entries: npt.NDArray[np.uint64],
    radix: npt.NDArray[np.uint32],
    radix_shift: int,
    slot_bits: int,
    hashes: npt.NDArray[np.uint32],
    needs: npt.NDArray[np.int32],
    keep: float,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """Which of `hashes`, in their order, the probe may skip; the count filter's `needs` (per post, required
    prefix slots << 16 | those less its heavy entries) less the slots of the skipped light entries; and the
    heavy ids of the skipped hashes' markers: containment.ContainmentIndex.skip_common_reference. A hash
    is skipped when each post with a light entry of it keeps at least `keep` of both its first
    requirements, and one slot (`_kept`), once the entry's slots are taken off both."""
    chosen = np.zeros(len(hashes), dtype=np.bool_)
    first = needs
    needs = needs.copy()
    markers = np.empty(len(hashes), dtype=np.int64)
    marked = 0
    slot_mask = np.uint64((1 << slot_bits) - 1)
    for i in range(len(hashes)):
        value = np.uint64(hashes[i])
        low, high = _bucket(radix, radix_shift, len(entries), value)
        found = False
        allowed = True
        for k in range(low, high):
            entry = entries[k]
            if entry >> np.uint64(32) != value:
                continue
            found = True
            slots = np.int32(entry & slot_mask)
            post = np.int64((entry & np.uint64(0xFFFFFFFF)) >> np.uint64(slot_bits))
            if slots > 0 and (
                (needs[post] >> 16) - slots < _kept(first[post] >> 16, keep)
                or (needs[post] & 0xFFFF) - slots < _kept(first[post] & 0xFFFF, keep)
            ):
                allowed = False
        if not (found and allowed):
            continue
        for k in range(low, high):
            entry = entries[k]
            if entry >> np.uint64(32) == value:
                slots = np.int32(entry & slot_mask)
                owner = np.int64((entry & np.uint64(0xFFFFFFFF)) >> np.uint64(slot_bits))
                if slots == 0:  # a heavy hash's marker: owner is its heavy id
                    markers[marked] = owner
                    marked += 1
                else:
                    needs[owner] -= (slots << 16) + slots
        chosen[i] = True
    return chosen, needs, markers[:marked]
