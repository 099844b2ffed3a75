"""Compiled (numba) passes of normalization over Arrow UTF-8 buffers.

Unicode normalization (NFKC, NFKD) was the costliest step of preparing corpus text, and most corpus text
needs none: a string of *inert* code points (see `normalize.inert_table`) is its own NFKC and NFKD, and a
string may be cut before any inert code point and normalized piece by piece. `islands` finds the few
stretches that are not inert from the positions of the non-ASCII bytes, Arrow normalizes those alone,
and `splice` puts them back. `replace_entities` is the HTML-entity regex of normalization, visiting
only the "&" bytes.
`normalize.prenormalize_reference` defines the result; tests hold the fast path equal to it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from auditor.kernels.compiled import _codepoint, _width

# The entities normalize._HTML_ENTITIES replaces, without their "&" and ";": amp lt gt quot apos nbsp #39 #x27.
_NAMES = (b"amp", b"lt", b"gt", b"quot", b"apos", b"nbsp", b"#39", b"#x27")
_NAME_BYTES = np.frombuffer(b"".join(_NAMES), dtype=np.uint8).copy()
_NAME_ENDS = np.cumsum([0] + [len(name) for name in _NAMES]).astype(np.int64)


@njit(cache=True, nogil=True)
def _entity_end(data: npt.NDArray[np.uint8], p: int, end: int) -> int:  # pragma: no cover - compiled
    """End of the entity starting with the "&" at p, or -1 (names tried in order, as the regex does)."""
    for n in range(len(_NAME_ENDS) - 1):
        lo = _NAME_ENDS[n]
        hi = _NAME_ENDS[n + 1]
        stop = p + 1 + hi - lo
        if stop >= end:
            continue
        same = True
        for i in range(hi - lo):
            if data[p + 1 + i] != _NAME_BYTES[lo + i]:
                same = False
                break
        if same and data[stop] == 59:  # ";"
            return int(stop + 1)
    return -1


@njit(cache=True, nogil=True)
def replace_entities(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    amps: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    """Replace every HTML entity of normalize._HTML_ENTITIES by one space (the regex's global replace:
    left to right, on from each match's end). `amps`: the positions of every "&" (numpy finds them
    faster than a byte loop); the text between entities is copied in runs. `out` must hold len(data)
    bytes; returns bytes written."""
    written = 0
    copied = 0  # data before this is written out or replaced
    row = 0
    out_offsets[0] = 0
    for i in range(len(amps)):
        p = amps[i]
        if p < copied:
            continue  # inside an entity already replaced
        while offsets[row + 1] <= p:
            row += 1
            out_offsets[row] = written + offsets[row] - copied
        stop = _entity_end(data, p, offsets[row + 1])
        if stop < 0:
            continue
        out[written : written + p - copied] = data[copied:p]
        written += p - copied
        out[written] = 32
        written += 1
        copied = stop
    rows = len(offsets) - 1
    while row < rows:
        row += 1
        out_offsets[row] = written + offsets[row] - copied
    out[written : written + len(data) - copied] = data[copied:]
    return written + len(data) - copied


@njit(cache=True, nogil=True)
def _islands(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    inert: npt.NDArray[np.bool_],
    high: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    """Counts the ranges of `islands`, and writes those `starts` and `ends` have room for. Visits only the
    bytes at `high` (every byte of 0x80 or more, in order): ASCII is inert."""
    room = len(starts)
    count = 0
    row = 0
    i = 0
    while i < len(high):
        p = high[i]
        while offsets[row + 1] <= p:
            row += 1
        c, width = _codepoint(data, p), _width(data[p])
        if inert[c]:
            i += width  # a code point's bytes are all high, side by side in `high`
            continue
        start = p
        if p > offsets[row]:  # the code point before, which may compose with this one
            start = p - 1
            while (data[start] & 0xC0) == 0x80:
                start -= 1
        end = offsets[row + 1]
        q = p + width
        while q < end and data[q] >= 0x80:
            c, width = _codepoint(data, q), _width(data[q])
            if inert[c]:
                break
            q += width
        if count < room:
            starts[count] = start
            ends[count] = q
        count += 1
        while i < len(high) and high[i] < q:
            i += 1
    return count


@njit(cache=True, nogil=True)
def islands(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    inert: npt.NDArray[np.bool_],
    high: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """Byte ranges [start, end) of the stretches normalization may change, in order: each maximal run of
    code points that are not inert, with the code point before it in its string (which may compose
    with the run's first). Inert code points (combining class 0, never composed onto another) are where
    a string may be cut and normalized piece by piece, so normalizing the ranges alone and keeping the
    rest gives the string's normalization. `high`: the positions of the bytes of 0x80 or more (numpy
    finds them faster than a byte loop; most text has few). Written into arrays sized for the usual few
    ranges, and found again only when they overflow (arrays grown inside the loop made it slower)."""
    capacity = max(1024, len(high) >> 4)
    starts = np.empty(capacity, dtype=np.int64)
    ends = np.empty(capacity, dtype=np.int64)
    count = _islands(data, offsets, inert, high, starts, ends)
    if count > capacity:
        starts = np.empty(count, dtype=np.int64)
        ends = np.empty(count, dtype=np.int64)
        _islands(data, offsets, inert, high, starts, ends)
    return starts[:count], ends[:count]


@njit(cache=True, nogil=True)
def splice(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    pieces: npt.NDArray[np.uint8],
    piece_offsets: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """The strings with byte range i (sorted, each inside one string) replaced by piece i; new offsets."""
    removed = 0
    for i in range(len(starts)):
        removed += ends[i] - starts[i]
    out = np.empty(len(data) - removed + len(pieces), dtype=np.uint8)
    out_offsets = np.empty(len(offsets), dtype=np.int64)
    written = 0
    i = 0
    for s in range(len(offsets) - 1):
        out_offsets[s] = written
        p = offsets[s]
        end = offsets[s + 1]
        while i < len(starts) and starts[i] < end:
            out[written : written + starts[i] - p] = data[p : starts[i]]
            written += starts[i] - p
            size = piece_offsets[i + 1] - piece_offsets[i]
            out[written : written + size] = pieces[piece_offsets[i] : piece_offsets[i + 1]]
            written += size
            p = ends[i]
            i += 1
        out[written : written + end - p] = data[p:end]
        written += end - p
    out_offsets[len(offsets) - 1] = written
    return out, out_offsets
