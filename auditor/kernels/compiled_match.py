"""Compiled kernels of candidate pairs: scoring (slots found, covers in post-long stretches, lone windows,
the cover in whole words) and the excerpts and text share of matches.

Each function here has a numpy reference elsewhere in kernels/ that defines its result; tests hold the
two equal on random and Unicode edge-case inputs. numba caches the machine code beside this file, so
only the first run on a machine pays the compile time (a few seconds).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from auditor.kernels.compiled import _codepoint, _grown, _in_bitmap, _run_end, _slot, _sparse_bitmap, _width


@njit(cache=True, nogil=True)
def score_pairs(
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    posts: npt.NDArray[np.int64],
    slot_hashes: npt.NDArray[np.uint32],
    specific_bits: npt.NDArray[np.uint8],
    lengths: npt.NDArray[np.int32],
    window: int,
    post_specific: npt.NDArray[np.int16],
    min_specific: int,
    required: npt.NDArray[np.int16],
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:  # pragma: no cover - compiled
    """ContainmentIndex.score_reference, compiled: for pairs sorted by row, the post's slots (and its
    specific slots) whose hash is among the row's windows, repeats counted and, over its distinct hashes
    (each post's slots are sorted, so a repeat follows its hash), counted once; and the characters a
    stretch of the row as long as the post covers with windows of the post's specific slot hashes (all
    of them for a generic post) that are lone (containment.lone_windows_reference, then
    best_cover_reference), for the pairs that reach their floor (`required`; 0 for the others).

    Each row is read once for all its pairs (_row_pair_windows); each pair then sees only the windows of
    its own post's slot hashes, in order, for its counts and its cover. Those windows are returned too
    for the pairs that reach their floor (pair p's at windows[window_starts[p]:window_starts[p + 1]],
    none for the others, which the rule rejects): the excerpts of the matches need them, and keeping
    every candidate's would hold a batch of template-like rows' many windows for nothing."""
    num_perm = slot_hashes.shape[1]
    matched = np.zeros(len(rows), dtype=np.int64)
    matched_specific = np.zeros(len(rows), dtype=np.int64)
    distinct = np.zeros(len(rows), dtype=np.int64)
    specific_distinct = np.zeros(len(rows), dtype=np.int64)
    covers = np.zeros(len(rows), dtype=np.int64)
    positions = np.empty(64, dtype=np.int64)
    found_slots = np.empty(64, dtype=np.uint32)
    last = np.full(num_perm, -1, dtype=np.int64)  # _lone_windows' work space
    present = np.zeros(num_perm, dtype=np.bool_)  # per slot of the pair's post: its hash is in the row
    windows = np.empty(64, dtype=np.int64)
    window_starts = np.zeros(len(rows) + 1, dtype=np.int64)
    a = 0
    while a < len(rows):
        b = _run_end(rows, a)
        w0 = window_offsets[rows[a]]
        row_windows = mixed[w0 : window_offsets[rows[a] + 1]]
        pair_windows, pair_starts = _row_pair_windows(row_windows, slot_hashes[posts[a:b]])
        for p in range(a, b):
            window_starts[p + 1] = window_starts[p]
            own = slot_hashes[posts[p]]
            every = post_specific[posts[p]] < min_specific
            first_hit, last_hit = pair_starts[p - a], pair_starts[p - a + 1]
            present[:] = False
            positions, found_slots, found = _specific_windows(
                row_windows, pair_windows[first_hit:last_hit], own, every, specific_bits, posts[p], present,
                positions, found_slots,
            )  # fmt: skip
            run_present = False
            for j in range(num_perm):
                first = j == 0 or own[j] != own[j - 1]
                if first:
                    run_present = present[j]
                if run_present:
                    specific = _is_specific(specific_bits, posts[p], j)
                    matched[p] += 1
                    distinct[p] += first
                    if specific:
                        matched_specific[p] += 1
                        specific_distinct[p] += first
            if (specific_distinct[p] if not every else distinct[p]) < required[posts[p]]:
                continue  # under the floor: the rule rejects it, its cover is not computed (as the reference)
            windows = _put(windows, window_starts[p], pair_windows[first_hit:last_hit])
            window_starts[p + 1] = window_starts[p] + last_hit - first_hit
            reach = max(lengths[posts[p]], window)
            lone = _lone_windows(positions[:found], found_slots[:found], reach, last)
            covers[p] = _best_cover(positions[:found][lone], lengths[posts[p]], window)
        a = b
    return matched, matched_specific, distinct, specific_distinct, covers, windows[: window_starts[-1]], window_starts


@njit(cache=True, nogil=True)
def _lone_windows(
    positions: npt.NDArray[np.int64], slots: npt.NDArray[np.uint32], reach: int, last: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:  # pragma: no cover - compiled
    """containment.lone_windows_reference for windows in increasing positions, each with the first slot of
    its hash (`slots`: equal slots, equal hashes): a window is not lone when the window of its hash before
    it or after it lies less than `reach` away (the nearest others; no sort). `last` (one per slot, all
    -1) is work space, left as it was found."""
    lone = np.ones(len(positions), dtype=np.bool_)
    for k in range(len(positions)):
        j = last[slots[k]]
        if j >= 0 and positions[k] - positions[j] < reach:
            lone[j] = False
            lone[k] = False
        last[slots[k]] = k
    for k in range(len(positions)):
        last[slots[k]] = -1
    return lone


@njit(cache=True, nogil=True)
def _best_cover(positions: npt.NDArray[np.int64], length: int, size: int) -> int:  # pragma: no cover - compiled
    """containment.best_cover_reference in one pass: two pointers over the sorted window positions; the
    union of windows i..j-1 (all `size` long, in order) is `size` plus each gap to the next, capped at
    `size`."""
    reach = max(length, size)
    best = 0
    union = 0
    j = 0
    for i in range(len(positions)):
        if j <= i:
            j = i + 1
            union = size
        while j < len(positions) and positions[j] + size <= positions[i] + reach:
            union += min(size, positions[j] - positions[j - 1])
            j += 1
        best = max(best, union)
        if i + 1 < j:
            union -= min(size, positions[i + 1] - positions[i])
    return best


@njit(cache=True, nogil=True)
def trimmed_cover(
    positions: npt.NDArray[np.int64], length: int, size: int, word_start: npt.NDArray[np.bool_], partial: int
) -> int:  # pragma: no cover - compiled
    """containment.trimmed_cover_reference (with PARTIAL_WORD_CHARS as `partial`), compiled: for each
    window as a stretch's start, the characters its windows cover, less a partial word of at most
    `partial` letters at either end of that cover."""
    reach = max(length, size)
    best = 0
    characters = np.zeros(reach, dtype=np.bool_)
    for i in range(len(positions)):
        start = positions[i]
        characters[:] = False
        for j in range(i, len(positions)):  # sorted: the windows inside start at i
            if positions[j] + size > start + reach:
                break
            characters[positions[j] - start : positions[j] - start + size] = True
        first, last = -1, -1
        for c in range(reach):
            if characters[c]:
                if first < 0:
                    first = c
                last = c
        first += start
        last += start
        head = first
        while head <= last and not word_start[head]:
            head += 1
        if head - first <= partial:
            first = head
        tail = last
        while tail >= first and not word_start[tail + 1]:
            tail -= 1
        if last - tail <= partial:
            last = tail
        covered = 0
        for c in range(max(first, start), min(last, start + reach - 1) + 1):
            covered += characters[c - start]
        best = max(best, covered)
    return best


@njit(cache=True, nogil=True)
def _row_pair_windows(
    windows: npt.NDArray[np.uint32], post_hashes: npt.NDArray[np.uint32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """For each of a row's pairs (post_hashes[j]: the slot hashes of pair j's post), the row's windows whose
    hash is one of them, in order: pair j's at out[starts[j]:starts[j + 1]]. One pass over the row for
    all its pairs, against one hash table of every pair's distinct hashes (each key listing its pairs)."""
    pairs, num_perm = post_hashes.shape
    size = 16
    while size < 4 * pairs * num_perm:
        size *= 2
    mask = size - 1
    table = np.zeros(size, dtype=np.uint32)
    used = np.zeros(size, dtype=np.bool_)
    head = np.full(size, -1, dtype=np.int64)
    entry_pair = np.empty(pairs * num_perm, dtype=np.int64)
    entry_next = np.empty(pairs * num_perm, dtype=np.int64)
    entries = 0
    for j in range(pairs):
        for k in range(num_perm):
            slot = _slot(table, used, post_hashes[j, k], mask)
            if not used[slot]:
                used[slot] = True
                table[slot] = post_hashes[j, k]
            elif entry_pair[head[slot]] == j:
                continue  # a repeated slot hash of this pair's post: listed once
            entry_pair[entries] = j
            entry_next[entries] = head[slot]
            head[slot] = entries
            entries += 1
    hit_pairs = np.empty(64, dtype=np.int64)
    hit_windows = np.empty(64, dtype=np.int64)
    hits = 0
    bitmap, bit_mask = _sparse_bitmap(post_hashes)
    for w in range(len(windows)):
        if not _in_bitmap(bitmap, bit_mask, windows[w]):
            continue
        slot = _slot(table, used, windows[w], mask)
        if not used[slot]:
            continue
        e = head[slot]
        while e >= 0:
            if hits == len(hit_pairs):
                hit_pairs = _grown(hit_pairs, 2 * hits)
                hit_windows = _grown(hit_windows, 2 * hits)
            hit_pairs[hits] = entry_pair[e]
            hit_windows[hits] = w
            hits += 1
            e = entry_next[e]
    starts = np.zeros(pairs + 1, dtype=np.int64)
    for h in range(hits):
        starts[hit_pairs[h] + 1] += 1
    for j in range(pairs):
        starts[j + 1] += starts[j]
    out = np.empty(hits, dtype=np.int64)
    filled = starts[:pairs].copy()
    for h in range(hits):  # windows were found in order, so each pair's stay in order
        out[filled[hit_pairs[h]]] = hit_windows[h]
        filled[hit_pairs[h]] += 1
    return out, starts


@njit(cache=True, nogil=True)
def excerpt_spans(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    fold: npt.NDArray[np.uint32],
    rows: npt.NDArray[np.int64],
    hits: npt.NDArray[np.int64],
    hit_starts: npt.NDArray[np.int64],
    post_lengths: npt.NDArray[np.int64],
    size: int,
    margin: int,
    max_chars: int,
    byte_starts: npt.NDArray[np.int64],
    byte_ends: npt.NDArray[np.int64],
    mark_offsets: npt.NDArray[np.int64],
    covered: npt.NDArray[np.int64],
) -> npt.NDArray[np.int32]:  # pragma: no cover - compiled
    """Every matched (row, post) pair's excerpt, as excerpts.excerpt_reference defines it: the bytes of
    the excerpt in `data` (byte_starts, byte_ends) and its marks, flat [start, end) code point pairs
    relative to the excerpt, pair p's at mark_offsets[p] .. mark_offsets[p + 1] (returned). Pair p's
    windows (the row's windows whose hash is a slot hash of its post, in order) are
    hits[hit_starts[p]:hit_starts[p + 1]], as score_pairs and windows_of_pairs give them.

    And covered[row], for each row of the pairs, the characters of the row inside a window of its
    pairs' windows (coverage.covered_lengths_reference): from the windows the excerpts find anyway. A
    row's value is that of its last run of pairs, so the pairs must be sorted by row for it."""
    marks = np.empty(64, dtype=np.int32)
    count = 0
    mark_offsets[0] = 0
    cp_byte = np.empty(1, dtype=np.int32)  # byte offset of each code point in the row
    kept = np.empty(1, dtype=np.int32)  # code point index of each normalized character
    ncp, nk = 0, 0
    run_start, run_end = 0, 0  # the pairs of the row decoded last: one decode a row
    for p in range(len(rows)):
        row = rows[p]
        b0, b1 = offsets[row], offsets[row + 1]
        if p >= run_end:
            run_start, run_end = p, _run_end(rows, p)
            total, reach = 0, 0
            for w in np.sort(hits[hit_starts[run_start] : hit_starts[run_end]]):  # the union, `size` characters each
                total += w + size - max(w, reach)
                reach = w + size
            covered[row] = total
            # The row is decoded only as far as its excerpts reach: past the last character of the last
            # matched window of its pairs, by the margin, and to max_chars for a pair with none.
            last_kept, least_cps = -1, 0
            for q in range(run_start, run_end):
                if hit_starts[q + 1] > hit_starts[q]:
                    last_kept = max(last_kept, hits[hit_starts[q + 1] - 1] + size - 1)
                else:
                    least_cps = max_chars
            if len(cp_byte) < b1 - b0 + 1:  # grown, not made anew a row: large fresh arrays cost page faults
                cp_byte = np.empty(2 * (b1 - b0 + 1), dtype=np.int32)
                kept = np.empty(2 * (b1 - b0 + 1), dtype=np.int32)
            # Decoded in two loops of simple conditions and no branch on the fold (kept[nk] is written for
            # every code point and kept only when it folds to a character): up to the last matched window's
            # last character, then on by the margin (and to least_cps).
            i, ncp, nk = b0, 0, 0
            while i < b1 and nk <= last_kept:
                cp_byte[ncp] = i - b0
                kept[nk] = ncp
                nk += fold[_codepoint(data, i)] != 0
                ncp += 1
                i += _width(data[i])
            stop = max(least_cps, kept[last_kept] + margin + 1 if 0 <= last_kept < nk else 0)
            while i < b1 and ncp < stop:
                cp_byte[ncp] = i - b0
                kept[nk] = ncp
                nk += fold[_codepoint(data, i)] != 0
                ncp += 1
                i += _width(data[i])
            cp_byte[ncp] = i - b0
        matched = hits[hit_starts[p] : hit_starts[p + 1]]
        nm = len(matched)
        if nm == 0 or nk < size:
            start, end = 0, min(ncp, max_chars)
        else:
            centre = matched[nm // 2]
            reach = max(post_lengths[p], size)
            first, last = -1, -1
            for j in range(nm):
                if abs(matched[j] - centre) <= reach:
                    if first < 0:
                        first = j
                    last = j
            start = max(0, kept[matched[first]] - margin)
            end = min(ncp, kept[matched[last] + size - 1] + 1 + margin, start + max_chars)
            open_lo, open_hi = -1, -1
            for j in range(first, last + 1):
                w = matched[j]
                if abs(w - centre) > reach:
                    continue
                lo = max(kept[w], start) - start
                hi = min(kept[w + size - 1] + 1, end) - start
                if lo >= hi:
                    continue
                if open_lo >= 0 and lo <= open_hi:
                    open_hi = max(open_hi, hi)
                    continue
                if open_lo >= 0:
                    if count + 2 > len(marks):
                        marks = _grown(marks, 2 * len(marks))
                    marks[count], marks[count + 1] = open_lo, open_hi
                    count += 2
                open_lo, open_hi = lo, hi
            if open_lo >= 0:
                if count + 2 > len(marks):
                    marks = _grown(marks, 2 * len(marks))
                marks[count], marks[count + 1] = open_lo, open_hi
                count += 2
        byte_starts[p] = b0 + cp_byte[start]
        byte_ends[p] = b0 + cp_byte[end]
        mark_offsets[p + 1] = count // 2
    return marks[:count]


@njit(cache=True, nogil=True)
def _put(
    out: npt.NDArray[np.int64], base: int, values: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:  # pragma: no cover - compiled
    """`values` written into `out` from `base`, in a loop (a slice assignment is far more machine code);
    `out`, grown when it has no room."""
    if base + len(values) > len(out):
        out = _grown(out, max(2 * len(out), base + len(values)))
    for i in range(len(values)):
        out[base + i] = values[i]
    return out


@njit(cache=True, nogil=True, inline="always")
def _specific_windows(
    row_windows: npt.NDArray[np.uint32],
    hits: npt.NDArray[np.int64],
    own: npt.NDArray[np.uint32],
    every: bool,
    specific_bits: npt.NDArray[np.uint8],
    post: int,
    present: npt.NDArray[np.bool_],
    positions: npt.NDArray[np.int64],
    slots: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32], int]:  # pragma: no cover - compiled
    """A pair's windows (`hits`: positions in its row's `row_windows`, in order, each with a hash among its
    post's sorted slot hashes `own`) whose hash is one of the post's specific slot hashes (any of them for a
    generic post: `every`), and the first slot of each one's hash (equal for equal hashes), in `positions`
    and `slots` (replaced by longer ones when short: returned), and how many; those first slots are marked
    in `present`. What score_pairs and whole_word_covers both take a pair's cover from."""
    if len(positions) < len(hits):
        positions = np.empty(len(hits), dtype=np.int64)
        slots = np.empty(len(hits), dtype=np.uint32)
    found = 0
    for w in hits:
        at = np.searchsorted(own, row_windows[w])  # the first slot of the hash: the post's slots are sorted
        present[at] = True
        if every or _is_specific(specific_bits, post, at):
            positions[found] = w
            slots[found] = at
            found += 1
    return positions, slots, found


@njit(cache=True, nogil=True, inline="always")
def _is_specific(specific_bits: npt.NDArray[np.uint8], post: int, slot: int) -> bool:  # pragma: no cover
    """Whether the post's slot is specific: its bit in specific_bits (np.packbits order)."""
    return bool((specific_bits[post, slot >> 3] >> (7 - (slot & 7))) & 1)


@njit(cache=True, nogil=True)
def windows_of_pairs(
    windows: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    post_hashes: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """For each (rows[p], post with slot hashes post_hashes[p]) pair, the row's windows whose hash is one of
    the post's, in order: pair p's at out[starts[p]:starts[p + 1]] (what score_pairs also returns). A
    run of pairs of one row reads the row once."""
    out = np.empty(64, dtype=np.int64)
    starts = np.zeros(len(rows) + 1, dtype=np.int64)
    a = 0
    while a < len(rows):
        b = _run_end(rows, a)
        found, found_starts = _row_pair_windows(
            windows[window_offsets[rows[a]] : window_offsets[rows[a] + 1]], post_hashes[a:b]
        )
        out = _put(out, starts[a], found)
        for p in range(a, b):
            starts[p + 1] = starts[a] + found_starts[p - a + 1]
        a = b
    return out[: starts[-1]], starts


@njit(cache=True, nogil=True)
def whole_word_covers(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    fold: npt.NDArray[np.uint32],
    joiner: npt.NDArray[np.bool_],
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    posts: npt.NDArray[np.int64],
    hits: npt.NDArray[np.int64],
    hit_starts: npt.NDArray[np.int64],
    slot_hashes: npt.NDArray[np.uint32],
    specific_bits: npt.NDArray[np.uint8],
    post_specific: npt.NDArray[np.int16],
    min_specific: int,
    lengths: npt.NDArray[np.int32],
    size: int,
    partial: int,
) -> npt.NDArray[np.int64]:  # pragma: no cover - compiled
    """ContainmentIndex.whole_word_covers_reference, compiled: for each (row, post) pair (a row's pairs side by side),
    the characters its lone windows of the post's specific slot hashes (all of a generic post's) cover in
    one post-long stretch, counted in whole words (trimmed_cover). Pair p's windows whose hash is any of
    its post's are hits[hit_starts[p]:hit_starts[p + 1]] (score_pairs); the row's word starts come from
    its prenormalized UTF-8 (`data`, `offsets`; containment.word_starts: a code point the fold drops and
    `joiner` does not hold separates words), decoded once for the row's pairs."""
    covered = np.zeros(len(rows), dtype=np.int64)
    word_start = np.ones(64, dtype=np.bool_)
    positions = np.empty(64, dtype=np.int64)
    slots = np.empty(64, dtype=np.uint32)
    last = np.full(slot_hashes.shape[1], -1, dtype=np.int64)  # _lone_windows' work space
    present = np.zeros(slot_hashes.shape[1], dtype=np.bool_)  # written by _specific_windows, not read here
    run_end = 0
    for p in range(len(rows)):
        row = rows[p]
        if p >= run_end:
            run_end = _run_end(rows, p)
            b0, b1 = offsets[row], offsets[row + 1]
            if len(word_start) < b1 - b0 + 1:
                word_start = np.ones(2 * (b1 - b0 + 1), dtype=np.bool_)
            kept, apart, i = 0, False, b0
            while i < b1:
                c = _codepoint(data, i)
                i += _width(data[i])
                if fold[c] != 0:
                    word_start[kept] = kept == 0 or apart
                    kept += 1
                    apart = False
                elif not joiner[c]:
                    apart = True
            word_start[kept] = True
        post = posts[p]
        own = slot_hashes[post]
        every = post_specific[post] < min_specific
        row_windows = mixed[window_offsets[row] : window_offsets[row + 1]]
        positions, slots, found = _specific_windows(
            row_windows, hits[hit_starts[p] : hit_starts[p + 1]], own, every, specific_bits, post, present,
            positions, slots,
        )  # fmt: skip
        length = lengths[post]
        lone = _lone_windows(positions[:found], slots[:found], max(length, size), last)
        covered[p] = trimmed_cover(positions[:found][lone], length, size, word_start, partial)
    return covered
