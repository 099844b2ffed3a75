"""Containment of posts in corpus rows, estimated from the posts' own MinHash slots.

Each slot of a post's signature inverts to the hash of the shingle that won it (minhash.py), a uniform
sample with replacement of the post's shingles. The distinct hashes among the slots are then a uniform
sample WITHOUT replacement of the post's distinct shingles (given how many there are, every subset of
that size is as likely), so the share of them that occurs in a corpus row estimates |P ∩ D| / |P|, the
containment of post P in row D, with the finite-population correction: a post of 40 distinct shingles
has nearly all of them among its 128 slots and its estimate is nearly exact, where the share of slots
(repeats weighted) would keep the binomial spread of 128 draws. Whole rows, long pages and scraped
timelines are one case. The corpus side needs only each shingle's mixed hash, no permutations.

A match is decided by the characters of the post that windows of its slot hashes cover in one
post-long stretch of the row (more than half; `best_cover_reference`, counted in whole words near the
threshold, `trimmed_cover_reference`), with a floor of FLOOR_SHARE of the post's counted distinct slot
hashes and at least MIN_EVIDENCE_SHINGLES of them (all of them when the post has fewer): a short post
is found only when a stretch of its text long enough to be specific is.

A post written from a template (bot posts, greetings with a name filled in) shares most shingles with
its siblings in the set; a row carrying a sibling must not count as carrying it. So slots whose shingle
occurs in the slots of many posts of the set are "common": the cover and the floor count only the
post's specific (non-common) slot hashes, and a match also needs the share of those found to keep up
with the share of all found. A post with almost no specific slots is generic; all its slots count, and
reports flag such posts apart.

Candidates come from prefix filtering (Bayardo et al., WWW 2007) with a count filter (as in PPJoin): a
post of k counted distinct slot hashes that needs R of them in the row can afford at most k - R misses,
so of any prefix of C of them the row must hold at least C - (k - R). The rarest
k - R + 1 + PREFIX_EXTRA_SLOTS are indexed, so one chance hit of a common shingle no longer makes
a candidate, and common shingles are in no prefix. Every candidate is then scored on all slots. Neither
filter can lose a pair the rule accepts (`accepts` needs R matched counted hashes; the other conditions
only remove pairs).

In a set of millions of posts many prefix hashes are shared by several posts (a phrase frequent in text,
though in fewer posts than common ones): a row holding one would hit every post sharing it. Up to half of
a post's required prefix hashes are held apart when shared (`split_heavy`); the probe then finds one
marker per such hash in a row, and the count filter counts a post's held-apart hashes only when the
row's other hits leave it short by no more than those. A pair reaching its requirement always has other
hits, so the split loses nothing either.

A corpus holds some prefix hashes often; a scan learns them and the probe then skips them where that
loses nothing (common_hashes: what a scan learns changes its work, never its matches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from auditor.kernels import common_hashes, compiled, compiled_index, compiled_match, compiled_probe
from auditor.kernels.codepoints import Offsets, utf8_view
from auditor.kernels.common_hashes import CommonHashes, ProbeSkip
from auditor.kernels.normalize import fold_table, joiner_table, joins_words
from auditor.kernels.scratch import Scratch
from auditor.kernels.shingle_hash import Hashes
from auditor.kernels.sorting import first_of_runs, unique_sorted

Indices = npt.NDArray[np.int64]
Keys = npt.NDArray[np.uint64]

# Posts indexed at once: the build keeps about a dozen (posts x num_perm) work arrays, about 200 MB.
_BUILD_BLOCK = 1 << 14

# Candidate pairs scored at once: bounds the (pairs x num_perm) look-up matrix to about 64 MiB.
_VERIFY_CHUNK = 1 << 16


# A filter of this size or more no longer fits in a core's cache: the probe then visits a batch's windows
# partitioned by hash (compiled_probe), each partition's slice of the filter this size at the most unless
# that takes more than 2**MAX_PARTITION_BITS partitions: past that, scattering a batch's windows to more
# places costs more than smaller slices save, and the filters of the largest sets take larger slices.
PARTITIONED_FILTER_BYTES = 8 << 20
PARTITION_SLICE_BYTES = 128 << 10
MAX_PARTITION_BITS = 10

# The partitioned probe first tests a filter folded to 1 / 2**COARSE_FOLD of the size (`coarse_filter`).
COARSE_FOLD = 3

# Distinct hashes the prefix holds beyond the least that prefix filtering needs; a row must then hold
# this many + 1 of them.
PREFIX_EXTRA_SLOTS = 16

# A prefix hash shared by this many posts' prefixes or more is "heavy": text that holds it (a phrase frequent in
# text though rarer than common in the set) would make one hit per post. Up to HEAVY_SHARE of a post's
# required prefix hashes may be held apart as heavy (`split_heavy`): the probe then finds one marker per
# heavy hash, and the count filter tests a post's heavy hashes only when its other hits leave it short.
HEAVY_GROUP = 4
HEAVY_SHARE = 0.5

# Matched distinct slot hashes a match needs at the least (all of a post's when it has fewer).
MIN_EVIDENCE_SHINGLES = 5

# Fewer specific slots than this and a post is generic: nothing tells it from its siblings.
MIN_SPECIFIC_SLOTS = 8

# A match needs a stretch of the row as long as the post to have more than this share of the post's
# normalized characters covered by windows of the post's slot hashes: a copy truncated to more than half
# passes, a row holding at most half of a post does not.
COVER_SHARE = 0.5

# A row holding half of a post may go on, by chance, with a letter or two of the post's next word (a half
# ending "find" followed by "re..." of another word, where the post goes on "readline"). A copy carries
# whole words (it starts with a word, is cut after one, a changed word is replaced whole), so a stretch's
# cover that reaches at most this many letters into a word at either end does not count those letters
# (`trimmed_cover_reference`). A chance run of whole words ("for" followed by "using the") is not told
# apart: the row then does hold more than half of the post, word for word.
PARTIAL_WORD_CHARS = 2

# Covered characters a match needs at the least (all of a post's when it is shorter): the span of 5
# overlapping 12-character shingles.
MIN_EVIDENCE_CHARS = 16

# The most a match needs of a post's counted distinct slot hashes, whatever it covers: a floor that lets
# prefix filtering stay selective. Below it, each post's floor is the share of its shingles a copy keeps
# whose cover is half of the post in two runs (one word changed): a run of c characters holds
# c - (size - 1) shingles, so (length / 2 - 2 (size - 1)) / (length - size + 1), none for a post under
# 4 (size - 1) characters (`floor_shares`). A changed word removes its length + 11 shingles, most of a
# 30-character post's; the cover, not the floor, decides.
FLOOR_SHARE = 0.5

# The least floor: under it, chance 12-character pieces spread over a post-long stretch of a row (a stock
# phrase, an identifier the post repeats) cover more than half of a short post.
MIN_FLOOR_SHARE = 0.25

# A copy finds the post's specific (not common) slot hashes in about the share it finds all of them; a
# row carrying a sibling of a templated post finds mostly the common ones. A match needs the share of
# specific hashes found to reach this ratio of the share of all found (tenths).
SPECIFIC_RATIO = 0.8

# The shingle size the lengths of `ContainmentIndex.build` are counted for, when not given.
DEFAULT_SHINGLE_SIZE = 12


def default_common_posts(posts: int) -> int:
    """A shingle in the slots of this many posts is common: 5, or 1 in 10,000 posts in large sets."""
    return max(5, math.ceil(posts * 1e-4))


def filter_mask(hashes: Hashes) -> npt.NDArray[np.uint64]:
    """The two bits a hash sets in its filter word, from its low 12 bits (the word comes from the top)."""
    low = hashes.astype(np.uint64)
    return (np.uint64(1) << (low & np.uint64(63))) | (np.uint64(1) << ((low >> np.uint64(6)) & np.uint64(63)))


def blocked_filter(entries: Keys) -> tuple[npt.NDArray[np.uint64], int]:
    """A blocked Bloom filter of the hashes in the top 32 bits of `entries`: a hash's top bits pick a
    64-bit word, two of its low bits must be set there.

    One memory access per look-up, like a plain bitmap, but at 16 bits per hash about 1 in 100 absent
    hashes passes instead of 1 in 16, and each pass costs a search of the prefix index (measured: the
    searches, not the filter, dominated the probe).
    """
    bits = int(np.clip(math.ceil(math.log2(max(len(entries), 1) * 16)), 12, 32))
    shift = 32 - (bits - 6)
    words = np.zeros(1 << (bits - 6), dtype=np.uint64)
    for start in range(0, len(entries), 1 << 22):  # in chunks: the masks are 8 bytes a hash
        chunk = (entries[start : start + (1 << 22)] >> np.uint64(32)).astype(np.uint32)
        np.bitwise_or.at(words, (chunk >> np.uint32(shift)).astype(np.int64), filter_mask(chunk))
    return words, shift


def coarse_filter(filter_words: npt.NDArray[np.uint64], fold: int) -> npt.NDArray[np.uint64]:
    """The blocked Bloom filter folded by OR: word w holds filter words w << fold .. ((w + 1) << fold) - 1,
    so it holds every bit a member hash sets (no false negatives) in 1 / 2**fold of the memory."""
    folded: npt.NDArray[np.uint64] = np.bitwise_or.reduce(np.asarray(filter_words).reshape(-1, 1 << fold), axis=1)
    return folded  # a filter has at least 64 words (blocked_filter), a power of two


def radix_table(entries: Keys) -> tuple[npt.NDArray[np.uint32], int]:
    """Where each run of entries sharing their hash's top bits starts (and, last, the end): about two
    entries a bucket (four in the largest sets), so a look-up that passed the filter costs two memory
    accesses instead of a binary search (measured: the searches' dependent cache misses dominated the
    probe)."""
    if len(entries) >= 1 << 32:  # hits carry an entry's index in 32 bits
        raise ValueError(f"an index holds under 2**32 prefix entries, got {len(entries)}; split the fingerprint set")
    bits = int(np.clip(math.ceil(math.log2(max(len(entries), 1) / 2)), 8, 27))
    radix = np.empty((1 << bits) + 1, dtype=np.uint32)
    compiled_index.bucket_starts(entries, 64 - bits, radix)  # one pass, no temporaries the size of the table
    return radix, 32 - bits


def min_slots_for(threshold: float, num_perm: int) -> int:
    """Slots that must match for an estimated containment of at least `threshold`."""
    return max(1, math.ceil(threshold * num_perm - 1e-9))


def floor_shares(lengths: npt.NDArray[np.integer[Any]], size: int) -> npt.NDArray[np.float64]:
    """The share of its shingles a copy keeps whose cover is half of a post of `lengths` normalized
    characters in two runs, at most FLOOR_SHARE (see FLOOR_SHARE)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    shares: npt.NDArray[np.float64] = np.clip(
        (lengths / 2 - 2 * (size - 1)) / np.maximum(lengths - size + 1, 1), MIN_FLOOR_SHARE, FLOOR_SHARE
    )
    return shares


def required_distinct(
    threshold: float, distinct: npt.NDArray[np.int64], shares: npt.NDArray[np.float64] | float = FLOOR_SHARE
) -> npt.NDArray[np.int64]:
    """Matched distinct slot hashes a post with `distinct` (counted) of them needs: its floor share of
    them (`floor_shares`; the threshold's share, if lower), and at least MIN_EVIDENCE_SHINGLES (all when
    it has fewer)."""
    share = np.ceil(np.minimum(shares, threshold) * distinct - 1e-9).astype(np.int64)
    needed: npt.NDArray[np.int64] = np.maximum(np.maximum(share, np.minimum(MIN_EVIDENCE_SHINGLES, distinct)), 1)
    return needed


@dataclass(frozen=True)
class CandidatePairs:
    """(row, post) pairs of one batch that share at least one indexed shingle, sorted and unique."""

    rows: Indices
    posts: Indices


@dataclass(frozen=True)
class PairScores:
    """Scores of candidate pairs: matching slots and matching specific slots (repeats counted), and the
    same over the post's distinct slot hashes; and the post's characters covered in the row
    (`best_cover_reference` of its `lone_windows_reference`; 0 for a pair under the post's `required`
    distinct hashes). And the windows of each pair that reaches that floor: the row's windows whose hash
    is a slot hash of the post, in order (pair p's at windows[window_starts[p]:window_starts[p + 1]];
    none for a pair under it), which the matches' excerpts and the whole-words look reuse."""

    rows: Indices
    posts: Indices
    matched_slots: npt.NDArray[np.int64]
    matched_specific_slots: npt.NDArray[np.int64]
    matched_distinct: npt.NDArray[np.int64]
    matched_specific_distinct: npt.NDArray[np.int64]
    covered: npt.NDArray[np.int64]
    windows: Indices
    window_starts: Indices

    def windows_of(self, pairs: Indices) -> tuple[Indices, Indices]:
        """The windows of the pairs at `pairs` (indices into these scores), with their starts, as above."""
        starts, ends = self.window_starts[pairs], self.window_starts[pairs + 1]
        counts = ends - starts
        out_starts = np.zeros(len(pairs) + 1, dtype=np.int64)
        np.cumsum(counts, out=out_starts[1:])
        at = np.arange(out_starts[-1], dtype=np.int64) + np.repeat(starts - out_starts[:-1], counts)
        return self.windows[at], out_starts


def best_cover_reference(positions: Indices, length: int, size: int) -> int:
    """The definition of a pair's cover: the most characters that windows of the row whose hash is a slot
    hash of the post (at `positions`, sorted) cover, taking only windows lying inside one stretch of the
    row as long as the post (`length` normalized characters, at least one window).

    A copy keeps its windows where its text is intact: a prefix covers its own characters, a changed word
    loses its own and those of its neighbours no window outside it reaches; a row holding half of a
    post covers at most half. Slots sample a long post's shingles, but every character lies in `size`
    windows, so a few unsampled ones leave no gap.
    """
    reach = max(length, size)
    best = 0
    for start in positions:
        inside = positions[(positions >= start) & (positions + size <= start + reach)]
        characters = np.zeros(reach, dtype=np.bool_)
        for position in inside:
            characters[position - start : position - start + size] = True
        best = max(best, int(characters.sum()))
    return best


def lone_windows_reference(positions: Indices, keys: Hashes, reach: int) -> npt.NDArray[np.bool_]:
    """The windows (at `positions`, with hashes `keys`) that count in a cover: those with no other window
    of the same hash less than `reach` characters away. A copy holds each piece of the post where the post
    does; a row that repeats a piece within a post's length ("metadata metadata metadata" against a post
    ending "metadata #Metadata", a phrase quoted twice in one paragraph) would cover it twice. A post that
    itself repeats a piece loses those windows in a copy too, but their characters lie in other windows.
    """
    lone = np.ones(len(positions), dtype=np.bool_)
    for i in range(len(positions)):
        same = (keys == keys[i]) & (np.abs(positions - positions[i]) < reach)
        lone[i] = int(same.sum()) == 1
    return lone


def _stretch_trimmed(characters: npt.NDArray[np.bool_], start: int, word_start: npt.NDArray[np.bool_]) -> int:
    """Covered characters of one stretch (`characters`, from row character `start`) once a partial word of
    at most PARTIAL_WORD_CHARS letters at either end of its cover is left out."""
    covered = np.flatnonzero(characters) + start
    first, last = int(covered[0]), int(covered[-1])
    head = first
    while head <= last and not word_start[head]:
        head += 1
    if head - first <= PARTIAL_WORD_CHARS:
        first = head
    tail = last
    while tail >= first and not word_start[tail + 1]:
        tail -= 1
    if last - tail <= PARTIAL_WORD_CHARS:
        last = tail
    return int(((covered >= first) & (covered <= last)).sum())


def trimmed_cover_reference(positions: Indices, length: int, size: int, word_start: npt.NDArray[np.bool_]) -> int:
    """`best_cover_reference` counted in whole words: the most characters such windows cover in one
    post-long stretch, each stretch's cover leaving out a partial word of at most PARTIAL_WORD_CHARS
    letters at either end. `word_start[i]` tells whether a word of the row starts at its normalized
    character i (one entry per character and one past the end, which is True).

    Never more than the best cover, and never less by more than 2 x PARTIAL_WORD_CHARS: a pair whose
    cover passes with that much to spare needs no second look.
    """
    reach = max(length, size)
    best = 0
    for start in positions.tolist():
        inside = positions[(positions >= start) & (positions + size <= start + reach)]
        characters = np.zeros(reach, dtype=np.bool_)
        for position in inside.tolist():
            characters[position - start : position - start + size] = True
        best = max(best, _stretch_trimmed(characters, start, word_start))
    return best


def word_starts(prenormalized: str, fold: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Where words start among the normalized characters of a prenormalized row: at character i when a
    separator (white space, punctuation, a symbol: a code point dropped by normalization that is not a
    combining mark or an apostrophe) lies between characters i - 1 and i; always at 0 and one past the
    end. "example's" and "café" are one word each; "Re-enable" is two."""
    codepoints = np.frombuffer(prenormalized.encode("utf-32-le"), dtype=np.uint32)
    kept = fold[codepoints] != 0
    separator = ~kept
    for value in np.unique(codepoints[separator]).tolist():
        if joins_words(chr(value)):
            separator[codepoints == value] = False
    before = np.concatenate([[0], np.cumsum(separator)])  # separators before each code point
    at = np.flatnonzero(kept)
    starts = np.ones(len(at) + 1, dtype=np.bool_)
    starts[1 : len(at)] = before[at[1:]] > before[at[:-1] + 1]
    return starts


def _run_starts(ordered: Hashes) -> npt.NDArray[np.bool_]:
    """Where a run of equal values starts in each row of a row-sorted 2-D array."""
    starts = np.ones(ordered.shape, dtype=np.bool_)
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=starts[:, 1:])
    return starts


def entry_layout(posts: int) -> int:
    """Bits of a prefix entry's slot count: a uint64 entry is hash (32 bits), post, slots (these bits).

    Posts get at least 24 bits; the slot count gets what is left (8 bits below 2^24 posts) and is capped
    to fit, which keeps the count filter exact (ContainmentIndex.build).
    """
    if posts > 1 << 31:
        raise ValueError(f"an index holds at most 2**31 posts, got {posts}; split the fingerprint set")
    return 32 - max(24, (max(posts, 1) - 1).bit_length())


def select_heavy_reference(
    entries: Keys, least: int, slot_bits: int, budget: Indices
) -> tuple[Indices, npt.NDArray[np.uint32], Indices]:
    """The numpy reference of compiled_index.select_heavy, flattened: the chosen entry indices, post by post
    (the most shared first, then entry order), how many entries share each, and each one's post."""
    hashes = entries >> np.uint64(32)
    starts = np.flatnonzero(first_of_runs(hashes))
    sizes = np.diff(np.append(starts, len(entries)))
    shared = np.repeat(sizes.astype(np.uint32), sizes)  # per entry, how many entries share its hash
    chosen = np.flatnonzero(shared >= least)
    sharing = shared[chosen]
    owners = ((entries[chosen] & np.uint64(0xFFFFFFFF)) >> np.uint64(slot_bits)).astype(np.int64)
    order = np.lexsort((chosen, -sharing.astype(np.int64), owners))
    chosen, owners, sharing = chosen[order], owners[order], sharing[order]
    rank = np.arange(len(chosen)) - np.searchsorted(owners, owners, side="left")
    take = rank < budget[owners]
    return chosen[take], sharing[take], owners[take]


@dataclass(frozen=True)
class HeavySplit:
    """Prefix entries with the heavy ones held apart (`split_heavy`).

    `entries` are the light entries and one marker per heavy hash (hash << 32 | heavy id << slot_bits, a
    slot count of 0, which no entry has), sorted; `hashes` is the hash of each heavy id (ascending); post
    p's heavy entries are the ids `ids[offsets[p] : offsets[p + 1]]`, each counting one slot.
    """

    entries: Keys
    hashes: Hashes
    offsets: Indices
    ids: npt.NDArray[np.uint32]


def split_heavy(
    entries: Keys, required_prefix_slots: npt.NDArray[np.int16], slot_bits: int, heavy_group: int = HEAVY_GROUP
) -> HeavySplit:
    """Hold apart, per post, the prefix entries whose hash `heavy_group` or more entries share, the most
    shared first, while their count stays at most `required_prefix_slots - ceil(HEAVY_SHARE x it)`.

    Lossless: a (row, post) pair reaching its requirement holds at least ceil(HEAVY_SHARE x it) >= 1 of the
    post's light entries, so the count filter meets every post that can pass among the light hits, and adds
    its heavy entries whose markers the row's hits hold only when the light ones leave it short. A row
    holding a heavy hash then costs one hit instead of one per post, and most posts touched only through
    heavy hashes are never counted. Ties are broken by entry order, so the split is deterministic. Heavy
    ids share an entry's post field: beyond its room, only the most shared hashes are held apart.
    """
    posts = len(required_prefix_slots)
    required = required_prefix_slots.astype(np.int64)
    budget = np.maximum(required - np.ceil(required * HEAVY_SHARE - 1e-9).astype(np.int64), 0)
    width = int(budget.max()) if posts else 0
    picked, shared, counts = compiled_index.select_heavy(entries, heavy_group, slot_bits, budget, width)
    taken = np.arange(picked.shape[1])[None, :] < counts[:, None]
    chosen, sharing = picked[taken], shared[taken]
    del picked, shared, taken
    heavy_of = (entries[chosen] >> np.uint64(32)).astype(np.uint32)
    heavy_hashes, first_of, inverse = np.unique(heavy_of, return_index=True, return_inverse=True)
    ids = inverse.astype(np.uint32)
    del inverse
    room = 1 << (32 - slot_bits)  # heavy ids share the post field of an entry
    if len(heavy_hashes) > room:  # the most shared hashes stay heavy, the others light
        most = np.sort(heavy_hashes[np.lexsort((heavy_hashes, np.uint32(0xFFFFFFFF) - sharing[first_of]))[:room]])
        stays = contains(most.astype(np.uint64), heavy_of.astype(np.uint64))
        counts = np.bincount(np.repeat(np.arange(posts), counts)[stays], minlength=posts)
        chosen, heavy_of, heavy_hashes = chosen[stays], heavy_of[stays], most
        ids = np.searchsorted(heavy_hashes, heavy_of).astype(np.uint32)
    offsets = np.zeros(posts + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    light = np.ones(len(entries), dtype=np.bool_)
    light[chosen] = False
    del chosen
    # In place, a chunk at a time: the light entries to the front, then the markers (no more of them than
    # heavy entries, each heavy hash having one at the least), so no second copy of the entries is made.
    kept = 0
    for start in range(0, len(entries), 1 << 22):
        piece = entries[start : start + (1 << 22)][light[start : start + (1 << 22)]]
        entries[kept : kept + len(piece)] = piece
        kept += len(piece)
    del light
    entries[kept : kept + len(heavy_hashes)] = (heavy_hashes.astype(np.uint64) << np.uint64(32)) | (
        np.arange(len(heavy_hashes), dtype=np.uint64) << np.uint64(slot_bits)
    )
    split = entries[: kept + len(heavy_hashes)]
    split.sort(kind="stable")  # two sorted runs (light entries, markers): a merge
    return HeavySplit(split, heavy_hashes, offsets, ids)


def _concatenated(parts: list[Keys]) -> Keys:
    """The parts end to end, each freed once copied: the untouched pages of the result cost no memory,
    so the peak is the entries once plus one part instead of twice the entries."""
    out = np.empty(sum(len(part) for part in parts), dtype=np.uint64)
    filled = 0
    while parts:
        part = parts.pop(0)
        out[filled : filled + len(part)] = part
        filled += len(part)
    return out


def expand_ranges(starts: Indices, sizes: Indices) -> Indices:
    """starts[0] .. starts[0] + sizes[0] - 1, then the next range, and so on, as one index array."""
    return np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))


def window_groups(window_offsets: Offsets) -> Indices:
    """The group (row or post) of every window."""
    return np.repeat(np.arange(len(window_offsets) - 1), np.diff(window_offsets))


def group_keys(groups: Indices, hashes: Hashes) -> Keys:
    """One uint64 key per (group, hash): group in the high 32 bits, so keys sort by group."""
    return (groups.astype(np.uint64) << np.uint64(32)) | hashes.astype(np.uint64)


def distinct_group_keys(hashes: Hashes, window_offsets: Offsets) -> Keys:
    """Sorted distinct (group, hash) keys of grouped windows."""
    return unique_sorted(group_keys(window_groups(window_offsets), hashes))


def present_keys(wanted: Keys, rows: Indices, hashes: Hashes, window_offsets: Offsets) -> Keys:
    """The keys of `wanted` that occur among the windows of the batch: sorted, distinct.

    Only the windows of `rows` (the rows named in `wanted`) are looked at, and a presence filter on the
    hash bits drops most of them before the binary search.
    """
    if len(wanted) == 0:
        return wanted
    wanted_rows = unique_sorted(rows)
    starts = window_offsets[wanted_rows]
    sizes = window_offsets[wanted_rows + 1] - starts
    windows = expand_ranges(starts, sizes)
    groups = np.repeat(wanted_rows, sizes)
    candidate_hashes = hashes[windows]
    wanted_hashes = (wanted & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    bits = int(np.clip(math.ceil(math.log2(len(wanted) * 8)), 10, 28))
    maybe = np.zeros(1 << bits, dtype=np.bool_)
    maybe[wanted_hashes >> np.uint32(32 - bits)] = True
    take = maybe[candidate_hashes >> np.uint32(32 - bits)]
    keys = group_keys(groups[take], candidate_hashes[take])
    return unique_sorted(keys[contains(wanted, keys)])


@dataclass(frozen=True)
class ContainmentIndex:
    """Prefix index over the winning-shingle hashes of a set of posts."""

    slot_hashes: Hashes  # (posts, num_perm): winning shingle hash of every slot
    specific_bits: npt.NDArray[np.uint8]  # (posts, num_perm / 8) packed: slot's shingle is not common in the set
    specific_slots: npt.NDArray[np.int16]  # per post
    distinct: npt.NDArray[np.int16]  # per post: distinct slot hashes
    specific_distinct: npt.NDArray[np.int16]  # per post: distinct specific slot hashes
    lengths: npt.NDArray[np.int32]  # per post: normalized characters
    shingle_size: int  # characters of a window, for the cover
    required: npt.NDArray[np.int16]  # per post: matched distinct slot hashes a match needs
    threshold: float
    min_slots: int  # slots at the threshold's share of num_perm; the rule counts distinct hashes (`required`)
    # Sorted uint64 entries, one per (post, distinct prefix hash): hash << 32 | post << slot_bits | slots of
    # the post that hash covers. Packed, the index is 8 bytes an entry and sorts in place.
    prefix_entries: Keys
    slot_bits: int
    required_prefix_slots: npt.NDArray[np.int16]  # per post: prefix slots a candidate row must hold
    filter_words: npt.NDArray[np.uint64]  # blocked Bloom filter of the prefix hashes (blocked_filter)
    filter_shift: int
    coarse_words: npt.NDArray[np.uint64]  # the filter folded COARSE_FOLD times (coarse_filter), for large sets
    # The entries of hash h lie in prefix_entries[radix[h >> radix_shift] : radix[(h >> radix_shift) + 1]].
    radix: npt.NDArray[np.uint32]
    radix_shift: int
    # Heavy prefix entries (split_heavy): prefix_entries holds one marker per heavy hash in their stead.
    heavy_hashes: Hashes  # per heavy id
    heavy_offsets: Indices  # per post and one more: post p's heavy ids are heavy_ids[offsets[p] : offsets[p + 1]]
    heavy_ids: npt.NDArray[np.uint32]

    @property
    def num_perm(self) -> int:
        return int(self.slot_hashes.shape[1])

    def whole_prefix(self) -> Keys:
        """Every prefix entry, the heavy ones included, sorted: what the prefix filter counts
        (`prefix_entries` holds one marker per heavy hash in place of its heavy entries)."""
        entries = self.prefix_entries
        light = entries[(entries & np.uint64((1 << self.slot_bits) - 1)) != 0]
        return np.sort(np.concatenate([light, self._heavy_entries()]))

    def _heavy_entries(self) -> Keys:
        """The held-apart prefix entries, as entries (hash << 32 | post << slot_bits | 1), sorted."""
        owners = np.repeat(np.arange(len(self.heavy_offsets) - 1, dtype=np.uint64), np.diff(self.heavy_offsets))
        hashes = self.heavy_hashes[self.heavy_ids].astype(np.uint64)
        heavy: Keys = np.sort((hashes << np.uint64(32)) | (owners << np.uint64(self.slot_bits)) | np.uint64(1))
        return heavy

    @property
    def prefix_hashes(self) -> Hashes:
        return (self.whole_prefix() >> np.uint64(32)).astype(np.uint32)

    @property
    def prefix_posts(self) -> Indices:
        return ((self.whole_prefix() & np.uint64(0xFFFFFFFF)) >> np.uint64(self.slot_bits)).astype(np.int64)

    @property
    def prefix_slots(self) -> Indices:
        return (self.whole_prefix() & np.uint64((1 << self.slot_bits) - 1)).astype(np.int64)

    @classmethod
    def build(
        cls,
        slot_hashes: Hashes,
        threshold: float,
        common_posts: int | None = None,
        *,
        lengths: npt.NDArray[np.integer[Any]] | None = None,
        shingle_size: int = DEFAULT_SHINGLE_SIZE,
        population: Hashes | None = None,
        heavy_group: int = HEAVY_GROUP,
    ) -> ContainmentIndex:
        """Index posts' slots; a shingle in the slots of `common_posts` or more posts is common.

        `lengths` are the posts' normalized characters (when not given, the least a post of its distinct
        slot hashes spans: distinct + shingle_size - 1). `population` is the slots of the whole set the
        posts were sampled from: commonness is counted there (and `common_posts` defaults from its size),
        so a sample finds the same templates as the whole set. Prefix hashes shared by `heavy_group` or
        more posts' prefixes are held apart (`split_heavy`).

        Sorts each post's slots in place (their order does not matter to containment) and works on
        blocks of posts, so memory beyond the slots and the entries stays bounded while millions of
        posts are indexed.

        Every entry counts 1 (one distinct hash), which any width of the slot field holds.
        """
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        posts, num_perm = slot_hashes.shape
        if population is not None and population.shape[1:] != slot_hashes.shape[1:]:
            raise ValueError(f"population slots {population.shape} do not match the posts' {slot_hashes.shape}")
        if common_posts is None:
            common_posts = default_common_posts(posts if population is None else len(population))
        min_slots = min_slots_for(threshold, num_perm)
        slot_bits = entry_layout(posts)
        slot_hashes.sort(axis=1)
        blocks = [slice(start, min(start + _BUILD_BLOCK, posts)) for start in range(0, posts, _BUILD_BLOCK)]
        counted = slot_hashes if population is None else population
        counted_blocks = [
            slice(start, min(start + _BUILD_BLOCK, len(counted))) for start in range(0, len(counted), _BUILD_BLOCK)
        ]

        def counted_block(block: slice) -> Hashes:  # sorted by row; the population is not sorted in place
            return slot_hashes[block] if population is None else np.sort(population[block], axis=1)

        # Rarity: in how many posts a hash occurs, counted in a table indexed by the hash's low bits. A
        # collision overstates a count by about distinct hashes / table size (under 3 for 10 million posts,
        # where shingles in 1,000 posts are common). Any order of the prefix is exact: the counts only
        # make it efficient and find the common shingles.
        distinct_total = sum(int(_run_starts(counted_block(block)).sum()) for block in counted_blocks)
        table_bits = int(np.clip(math.ceil(math.log2(max(distinct_total, 1) * 2)), 10, 28))
        counts = np.zeros(1 << table_bits, dtype=np.uint16)  # saturates; 1,000 is "common" at the most
        mask = np.uint32((1 << table_bits) - 1)
        for block in counted_blocks:
            ordered = counted_block(block)
            compiled_index.count_low_bits(ordered[_run_starts(ordered)], counts, mask)
        if lengths is None:  # the least a post of its distinct slot hashes spans
            spans = [_run_starts(slot_hashes[block]).sum(axis=1) for block in blocks]
            lengths = np.concatenate([np.zeros(0, dtype=np.int64), *spans]) + shingle_size - 1
        if lengths.shape != (posts,):
            raise ValueError(f"one length per post is needed, got {lengths.shape} for {posts} posts")
        specific_bits = np.empty((posts, (num_perm + 7) // 8), dtype=np.uint8)  # 1 bit a slot, not a byte
        specific_slots = np.empty(posts, dtype=np.int16)
        distinct = np.empty(posts, dtype=np.int16)
        specific_distinct = np.empty(posts, dtype=np.int16)
        required = np.empty(posts, dtype=np.int16)
        floor_distinct = np.empty(posts, dtype=np.int16)
        prefix_cover = np.zeros(posts, dtype=np.int16)
        parts: list[Keys] = []
        for block in blocks:
            ordered = slot_hashes[block]
            frequency = counts[ordered & mask]
            specific = frequency < common_posts
            specific_bits[block] = np.packbits(specific, axis=1)
            specific_slots[block] = specific.sum(axis=1)
            starts = _run_starts(ordered)
            block_distinct = starts.sum(axis=1)
            block_specific = (starts & specific).sum(axis=1)
            # The floor counts the specific distinct hashes (all of a generic post's): common ones are no
            # evidence, and left out of the prefix they cannot flood the probe with candidates.
            generic = block_specific < MIN_SPECIFIC_SLOTS
            counted = np.where(generic, block_distinct, block_specific)
            eligible = starts & (specific | generic[:, None])
            block_required = required_distinct(threshold, counted, floor_shares(lengths[block], shingle_size))
            distinct[block] = block_distinct
            specific_distinct[block] = block_specific
            floor_distinct[block] = counted
            required[block] = block_required
            # Each post's counted distinct hashes, rarest first (ties by hash value, for determinism); the
            # first k - R + 1 + PREFIX_EXTRA_SLOTS of them are its prefix.
            target = np.minimum(counted - block_required + 1 + PREFIX_EXTRA_SLOTS, counted)
            keys = np.where(eligible, (frequency.astype(np.uint64) << np.uint64(32)) | ordered, np.uint64(2**64 - 1))
            keys.sort(axis=1)
            keep = np.arange(num_perm)[None, :] < target[:, None]
            recorded = keep.astype(np.int64)  # each distinct hash counts once
            prefix_cover[block] = recorded.sum(axis=1)
            rows = np.repeat(np.arange(block.start, block.stop, dtype=np.uint64), keep.sum(axis=1))
            hashes = keys[keep] << np.uint64(32)  # drops the frequency
            parts.append(hashes | (rows << np.uint64(slot_bits)) | recorded[keep].astype(np.uint64))
        del counts
        prefix_entries = _concatenated(parts)
        prefix_entries.sort()  # in place: hash, then post
        required_prefix_slots = (prefix_cover - (floor_distinct - required)).astype(np.int16)
        heavy = split_heavy(prefix_entries, required_prefix_slots, slot_bits, heavy_group)
        filter_words, shift = blocked_filter(heavy.entries)
        radix, radix_shift = radix_table(heavy.entries)
        return cls(
            slot_hashes=slot_hashes,
            specific_bits=specific_bits,
            specific_slots=specific_slots,
            threshold=threshold,
            min_slots=min_slots,
            prefix_entries=heavy.entries,
            slot_bits=slot_bits,
            distinct=distinct,
            specific_distinct=specific_distinct,
            lengths=np.asarray(lengths, dtype=np.int32),
            shingle_size=shingle_size,
            required=required,
            required_prefix_slots=required_prefix_slots,
            filter_words=filter_words,
            filter_shift=shift,
            coarse_words=coarse_filter(filter_words, COARSE_FOLD),
            radix=radix,
            radix_shift=radix_shift,
            heavy_hashes=heavy.hashes,
            heavy_offsets=heavy.offsets,
            heavy_ids=heavy.ids,
        )

    def candidates(
        self,
        mixed: Hashes,
        window_offsets: Offsets,
        scratch: Scratch | None = None,
        common: CommonHashes | None = None,
    ) -> CandidatePairs:
        """(row, post) pairs whose hits on the post's prefix cover enough slots to reach the threshold. With
        `common`, the hashes it has learned are skipped (more pairs may pass, none is lost); while it
        learns, the hits of the batch's rows it counts are counted, and once it has learned, the rest of the
        batch is probed with the skip."""
        work = scratch or Scratch()
        if common is None or common.skip is not None:
            return self._count_filtered(mixed, window_offsets, work, common.skip if common else None)
        counted = common.counted_rows(window_offsets)
        rows = len(window_offsets) - 1
        if counted == rows:
            return self._count_filtered(mixed, window_offsets, work, None, common, last=False)
        cut = int(window_offsets[counted])  # the count ends in this batch: it learns there
        head = self._count_filtered(mixed[:cut], window_offsets[: counted + 1], work, None, common, last=True)
        tail = self._count_filtered(mixed[cut:], window_offsets[counted:] - cut, work, common.skip)
        return CandidatePairs(
            np.concatenate([head.rows, tail.rows + counted]), np.concatenate([head.posts, tail.posts])
        )

    def _count_filtered(
        self,
        mixed: Hashes,
        window_offsets: Offsets,
        work: Scratch,
        skip: ProbeSkip | None,
        learner: CommonHashes | None = None,
        *,
        last: bool = False,
    ) -> CandidatePairs:
        """The count filter of the probe's hits, with `skip`; their keys given to a `learner` to count
        (CommonHashes.observe; `last`: the last it counts)."""
        hit_rows, hit_keys = self.probe(mixed, window_offsets, work, skip=skip)
        if learner is not None:
            learner.observe(self, hit_keys, int(window_offsets[-1]), last=last)
        # Without a skip, the all-zero flags are the worker's own, the index staying read-only.
        present = (
            skip.heavy_present if skip is not None else work.zeroed("heavy_present", len(self.heavy_hashes), np.uint8)
        )
        skip = skip or self._no_skip
        rows, posts = compiled_probe.count_filter(
            hit_rows, hit_keys, self.slot_bits, skip.needs, self.heavy_offsets, self.heavy_ids, present,
            skip.least_light,
        )  # fmt: skip
        return CandidatePairs(rows, posts)

    def skip_common(self, hashes: Hashes) -> ProbeSkip:
        """The hashes of `hashes` (in order of precedence; the first of each, and never
        compiled_probe.SKIP_FREE, which a skip table cannot hold) the probe may skip, with the count
        filter's requirements less what they count (compiled_index.skippable; `skip_common_reference`
        defines it).

        A light entry's slots come off both of its post's requirements, and a hash is skipped only when
        every post with a light entry of it keeps at least common_hashes.COMMON_KEEP_SHARE of both (and
        one slot of each). A heavy hash's marker is skipped and its heavy id counted as present in every
        row: a post holding it still needs its whole light requirement, at least half of the whole
        (HEAVY_SHARE).
        A pair the count filter passes has its requirements in the row; the skipped light entries the row
        holds take off no more than they take off the requirements, and a heavy id counted present adds
        at least what the row held, so it passes the lowered ones; its post, keeping a light requirement,
        has a light hit left to be counted at all: nothing is lost.
        """
        hashes = np.asarray(hashes, dtype=np.uint32)
        hashes = hashes[np.sort(np.unique(hashes, return_index=True)[1])]  # the first of each
        hashes = np.ascontiguousarray(hashes[hashes != compiled_probe.SKIP_FREE])  # the table cannot hold it
        chosen, lowered, markers = compiled_index.skippable(
            self.prefix_entries, self.radix, self.radix_shift, self.slot_bits, hashes, self._count_needs,
            common_hashes.COMMON_KEEP_SHARE,
        )  # fmt: skip
        return ProbeSkip.of(hashes[chosen], lowered, markers, len(self.heavy_hashes))

    def skip_common_reference(self, hashes: Hashes) -> ProbeSkip:
        """The definition of `skip_common`: each hash in turn, taken when the rule allows, from the
        prefix entries sorted by hash."""
        needs = self._count_needs.copy()
        keep = common_hashes.COMMON_KEEP_SHARE
        whole = np.maximum(1, np.ceil((needs >> 16) * keep)).astype(np.int32)
        light = np.maximum(1, np.ceil((needs & 0xFFFF) * keep)).astype(np.int32)
        slot_mask = np.uint64((1 << self.slot_bits) - 1)
        entry_hashes = self.prefix_entries >> np.uint64(32)
        chosen, markers = [], []
        for value in dict.fromkeys(np.asarray(hashes, dtype=np.uint32).tolist()):  # the first of each
            if value == compiled_probe.SKIP_FREE:
                continue
            own = self.prefix_entries[entry_hashes == value] & np.uint64(0xFFFFFFFF)
            slots = (own & slot_mask).astype(np.int32)
            owners = (own >> np.uint64(self.slot_bits)).astype(np.int64)
            posts, slots = owners[slots > 0], slots[slots > 0]
            if (
                len(own)
                and ((needs[posts] >> 16) - slots >= whole[posts]).all()
                and ((needs[posts] & 0xFFFF) - slots >= light[posts]).all()
            ):
                needs[posts] -= (slots << 16) + slots
                markers.extend(owners[(own & slot_mask) == 0].tolist())
                chosen.append(value)
        return ProbeSkip.of(
            np.array(chosen, dtype=np.uint32), needs, np.array(markers, dtype=np.int64), len(self.heavy_hashes)
        )

    def probe(
        self,
        mixed: Hashes,
        window_offsets: Offsets,
        scratch: Scratch | None = None,
        *,
        part_bits: int | None = None,
        fold: int = COARSE_FOLD,
        skip: ProbeSkip | None = None,
    ) -> tuple[Indices, Keys]:
        """Every (row, prefix entry) whose hash a window of the row has, with repeats, grouped by row in row
        order: rows, and keys entry index << 32 | the entry's low 32 bits (post and slots); none of the
        hashes `skip` holds. Views of `scratch`'s buffers, valid until its next probe. The windows are
        partitioned by the top `part_bits` bits of their hash (by default as many as `partition_bits`
        asks) and the coarse filter folded `fold` times (compiled_probe)."""
        if len(window_offsets) == 0 or window_offsets[0] != 0:
            raise ValueError("window offsets start at 0, one more than the rows")
        work = scratch or Scratch()
        windows = int(window_offsets[-1])
        passing = work.buffer("passing", windows, np.uint64)
        part_bits = self.partition_bits() if part_bits is None else part_bits
        skipped = skip or self._no_skip
        if part_bits:
            coarse = self.coarse_words if fold == COARSE_FOLD else coarse_filter(self.filter_words, fold)
            passed = compiled_probe.partition_windows(
                mixed, window_offsets, self.filter_words, self.filter_shift, part_bits, coarse, fold, passing
            )
            if len(skipped.hashes):
                passed = compiled_probe.without_skipped(passing, passed, skipped.table)
        else:
            passed = compiled_probe.filter_windows(
                mixed, window_offsets, self.filter_words, self.filter_shift, skipped.table, passing
            )
        bounds = work.buffer("bounds", 2 * passed, np.uint32)
        capacity = compiled_probe.bucket_bounds(
            passing, passed, len(self.prefix_entries), self.radix, self.radix_shift, bounds
        )
        found_rows, found_keys = (
            work.buffer("found_rows", capacity, np.int64),
            work.buffer("found_keys", capacity, np.uint64),
        )
        hits = compiled_probe.passing_hits(passing, passed, self.prefix_entries, bounds, found_rows, found_keys)
        if not part_bits:
            return found_rows[:hits], found_keys[:hits]
        if 2 * hits <= len(passing):  # the windows are read: their buffer, in cache and faulted, takes the hits
            hit_keys, hit_rows = passing[:hits], passing[hits : 2 * hits].view(np.int64)
        else:
            hit_rows, hit_keys = work.buffer("hit_rows", hits, np.int64), work.buffer("hit_keys", hits, np.uint64)
        compiled_probe.rows_in_order(found_rows[:hits], found_keys[:hits], len(window_offsets) - 1, hit_rows, hit_keys)
        return hit_rows, hit_keys

    @cached_property
    def _count_needs(self) -> npt.NDArray[np.int32]:
        """Per post, for the count filter: required prefix slots << 16 | those less its heavy entries."""
        required = self.required_prefix_slots.astype(np.int32)
        light = required - np.diff(self.heavy_offsets).astype(np.int32)
        needs: npt.NDArray[np.int32] = (required << 16) | np.maximum(light, 0)
        return needs

    @cached_property
    def _no_skip(self) -> ProbeSkip:
        """The probe's skip before anything is learned: no hash, the index's own requirements (its heavy
        flags are none: the count filter takes a worker's own, `_count_filtered`)."""
        return ProbeSkip.of(np.zeros(0, dtype=np.uint32), self._count_needs, np.zeros(0, dtype=np.int64), 0)

    def partition_bits(self) -> int:
        """How many top bits of a hash partition the probe's windows: none while the filter fits in cache."""
        size = self.filter_words.nbytes
        if size < PARTITIONED_FILTER_BYTES:
            return 0
        return int(np.clip(math.ceil(math.log2(size / PARTITION_SLICE_BYTES)), 1, MAX_PARTITION_BITS))

    def candidates_reference(self, mixed: Hashes, window_offsets: Offsets) -> CandidatePairs:
        """The numpy reference of `candidates`: the count filter over the whole prefix, heavy entries
        included, so that it also tests the split."""
        whole = self.whole_prefix()
        prefix_hashes = (whole >> np.uint64(32)).astype(np.uint32)
        left = np.searchsorted(prefix_hashes, mixed, side="left")
        counts = np.searchsorted(prefix_hashes, mixed, side="right") - left
        rows = np.repeat(window_groups(window_offsets), counts)
        return self._pairs_reaching(rows, whole[expand_ranges(left, counts)])

    def candidates_from_hits(
        self, hit_rows: Indices, hit_entries: Indices, skip: ProbeSkip | None = None
    ) -> CandidatePairs:
        """Apply the count filter to (row, index into prefix_entries) hits, a heavy hash's marker standing for
        the heavy entries of that hash: the numpy reference of compiled_probe.count_filter (with `skip`'s
        lowered requirements and heavy ids counted present, on hits without its hashes)."""
        values = self.prefix_entries[hit_entries]
        marker = (values & np.uint64((1 << self.slot_bits) - 1)) == 0
        heavy = self._heavy_entries()  # a marker's hash is its heavy id's: it stands for the entries of that hash
        heavy_hashes, marked = heavy >> np.uint64(32), values[marker] >> np.uint64(32)
        low, high = (
            np.searchsorted(heavy_hashes, marked, side="left"),
            np.searchsorted(heavy_hashes, marked, side="right"),
        )
        rows = np.concatenate([hit_rows[~marker], np.repeat(hit_rows[marker], high - low)])
        required = self.required_prefix_slots
        if skip is not None:  # lowered, less the post's heavy ids counted present in every row
            owners = window_groups(self.heavy_offsets)  # the post of every heavy id
            present = np.bincount(owners, weights=skip.heavy_present[self.heavy_ids], minlength=len(required))
            required = (skip.needs >> 16) - present.astype(np.int64)
        entries = np.concatenate([values[~marker], heavy[expand_ranges(low, high - low)]])
        return self._pairs_reaching(rows, entries, required)

    def _pairs_reaching(self, rows: Indices, entries: Keys, required: npt.NDArray[Any] | None = None) -> CandidatePairs:
        """The (row, post) pairs whose distinct entries (of the whole prefix) a row holds sum to the post's
        required prefix slots (or `required`)."""
        # A row may hold a shingle many times: count each (row, entry) once.
        order = np.lexsort((entries, rows))
        rows, entries = rows[order], entries[order]
        once = first_of_runs(rows) | first_of_runs(entries)
        rows, entries = rows[once], entries[once]
        # Row in the high 32 bits, post << slot_bits | slots in the low: sorted, runs are (row, post) pairs.
        pair_keys = (rows.astype(np.uint64) << np.uint64(32)) | (entries & np.uint64(0xFFFFFFFF))
        pair_keys.sort()
        slots = (pair_keys & np.uint64((1 << self.slot_bits) - 1)).astype(np.int64)
        pair_keys >>= np.uint64(self.slot_bits)
        starts = np.flatnonzero(first_of_runs(pair_keys))
        pair_rows = (pair_keys[starts] >> np.uint64(32 - self.slot_bits)).astype(np.int64)
        posts = (pair_keys[starts] & np.uint64((1 << (32 - self.slot_bits)) - 1)).astype(np.int64)
        covered = np.add.reduceat(slots, starts) if len(starts) else slots[:0]
        enough = covered >= (self.required_prefix_slots if required is None else required)[posts]
        return CandidatePairs(pair_rows[enough], posts[enough])

    def score(self, pairs: CandidatePairs, mixed: Hashes, window_offsets: Offsets) -> PairScores:
        """Count, for each pair, the post's slots (and specific slots) whose shingle occurs in the row."""
        scores = compiled_match.score_pairs(
            mixed, window_offsets, pairs.rows, pairs.posts, self.slot_hashes, self.specific_bits, self.lengths,
            self.shingle_size, self.specific_distinct, MIN_SPECIFIC_SLOTS, self.required,
        )  # fmt: skip
        return PairScores(pairs.rows, pairs.posts, *scores)

    def score_reference(self, pairs: CandidatePairs, mixed: Hashes, window_offsets: Offsets) -> PairScores:
        """The numpy reference of `score`."""
        matched = np.zeros(len(pairs.rows), dtype=np.int64)
        matched_specific = np.zeros(len(pairs.rows), dtype=np.int64)
        distinct = np.zeros(len(pairs.rows), dtype=np.int64)
        specific_distinct = np.zeros(len(pairs.rows), dtype=np.int64)
        for lo in range(0, len(pairs.rows), _VERIFY_CHUNK):
            rows, posts = pairs.rows[lo : lo + _VERIFY_CHUNK], pairs.posts[lo : lo + _VERIFY_CHUNK]
            wanted = group_keys(rows[:, None], self.slot_hashes[posts])
            present = present_keys(unique_sorted(wanted.ravel()), rows, mixed, window_offsets)
            found = contains(present, wanted)
            matched[lo : lo + _VERIFY_CHUNK] = found.sum(axis=1)
            specific = np.unpackbits(self.specific_bits[posts], axis=1, count=self.num_perm).astype(np.bool_)
            matched_specific[lo : lo + _VERIFY_CHUNK] = (found & specific).sum(axis=1)
            first = _run_starts(self.slot_hashes[posts])  # slots are sorted per post: a run is one hash
            distinct[lo : lo + _VERIFY_CHUNK] = (found & first).sum(axis=1)
            specific_distinct[lo : lo + _VERIFY_CHUNK] = (found & first & specific).sum(axis=1)
        covered = np.zeros(len(pairs.rows), dtype=np.int64)
        pair_windows = [np.zeros(0, dtype=np.int64)] * len(pairs.rows)  # kept for the pairs that reach their floor
        for p, (row, post) in enumerate(zip(pairs.rows.tolist(), pairs.posts.tolist(), strict=True)):
            floor = specific_distinct[p] if self.specific_distinct[post] >= MIN_SPECIFIC_SLOTS else distinct[p]
            if floor < self.required[post]:
                continue  # under the floor: the rule rejects it, its cover is not computed
            windows = mixed[window_offsets[row] : window_offsets[row + 1]]
            pair_windows[p] = np.flatnonzero(np.isin(windows, self.slot_hashes[post]))
            own = self.slot_hashes[post]
            if self.specific_distinct[post] >= MIN_SPECIFIC_SLOTS:  # a generic post covers with all its slots
                own = own[np.unpackbits(self.specific_bits[post], count=self.num_perm).astype(np.bool_)]
            positions = np.flatnonzero(compiled.members(windows, np.ascontiguousarray(own)))  # no sort of the row
            length = int(self.lengths[post])
            positions = positions[lone_windows_reference(positions, windows[positions], max(length, self.shingle_size))]
            covered[p] = best_cover_reference(positions, length, self.shingle_size)
        starts = np.zeros(len(pair_windows) + 1, dtype=np.int64)
        np.cumsum([len(w) for w in pair_windows], out=starts[1:])
        flat = np.concatenate(pair_windows).astype(np.int64) if pair_windows else np.zeros(0, dtype=np.int64)
        return PairScores(
            pairs.rows, pairs.posts, matched, matched_specific, distinct, specific_distinct, covered, flat, starts
        )

    def containment(self, scores: PairScores) -> npt.NDArray[np.float64]:
        """Estimated containment: the share of the post's distinct slot hashes found in the row."""
        estimate: npt.NDArray[np.float64] = scores.matched_distinct / np.maximum(self.distinct[scores.posts], 1)
        return estimate

    def specific_containment(self, scores: PairScores) -> npt.NDArray[np.float64]:
        """The same over the post's specific distinct hashes; NaN for generic posts."""
        specific = self.specific_distinct[scores.posts]
        estimate: npt.NDArray[np.float64] = np.where(
            specific >= MIN_SPECIFIC_SLOTS, scores.matched_specific_distinct / np.maximum(specific, 1), np.nan
        )
        return estimate

    def cover(self, scores: PairScores) -> npt.NDArray[np.float64]:
        """The share of the post's normalized characters its best stretch of the row covers."""
        share: npt.NDArray[np.float64] = scores.covered / np.maximum(self.lengths[scores.posts], 1)
        return share

    def accepts(self, scores: PairScores) -> npt.NDArray[np.bool_]:
        """Pairs holding the post's required distinct hashes (`required_distinct`, the floor the filters
        keep), covering more than COVER_SHARE of the post's characters in one post-long stretch and at
        least MIN_EVIDENCE_CHARS of them (all of a shorter post's), whose specific distinct hashes, unless
        the post is generic, also reach the threshold. Those of them `near_threshold` still take the
        second look of `whole_words`."""
        specific = self.specific_distinct[scores.posts]
        generic = specific < MIN_SPECIFIC_SLOTS
        # Found specific share >= SPECIFIC_RATIO x found share, in integers: exact, no rounding at the edge.
        specific_ok = scores.matched_specific_distinct * self.distinct[scores.posts].astype(np.int64) * 10 >= (
            round(SPECIFIC_RATIO * 10) * scores.matched_distinct * specific.astype(np.int64)
        )
        floor = np.where(generic, scores.matched_distinct, scores.matched_specific_distinct)
        accepted: npt.NDArray[np.bool_] = (
            (floor >= self.required[scores.posts]) & self.covers(scores.posts, scores.covered) & (generic | specific_ok)
        )
        return accepted

    def covers(self, posts: Indices, covered: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Covers of more than COVER_SHARE of the post's characters and at least MIN_EVIDENCE_CHARS (all
        of a shorter post's)."""
        lengths = self.lengths[posts].astype(np.int64)
        enough: npt.NDArray[np.bool_] = (covered > COVER_SHARE * lengths) & (
            covered >= np.minimum(MIN_EVIDENCE_CHARS, lengths)
        )
        return enough

    def near_threshold(self, scores: PairScores) -> npt.NDArray[np.bool_]:
        """Pairs whose cover might fail once counted in whole words: it passes with less than
        2 x PARTIAL_WORD_CHARS to spare (`trimmed_cover_reference` takes at most that much off)."""
        close: npt.NDArray[np.bool_] = ~self.covers(scores.posts, scores.covered - 2 * PARTIAL_WORD_CHARS)
        return close

    def whole_words(
        self,
        pairs: CandidatePairs,
        mixed: Hashes,
        window_offsets: Offsets,
        prenormalized: pa.Array,
        pair_windows: tuple[Indices, Indices] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """The second look near the threshold: for each pair, whether its cover counted in whole words
        of the row (`trimmed_cover_reference`) still passes (`whole_word_covers_reference`, compiled). Only pairs
        `near_threshold` come here, a few of the matches (all of them where a corpus is the platform's
        own dump, hence compiled). `pair_windows`: each pair's windows whose hash is one of its post's,
        as scoring found them (`PairScores.windows_of`); found here when not given."""
        covered = self.whole_word_covers(pairs, mixed, window_offsets, prenormalized, pair_windows)
        return self.covers(pairs.posts, covered)

    def whole_word_covers(
        self,
        pairs: CandidatePairs,
        mixed: Hashes,
        window_offsets: Offsets,
        prenormalized: pa.Array,
        pair_windows: tuple[Indices, Indices] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Each pair's cover counted in whole words (what `whole_words` tests)."""
        rows, posts = pairs.rows.astype(np.int64), pairs.posts.astype(np.int64)
        if pair_windows is None:
            pair_windows = compiled_match.windows_of_pairs(mixed, window_offsets, rows, self.slot_hashes[posts])
        data, offsets = utf8_view(prenormalized)
        covered = compiled_match.whole_word_covers(
            data, offsets, fold_table(), joiner_table(), mixed, window_offsets, rows, posts, *pair_windows,
            self.slot_hashes, self.specific_bits, self.specific_distinct, MIN_SPECIFIC_SLOTS, self.lengths,
            self.shingle_size, PARTIAL_WORD_CHARS,
        )  # fmt: skip
        return covered

    def whole_word_covers_reference(
        self, pairs: CandidatePairs, mixed: Hashes, window_offsets: Offsets, prenormalized: pa.Array
    ) -> npt.NDArray[np.int64]:
        """`whole_word_covers` pair by pair: word_starts of the row's text, the post's lone windows, and
        trimmed_cover (its compiled form, tested against trimmed_cover_reference)."""
        fold = fold_table()
        covered = np.zeros(len(pairs.rows), dtype=np.int64)
        starts = np.ones(1, dtype=np.bool_)
        starts_of = -1  # the row whose word starts `starts` holds: pairs come by row
        for p, (row, post) in enumerate(zip(pairs.rows.tolist(), pairs.posts.tolist(), strict=True)):
            own = self.slot_hashes[post]
            if self.specific_distinct[post] >= MIN_SPECIFIC_SLOTS:  # as in `score`: a generic post uses all
                own = own[np.unpackbits(self.specific_bits[post], count=self.num_perm).astype(np.bool_)]
            windows = mixed[window_offsets[row] : window_offsets[row + 1]]
            positions = np.flatnonzero(compiled.members(windows, np.ascontiguousarray(own)))  # no sort of the row
            length = int(self.lengths[post])
            positions = positions[lone_windows_reference(positions, windows[positions], max(length, self.shingle_size))]
            if starts_of != row:
                starts, starts_of = word_starts(prenormalized[row].as_py() or "", fold), row
            covered[p] = compiled_match.trimmed_cover(positions, length, self.shingle_size, starts, PARTIAL_WORD_CHARS)
        return covered


def contains(sorted_keys: Keys, wanted: Keys) -> npt.NDArray[np.bool_]:
    """Element-wise membership of `wanted` (any shape) in the sorted array `sorted_keys`."""
    if len(sorted_keys) == 0:
        return np.zeros(wanted.shape, dtype=np.bool_)
    position = np.searchsorted(sorted_keys, wanted)
    np.minimum(position, len(sorted_keys) - 1, out=position)
    found: npt.NDArray[np.bool_] = sorted_keys[position] == wanted
    return found
