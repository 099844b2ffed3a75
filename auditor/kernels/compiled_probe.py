"""The probe of a large prefix index, compiled: the corpus windows visited in the order of their hashes.

`compiled.probe` visits windows in text order, so each look-up of the Bloom filter, the radix table and
the entries lands anywhere in them. That is cheap while they fit in the processor's caches (a set of
tens of thousands of posts) and bound by memory latency once they do not (millions of posts: hundreds
of megabytes, one cache and TLB miss per window). Here a batch's windows are first partitioned by the
top bits of their hash (a counting sort, two sequential passes), so the look-ups of one partition stay
within one small slice of the filter, of the radix table and of the sorted entries, all three being
laid out by hash; the hits are then put back in row order by a counting sort on the row.

The hits are those of `compiled.probe`, in row order; within a row their order differs, which nothing
downstream depends on (`compiled.count_filter` counts a row's hits whatever their order).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from auditor.kernels.compiled import _grown


@njit(cache=True, nogil=True)
def probe_partitioned(
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    filter_words: npt.NDArray[np.uint64],
    shift: int,
    prefix_entries: npt.NDArray[np.uint64],
    radix: npt.NDArray[np.uint32],
    radix_shift: int,
    part_bits: int,
    order: npt.NDArray[np.uint64],
    passing: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:  # pragma: no cover - compiled
    """`compiled.probe`'s hits, grouped by row, found partition by partition (see the module).

    `order` (one per window), `passing` (one per window) and `bounds` (two per window) are work space;
    rows are numbered in 32 bits (a batch holds far fewer)."""
    windows = window_offsets[len(window_offsets) - 1]
    rows = len(window_offsets) - 1
    part_shift = np.uint64(32 - part_bits)
    # Counting sort of the windows by the top bits of their hash: (hash << 32 | row), stable.
    fill = np.zeros((1 << part_bits) + 1, dtype=np.int64)
    for w in range(windows):
        fill[(np.uint64(mixed[w]) >> part_shift) + np.uint64(1)] += 1
    for p in range(1 << part_bits):
        fill[p + 1] += fill[p]
    for row in range(rows):
        for w in range(window_offsets[row], window_offsets[row + 1]):
            value = np.uint64(mixed[w])
            part = value >> part_shift
            order[fill[part]] = (value << np.uint64(32)) | np.uint64(row)
            fill[part] += 1
    # The three passes of compiled.probe, now over neighbouring slices of the filter, radix and entries.
    passed = 0
    for i in range(windows):
        low = order[i] >> np.uint64(32)
        mask = (np.uint64(1) << (low & np.uint64(63))) | (np.uint64(1) << ((low >> np.uint64(6)) & np.uint64(63)))
        passing[passed] = i
        passed += (filter_words[low >> np.uint64(shift)] & mask) == mask
    for t in range(passed):
        bucket = (order[passing[t]] >> np.uint64(32)) >> np.uint64(radix_shift)
        bounds[2 * t] = radix[bucket]
        bounds[2 * t + 1] = radix[bucket + np.uint64(1)]
    capacity = passed + 1024
    found_rows = np.empty(capacity, dtype=np.int64)
    found_keys = np.empty(capacity, dtype=np.uint64)
    hits = 0
    for t in range(passed):
        value = order[passing[t]]
        low = value >> np.uint64(32)
        window_row = np.int64(value & np.uint64(0xFFFFFFFF))
        for k in range(np.int64(bounds[2 * t]), np.int64(bounds[2 * t + 1])):
            entry = prefix_entries[k]
            if entry >> np.uint64(32) != low:
                continue
            if hits == capacity:
                capacity *= 2
                found_rows = _grown(found_rows, capacity)
                found_keys = _grown(found_keys, capacity)
            found_rows[hits] = window_row
            found_keys[hits] = (np.uint64(k) << np.uint64(32)) | (entry & np.uint64(0xFFFFFFFF))
            hits += 1
    # Back in row order: a counting sort on the row.
    starts = np.zeros(rows + 1, dtype=np.int64)
    for i in range(hits):
        starts[found_rows[i] + 1] += 1
    for row in range(rows):
        starts[row + 1] += starts[row]
    hit_rows = np.empty(hits, dtype=np.int64)
    hit_keys = np.empty(hits, dtype=np.uint64)
    for i in range(hits):
        row = found_rows[i]
        at = starts[row]
        hit_rows[at] = row
        hit_keys[at] = found_keys[i]
        starts[row] = at + 1
    return hit_rows, hit_keys
