"""Compiled kernels of text: shingle hashes of normalized UTF-8, the removal pass of links and mentions,
distinct counts of hashes per text, byte gathering, the hosts of URLs.

Each function here has a numpy reference elsewhere in kernels/ that defines its result; tests hold the
two equal on random and Unicode edge-case inputs. numba caches the machine code beside this file, so
only the first run on a machine pays the compile time (a few seconds).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from auditor.defaults import DEFAULT_SHINGLE_SIZE as DEFAULT_SIZE
from auditor.kernels.compiled import _MASK32, _codepoint, _fmix32, _width


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

    Two passes, each shaped for the processor (much faster than one fused loop): the first keeps code
    points without a branch, a dropped one being overwritten by the next (mispredicted drops cost more
    than decoding); the second hashes windows in loops the compiler vectorizes, a window's sum in a
    register at the default size (`_hash_default_windows`), a coefficient at a time over a tile of
    windows at the others (`_hash_windows`).
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
    if size == DEFAULT_SIZE:
        return _hash_default_windows(codepoints, lengths, coefficients, hashes, window_offsets)
    return _hash_windows(codepoints, lengths, coefficients, size, hashes, window_offsets, tile)


@njit(cache=True, nogil=True)
def _hash_windows(
    codepoints: npt.NDArray[np.uint32],
    lengths: npt.NDArray[np.int64],
    coefficients: npt.NDArray[np.uint64],
    size: int,
    hashes: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    tile: npt.NDArray[np.uint64],
) -> int:  # pragma: no cover - compiled
    """shingle_utf8's second pass for any size: a coefficient at a time over a tile of windows."""
    written = 0
    first = 0
    for s in range(len(lengths)):
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
    window_offsets[len(lengths)] = written
    return written


@njit(cache=True, nogil=True)
def _hash_default_windows(
    codepoints: npt.NDArray[np.uint32],
    lengths: npt.NDArray[np.int64],
    coefficients: npt.NDArray[np.uint64],
    hashes: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    """shingle_utf8's second pass for the default size, a constant here: LLVM then unrolls the window's
    multiply-adds and keeps its sum in a register, vectorized over windows (the tile loop keeps the sums
    in memory between coefficients)."""
    written = 0
    first = 0
    for s in range(len(lengths)):
        window_offsets[s] = written
        windows = lengths[s] - DEFAULT_SIZE + 1
        if windows > 0:
            string = codepoints[first : first + lengths[s]]
            out = hashes[written : written + windows]
            for w in range(windows):
                acc = coefficients[0]
                for j in range(DEFAULT_SIZE):
                    acc += coefficients[j + 1] * np.uint64(string[w + j])
                out[w] = _fmix32(acc >> np.uint64(32))
            written += windows
        first += lengths[s]
    window_offsets[len(lengths)] = written
    return written


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


# The removal pass of normalize._REMOVALS, compiled. RE2's \s is [\t\n\f\r ] and its \b is ASCII-only;
# (?i) folds only ASCII here, the other case variants of these letters (long s, Kelvin sign) being gone
# after NFKC. `_word` asks the fold table: its non-zero entries are [\p{L}\p{N}].
_SPACE = np.array([c in (9, 10, 12, 13, 32) for c in range(256)], dtype=np.bool_)
_RT, _HTTP, _HTTP_LINK, _HTTPS_LINK, _WWW, _URL_ANGLE, _URL_SQUARE, _LINK_SQUARE = (
    np.frombuffer(pattern, dtype=np.uint8)
    for pattern in (b"rt", b"http", b"http://", b"https://", b"www.", b"<url>", b"[url]", b"[link]")
)
# For each pair of bytes (this one << 8 | the next): "@", "<", "[", "ht" or "ww" in either case; the
# definition of _may_start, which the removal pass uses (tested equal).
_MAY_START = np.zeros(1 << 16, dtype=np.bool_)
for _byte in b"@<[":
    _MAY_START[_byte << 8 : (_byte + 1) << 8] = True
for _pair in (b"ht", b"hT", b"Ht", b"HT", b"ww", b"wW", b"Ww", b"WW"):
    _MAY_START[(_pair[0] << 8) | _pair[1]] = True
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


@njit(cache=True, nogil=True, inline="always")
def _may_start(b0: np.uint8, b1: np.uint8) -> bool:  # pragma: no cover - compiled
    """_MAY_START[b0 << 8 | b1] in comparisons, which the compiler turns into vector instructions."""
    l0, l1 = b0 | 0x20, b1 | 0x20
    return bool((b0 == 64) | (b0 == 60) | (b0 == 91) | ((l0 == 104) & (l1 == 116)) | ((l0 == 119) & (l1 == 119)))


@njit(cache=True, nogil=True)
def _start_blocks(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:  # pragma: no cover - compiled
    """For each 32-byte block of `data`, whether one of its bytes may start a match (_may_start with the
    byte after it, across string ends: a superset). Computed block by block without a branch, which the
    compiler turns into vector instructions; most blocks hold none, and the scan passes them over whole
    (a test of each byte's pair in turn cost most of the removal pass)."""
    n = len(data)
    flags = np.zeros((n >> 5) + 1, dtype=np.uint8)
    full = max(n - 1, 0) >> 5  # the blocks whose every byte has a byte after it
    for block in range(full):
        found = False
        for i in range(block << 5, (block << 5) + 32):
            found |= _may_start(data[i], data[i + 1])
        flags[block] = found
    for i in range(full << 5, n):
        flags[i >> 5] |= _may_start(data[i], data[i + 1] if i + 1 < n else np.uint8(0))
    return flags


@njit(cache=True, nogil=True, inline="always")
def _next_may_start(
    data: npt.NDArray[np.uint8], blocks: npt.NDArray[np.uint8], q: int, end: int
) -> int:  # pragma: no cover - compiled
    """The first byte from q before `end` that _MAY_START holds with the byte after it (0 past the end), or
    `end`; `blocks` from _start_blocks."""
    while q < end:
        block = q >> 5
        if blocks[block] == 0:
            q = (block + 1) << 5
            continue
        stop = min((block + 1) << 5, end)
        while q < stop:
            if _may_start(data[q], data[q + 1] if q + 1 < end else np.uint8(0)):
                return q
            q += 1
    return end


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
    blocks = _start_blocks(data)
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
            else:
                q = _next_may_start(data, blocks, q, end)
                if q == end:
                    break
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


# claims.HOST_PATTERN's classes, byte by byte (UTF-8 bytes of 0x80 and more are all host characters):
# [a-z] starts a scheme, [a-z0-9+.-] goes on with it, and a host is a run of anything but /:?# and RE2's \s.
_SCHEME_START = np.array([ord("a") <= c <= ord("z") for c in range(256)], dtype=np.bool_)
_SCHEME = np.array([chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789+.-" for c in range(256)], dtype=np.bool_)
_NOT_HOST = np.array([chr(c) in "/:?#\t\n\f\r " for c in range(256)], dtype=np.bool_)


@njit(cache=True, nogil=True, inline="always")
def _host_end(data: npt.NDArray[np.uint8], p: int, end: int) -> int:  # pragma: no cover - compiled
    while p < end and not _NOT_HOST[data[p]]:
        p += 1
    return p


@njit(cache=True, nogil=True, inline="always")
def _host_after(data: npt.NDArray[np.uint8], p: int, end: int) -> tuple[int, int]:  # pragma: no cover
    r"""(?:www\.)?(?P<host>...+) from p: "www." taken when a host follows it, else the host from p; (-1, -1)
    when no host character is at p."""
    if (
        p + 4 <= end
        and data[p] == 119  # w
        and data[p + 1] == 119
        and data[p + 2] == 119
        and data[p + 3] == 46  # .
    ):
        q = _host_end(data, p + 4, end)
        if q > p + 4:
            return p + 4, q
    q = _host_end(data, p, end)
    if q > p:
        return p, q
    return -1, -1


@njit(cache=True, nogil=True)
def url_hosts(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """The byte range [start, end) of claims.HOST_PATTERN's `host` group in each of the (lowercased) strings,
    -1 and -1 where the pattern does not match: as RE2 matches it, a scheme and "www." are taken only when
    the rest of the pattern still matches after them."""
    rows = len(offsets) - 1
    starts = np.full(rows, -1, dtype=np.int64)
    ends = np.full(rows, -1, dtype=np.int64)
    for row in range(rows):
        begin, end = offsets[row], offsets[row + 1]
        if begin == end:
            continue
        if _SCHEME_START[data[begin]]:
            p = begin + 1
            while p < end and _SCHEME[data[p]]:
                p += 1
            if p + 3 <= end and data[p] == 58 and data[p + 1] == 47 and data[p + 2] == 47:  # "://"
                start, stop = _host_after(data, p + 3, end)
                if start >= 0:
                    starts[row], ends[row] = start, stop
                    continue
        starts[row], ends[row] = _host_after(data, begin, end)
    return starts, ends
