"""How much of a matched row its posts cover: the characters of the row inside a window it shares with a
post matched in it (the `y` of the share of corpus text from posts). Pure. The scan finds these with the
excerpts, from the same windows (excerpts.excerpts with `covered`); this is their definition."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def covered_lengths_reference(
    windows: npt.NDArray[np.uint32],
    window_offsets: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    post_hashes: npt.NDArray[np.uint32],
    size: int,
) -> npt.NDArray[np.int64]:
    """The definition: a character counts when some window of the row holding it has the hash of a slot
    of a post matched in that row."""
    covered = np.zeros(len(window_offsets) - 1, dtype=np.int64)
    for row in np.unique(rows):
        row_windows = windows[window_offsets[row] : window_offsets[row + 1]]
        matched = np.flatnonzero(np.isin(row_windows, post_hashes[rows == row].ravel()))
        characters = np.zeros(len(row_windows) + size, dtype=np.bool_)
        for window in matched:
            characters[window : window + size] = True
        covered[row] = int(characters.sum())
    return covered
