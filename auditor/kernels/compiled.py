"""Compiled (numba) fast paths of the hot kernels, each loop shaped for the processor: branch-free where a
branch would be mispredicted, split in passes where cache misses should overlap.

Each function here has a numpy reference elsewhere in kernels/ that defines its result; tests hold the
two equal on random and Unicode edge-case inputs. numba caches the machine code beside this file, so
only the first run on a machine pays the compile time (a few seconds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

# MurmurHash3 fmix32 constants, as datasketch applies them.
_M1 = np.uint64(0x85EBCA6B)
_M2 = np.uint64(0xC2B2AE35)
_MASK32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def _fmix32(value: np.uint64) -> np.uint32:  # pragma: no cover - compiled
    # In uint64 with explicit masks: numba may widen uint32 arithmetic, which would break the wrap-around.
    h = np.uint64(value) & _MASK32
    h ^= h >> np.uint64(16)
    h = (h * _M1) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * _M2) & _MASK32
    h ^= h >> np.uint64(16)
    return np.uint32(h)


@njit(cache=True, nogil=True, inline="always")
def _width(lead: np.uint8) -> int:  # pragma: no cover - compiled
    return 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


@njit(cache=True, nogil=True, inline="always")
def _codepoint(data: npt.NDArray[np.uint8], i: int) -> int:  # pragma: no cover - compiled
    """The code point whose UTF-8 encoding starts at byte i."""
    b0 = int(data[i])
    if b0 < 0x80:
        return b0
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (int(data[i + 1]) & 0x3F)
    if b0 < 0xF0:
        return ((b0 & 0x0F) << 12) | ((int(data[i + 1]) & 0x3F) << 6) | (int(data[i + 2]) & 0x3F)
    return (
        ((b0 & 0x07) << 18)
        | ((int(data[i + 1]) & 0x3F) << 12)
        | ((int(data[i + 2]) & 0x3F) << 6)
        | (int(data[i + 3]) & 0x3F)
    )


@njit(cache=True, nogil=True, inline="always")
def _run_end(values: npt.NDArray[np.int64], start: int) -> int:  # pragma: no cover - compiled
    """The end of the run of items equal to values[start]."""
    end = start
    while end < len(values) and values[end] == values[start]:
        end += 1
    return end


@njit(cache=True, nogil=True, inline="always")
def _slot(
    table: npt.NDArray[np.uint32], used: npt.NDArray[np.bool_], key: np.uint32, mask: int
) -> int:  # pragma: no cover - compiled
    """Where `key` is in an open-addressing table (linear probing from its low bits; keys are mixed
    hashes, so those are uniform), or the empty slot where it would go."""
    slot = int(key) & mask
    while used[slot]:
        if table[slot] == key:
            return slot
        slot = (slot + 1) & mask
    return slot


@njit(cache=True, nogil=True)
def _key_table(
    keys: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_], int]:  # pragma: no cover
    """An open-addressing set of a few keys (at most a quarter full): one probe, mostly, per look-up."""
    size = 16
    while size < 4 * len(keys):
        size *= 2
    table = np.zeros(size, dtype=np.uint32)
    used = np.zeros(size, dtype=np.bool_)
    for key in keys:
        slot = _slot(table, used, key, size - 1)
        used[slot] = True
        table[slot] = key
    return table, used, size - 1


@njit(cache=True, nogil=True)
def shingle_utf8(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    fold: npt.NDArray[np.uint32],
    coefficients: npt.NDArray[np.uint64],
    size: int,
    hashes: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    codepoints: npt.NDArray[np.uint32],
    tile: npt.NDArray[np.uint64],
) -> int:  # pragma: no cover - compiled
    """Decode UTF-8, fold each code point through `fold` (drop or lowercase), and hash every
    `size`-code-point window.

    Fills `hashes` (fmix32 of each window's base hash; room for one per byte), `window_offsets` (per
    string, len + 1) and `lengths` (kept code points per string) and returns the number of windows: what
    to_codepoints(normalize_texts(...)) + ShingleHasher.window_hashes + fmix32 give. `codepoints` (one
    per byte) and `tile` are work space. Outputs and work space are passed in because fresh large arrays
    cost more in page faults than the work itself.

    Two passes, each shaped for the processor (together 2 to 3 instead of 7 ms/MB in one fused loop): the
    first keeps code points without a branch, a dropped one being overwritten by the next (mispredicted
    drops cost more than decoding); the second hashes windows a coefficient at a time over a tile of
    windows, loops the compiler vectorizes.
    """
    strings = len(offsets) - 1
    kept = 0
    for s in range(strings):
        first = kept
        i = offsets[s]
        end = offsets[s + 1]
        while i < end:
            cp = fold[_codepoint(data, i)]
            i += _width(data[i])
            codepoints[kept] = cp
            kept += cp != 0
        lengths[s] = kept - first
    written = 0
    first = 0
    for s in range(strings):
        window_offsets[s] = written
        windows = lengths[s] - size + 1
        done = 0
        while done < windows:
            count = min(len(tile), windows - done)
            acc = tile[:count]
            acc[:] = coefficients[0]
            for j in range(size):
                coefficient = coefficients[j + 1]
                window_codepoints = codepoints[first + done + j : first + done + j + count]
                for w in range(count):
                    acc[w] += coefficient * np.uint64(window_codepoints[w])
            out = hashes[written : written + count]
            for w in range(count):
                out[w] = _fmix32(acc[w] >> np.uint64(32))
            written += count
            done += count
        first += lengths[s]
    window_offsets[strings] = written
    return written


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


@njit(cache=True, nogil=True)
def probe(
    mixed: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    filter_words: npt.NDArray[np.uint64],
    shift: int,
    prefix_entries: npt.NDArray[np.uint64],
    radix: npt.NDArray[np.uint32],
    radix_shift: int,
    passing: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:  # pragma: no cover - compiled
    """Every (row, prefix entry) whose hash a window of the row has, with repeats: rows, and keys
    entry index << 32 | the entry's low 32 bits (post and slots), so the count filter need not look
    the entry up again. `passing` (one per window) and `bounds` (two per window) are work space.

    A blocked Bloom filter (containment.blocked_filter) turns most windows away; the radix table
    (containment.radix_table) leads the rest to their few entries. In three passes (5 instead of 8.6
    ns a window in one): the filter without a branch, then the radix look-ups, then the entries, so
    the cache misses of the passing windows, now side by side, overlap.
    """
    passed = 0
    for w in range(window_offsets[len(window_offsets) - 1]):
        low = np.uint64(mixed[w])
        mask = (np.uint64(1) << (low & np.uint64(63))) | (np.uint64(1) << ((low >> np.uint64(6)) & np.uint64(63)))
        passing[passed] = w
        passed += (filter_words[low >> np.uint64(shift)] & mask) == mask
    for t in range(passed):
        bucket = np.uint64(mixed[passing[t]]) >> np.uint64(radix_shift)
        bounds[2 * t] = radix[bucket]
        bounds[2 * t + 1] = radix[bucket + np.uint64(1)]
    capacity = passed + 1024
    hit_rows = np.empty(capacity, dtype=np.int64)
    hit_keys = np.empty(capacity, dtype=np.uint64)
    hits = 0
    row = 0
    for t in range(passed):
        w = passing[t]
        while window_offsets[row + 1] <= w:
            row += 1
        low = np.uint64(mixed[w])
        for k in range(np.int64(bounds[2 * t]), np.int64(bounds[2 * t + 1])):
            entry = prefix_entries[k]
            if entry >> np.uint64(32) != low:
                continue
            if hits == capacity:
                capacity *= 2
                hit_rows = _grown(hit_rows, capacity)
                hit_keys = _grown(hit_keys, capacity)
            hit_rows[hits] = row
            hit_keys[hits] = (np.uint64(k) << np.uint64(32)) | (entry & np.uint64(0xFFFFFFFF))
            hits += 1
    return hit_rows[:hits], hit_keys[:hits]


@njit(cache=True, nogil=True)
def _grown(values: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:  # pragma: no cover - compiled
    out = np.empty(capacity, dtype=values.dtype)
    out[: len(values)] = values
    return out


@njit(cache=True, nogil=True)
def distinct_counts(
    mixed: npt.NDArray[np.uint32], window_offsets: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:  # pragma: no cover - compiled
    """Distinct hashes per group (ShingledTexts.distinct_counts): a small hash set for post-sized groups,
    stamped with the group number so it is never cleared; a sort for longer ones."""
    groups = len(window_offsets) - 1
    out = np.zeros(groups, dtype=np.int64)
    table_size = 1024
    keys = np.zeros(table_size, dtype=np.uint32)
    stamps = np.full(table_size, -1, dtype=np.int64)
    for g in range(groups):
        start = window_offsets[g]
        size = window_offsets[g + 1] - start
        if size > table_size // 4:
            ordered = np.sort(mixed[start : start + size])
            count = 1
            for i in range(1, size):
                if ordered[i] != ordered[i - 1]:
                    count += 1
            out[g] = count
            continue
        count = 0
        for i in range(start, start + size):
            y = mixed[i]
            # The top 10 bits of a 32-bit multiplicative hash (in uint64: numba widens uint32 products).
            slot = np.int64(((np.uint64(y) * np.uint64(0x9E3779B1)) & _MASK32) >> np.uint64(22))
            while stamps[slot] == g and keys[slot] != y:
                slot = (slot + 1) & (table_size - 1)
            if stamps[slot] != g:
                stamps[slot] = g
                keys[slot] = y
                count += 1
        out[g] = count
    return out


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
def members(values: npt.NDArray[np.uint32], keys: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:  # pragma: no cover
    """values[i] in keys, for few keys: a small open-addressing table instead of sorting the values."""
    table, used, mask = _key_table(keys)
    out = np.zeros(len(values), dtype=np.bool_)
    for i in range(len(values)):
        out[i] = used[_slot(table, used, values[i], mask)]
    return out


# The removal pass of normalize._REMOVALS, compiled. RE2's \s is [\t\n\f\r ] and its \b is ASCII-only;
# (?i) folds only ASCII here, the other case variants of these letters (long s, Kelvin sign) being gone
# after NFKC. `_word` asks the fold table: its non-zero entries are [\p{L}\p{N}].
_SPACE = np.array([c in (9, 10, 12, 13, 32) for c in range(256)], dtype=np.bool_)
_RT, _HTTP, _HTTP_LINK, _HTTPS_LINK, _WWW, _URL_ANGLE, _URL_SQUARE, _LINK_SQUARE = (
    np.frombuffer(pattern, dtype=np.uint8)
    for pattern in (b"rt", b"http", b"http://", b"https://", b"www.", b"<url>", b"[url]", b"[link]")
)
# For each pair of bytes (this one << 8 | the next): "@", "<", "[", "ht" or "ww" in either case.
_MAY_START = np.zeros(1 << 16, dtype=np.bool_)
for _byte in b"@<[":
    _MAY_START[_byte << 8 : (_byte + 1) << 8] = True
for _pair in (b"ht", b"hT", b"Ht", b"HT", b"ww", b"wW", b"Ww", b"WW"):
    _MAY_START[(_pair[0] << 8) | _pair[1]] = True
# The first bytes _MAY_START may hold: most bytes are none of them, and this smaller table answers first.
_MAY_START_FIRST = np.zeros(256, dtype=np.bool_)
for _byte in b"@<[hHwW":
    _MAY_START_FIRST[_byte] = True
_ASCII_WORD = np.array([chr(c).isascii() and (chr(c).isalnum() or c == 95) for c in range(256)], dtype=np.bool_)


@njit(cache=True, nogil=True)
def _word(data: npt.NDArray[np.uint8], i: int, fold: npt.NDArray[np.uint32]) -> bool:  # pragma: no cover
    """[\\p{L}\\p{N}_] at byte i."""
    cp = _codepoint(data, i)
    return cp == 95 or fold[cp] != 0


@njit(cache=True, nogil=True)
def _word_run(data: npt.NDArray[np.uint8], i: int, end: int, fold: npt.NDArray[np.uint32]) -> int:  # pragma: no cover
    """End of [\\p{L}\\p{N}_]+ from byte i, or -1 when no such character is there."""
    j = i
    while j < end and _word(data, j, fold):
        j += _width(data[j])
    return j if j > i else -1


@njit(cache=True, nogil=True)
def _ascii_is(
    data: npt.NDArray[np.uint8], i: int, end: int, lowercase: npt.NDArray[np.uint8]
) -> bool:  # pragma: no cover
    """The bytes from i are `lowercase`, ASCII letters in either case."""
    if i + len(lowercase) > end:
        return False
    for k in range(len(lowercase)):
        b = data[i + k]
        if b != lowercase[k] and not (0x41 <= b <= 0x5A and b + 0x20 == lowercase[k]):
            return False
    return True


@njit(cache=True, nogil=True)
def _removal_at(
    data: npt.NDArray[np.uint8], p: int, start: int, end: int, fold: npt.NDArray[np.uint32]
) -> int:  # pragma: no cover - compiled
    """End of the match of _REMOVALS starting at byte p, alternatives in their order; -1 if none."""
    b = data[p]
    if p == start:  # ^\s*rt\s+@[\p{L}\p{N}_]+:?
        j = p
        while j < end and _SPACE[data[j]]:
            j += 1
        if _ascii_is(data, j, end, _RT):
            k = j + 2
            while k < end and _SPACE[data[k]]:
                k += 1
            if k > j + 2 and k < end and data[k] == 64:
                m = _word_run(data, k + 1, end, fold)
                if m >= 0:
                    return m + 1 if m < end and data[m] == 58 else m
    lower = b | 0x20
    if lower == 104 or lower == 119:  # (?:https?://|www\.)\S+
        j = -1
        if _ascii_is(data, p, end, _HTTPS_LINK):
            j = p + 8
        elif _ascii_is(data, p, end, _HTTP_LINK):
            j = p + 7
        elif _ascii_is(data, p, end, _WWW):
            j = p + 4
        if j >= 0:
            k = j
            while k < end and not _SPACE[data[k]]:
                k += 1
            if k > j:
                return k
    if lower == 104 and (p == start or not _ASCII_WORD[data[p - 1]]) and _ascii_is(data, p, end, _HTTP):
        j = p + 4  # \bhttps?(?:\b|\s|$): after a word character only \b can follow, so it is \b
        if j < end and (data[j] | 0x20) == 115 and (j + 1 == end or not _ASCII_WORD[data[j + 1]]):
            return j + 1
        if j == end or not _ASCII_WORD[data[j]]:
            return j
    if b == 60 and _ascii_is(data, p, end, _URL_ANGLE):
        return p + 5
    if b == 91:
        if _ascii_is(data, p, end, _URL_SQUARE):
            return p + 5
        if _ascii_is(data, p, end, _LINK_SQUARE):
            return p + 6
    # (?:^|[^\p{L}\p{N}_])@[\p{L}\p{N}_]+
    if p == start and b == 64:
        m = _word_run(data, p + 1, end, fold)
        if m >= 0:
            return m
    w = _width(b)
    if p + w < end and data[p + w] == 64 and not _word(data, p, fold):
        return _word_run(data, p + w + 1, end, fold)
    return -1


@njit(cache=True, nogil=True)
def remove_links_mentions(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    fold: npt.NDArray[np.uint32],
    out: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    """Replace every match of normalize._REMOVALS by one space, as RE2's global replace does: leftmost
    match first, then on from its end, context (^, \\b) from the whole string. Returns bytes written.

    A match can start only at a string's start, at "<", "[", "ht", "ww" or "@" (all ASCII, so found
    byte by byte without decoding), or at the character before an "@"; only those positions are tried,
    and the text between matches is copied in runs.
    """
    written = 0
    for s in range(len(offsets) - 1):
        out_offsets[s] = written
        start = offsets[s]
        end = offsets[s + 1]
        copied = start  # text before this is written out or removed
        q = start
        first = True
        while q < end:
            at = -1
            match_end = -1
            if first:
                first = False
                at = start
                match_end = _removal_at(data, start, start, end, fold)
            elif (
                _MAY_START_FIRST[data[q]] and _MAY_START[(np.int64(data[q]) << 8) | (data[q + 1] if q + 1 < end else 0)]
            ):
                b = data[q]
                if b == 64:  # "@": the character before it may start a mention, then the "@" itself
                    before = q - 1
                    while before > copied and (data[before] & 0xC0) == 0x80:
                        before -= 1
                    if before >= copied and before > start:
                        at = before
                        match_end = _removal_at(data, before, start, end, fold)
                    if match_end < 0:
                        at = q
                        match_end = _removal_at(data, q, start, end, fold)
                else:
                    at = q
                    match_end = _removal_at(data, q, start, end, fold)
            if match_end >= 0:
                out[written : written + at - copied] = data[copied:at]
                written += at - copied
                out[written] = 32
                written += 1
                copied = match_end
                q = match_end
            else:
                q += 1
        out[written : written + end - copied] = data[copied:end]
        written += end - copied
    out_offsets[len(offsets) - 1] = written
    return written


@njit(cache=True, nogil=True)
def count_filter(
    hit_rows: npt.NDArray[np.int64],
    hit_keys: npt.NDArray[np.uint64],
    slot_bits: int,
    required: npt.NDArray[np.int16],
    covered: npt.NDArray[np.int32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """ContainmentIndex.candidates_from_hits on the hits of `probe`, compiled: per row (hits come in
    row order), each prefix entry counted once, slots summed per post, posts whose sum reaches their
    requirement kept, in post order.

    `covered` (one per post) is all zeros and is left so. A small hash set per row drops repeated
    entries, and only the posts that pass are sorted, not the row's hits or the posts it touched.
    """
    out_rows = np.empty(len(hit_rows), dtype=np.int64)
    out_posts = np.empty(len(hit_rows), dtype=np.int64)
    found = 0
    slot_mask = np.uint64((1 << slot_bits) - 1)
    longest = 0
    a = 0
    while a < len(hit_rows):  # the most hits of a row, to size the hash set once
        b = _run_end(hit_rows, a)
        longest = max(longest, b - a)
        a = b
    size = 16
    while size < 2 * longest:
        size *= 2
    seen = np.zeros(size, dtype=np.int64)  # entry index + 1, stamped with the row's first hit + 1
    seen_stamp = np.zeros(size, dtype=np.int64)
    touched = np.empty(longest, dtype=np.int64)
    a = 0
    while a < len(hit_rows):
        b = _run_end(hit_rows, a)
        stamp = a + 1
        posts = 0
        for i in range(a, b):
            entry = np.int64(hit_keys[i] >> np.uint64(32))
            slot = entry & (size - 1)  # entries of one row are near-random indices
            while seen_stamp[slot] == stamp and seen[slot] != entry + 1:
                slot = (slot + 1) & (size - 1)
            if seen_stamp[slot] == stamp:
                continue  # this entry again: count it once
            seen_stamp[slot] = stamp
            seen[slot] = entry + 1
            value = hit_keys[i] & np.uint64(0xFFFFFFFF)
            post = np.int64(value >> np.uint64(slot_bits))
            if covered[post] == 0:
                touched[posts] = post
                posts += 1
            covered[post] += np.int32(value & slot_mask)
        first = found
        for i in range(posts):  # few of the touched posts pass: only those are sorted
            post = touched[i]
            if covered[post] >= required[post]:
                out_rows[found] = hit_rows[a]
                out_posts[found] = post
                found += 1
            covered[post] = 0
        out_posts[first:found].sort()
        a = b
    return out_rows[:found], out_posts[:found]


@njit(cache=True, nogil=True)
def _sparse_bitmap(hashes: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.uint64], np.uint32]:  # pragma: no cover
    """A bitmap of `hashes` (any shape) by their low bits, at most one bit in 64 set (up to 2^20 bits).

    A row's windows are nearly all absent from its candidates' slots: looked up in a hash table a quarter
    full, each would take a branch the processor mispredicts; tested here first, the branch is nearly
    always "absent" and predicted."""
    bits = 1 << 12
    while bits < 64 * hashes.size and bits < 1 << 20:
        bits *= 2
    bit_mask = np.uint32(bits - 1)
    bitmap = np.zeros(bits >> 6, dtype=np.uint64)
    for value in hashes.ravel():
        low = value & bit_mask
        bitmap[low >> 6] |= np.uint64(1) << np.uint64(low & 63)
    return bitmap, bit_mask


@njit(cache=True, nogil=True, inline="always")
def _in_bitmap(bitmap: npt.NDArray[np.uint64], bit_mask: np.uint32, key: np.uint32) -> bool:  # pragma: no cover
    low = key & bit_mask
    return bool((bitmap[low >> 6] >> np.uint64(low & 63)) & np.uint64(1))


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
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]
]:  # pragma: no cover - compiled
    """ContainmentIndex.score_reference, compiled: for pairs sorted by row, the post's slots (and its
    specific slots) whose hash is among the row's windows, repeats counted and, over its distinct hashes
    (each post's slots are sorted, so a repeat follows its hash), counted once; and the characters a
    stretch of the row as long as the post covers with windows of the post's specific slot hashes (all
    of them for a generic post) that are lone (containment.lone_windows_reference, then
    best_cover_reference).

    Each row is read once for all its pairs (_row_pair_windows); each pair then sees only the windows of
    its own post's slot hashes, in order, for its counts and its cover."""
    num_perm = slot_hashes.shape[1]
    matched = np.zeros(len(rows), dtype=np.int64)
    matched_specific = np.zeros(len(rows), dtype=np.int64)
    distinct = np.zeros(len(rows), dtype=np.int64)
    specific_distinct = np.zeros(len(rows), dtype=np.int64)
    covers = np.zeros(len(rows), dtype=np.int64)
    positions = np.empty(64, dtype=np.int64)
    found_keys = np.empty(64, dtype=np.uint32)
    present = np.zeros(num_perm, dtype=np.bool_)  # per slot of the pair's post: its hash is in the row
    a = 0
    while a < len(rows):
        b = _run_end(rows, a)
        w0 = window_offsets[rows[a]]
        row_windows = mixed[w0 : window_offsets[rows[a] + 1]]
        pair_windows, pair_starts = _row_pair_windows(row_windows, slot_hashes[posts[a:b]])
        for p in range(a, b):
            own = slot_hashes[posts[p]]
            every = post_specific[posts[p]] < min_specific
            first_hit, last_hit = pair_starts[p - a], pair_starts[p - a + 1]
            if len(positions) < last_hit - first_hit:
                positions = np.empty(last_hit - first_hit, dtype=np.int64)
                found_keys = np.empty(last_hit - first_hit, dtype=np.uint32)
            present[:] = False
            found = 0
            for i in range(first_hit, last_hit):
                w = pair_windows[i]
                key = row_windows[w]
                at = np.searchsorted(own, key)  # the first slot of the hash: the post's slots are sorted
                present[at] = True
                if every or (specific_bits[posts[p], at >> 3] >> (7 - (at & 7))) & 1:
                    positions[found] = w
                    found_keys[found] = key
                    found += 1
            reach = max(lengths[posts[p]], window)
            lone = _lone_windows(positions[:found], found_keys[:found], reach)
            covers[p] = _best_cover(positions[:found][lone], lengths[posts[p]], window)
            run_present = False
            for j in range(num_perm):
                first = j == 0 or own[j] != own[j - 1]
                if first:
                    run_present = present[j]
                if run_present:
                    specific = (specific_bits[posts[p], j >> 3] >> (7 - (j & 7))) & 1  # np.packbits order
                    matched[p] += 1
                    distinct[p] += first
                    if specific:
                        matched_specific[p] += 1
                        specific_distinct[p] += first
        a = b
    return matched, matched_specific, distinct, specific_distinct, covers


@njit(cache=True, nogil=True)
def _lone_windows(
    positions: npt.NDArray[np.int64], keys: npt.NDArray[np.uint32], reach: int
) -> npt.NDArray[np.bool_]:  # pragma: no cover - compiled
    """containment.lone_windows_reference: sorted by (hash, position), a window is not lone when the next
    or the previous one has its hash and lies less than `reach` away."""
    lone = np.ones(len(positions), dtype=np.bool_)
    order = np.argsort(keys.astype(np.int64) * (1 << 32) + positions, kind="mergesort")
    for k in range(1, len(order)):
        i, j = order[k - 1], order[k]
        if keys[i] == keys[j] and positions[j] - positions[i] < reach:
            lone[i] = False
            lone[j] = False
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
    windows: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    post_hashes: npt.NDArray[np.uint32],
    post_lengths: npt.NDArray[np.int64],
    size: int,
    margin: int,
    max_chars: int,
    byte_starts: npt.NDArray[np.int64],
    byte_ends: npt.NDArray[np.int64],
    mark_offsets: npt.NDArray[np.int64],
) -> npt.NDArray[np.int32]:  # pragma: no cover - compiled
    """Every matched (row, post) pair's excerpt, as excerpts.excerpt_reference defines it: the bytes of
    the excerpt in `data` (byte_starts, byte_ends) and its marks, flat [start, end) code point pairs
    relative to the excerpt, pair p's at mark_offsets[p] .. mark_offsets[p + 1] (returned)."""
    marks = np.empty(64, dtype=np.int32)
    count = 0
    mark_offsets[0] = 0
    cp_byte = np.empty(1, dtype=np.int64)  # byte offset of each code point in the row
    kept = np.empty(1, dtype=np.int64)  # code point index of each normalized character
    ncp, nk = 0, 0
    pair_windows = np.empty(1, dtype=np.int64)  # the matched windows of the row's pairs, pair by pair
    pair_starts = np.zeros(2, dtype=np.int64)
    run_start, run_end = 0, 0  # the pairs of the row decoded last: one decode and one pass per row
    for p in range(len(rows)):
        row = rows[p]
        b0, b1 = offsets[row], offsets[row + 1]
        if p >= run_end:
            run_start, run_end = p, _run_end(rows, p)
            if len(cp_byte) < b1 - b0 + 1:  # grown, not made anew a row: large fresh arrays cost page faults
                cp_byte = np.empty(2 * (b1 - b0 + 1), dtype=np.int64)
                kept = np.empty(2 * (b1 - b0 + 1), dtype=np.int64)
            i, ncp, nk = b0, 0, 0
            while i < b1:
                c = _codepoint(data, i)
                cp_byte[ncp] = i - b0
                if c < len(fold) and fold[c] != 0:
                    kept[nk] = ncp
                    nk += 1
                ncp += 1
                i += _width(data[i])
            cp_byte[ncp] = b1 - b0
            pair_windows, pair_starts = _row_pair_windows(
                windows[window_offsets[row] : window_offsets[row + 1]], post_hashes[run_start:run_end]
            )
        matched = pair_windows[pair_starts[p - run_start] : pair_starts[p - run_start + 1]]
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
def gather_bytes(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """The byte ranges [starts[i], ends[i]) of `data` back to back, with their offsets."""
    offsets = np.empty(len(starts) + 1, dtype=np.int64)
    offsets[0] = 0
    for i in range(len(starts)):
        offsets[i + 1] = offsets[i] + ends[i] - starts[i]
    out = np.empty(offsets[-1], dtype=np.uint8)
    for i in range(len(starts)):
        out[offsets[i] : offsets[i + 1]] = data[starts[i] : ends[i]]
    return out, offsets


@njit(cache=True, nogil=True)
def covered_lengths(
    windows: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    post_hashes: npt.NDArray[np.uint32],
    size: int,
    covered: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """covered[row]: characters of each matched row covered by a window whose hash is a slot hash of any
    post matched in that row (pairs sorted by row; post_hashes[i] are pair i's), as
    kernels.coverage.covered_lengths_reference defines it."""
    start = 0
    while start < len(rows):
        end = _run_end(rows, start)
        row = rows[start]
        table, used, mask = _key_table(post_hashes[start:end].ravel())
        w0, w1 = window_offsets[row], window_offsets[row + 1]
        total, reach = 0, 0
        for w in range(w1 - w0):
            h = windows[w0 + w]
            if used[_slot(table, used, h, mask)]:
                total += w + size - max(w, reach)
                reach = w + size
        covered[row] = total
        start = end
