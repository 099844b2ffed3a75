"""The corpus scan kernel: one batch of corpus texts in, verified (row, post) matches out. Pure; no I/O.

This is the unit a distributed engine runs per Arrow record batch (Spark's mapInArrow, a process pool):
it holds the read-only index built once from a fingerprint set. The one thing it carries from batch to
batch is which prefix hashes the corpus holds often (CommonHashes), to skip work that finds nothing: a
batch's matches are the same whatever came before it.
"""

from __future__ import annotations

import hashlib
from dataclasses import InitVar, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from auditor.defaults import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from auditor.errors import ParameterMismatchError
from auditor.excerpts import EXCERPT_TYPE, excerpts
from auditor.fingerprint import ShingledTexts, shingle_prenormalized, shingle_texts
from auditor.fingerprint_set import FingerprintSet
from auditor.kernels.codepoints import utf8_view
from auditor.kernels.common_hashes import CommonHashes
from auditor.kernels.containment import (
    CandidatePairs,
    ContainmentIndex,
    contains,
    distinct_group_keys,
    expand_ranges,
    group_keys,
    present_keys,
)
from auditor.kernels.normalize import fold_table, prenormalize, string_array
from auditor.kernels.scratch import Scratch
from auditor.kernels.shingle_hash import ShingleHasher
from auditor.kernels.sorting import unique_sorted
from auditor.keys import key_matches
from auditor.memory import release_freed_memory
from auditor.stats import TextShare


@dataclass(frozen=True)
class BatchMatches:
    """Verified matches of one batch; arrays are parallel, sorted by (row, post)."""

    rows: npt.NDArray[np.int64]  # row index within the batch
    posts: npt.NDArray[np.int64]  # index of the post among the set's usable posts
    matched_slots: npt.NDArray[np.int64]  # slots whose shingle is in the row, repeats counted
    containment: npt.NDArray[np.float64]  # estimated: share of the post's distinct slot hashes in the row
    specific_containment: npt.NDArray[np.float64]  # the same over its specific ones; NaN for generic posts
    row_shingles: npt.NDArray[np.int64]  # shingle windows of the row
    row_lengths: npt.NDArray[np.int64]  # normalized length of the row
    exact_containment: npt.NDArray[np.float64]  # NaN when the set has no texts
    excerpts: pa.Array = field(default_factory=lambda: pa.array([], type=EXCERPT_TYPE))  # around each match
    text_share: TextShare = field(default_factory=TextShare)  # characters of the rows shared with posts
    row_sha256: tuple[str, ...] = ()  # SHA-256 of each matched row's text (UTF-8), naming its content


@dataclass(frozen=True)
class PostShingles:
    """Distinct mixed shingle hashes of every usable post, for exact verification."""

    hashes: npt.NDArray[np.uint32]
    offsets: npt.NDArray[np.int64]

    @classmethod
    def of(cls, shingled: ShingledTexts) -> PostShingles:
        keys = distinct_group_keys(shingled.mixed, shingled.window_offsets)
        groups = np.arange(len(shingled.window_offsets), dtype=np.uint64)
        offsets = np.searchsorted(keys >> np.uint64(32), groups).astype(np.int64)
        return cls((keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets)


@dataclass(frozen=True)
class Prebuilt:
    """An index built earlier from the same set (a stored index, auditor.index_store): the scanner takes it
    as it is instead of building one. `stored_at` is the directory it was opened from, when it was."""

    index: ContainmentIndex
    post_shingles: PostShingles | None
    stored_at: Path | None = None


def build_index(fingerprints: FingerprintSet, threshold: float, hasher: ShingleHasher | None) -> Prebuilt:
    """Index a set's posts (sorting each post's slot hashes in place) and, when it keeps texts, their
    shingles, which need the set's `hasher` (its key)."""
    index = ContainmentIndex.build(
        fingerprints.slot_hashes,
        threshold,
        lengths=fingerprints.normalized_lengths,
        shingle_size=fingerprints.params.shingle_size,
        population=fingerprints.population,
    )
    texts = fingerprints.texts
    post_shingles = None
    if texts is not None:
        if hasher is None:
            raise ValueError("the shingles of a set's texts need its hasher")
        post_shingles = PostShingles.of(shingle_texts(texts, hasher))
    release_freed_memory()  # the build's work arrays
    return Prebuilt(index, post_shingles)


@dataclass(frozen=True)
class CorpusScanner:
    """Finds the posts of a fingerprint set inside batches of corpus texts.

    Builds the set's index, or takes a `prebuilt` one (opened memory-mapped from a stored index, so that
    every process scanning with it shares its pages).
    """

    fingerprints: FingerprintSet
    key: bytes = b""
    threshold: float = DEFAULT_THRESHOLD
    prebuilt: InitVar[Prebuilt | None] = None
    hasher: ShingleHasher = field(init=False, repr=False, compare=False)
    index: ContainmentIndex = field(init=False, repr=False, compare=False)
    post_shingles: PostShingles | None = field(init=False, repr=False, compare=False)
    stored_at: Path | None = field(init=False, repr=False, compare=False)  # the stored index's directory
    scratch: Scratch = field(init=False, repr=False, compare=False, default_factory=Scratch)
    # The prefix hashes this scanner's corpus holds often, learned from its first windows, which the probe
    # then skips; never a change in what it finds (CommonHashes).
    common: CommonHashes = field(init=False, repr=False, compare=False, default_factory=CommonHashes)

    def __post_init__(self, prebuilt: Prebuilt | None) -> None:
        params = self.fingerprints.params
        if not key_matches(self.key, params.key_id):
            raise ParameterMismatchError(
                f"{self.fingerprints.path} was built with another key than the one given; pass the "
                "--key-file it was built with."
            )
        hasher = ShingleHasher(params.shingle_size, self.key)
        object.__setattr__(self, "hasher", hasher)
        texts = self.fingerprints.texts
        if prebuilt is not None:
            index = prebuilt.index
            if index.threshold != self.threshold or index.slot_hashes is not self.fingerprints.slot_hashes:
                raise ValueError("a prebuilt index serves the threshold and the slot hashes it was built from")
            if (prebuilt.post_shingles is None) != (texts is None):
                raise ValueError("a prebuilt index of a set with texts holds their shingles, and only then")
            object.__setattr__(self, "index", prebuilt.index)
            object.__setattr__(self, "post_shingles", prebuilt.post_shingles)
            object.__setattr__(self, "stored_at", prebuilt.stored_at)
            return
        built = build_index(self.fingerprints, self.threshold, hasher)
        object.__setattr__(self, "index", built.index)
        object.__setattr__(self, "post_shingles", built.post_shingles)
        object.__setattr__(self, "stored_at", None)

    @property
    def hasher_key(self) -> tuple[int, str]:
        """Scanners with equal keys hash the corpus identically, so one shingling serves them all."""
        return (self.hasher.size, self.fingerprints.params.key_id)

    @property
    def min_slots(self) -> int:
        return self.index.min_slots

    def scan(self, texts: pa.Array) -> BatchMatches:
        """Verified matches in a batch of corpus texts."""
        prenormalized = prenormalize(texts)
        return self.match(texts, prenormalized, self.shingle(prenormalized))

    def shingle(self, prenormalized: pa.Array) -> ShingledTexts:
        """The corpus side's shingle hashes; any scanner with the same `hasher` may match on them. They live in
        this scanner's work space, overwritten by its next call."""
        return shingle_prenormalized(prenormalized, self.hasher, self.scratch)

    def match(self, texts: pa.Array, prenormalized: pa.Array, shingled: ShingledTexts) -> BatchMatches:
        """Verified matches of a batch already prenormalized and shingled with this scanner's hasher.

        Compiled passes hash every shingle, then probe the prefix index (kept apart, and the probe itself
        split in passes, so that the index look-ups sit side by side and their cache misses overlap);
        the few candidate pairs are then scored on all slots, each candidate row read once; the few
        accepted near the threshold take a second look, their cover counted in whole words.
        """
        index = self.index
        pairs = index.candidates(shingled.mixed, shingled.window_offsets, self.scratch, self.common)
        scores = index.score(pairs, shingled.mixed, shingled.window_offsets)
        keep = index.accepts(scores)
        look = np.flatnonzero(keep & index.near_threshold(scores))
        if len(look):
            pairs = CandidatePairs(scores.rows[look], scores.posts[look])
            keep[look] = index.whole_words(
                pairs, shingled.mixed, shingled.window_offsets, prenormalized, scores.windows_of(look)
            )
        kept = np.flatnonzero(keep)
        rows, posts = scores.rows[kept], scores.posts[kept]
        exact = np.full(len(rows), np.nan)
        if self.post_shingles is not None and len(rows):
            exact = self._exact_containment(rows, posts, shingled)
        covered = np.zeros(len(shingled.window_offsets) - 1, dtype=np.int64)
        found_excerpts = self._excerpts(prenormalized, shingled, rows, posts, covered, scores.windows_of(kept))
        return BatchMatches(
            rows=rows,
            posts=posts,
            matched_slots=scores.matched_slots[keep],
            containment=index.containment(scores)[keep],
            specific_containment=index.specific_containment(scores)[keep],
            row_shingles=np.diff(shingled.window_offsets)[rows],
            row_lengths=shingled.normalized_lengths[rows],
            exact_containment=exact,
            excerpts=found_excerpts,
            text_share=self._text_share(texts, shingled, covered),
            row_sha256=_row_digests(texts, rows),
        )

    def _text_share(self, texts: pa.Array, shingled: ShingledTexts, covered: npt.NDArray[np.int64]) -> TextShare:
        """Sums over the batch's rows with text of x = normalized length and y = characters covered by a
        window shared with a post matched in that row (`covered`, one per row)."""
        lengths = shingled.normalized_lengths[np.asarray(pc.is_valid(texts).to_numpy(zero_copy_only=False))]
        x, y = lengths.astype(np.int64), covered
        return TextShare(
            rows=len(x),
            text=int(x.sum()),
            covered=int(y.sum()),
            text_squared=int((x * x).sum()),
            covered_squared=int((y * y).sum()),
            cross=int((shingled.normalized_lengths * y).sum()),
        )

    def _excerpts(
        self,
        prenormalized: pa.Array,
        shingled: ShingledTexts,
        rows: npt.NDArray[np.int64],
        posts: npt.NDArray[np.int64],
        covered: npt.NDArray[np.int64],
        pair_windows: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    ) -> pa.Array:
        """The matches' excerpts, and into `covered` each matched row's characters inside its posts' windows;
        `pair_windows` as scoring found them."""
        return excerpts(
            prenormalized,
            shingled.mixed,
            shingled.window_offsets,
            rows,
            self.fingerprints.slot_hashes[posts],
            self.fingerprints.normalized_lengths[posts].astype(np.int64),
            fold_table(),
            self.hasher.size,
            covered,
            pair_windows,
        )

    def _exact_containment(
        self, rows: npt.NDArray[np.int64], posts: npt.NDArray[np.int64], shingled: ShingledTexts
    ) -> npt.NDArray[np.float64]:
        assert self.post_shingles is not None  # checked by the caller
        starts = self.post_shingles.offsets[posts]
        sizes = self.post_shingles.offsets[posts + 1] - starts
        pair_of = np.repeat(np.arange(len(rows)), sizes)
        wanted = group_keys(rows[pair_of], self.post_shingles.hashes[expand_ranges(starts, sizes)])
        present = present_keys(unique_sorted(wanted), rows, shingled.mixed, shingled.window_offsets)
        found = np.bincount(pair_of, weights=contains(present, wanted), minlength=len(rows))
        result: npt.NDArray[np.float64] = found / np.maximum(sizes, 1)
        return result


def _row_digests(texts: pa.Array, rows: npt.NDArray[np.int64]) -> tuple[str, ...]:
    """SHA-256 of the UTF-8 text of each of `rows` (a null's is the empty text's), hashed from Arrow's buffer:
    a page's text made a Python string and encoded back costs more than hashing it."""
    if len(rows) == 0:
        return ()
    data, offsets = utf8_view(string_array(texts))
    text, ends = data.data, offsets.tolist()
    digests = {row: hashlib.sha256(text[ends[row] : ends[row + 1]]).hexdigest() for row in unique_sorted(rows).tolist()}
    return tuple(digests[row] for row in rows.tolist())


def row_digests_reference(texts: pa.Array, rows: npt.NDArray[np.int64]) -> tuple[str, ...]:
    """_row_digests one Python string at a time: its definition."""
    return tuple(hashlib.sha256((texts[int(row)].as_py() or "").encode("utf-8")).hexdigest() for row in rows)
