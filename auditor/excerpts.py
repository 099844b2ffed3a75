"""Excerpts of corpus rows around a match, with the shared text marked, for side-by-side evidence. Pure.

Works on the prenormalized text (links and mentions removed, accents split off, case kept), where every
normalized character has a known position: a window whose hash is one of the post's slot hashes marks
the characters it spans. `excerpt_reference` defines an excerpt; `excerpts` computes a batch's excerpts
in one compiled pass (a corpus that is the platform's own dump matches on every row, so per-match Python
would dominate the scan) and is tested equal to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from auditor.kernels import compiled, compiled_match, compiled_text
from auditor.kernels.codepoints import utf8_view

EXCERPT_MARGIN = 40  # characters of context on each side
EXCERPT_MAX = 1_000


@dataclass(frozen=True)
class Excerpt:
    text: str
    marks: tuple[tuple[int, int], ...]  # [start, end) spans of `text` shared with the post


def excerpt_reference(
    prenormalized: str,
    window_hashes: npt.NDArray[np.uint32],
    post_hashes: npt.NDArray[np.uint32],
    fold: npt.NDArray[np.uint32],
    size: int,
    post_length: int,
) -> Excerpt:
    """The part of a row around its densest run of windows shared with the post (the reference of
    `excerpts`)."""
    codepoints = np.frombuffer(prenormalized.encode("utf-32-le"), dtype=np.uint32)
    kept = np.flatnonzero(fold[codepoints] != 0)  # position of each normalized character
    # A small hash table of the post's hashes: np.isin would sort the whole (maybe 60,000-window) row.
    matched = np.flatnonzero(compiled.members(window_hashes, post_hashes))
    if len(matched) == 0 or len(kept) < size:
        return Excerpt(prenormalized[:EXCERPT_MAX], ())
    # The run of matched windows around their median, within the post's length on either side: a chance
    # shingle far away in a long page does not stretch the excerpt.
    centre = int(matched[len(matched) // 2])
    near = matched[np.abs(matched - centre) <= max(post_length, size)]
    spans = [(int(kept[w]), int(kept[w + size - 1]) + 1) for w in near]
    start = max(0, spans[0][0] - EXCERPT_MARGIN)
    end = min(len(prenormalized), spans[-1][1] + EXCERPT_MARGIN, start + EXCERPT_MAX)
    merged: list[list[int]] = []
    for lo, hi in spans:
        lo, hi = max(lo, start) - start, min(hi, end) - start
        if lo >= hi:
            continue
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return Excerpt(prenormalized[start:end], tuple((lo, hi) for lo, hi in merged))


EXCERPT_TYPE = pa.struct([pa.field("text", pa.string()), pa.field("marks", pa.list_(pa.list_(pa.int32(), 2)))])


def excerpts(
    prenormalized: pa.Array,
    window_hashes: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    post_hashes: npt.NDArray[np.uint32],
    post_lengths: npt.NDArray[np.int64],
    fold: npt.NDArray[np.uint32],
    size: int,
    covered: npt.NDArray[np.int64] | None = None,
    pair_windows: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
) -> pa.Array:
    """The excerpts (EXCERPT_TYPE) of the matched pairs (rows[i], the post with slot hashes
    post_hashes[i] and normalized length post_lengths[i]) of one prenormalized batch.

    With `covered` (one per row of the batch, zeros), also the characters of each matched row inside a
    window it shares with a post matched in it (coverage.covered_lengths_reference), found from the
    same windows; the pairs must then be sorted by row. `pair_windows`: each pair's windows (whose hash
    is one of its post's) as scoring found them (`PairScores.windows_of`); found here when not given."""
    if pair_windows is None:
        pair_windows = compiled_match.windows_of_pairs(
            window_hashes, window_offsets, rows.astype(np.int64), np.ascontiguousarray(post_hashes, dtype=np.uint32)
        )
    if covered is None:
        covered = np.zeros(len(window_offsets) - 1, dtype=np.int64)
    elif len(rows) > 1 and bool(np.any(np.diff(rows) < 0)):
        raise ValueError("covered lengths need the pairs sorted by row")
    data, offsets = utf8_view(prenormalized)
    count = len(rows)
    byte_starts, byte_ends = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
    mark_offsets = np.empty(count + 1, dtype=np.int64)
    marks = compiled_match.excerpt_spans(
        data,
        offsets,
        fold,
        rows.astype(np.int64),
        *pair_windows,
        post_lengths.astype(np.int64),
        size,
        EXCERPT_MARGIN,
        EXCERPT_MAX,
        byte_starts,
        byte_ends,
        mark_offsets,
        covered,
    )
    text_bytes, text_offsets = compiled_text.gather_bytes(data, byte_starts, byte_ends)
    texts = pa.LargeStringArray.from_buffers(count, pa.py_buffer(text_offsets), pa.py_buffer(text_bytes))
    spans = pa.FixedSizeListArray.from_arrays(pa.array(marks, type=pa.int32()), 2)
    marked = pa.ListArray.from_arrays(pa.array(mark_offsets.astype(np.int32)), spans)
    return pa.StructArray.from_arrays([texts.cast(pa.string()), marked], fields=list(EXCERPT_TYPE))
