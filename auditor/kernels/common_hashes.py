"""What a scan learns of its corpus to probe less: the prefix hashes its text holds often.

A corpus holds some prefix hashes often (a phrase of its text that a few posts happen to hold): each
occurrence is a hit, and nearly all of them are for posts the row does not carry. A scan learns them
from its first windows (`CommonHashes`) and the probe then skips them (`ContainmentIndex.skip_common`):
a skipped light entry's slots come off both of its post's requirements, and a skipped heavy hash counts
as present in every row. A pair the count filter passed still passes (the row's skipped hashes took off
no more than the requirements lost, a heavy one counted present adds at least what the row held), and
its post, keeping a light requirement of one slot or more, still has a light hit to be counted at all.
So the learned skip loses nothing, like the prefix and count filters it lowers (containment), and
what a scan learns changes its work, never its matches.

The skip itself (`ContainmentIndex.skip_common`, compiled_index.skippable) reads the index's entries and
requirements, so it lives with the index; here are what a scanner keeps (`CommonHashes`) and what the
probe and the count filter read (`ProbeSkip`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from auditor.kernels import compiled_probe
from auditor.kernels.codepoints import Offsets
from auditor.kernels.shingle_hash import Hashes

if TYPE_CHECKING:
    from auditor.kernels.containment import ContainmentIndex

Indices = npt.NDArray[np.int64]
Keys = npt.NDArray[np.uint64]

# Prefix hashes that a corpus holds often (a phrase frequent in its text, rare among the posts) make a
# hit at every occurrence, nearly all of them for posts the row does not carry. A scanner counts the hits
# of each hash over its first COMMON_LEARN_WINDOWS windows (hits, not occurrences: a hash in two posts'
# prefixes makes two hits an occurrence, the work a skip saves); a hash with COMMON_HITS or more is
# common in the corpus, and the probe skips it where that loses nothing (`CommonHashes`, `ContainmentIndex.
# skip_common`): each post with a light entry of it keeps at least COMMON_KEEP_SHARE of both its
# requirements.
COMMON_LEARN_WINDOWS = 1 << 20
COMMON_HITS = 2
COMMON_KEEP_SHARE = 0.5


@dataclass(frozen=True)
class ProbeSkip:
    """Prefix hashes the probe skips, and the count filter's requirements less their slots
    (`ContainmentIndex.skip_common`): per post, required prefix slots << 16 | those less its heavy
    entries, as `ContainmentIndex._count_needs`, and the least second half over all posts.

    A skip serves one scanner at a time: the count filter marks `heavy_present` as it goes through a row
    and puts it back after it (as it did the scratch array it used before a skip was learned)."""

    hashes: Hashes  # sorted, distinct, none equal to compiled_probe.SKIP_FREE
    needs: npt.NDArray[np.int32]
    # A row's post with fewer light hits than this passes neither its light nor its whole requirement
    # (none is above the whole): the count filter turns it away without reading `needs`.
    least_light: int
    table: npt.NDArray[np.uint32] = field(repr=False)  # the hashes as compiled_probe.skip_table
    # Per heavy id, 1 when its hash is skipped: the count filter counts it present in every row.
    heavy_present: npt.NDArray[np.uint8] = field(repr=False)

    def __post_init__(self) -> None:
        if self.needs.dtype != np.int32 or self.heavy_present.dtype != np.uint8:
            raise ValueError("a probe skip's needs are int32 and its heavy flags uint8")
        if len(self.hashes) and (np.any(np.diff(self.hashes.astype(np.int64)) <= 0) or self.hashes[-1] == 0xFFFFFFFF):
            raise ValueError("a probe skip's hashes are sorted, distinct, and none is the skip table's free mark")

    @classmethod
    def of(cls, hashes: Hashes, needs: npt.NDArray[np.int32], heavy_skipped: Indices, heavy_count: int) -> ProbeSkip:
        """`hashes` (none equal to compiled_probe.SKIP_FREE), with `needs` lowered for them and the heavy ids
        `heavy_skipped` (of `heavy_count`) counted present."""
        hashes = np.unique(np.asarray(hashes, dtype=np.uint32))
        least = int((needs & 0xFFFF).min()) if len(needs) else 0
        present = np.zeros(heavy_count, dtype=np.uint8)
        present[np.asarray(heavy_skipped, dtype=np.int64)] = 1
        return cls(hashes, needs, least, compiled_probe.skip_table(hashes), present)


class CommonHashes:
    """What a scanner learns of its corpus: the hits of the prefix hashes over its first
    COMMON_LEARN_WINDOWS windows, then, once, the hashes to skip from there on (`skip`).

    Skipping them loses no pair that the count filter would pass (`ContainmentIndex.skip_common`), so what
    is learned, and from which batches, changes the work and never a result: a scan's matches do not
    depend on the order of its batches or on how they are shared among workers.
    """

    def __init__(self) -> None:
        self.skip: ProbeSkip | None = None
        self._windows = 0
        self._hashes: list[Hashes] = []  # of the hits counted so far

    def counted_rows(self, window_offsets: Offsets) -> int:
        """How many leading rows of a batch to count (its first at the least) while learning: those whose
        windows keep the count within COMMON_LEARN_WINDOWS."""
        rows = len(window_offsets) - 1
        within = int(np.searchsorted(window_offsets, COMMON_LEARN_WINDOWS - self._windows, side="right")) - 1
        return min(rows, max(within, 1))

    def observe(self, index: ContainmentIndex, hit_keys: Keys, windows: int, *, last: bool) -> None:
        """Count the hits (keys as `ContainmentIndex.probe` gives them) of rows of `windows` windows; learn
        once COMMON_LEARN_WINDOWS are counted, or when this is the `last` of them."""
        entries = index.prefix_entries[(hit_keys >> np.uint64(32)).astype(np.int64)]
        self._hashes.append((entries >> np.uint64(32)).astype(np.uint32))
        self._windows += windows
        if self._windows >= COMMON_LEARN_WINDOWS or last:
            hashes, hits = np.unique(np.concatenate(self._hashes), return_counts=True)
            often = hits >= COMMON_HITS
            order = np.lexsort((hashes[often], -hits[often]))  # the most hits first; ties by hash
            self.skip = index.skip_common(hashes[often][order])
            self._hashes = []
