"""Compiled probe of the prefix index and its count filter: the (row, prefix entry) hits of a batch's windows,
then the (row, post) pairs whose hits cover enough of the post's prefix.

The probe runs in passes, each a simple loop over a batch's windows or those still in play, so that the cache
misses of neighbouring windows overlap: the Bloom filter (`filter_windows`), the radix table
(`bucket_bounds`), the entries (`passing_hits`). Visiting windows in text order, each look-up lands anywhere
in the filter, the radix table and the entries: cheap while they fit in the processor's caches (a set of tens
of thousands of posts), bound by memory latency once they do not (millions of posts: hundreds of megabytes,
one cache and TLB miss per window; the passes over such tables ask for the line they will read some windows
ahead, `compiled.prefetch`, so that more misses overlap than out-of-order execution keeps in flight).
`partition_windows` first partitions a batch's windows by the top bits of their hash (a counting sort, two
sequential passes), so the look-ups of one partition stay within one small slice of the filter, of the radix
table and of the sorted entries, all three being laid out by hash; `rows_in_order` then puts the hits back in
row order by a counting sort on the row. Within a row their order differs from the text order, which nothing
downstream depends on (`count_filter` counts a row's hits whatever their order). The hits go to buffers the
caller keeps from batch to batch: fresh ones cost a page fault every few hundred hits. Windows whose hash a
scan has learnt to skip (common_hashes.CommonHashes) leave after the filters, before the radix table: in the
row pass of `filter_windows`, or in `without_skipped` after `partition_windows`, looked up in a `skip_table`.

Each function here has a numpy reference elsewhere in kernels/ that defines its result; tests hold the
two equal on random and Unicode edge-case inputs. numba caches the machine code beside this file, so
only the first run on a machine pays the compile time (a few seconds).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from auditor.kernels.compiled import _run_end, prefetch
from auditor.kernels.compiled_index import _bucket

# How many windows ahead a pass over a table larger than the caches asks for the cache line it will read
# (compiled.prefetch): the fine filter's words and the radix table, and the entries (their look-ups
# depend on the radix table's, so less far ahead). Measured on a set of a million posts, where each of
# these loads misses the caches.
_AHEAD = 64
_ENTRIES_AHEAD = 32


@njit(cache=True, nogil=True, inline="always")
def _filter_mask(low: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """The two bits a hash sets in its filter word (containment.filter_mask, one hash)."""
    return (np.uint64(1) << (low & np.uint64(63))) | (np.uint64(1) << ((low >> np.uint64(6)) & np.uint64(63)))


# A free slot of a skip table (`skip_table`). A hash equal to it is never stored there, and `_skipped`
# never says it is (it would find it in every free slot): windows of that hash are always probed.
SKIP_FREE = np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def skip_table(hashes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:  # pragma: no cover - compiled
    """An open-addressing set of `hashes` at most a quarter full, the free slots SKIP_FREE (a hash equal to
    it left out): one array, a hash's home slot picked by its top bits (`_skip_shift`; mixed hashes are
    uniform), so that the windows of one partition (`partition_windows`) look up one small stretch of it.
    Not compiled._key_table: its home slots are the low bits (a partition's look-ups spread over the whole
    table) and its `used` flags a second array, a look-up two cache lines and a branch on each slot.
    Tested against np.isin, with `_skipped` and `without_skipped`."""
    size = 16
    while size < 4 * len(hashes):
        size *= 2
    table = np.full(size, SKIP_FREE, dtype=np.uint32)
    shift = _skip_shift(table)
    for value in hashes:
        if value == SKIP_FREE:
            continue
        slot = np.int64(np.uint64(value) >> shift)
        while table[slot] != SKIP_FREE and table[slot] != value:
            slot = (slot + 1) & (size - 1)
        table[slot] = value
    return table


@njit(cache=True, nogil=True, inline="always")
def _skip_shift(skip: npt.NDArray[np.uint32]) -> np.uint64:  # pragma: no cover - compiled
    """How far a hash is shifted right for its home slot in a skip table (of a power-of-two size)."""
    bits = 0
    while (1 << bits) < len(skip):
        bits += 1
    return np.uint64(32 - bits)


@njit(cache=True, nogil=True, inline="always")
def _skipped(skip: npt.NDArray[np.uint32], shift: np.uint64, value: np.uint64) -> bool:  # pragma: no cover - compiled
    """Whether a passing window's hash is in a skip table (`skip_table`; `shift` its `_skip_shift`). The
    home slot and the next are compared without a branch (a table a quarter full holds nearly every key
    there, and whether a window is skipped is a coin the processor cannot predict); the probe goes on
    only past two slots holding other keys."""
    key = np.uint32(value)
    mask = len(skip) - 1
    slot = np.int64(np.uint64(value) >> shift)
    first, second = skip[slot], skip[(slot + 1) & mask]
    found = ((first == key) | (second == key)) & (key != SKIP_FREE)
    if (first != SKIP_FREE) & (second != SKIP_FREE) & (not found):
        slot = (slot + 2) & mask
        while skip[slot] != SKIP_FREE:
            if skip[slot] == key:
                return True
            slot = (slot + 1) & mask
    return bool(found)


@njit(cache=True, nogil=True)
def filter_windows(
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    filter_words: npt.NDArray[np.uint64],
    shift: int,
    skip: npt.NDArray[np.uint32],
    passing: npt.NDArray[np.uint64],
) -> int:  # pragma: no cover - compiled
    """The windows whose hash the blocked Bloom filter (containment.blocked_filter) holds and the skip table
    (`skip_table`) does not, in text order, each as its hash << 32 | its row, in `passing` (room for one
    per window); how many. Without a branch: every window is written, and the next overwrites it unless
    it passed; then the rows of those kept, and the skipped ones (only those the filter passed are looked
    up) left out. Rows are numbered in 32 bits (a batch holds far fewer)."""
    passed = 0
    for w in range(window_offsets[len(window_offsets) - 1]):  # one flat loop: twice as fast as one per row
        low = np.uint64(mixed[w])
        mask = _filter_mask(low)
        passing[passed] = w
        passed += (filter_words[low >> np.uint64(shift)] & mask) == mask
    row = 0
    kept = 0
    skip_shift = _skip_shift(skip)
    for t in range(passed):
        window = np.int64(passing[t])
        while window_offsets[row + 1] <= window:
            row += 1
        value = np.uint64(mixed[window])
        passing[kept] = (value << np.uint64(32)) | np.uint64(row)
        kept += not _skipped(skip, skip_shift, value)
    return kept


@njit(cache=True, nogil=True)
def partition_windows(
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    filter_words: npt.NDArray[np.uint64],
    shift: int,
    part_bits: int,
    coarse_words: npt.NDArray[np.uint64],
    coarse_fold: int,
    passing: npt.NDArray[np.uint64],
) -> int:  # pragma: no cover - compiled
    """`filter_windows`' windows, partitioned by the top `part_bits` bits of their hash (see the module):
    in `passing`, grouped by partition, and in text order within one; how many.

    `coarse_words` is the filter folded by OR, word w of it holding filter words w << coarse_fold ..
    ((w + 1) << coarse_fold) - 1 (`containment.coarse_filter`): a hash the filter holds has its bits
    there too, so a window it turns away is one the filter would. A batch touches most lines of a filter
    of hundreds of megabytes, a memory access a window; the coarse filter, a fraction of the size, turns
    most windows away from the lines it shares among neighbours, and the filter is read for the rest.
    The partitioned windows and those passing share `passing` (room for one per window): each pass keeps
    windows in place, never writing past the one it reads, so no second array of the windows' size is
    touched (its first touch, page by page, cost more than the pass)."""
    windows = window_offsets[len(window_offsets) - 1]
    part_shift = np.uint64(32 - part_bits)
    # Counting sort of the windows by the top bits of their hash: (hash << 32 | row), stable.
    fill = np.zeros((1 << part_bits) + 1, dtype=np.int64)
    for w in range(windows):
        fill[(np.uint64(mixed[w]) >> part_shift) + np.uint64(1)] += 1
    for p in range(1 << part_bits):
        fill[p + 1] += fill[p]
    for row in range(len(window_offsets) - 1):
        for w in range(window_offsets[row], window_offsets[row + 1]):
            value = np.uint64(mixed[w])
            part = value >> part_shift
            passing[fill[part]] = (value << np.uint64(32)) | np.uint64(row)
            fill[part] += 1
    # The filter's pass over neighbouring slices of it, in two: the coarse filter first.
    passed = 0
    for i in range(windows):
        window = passing[i]
        low = window >> np.uint64(32)
        mask = _filter_mask(low)
        passing[passed] = window
        passed += (coarse_words[(low >> np.uint64(shift)) >> np.uint64(coarse_fold)] & mask) == mask
    kept = 0
    for t in range(passed):
        if t + _AHEAD < passed:  # the coarse filter's slices fit the cache, the filter's do not
            prefetch(filter_words, np.int64((passing[t + _AHEAD] >> np.uint64(32)) >> np.uint64(shift)))
        window = passing[t]
        low = window >> np.uint64(32)
        mask = _filter_mask(low)
        passing[kept] = window
        kept += (filter_words[low >> np.uint64(shift)] & mask) == mask
    return kept


@njit(cache=True, nogil=True)
def without_skipped(
    passing: npt.NDArray[np.uint64],
    passed: int,
    skip: npt.NDArray[np.uint32],
) -> int:  # pragma: no cover - compiled
    """The first `passed` windows of `passing` (hash << 32 | row) but those whose hash the skip table holds
    (`skip_table`), in place and in order; how many. Without a branch, as `filter_windows`."""
    kept = 0
    shift = _skip_shift(skip)
    for t in range(passed):
        window = passing[t]
        passing[kept] = window
        kept += not _skipped(skip, shift, window >> np.uint64(32))
    return kept


@njit(cache=True, nogil=True)
def bucket_bounds(
    passing: npt.NDArray[np.uint64],
    passed: int,
    entries: int,
    radix: npt.NDArray[np.uint32],
    radix_shift: int,
    bounds: npt.NDArray[np.uint32],
) -> int:  # pragma: no cover - compiled
    """Where the entries of the radix bucket of each of the first `passed` windows of `passing` (hash << 32 |
    row) start and end, in `bounds` (two per window): all of the windows first, so that their cache misses
    overlap; the total of the buckets' sizes (no more hits than that)."""
    capacity = 0
    for t in range(passed):
        if t + _AHEAD < passed:
            prefetch(radix, np.int64((passing[t + _AHEAD] >> np.uint64(32)) >> np.uint64(radix_shift)))
        low, high = _bucket(radix, radix_shift, entries, passing[t] >> np.uint64(32))
        bounds[2 * t] = low
        bounds[2 * t + 1] = high
        capacity += high - low
    return capacity


@njit(cache=True, nogil=True)
def passing_hits(
    passing: npt.NDArray[np.uint64],
    passed: int,
    prefix_entries: npt.NDArray[np.uint64],
    bounds: npt.NDArray[np.uint32],
    hit_rows: npt.NDArray[np.int64],
    hit_keys: npt.NDArray[np.uint64],
) -> int:  # pragma: no cover - compiled
    """Every (row, prefix entry) whose hash a window of the first `passed` of `passing` has, in their order,
    with repeats: rows in `hit_rows`, and keys entry index << 32 | the entry's low 32 bits (post and slots)
    in `hit_keys`, so the count filter need not look the entry up again; how many. Each entry of a
    window's bucket (`bucket_bounds`) is written and kept when its hash is the window's, without a
    branch: the outputs need room for the buckets' total size. The first entry of the bucket of the
    window _ENTRIES_AHEAD on is prefetched, so that the buckets' cache misses overlap.
    """
    hits = 0
    if len(prefix_entries) == 0:
        return hits
    last_entry = len(prefix_entries) - 1
    for t in range(passed):
        if t + _ENTRIES_AHEAD < passed:
            prefetch(prefix_entries, min(np.int64(bounds[2 * (t + _ENTRIES_AHEAD)]), last_entry))
        low = passing[t] >> np.uint64(32)
        row = np.int64(passing[t] & np.uint64(0xFFFFFFFF))
        for k in range(np.int64(bounds[2 * t]), np.int64(bounds[2 * t + 1])):
            entry = prefix_entries[k]
            hit_rows[hits] = row
            hit_keys[hits] = (np.uint64(k) << np.uint64(32)) | (entry & np.uint64(0xFFFFFFFF))
            hits += (entry >> np.uint64(32)) == low
    return hits


@njit(cache=True, nogil=True)
def rows_in_order(
    found_rows: npt.NDArray[np.int64],
    found_keys: npt.NDArray[np.uint64],
    rows: int,
    hit_rows: npt.NDArray[np.int64],
    hit_keys: npt.NDArray[np.uint64],
) -> None:  # pragma: no cover - compiled
    """The hits of partitioned windows back in row order, in `hit_rows` and `hit_keys` (as long as the
    found ones): a counting sort on the row, stable."""
    starts = np.zeros(rows + 1, dtype=np.int64)
    for i in range(len(found_rows)):
        starts[found_rows[i] + 1] += 1
    for row in range(rows):
        starts[row + 1] += starts[row]
    for i in range(len(found_rows)):
        row = found_rows[i]
        at = starts[row]
        hit_rows[at] = row
        hit_keys[at] = found_keys[i]
        starts[row] = at + 1


# 2**64 / the golden ratio (odd): the top bits of a key times it depend on all of the key's bits.
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def _stamped_slot(
    table: npt.NDArray[np.uint64], key: np.uint64, slot: np.int64
) -> np.int64:  # pragma: no cover - compiled
    """Where `key` is in `table` (open addressing from `slot`, a power-of-two size), or the first slot
    holding no key of its row: keys carry their row in their top 32 bits, so a slot of another row, or
    an empty one (0, no row), is free, and the table is never cleared. The row's keys fill under half."""
    while table[slot] >> np.uint64(32) == key >> np.uint64(32) and table[slot] != key:
        slot = (slot + 1) & (len(table) - 1)
    return slot


@njit(cache=True, nogil=True)
def count_filter(
    hit_rows: npt.NDArray[np.int64],
    hit_keys: npt.NDArray[np.uint64],
    slot_bits: int,
    needs: npt.NDArray[np.int32],
    heavy_offsets: npt.NDArray[np.int64],
    heavy_ids: npt.NDArray[np.uint32],
    heavy_present: npt.NDArray[np.uint8],
    least_light: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """ContainmentIndex.candidates_from_hits on the hits of `ContainmentIndex.probe`, compiled: per row (hits come in
    row order), each prefix entry counted once, slots summed per post, posts whose sum reaches their
    requirement kept, in post order.

    `needs` holds per post its required prefix slots << 16 | those less its heavy entries. A hit of a
    heavy hash's marker (a slot count of 0) marks that heavy id present in the row; a post whose light
    hits reach the second then counts its heavy entries present (`containment.split_heavy`: a post that
    can pass has light hits in the row). One look-up of `needs` decides most posts a row touches.

    A row's entries and posts are counted in small hash tables sized to the batch's longest row (entries
    seen, to count each once; slots per post), not in an array of the set's size: in a set of millions
    of posts a per-post counter missed the cache at every hit. Only the posts that pass are sorted, not
    the row's hits or the posts it touched. `least_light` is the least second half of `needs` over all
    posts (no more than any post's requirement): a post with fewer light hits than that cannot pass, and
    is turned away without a look-up of its `needs`, which misses the cache in a large set; most posts a
    row touches have a hit or two. `heavy_present` (one per heavy id) is 1 for the heavy ids counted
    present in every row (common_hashes.ProbeSkip), else 0, and is left so.
    """
    out_rows = np.empty(len(hit_rows), dtype=np.int64)
    out_posts = np.empty(len(hit_rows), dtype=np.int64)
    found = 0
    slot_mask = np.uint64((1 << slot_bits) - 1)
    longest = 0
    a = 0
    while a < len(hit_rows):  # the most hits of a row, to size the tables once
        b = _run_end(hit_rows, a)
        longest = max(longest, b - a)
        a = b
    size = 16
    size_bits = 4
    while size < 2 * longest:
        size *= 2
        size_bits += 1
    # Keys are (row + 1) << 32 | an entry index or a post (both under 2**32), so an empty slot or one of
    # another row is told apart in the same look-up, and the tables are never cleared.
    seen = np.zeros(size, dtype=np.uint64)  # entries seen in the row
    post_keys = np.zeros(size, dtype=np.uint64)  # posts the row touched
    post_slots = np.zeros(size, dtype=np.int64)  # their slots summed, beside post_keys
    touched = np.empty(longest, dtype=np.int64)  # where the row's posts are in post_keys
    marked = np.empty(longest, dtype=np.int64)  # heavy ids the row holds
    a = 0
    while a < len(hit_rows):
        b = _run_end(hit_rows, a)
        stamp = (np.uint64(hit_rows[a]) + np.uint64(1)) << np.uint64(32)
        posts = 0
        heavy = 0
        for i in range(a, b):
            value = hit_keys[i] & np.uint64(0xFFFFFFFF)
            slots = value & slot_mask
            if slots == 0:  # a heavy hash's marker
                marker = np.int64(value >> np.uint64(slot_bits))
                if marker >= len(heavy_present):
                    continue  # only a damaged index has such a marker: nothing is written out of bounds
                if heavy_present[marker] == 0:
                    heavy_present[marker] = 1
                    marked[heavy] = marker
                    heavy += 1
                continue
            key = stamp | (hit_keys[i] >> np.uint64(32))
            slot = _stamped_slot(seen, key, np.int64(key) & (size - 1))  # a row's entries: near-random indices
            if seen[slot] == key:
                continue  # this entry again: count it once
            seen[slot] = key
            post = value >> np.uint64(slot_bits)
            post_key = stamp | post
            # Fibonacci hashing: a row's posts may be neighbours (one author's, one day's).
            slot = _stamped_slot(post_keys, post_key, np.int64((post * _FIBONACCI) >> np.uint64(64 - size_bits)))
            if post_keys[slot] != post_key:
                post_keys[slot] = post_key
                post_slots[slot] = 0
                touched[posts] = slot
                posts += 1
            post_slots[slot] += np.int64(slots)
        first = found
        for i in range(posts):  # few of the touched posts pass: only those are sorted
            slot = touched[i]
            total = post_slots[slot]
            if total < least_light:
                continue
            post = np.int64(post_keys[slot] & np.uint64(0xFFFFFFFF))
            need = np.int64(needs[post] >> 16)
            if need > total >= np.int64(needs[post] & 0xFFFF):
                for j in range(heavy_offsets[post], heavy_offsets[post + 1]):
                    total += heavy_present[heavy_ids[j]]
            if total >= need:
                out_rows[found] = hit_rows[a]
                out_posts[found] = post
                found += 1
        for i in range(heavy):
            heavy_present[marked[i]] = 0
        out_posts[first:found].sort()
        a = b
    return out_rows[:found], out_posts[:found]
