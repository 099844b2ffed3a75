"""Excerpts of corpus rows around a match, with the shared text marked, for side-by-side evidence. Pure.

Works on the prenormalized text (links and mentions removed, accents split off, case kept), where every
normalized character has a known position: a window whose hash is one of the post's slot hashes marks
the characters it spans. Only matched rows come here, so plain Python per match is cheap enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from auditor.kernels import compiled

EXCERPT_MARGIN = 40  # characters of context on each side
EXCERPT_MAX = 1_000


@dataclass(frozen=True)
class Excerpt:
    text: str
    marks: tuple[tuple[int, int], ...]  # [start, end) spans of `text` shared with the post


def excerpt(
    prenormalized: str,
    window_hashes: npt.NDArray[np.uint32],
    post_hashes: npt.NDArray[np.uint32],
    fold: npt.NDArray[np.uint32],
    size: int,
    post_length: int,
) -> Excerpt:
    """The part of a row around its densest run of windows shared with the post."""
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


def excerpts_array(items: list[Excerpt]) -> pa.Array:
    return pa.array(
        [{"text": item.text, "marks": [list(span) for span in item.marks]} for item in items], type=EXCERPT_TYPE
    )
