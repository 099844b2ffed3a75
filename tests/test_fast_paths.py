"""Every compiled fast path gives what its numpy reference gives, Unicode edge cases included."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auditor import fingerprint_set, scan
from auditor.build import build_fingerprint_set
from auditor.defaults import DEFAULT_SHINGLE_SIZE
from auditor.fingerprint import Fingerprinter, shingle_texts, shingle_texts_reference
from auditor.kernels import common_hashes, compiled, compiled_index, compiled_match, compiled_probe, containment
from auditor.kernels.codepoints import utf8_view
from auditor.kernels.common_hashes import CommonHashes
from auditor.kernels.containment import (
    FLOOR_SHARE,
    MIN_EVIDENCE_SHINGLES,
    MIN_FLOOR_SHARE,
    MIN_SPECIFIC_SLOTS,
    PARTIAL_WORD_CHARS,
    CandidatePairs,
    ContainmentIndex,
    best_cover_reference,
    lone_windows_reference,
    radix_table,
    trimmed_cover_reference,
    word_starts,
)
from auditor.kernels.minhash import Permutations
from auditor.kernels.normalize import (
    compute_tables,
    fold_table,
    inert_table,
    joiner_table,
    normalized_utf8,
    prenormalize,
    prenormalize_reference,
)
from auditor.kernels.shingle_hash import ShingleHasher
from auditor.scan import CorpusScanner
from auditor.sources.posts import PostSource
from benchmarks.synthetic import Writer
from tests.conftest import write_jsonl
from tests.test_minhash_datasketch import EDGE_CASES

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120)
wordy = st.lists(
    st.sampled_from(["the", "Café", "@bob", "https://t.co/x", "日本", "😂", "e\u0301", "&amp;", "RT"]), max_size=30
)


def assert_same_shingles(texts: list[str | None], size: int = 12, key: bytes = b"") -> None:
    hasher = ShingleHasher(size, key)
    array = pa.array(texts, type=pa.string())
    fast, reference = shingle_texts(array, hasher), shingle_texts_reference(array, hasher)
    assert np.array_equal(fast.mixed, reference.mixed)
    assert np.array_equal(fast.window_offsets, reference.window_offsets)
    assert np.array_equal(fast.normalized_lengths, reference.normalized_lengths)
    assert np.array_equal(fast.distinct_counts(), reference.distinct_counts_reference())


def test_edge_cases_shingle_alike() -> None:
    assert_same_shingles([*EDGE_CASES, None, "RT @x: https://t.co/a &amp; İstanbul Straße ﬁne"])


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), text, wordy.map(" ".join)), max_size=8), size=st.integers(3, 16))
def test_random_texts_shingle_alike(texts: list[str | None], size: int) -> None:
    assert_same_shingles(texts, size, key=b"k" * size)


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), text, wordy.map(" ".join)), max_size=8))
def test_random_texts_shingle_alike_at_the_default_size(texts: list[str | None]) -> None:
    # The default size has its own hashing loop (compiled_text._hash_default_windows).
    assert_same_shingles(texts, DEFAULT_SHINGLE_SIZE, key=b"a key")


@settings(max_examples=40, deadline=None)
@given(groups=st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=40), min_size=1, max_size=10))
def test_signatures_match_the_reference(groups: list[list[int]]) -> None:
    mixed = np.array([v for g in groups for v in g], dtype=np.uint32)
    offsets = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([len(g) for g in groups], out=offsets[1:])
    permutations = Permutations(64, 7)
    assert np.array_equal(permutations.signatures(mixed, offsets), permutations.signatures_reference(mixed, offsets))


@settings(max_examples=60, deadline=None)
@given(
    posts=st.lists(st.lists(st.integers(0, 40), min_size=16, max_size=16), min_size=1, max_size=12),
    rows=st.lists(st.lists(st.integers(0, 50), max_size=50), min_size=1, max_size=6),
    threshold=st.sampled_from([0.3, 0.5, 0.7]),
    slot_bits=st.sampled_from([None, 1, 2]),
    heavy_group=st.sampled_from([2, 3, containment.HEAVY_GROUP]),
)
def test_candidates_are_the_count_filter_and_lose_no_match(
    posts: list[list[int]], rows: list[list[int]], threshold: float, slot_bits: int | None, heavy_group: int
) -> None:
    slot_hashes = np.array(posts, dtype=np.uint32)
    # A forced narrow slot field caps the slots an entry records, as in sets of over 2^24 posts.
    layout = (lambda posts: slot_bits) if slot_bits is not None else containment.entry_layout
    with patch.object(containment, "entry_layout", layout):
        index = ContainmentIndex.build(slot_hashes, threshold, heavy_group=heavy_group)
    mixed = np.array([v for r in rows for v in r], dtype=np.uint32)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    pairs = index.candidates_reference(mixed, offsets)
    found = list(zip(pairs.rows.tolist(), pairs.posts.tolist(), strict=True))
    compiled_pairs = index.candidates(mixed, offsets)
    assert list(zip(compiled_pairs.rows.tolist(), compiled_pairs.posts.tolist(), strict=True)) == found
    # The count filter's own reference, on the probe's hits (heavy hashes as their markers).
    hit_rows, hit_keys = index.probe(mixed, offsets, part_bits=0)
    from_hits = index.candidates_from_hits(hit_rows, (hit_keys >> np.uint64(32)).astype(np.int64))
    assert list(zip(from_hits.rows.tolist(), from_hits.posts.tolist(), strict=True)) == found
    with patch.object(containment, "PARTITIONED_FILTER_BYTES", 0):  # the probe of large sets, on this one
        assert index.partition_bits() > 0
        partitioned = index.candidates(mixed, offsets)
        # Its hits are the plain probe's in another order within a row, whether they fit in the windows'
        # buffer (a window hits one or two posts) or not (many posts share these hashes).
        part_rows, part_keys = index.probe(mixed, offsets)
        assert part_rows.tolist() == hit_rows.tolist()
        assert sorted(zip(part_rows.tolist(), part_keys.tolist(), strict=True)) == sorted(
            zip(hit_rows.tolist(), hit_keys.tolist(), strict=True)
        )
    assert list(zip(partitioned.rows.tolist(), partitioned.posts.tolist(), strict=True)) == found
    scores, reference_scores = index.score(pairs, mixed, offsets), index.score_reference(pairs, mixed, offsets)
    assert scores.matched_slots.tolist() == reference_scores.matched_slots.tolist()
    assert scores.matched_specific_slots.tolist() == reference_scores.matched_specific_slots.tolist()
    assert scores.matched_distinct.tolist() == reference_scores.matched_distinct.tolist()
    assert scores.matched_specific_distinct.tolist() == reference_scores.matched_specific_distinct.tolist()
    assert scores.covered.tolist() == reference_scores.covered.tolist()
    assert scores.windows.tolist() == reference_scores.windows.tolist()
    assert scores.window_starts.tolist() == reference_scores.window_starts.tolist()
    # Brute force: prefix slots each row covers, per post.
    covered: dict[tuple[int, int], int] = {}
    for h, p, n in zip(index.prefix_hashes, index.prefix_posts, index.prefix_slots, strict=True):
        for r, row in enumerate(rows):
            if int(h) in row:
                covered[(r, int(p))] = covered.get((r, int(p)), 0) + int(n)
    expected = sorted(k for k, n in covered.items() if n >= index.required_prefix_slots[k[1]])
    assert found == expected
    every = ContainmentIndex.build(slot_hashes.copy(), threshold)
    all_pairs = CandidatePairs(np.repeat(np.arange(len(rows)), len(posts)), np.tile(np.arange(len(posts)), len(rows)))
    accepted = every.accepts(every.score_reference(all_pairs, mixed, offsets))
    for r, p in zip(all_pairs.rows[accepted].tolist(), all_pairs.posts[accepted].tolist(), strict=True):
        assert (r, p) in found  # filtering never loses a pair the rule accepts
    # The floor of the rule, from its definition: over the post's specific hashes (in the slots of fewer
    # than `common` posts), or all of them when fewer than MIN_SPECIFIC_SLOTS are specific.
    common = containment.default_common_posts(len(posts))
    holders = Counter(h for post in posts for h in set(post))
    for r, row in enumerate(rows):
        for p, post in enumerate(posts):
            specific = {h for h in post if holders[h] < common}
            counted = specific if len(specific) >= containment.MIN_SPECIFIC_SLOTS else set(post)
            # Built without lengths: a post spans its distinct hashes + 11 characters, which hold
            # (length / 2 - 22) shingles of its length - 11 when its half lies in two runs.
            length = len(set(post)) + 11
            share = min(max(min((length / 2 - 22) / (length - 11), FLOOR_SHARE), MIN_FLOOR_SHARE), threshold)
            needed = max(math.ceil(share * len(counted) - 1e-9), min(MIN_EVIDENCE_SHINGLES, len(counted)), 1)
            if len(counted & set(row)) >= needed:
                assert (r, p) in found


# Hashes at the top of the range too: the skip table's free mark (0xFFFFFFFF), its neighbour, and hashes
# whose home slot is the table's last (the look-up wraps round).
EDGE_HASHES = [0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFF00, 0xFF000001, 0x80000000]
SMALL_OR_EDGE = st.one_of(st.integers(0, 40), st.sampled_from(EDGE_HASHES))


@settings(max_examples=120, deadline=None)
@given(
    posts=st.lists(st.lists(SMALL_OR_EDGE, min_size=16, max_size=16), min_size=1, max_size=12),
    rows=st.lists(
        st.lists(st.one_of(st.integers(0, 50), st.sampled_from(EDGE_HASHES)), max_size=50), min_size=1, max_size=6
    ),
    threshold=st.sampled_from([0.3, 0.5, 0.7]),
    heavy_group=st.sampled_from([2, 3, containment.HEAVY_GROUP]),
    common=st.one_of(st.lists(SMALL_OR_EDGE, max_size=30), st.just(None)),
)
def test_skipping_common_hashes_is_its_reference_and_loses_no_candidate(
    posts: list[list[int]], rows: list[list[int]], threshold: float, heavy_group: int, common: list[int] | None
) -> None:
    """ContainmentIndex.skip_common against its reference; the probe with a skip finds every hit but the
    skipped hashes' (partitioned or not); its candidates are the count filter's rule with the lowered
    requirements (a skipped heavy id counted present in every row), and hold every candidate of the rule's
    definition (`candidates_reference`): skipping loses nothing. `common` None skips every prefix hash
    the rule allows, held-apart ones included."""
    index = ContainmentIndex.build(np.array(posts, dtype=np.uint32), threshold, heavy_group=heavy_group)
    if common is None:
        common = np.unique(index.prefix_entries >> np.uint64(32)).astype(np.uint32).tolist()
    skip = index.skip_common(np.array(common, dtype=np.uint32))
    reference = index.skip_common_reference(np.array(common, dtype=np.uint32))
    assert skip.hashes.tolist() == reference.hashes.tolist()
    assert skip.needs.tolist() == reference.needs.tolist() and skip.least_light == reference.least_light
    assert skip.heavy_present.tolist() == reference.heavy_present.tolist()
    mixed = np.array([v for r in rows for v in r], dtype=np.uint32)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    hit_rows, hit_keys = (a.copy() for a in index.probe(mixed, offsets, part_bits=0))
    hashes = index.prefix_entries[(hit_keys >> np.uint64(32)).astype(np.int64)] >> np.uint64(32)
    kept = ~np.isin(hashes, skip.hashes)
    expected = sorted(zip(hit_rows[kept].tolist(), hit_keys[kept].tolist(), strict=True))
    for part_bits in (0, 2):
        skipped_rows, skipped_keys = index.probe(mixed, offsets, part_bits=part_bits, skip=skip)
        assert sorted(zip(skipped_rows.tolist(), skipped_keys.tolist(), strict=True)) == expected
    learned = CommonHashes()
    learned.skip = skip
    pairs = index.candidates(mixed, offsets, common=learned)
    found = set(zip(pairs.rows.tolist(), pairs.posts.tolist(), strict=True))
    rule = index.candidates_from_hits(hit_rows[kept], (hit_keys[kept] >> np.uint64(32)).astype(np.int64), skip)
    assert set(zip(rule.rows.tolist(), rule.posts.tolist(), strict=True)) == found
    plain = index.candidates_reference(mixed, offsets)
    assert set(zip(plain.rows.tolist(), plain.posts.tolist(), strict=True)) <= found
    unskipped = index.candidates(mixed, offsets)  # no skip learnt: the rule's candidates exactly
    assert list(zip(unskipped.rows.tolist(), unskipped.posts.tolist(), strict=True)) == list(
        zip(plain.rows.tolist(), plain.posts.tolist(), strict=True)
    )


def test_a_scanner_learns_the_hashes_its_first_windows_hit_often_the_most_hit_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CommonHashes counts the hits of its first windows, repeats counted and a hash in two posts' prefixes
    hit twice an occurrence: a hash hit exactly COMMON_HITS times is skipped, one hit once is not; where
    the rule lets only some of a post's hashes go, those hit most go first, ties by the smaller hash (the
    hits' order is neither the hashes' nor its reverse), and the last of them is refused by the rule, not
    by the count; hits add up over batches until their windows reach COMMON_LEARN_WINDOWS."""
    shared = np.arange(9000, 9020)
    posts = np.array(
        [np.arange(1000, 1064), np.arange(5000, 5064), np.arange(9000, 9064), [*shared, *np.arange(9500, 9544)]],
        dtype=np.uint32,
    )
    index = ContainmentIndex.build(posts, 0.5)
    needs = index._count_needs
    light = int(needs[0] & 0xFFFF)
    allowed = light - max(1, math.ceil(light * common_hashes.COMMON_KEEP_SHARE))  # post 0's entries that may go
    assert allowed >= 3 and not len(index.heavy_hashes)
    entries = index.prefix_entries
    owners = (entries & np.uint64(0xFFFFFFFF)) >> np.uint64(index.slot_bits)
    first, second, third, fourth = (
        np.sort(entries[owners == post] >> np.uint64(32)).astype(np.uint32) for post in range(4)
    )
    twice = np.intersect1d(third, fourth)  # in both prefixes: an occurrence hits two entries
    assert len(twice) and set(twice.tolist()) <= set(shared.tolist())
    offered = first[: allowed + 1]
    hits = common_hashes.COMMON_HITS
    # offered[1] and offered[2] hit least and as often (a tie: the smaller hash first), then offered[0],
    # then the rest in order: offered[2] is the last the rule weighs, and refuses.
    times = {int(h): hits + 3 + i for i, h in enumerate(offered.tolist())}
    times.update({int(offered[1]): hits + 1, int(offered[2]): hits + 1, int(offered[0]): hits + 2})
    windows = [h for h, n in times.items() for _ in range(n)]
    row = np.array([*windows, *[int(second[0])] * hits, int(second[1]), int(twice[0]), 777], dtype=np.uint32)
    _, hit_keys = index.probe(row, np.array([0, len(row)], dtype=np.int64))
    learner = CommonHashes()
    learner.observe(index, hit_keys, len(row), last=True)
    assert learner.skip is not None
    expected = [h for h in offered.tolist() if h != int(offered[2])] + [int(second[0]), int(twice[0])]
    assert learner.skip.hashes.tolist() == sorted(expected)
    # Over two batches: second[0] hit once in each is learnt when the second brings the windows to the budget.
    batches = [np.array([int(second[0]), 777], dtype=np.uint32), np.array([int(second[0]), 778, 779], dtype=np.uint32)]
    monkeypatch.setattr(common_hashes, "COMMON_LEARN_WINDOWS", 5)
    learner = CommonHashes()
    for batch, learnt in zip(batches, (False, True), strict=True):
        _, hit_keys = index.probe(batch, np.array([0, len(batch)], dtype=np.int64))
        learner.observe(index, hit_keys, len(batch), last=False)
        assert (learner.skip is not None) == learnt
    assert learner.skip is not None and learner.skip.hashes.tolist() == [int(second[0])]


@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(EDGE_HASHES)), max_size=300),
    looked=st.lists(st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(EDGE_HASHES)), max_size=300),
)
def test_a_skip_table_holds_exactly_its_hashes(stored: list[int], looked: list[int]) -> None:
    """compiled_probe.skip_table and without_skipped against np.isin: a window is left out exactly when
    its hash is one of the table's (never the free mark's), whatever the slot its look-up starts from
    (the table's last ones wrap round) and however long the run of taken slots it goes through."""
    hashes = np.unique(np.array(stored + looked[: len(looked) // 2], dtype=np.uint32))
    table = compiled_probe.skip_table(hashes)
    windows = np.array(looked + stored, dtype=np.uint64)
    passing = (windows << np.uint64(32)) | np.arange(len(windows), dtype=np.uint64)
    kept = compiled_probe.without_skipped(passing, len(passing), table)
    expected = windows[~np.isin(windows, hashes) | (windows == 0xFFFFFFFF)]
    assert (passing[:kept] >> np.uint64(32)).tolist() == expected.tolist()
    crowded = np.arange(0xFFFFFF00, 0xFFFFFFFF, dtype=np.uint32)  # 255 hashes with the same top bits
    table = compiled_probe.skip_table(crowded)
    probe = np.array([0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFF00, 0xFFFFFEFF, 5], dtype=np.uint64) << np.uint64(32)
    assert compiled_probe.without_skipped(probe, len(probe), table) == 3
    assert (probe[:3] >> np.uint64(32)).tolist() == [0xFFFFFFFF, 0xFFFFFEFF, 5]


CountCase = tuple[list[tuple[int, int, int, int]], list[tuple[int, int]], list[list[int]], int]


def count_rule(
    hits: list[tuple[int, int, int, int]], needs: list[tuple[int, int]], heavy: list[list[int]], markers: int
) -> list[tuple[int, int]]:
    """The count filter by its definition, on hits (row, entry, post, slots; slots 0: the marker of heavy id
    `post`): per row, each entry once, slots summed per post; a post passes when its sum reaches its
    requirement, or its light one and with its heavy ids present in the row the whole one."""
    passing: list[tuple[int, int]] = []
    for row in sorted({hit[0] for hit in hits}):
        entries = {(entry, post, slots) for r, entry, post, slots in hits if r == row and slots}
        present = {post for r, _, post, slots in hits if r == row and not slots and post < markers}
        sums = Counter[int]()
        for _, post, slots in entries:
            sums[post] += slots
        for post in sorted(sums):
            required, light = needs[post]
            total = sums[post] + (sum(h in present for h in heavy[post]) if sums[post] >= light else 0)
            if total >= required:
                passing.append((row, post))
    return passing


@st.composite
def count_cases(draw: st.DrawFn) -> CountCase:
    posts, markers = draw(st.integers(1, 30)), draw(st.integers(0, 4))
    heavy = [
        draw(st.lists(st.integers(0, markers - 1), max_size=2, unique=True)) if markers else [] for _ in range(posts)
    ]
    needs = []
    for ids in heavy:
        required = draw(st.integers(1, 6))
        needs.append((required, max(required - len(ids), 0)))
    entries = draw(st.lists(st.tuples(st.integers(0, posts - 1), st.integers(1, 3)), min_size=1, max_size=60))
    hits = []
    for row in range(draw(st.integers(1, 40))):  # many rows of few hits: the tables keep earlier rows' keys
        for _ in range(draw(st.integers(0, 12))):
            if markers and draw(st.integers(0, 5)) == 0:
                hits.append((row, len(entries), draw(st.integers(0, markers + 1)), 0))  # out-of-range ones too
            else:
                entry = draw(st.integers(0, len(entries) - 1))
                hits.append((row, entry, *entries[entry]))
    return hits, needs, heavy, markers


@settings(max_examples=300, deadline=None)
@given(count_cases())
@example(([(0, 0, 0, 1)], [(1, 1)], [[]], 0))  # a total exactly at the requirement
@example(([(0, 0, 0, 1), (0, 1, 0, 0)], [(2, 1)], [[0]], 1))  # exactly at the light one, then the heavy
def test_the_count_filter_is_its_rule(case: CountCase) -> None:
    hits, needs, heavy, markers = case
    slot_bits = 2
    rows = np.array([h[0] for h in hits], dtype=np.int64)
    keys = np.array([(e << 32) | (p << slot_bits) | s for _, e, p, s in hits], dtype=np.uint64)
    packed = np.array([(r << 16) | light for r, light in needs], dtype=np.int32)
    offsets = np.zeros(len(heavy) + 1, dtype=np.int64)
    np.cumsum([len(ids) for ids in heavy], out=offsets[1:])
    ids = np.array([i for group in heavy for i in group], dtype=np.uint32)
    present = np.zeros(markers, dtype=np.uint8)
    least = min(light for _, light in needs)
    found_rows, found_posts = compiled_probe.count_filter(rows, keys, slot_bits, packed, offsets, ids, present, least)
    assert list(zip(found_rows.tolist(), found_posts.tolist(), strict=True)) == count_rule(hits, needs, heavy, markers)
    assert not present.any()  # left all zeros


def test_fused_scan_matches_the_reference_composition(tmp_path: Path) -> None:
    writer = Writer(seed=9)
    posts = [writer.post() for _ in range(300)]
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": f"p{i}", "text": t} for i, t in enumerate(posts)])
    build_fingerprint_set([PostSource(path)], tmp_path / "s.fp.parquet", Fingerprinter())
    scanner = CorpusScanner(fingerprint_set.load(tmp_path / "s.fp.parquet"))
    corpus = [writer.page(2_000, 6_000, quoted=posts[i : i + 2]) for i in range(0, 40, 2)] + posts[100:140]
    texts = pa.array(corpus)
    fast = scanner.scan(texts)
    reference = shingle_texts_reference(texts, scanner.hasher)
    pairs = scanner.index.candidates_reference(reference.mixed, reference.window_offsets)
    scores = scanner.index.score_reference(pairs, reference.mixed, reference.window_offsets)
    keep = scanner.index.accepts(scores)
    assert fast.rows.tolist() == scores.rows[keep].tolist()
    assert fast.posts.tolist() == scores.posts[keep].tolist()
    assert fast.matched_slots.tolist() == scores.matched_slots[keep].tolist()
    assert np.array_equal(fast.containment, scanner.index.containment(scores)[keep])
    assert np.array_equal(fast.specific_containment, scanner.index.specific_containment(scores)[keep], equal_nan=True)
    assert len(fast.rows) >= 70  # 40 posts quoted in pages and 40 as rows, bar a few too short to attribute


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 300), max_size=200),
    keys=st.lists(st.integers(0, 300), min_size=1, max_size=130),
)
def test_members_is_isin(values: list[int], keys: list[int]) -> None:

    a, b = np.array(values, dtype=np.uint32), np.array(keys, dtype=np.uint32)
    assert np.array_equal(compiled.members(a, b), np.isin(a, b))


# Pieces that start, end or nearly make every alternative of the removal pattern.
removal_pieces = st.lists(
    st.sampled_from(
        [" ", "\t", "\v", "\u00a0", "rt", "RT", "@", "@@", "_", ":", "a", "é", "e\u0301", "日本", "😂", "\u0301",
         "http", "HTTPS", "https", "://", ":/", "www.", "WwW.", "s", "x", ".", "<url>", "<URL", "[url]",
         "[LINK]", "[link", "ſ", "K", "&amp;", "-", "1"]
    ),
    max_size=25,
).map("".join)  # fmt: skip


REMOVAL_CASES = [
    "rt@bob hi", " RT  @a_1: hi", "rt @", "rt @:x", "\trt\n@bob:: x", "x rt @bob", "@bob@carol", "x@y.z", "!@bob",
    "@ bob", "@@bob", "é@jo", "\u0301@jo", "😂@jo", "_@jo", "https:// x", "https://", "httpsx", "http:/x",
    "xhttp", "_http", "éhttp", "httpé", "https_", "HTTPS:", "wWw.x", "www. x", "www", "<url>x", "<url", "[link]x",
    "[Url]", "\v@bob", "a\u00a0@b", "ſ", "httpſ://x", "[linK]",
]  # fmt: skip


@pytest.mark.parametrize("case", REMOVAL_CASES)
def test_compiled_removals_match_the_regex_on_edge_cases(case: str) -> None:
    array = pa.array([case, case + " " + case, "x" + case])
    assert prenormalize(array).to_pylist() == prenormalize_reference(array).to_pylist()


@settings(max_examples=400, deadline=None)
@given(texts=st.lists(st.one_of(removal_pieces, text, st.none()), min_size=1, max_size=8))
def test_compiled_removals_match_the_regex(texts: list[str | None]) -> None:
    array = pa.array(texts, type=pa.string())
    assert prenormalize(array).to_pylist() == prenormalize_reference(array).to_pylist()
    large = array.cast(pa.large_string())[1:]  # another offset type, and an array with an offset
    assert prenormalize(large).to_pylist() == prenormalize_reference(large).to_pylist()


quiet = st.integers(0, 80).map(lambda n: "lorem ipsum dolor sit amet "[: n % 27] * (n // 27 + 1))


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.tuples(quiet, removal_pieces, quiet).map("".join), min_size=1, max_size=6))
def test_compiled_removals_find_starts_after_long_quiet_stretches(texts: list[str]) -> None:
    # The removal pass passes over 32-byte blocks where nothing may start: starts at every place in a
    # block, at block and string ends, must still be found.
    array = pa.array(texts, type=pa.string())
    assert prenormalize(array).to_pylist() == prenormalize_reference(array).to_pylist()


# Pieces normalization changes, composes, reorders or leaves alone, and entities (some made by NFKC).
normalization_pieces = st.lists(
    st.sampled_from(
        ["e", "e\u0301", "\u0301", "\u0327\u0301", "\u0301\u0327", "\u00e9", "\u212b", "\u2126", "\ufb01",
         "\uff46\uff55", "\u1100", "\u1161", "\u11a8", "\uac00", "\u0bc6\u0bbe", "\u0344", "\u2019", "\u2014",
         "\U0001f600", "\u4e2d", "&amp;", "\uff06amp;", "&amp", "&#x27;", "&#39;", "&nbsp;", "&&lt;", "&apos;",
         "&quot;", "&gt;", " ", "x", "@bob", "http://a.b", "\u00a0", "\u0378", "\U000e0001"]
    ),
    max_size=20,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(texts=st.lists(st.one_of(normalization_pieces, text, st.none()), min_size=1, max_size=10))
def test_normalizing_only_the_rows_that_change_matches_normalizing_all(texts: list[str | None]) -> None:
    array = pa.array(texts, type=pa.string())
    assert prenormalize(array).to_pylist() == prenormalize_reference(array).to_pylist()
    large = array.cast(pa.large_string())[1:]
    assert prenormalize(large).to_pylist() == prenormalize_reference(large).to_pylist()


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.one_of(normalization_pieces, text), min_size=1, max_size=10),
    form=st.sampled_from(["NFKC", "NFKD"]),
)
def test_normalizing_only_the_islands_is_normalizing_all(texts: list[str], form: str) -> None:
    array = pa.array(texts, type=pa.string())
    data, offsets = normalized_utf8(*utf8_view(array), form)
    expected_data, expected_offsets = utf8_view(pc.utf8_normalize(array, form=form))
    assert data.tobytes() == expected_data.tobytes() and offsets.tolist() == expected_offsets.tolist()


def test_normalization_tables_are_cached_in_the_user_cache_when_the_package_is_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.kernels import normalize

    (tmp_path / "package").write_text("a file where the package's folder would be: nothing can go in it")
    monkeypatch.setattr(normalize, "__file__", str(tmp_path / "package" / "normalize.py"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expected = (fold_table().copy(), inert_table().copy())
    normalize._tables.cache_clear()
    try:
        assert np.array_equal(fold_table(), expected[0]) and np.array_equal(inert_table(), expected[1])
        [cached] = (tmp_path / "cache" / "provenance-auditor").iterdir()
        assert cached.suffix == ".npz"
        cached.write_bytes(b"damaged")  # a damaged cache is computed again, and rewritten
        normalize._tables.cache_clear()
        assert np.array_equal(fold_table(), expected[0]) and np.array_equal(inert_table(), expected[1])
        assert cached.read_bytes() != b"damaged"
        assert [p.name for p in cached.parent.iterdir()] == [cached.name]
    finally:
        normalize._tables.cache_clear()


def test_the_cached_normalization_tables_are_the_computed_ones() -> None:
    fold, inert, joiner = compute_tables()
    assert np.array_equal(fold_table(), fold) and np.array_equal(inert_table(), inert)
    assert np.array_equal(joiner_table(), joiner)
    assert joiner[0x301] and joiner[0x2019] and joiner[ord("'")] and not (joiner[ord("-")] or joiner[ord("a")])
    # What inert means, on a few code points: ASCII and a curly quote are; a combining accent, a
    # precomposed letter, a composing Hangul vowel, a compatibility ligature and an unassigned one are not.
    assert inert[:0x80].all() and inert[0x2019] and inert[0x4E2D]
    assert not (inert[0x301] or inert[0xE9] or inert[0x1161] or inert[0xFB01] or inert[0x378])


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 2**64 - 1), max_size=3_000))
def test_radix_table_is_searchsorted(values: list[int]) -> None:
    entries = np.sort(np.array(values, dtype=np.uint64))
    radix, shift = radix_table(entries)
    bits = 32 - shift
    starts = np.arange(1 << bits, dtype=np.uint64) << np.uint64(64 - bits)
    assert radix.tolist() == [*np.searchsorted(entries, starts).tolist(), len(entries)]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 2**64 - 1), max_size=500),
    windows=st.lists(st.integers(0, 2**32 - 1), max_size=200),
    damage=st.lists(st.integers(0, 2**32 - 1), max_size=8),
)
def test_bucket_bounds_are_the_windows_radix_buckets_and_stay_in_bounds_on_a_damaged_table(
    values: list[int], windows: list[int], damage: list[int]
) -> None:
    """A window's bounds are its radix bucket's range of the sorted entries (searchsorted of the bucket's
    first and next hashes); a damaged table (any values, even decreasing or past the entries) still gives
    ranges within the entries and never negative, so `passing_hits` reads and writes nothing out of bounds.
    The index's own check of `skippable` shares the helper."""
    entries = np.sort(np.array(values, dtype=np.uint64))
    radix, shift = radix_table(entries)
    passing = np.array([(w << 32) | i for i, w in enumerate(windows)], dtype=np.uint64)
    bounds = np.zeros(2 * len(windows), dtype=np.uint32)
    total = compiled_probe.bucket_bounds(passing, len(windows), len(entries), radix, shift, bounds)
    hashes = entries >> np.uint64(32)
    buckets = np.array(windows, dtype=np.uint64) >> np.uint64(shift)
    low = np.searchsorted(hashes, buckets << np.uint64(shift))
    high = np.searchsorted(hashes, (buckets + np.uint64(1)) << np.uint64(shift))
    assert bounds[0::2].tolist() == low.tolist() and bounds[1::2].tolist() == high.tolist()
    assert total == int((high - low).sum())
    damaged = radix.copy()
    for i, value in enumerate(damage):
        damaged[(i * 7919) % len(damaged)] = value
    total = compiled_probe.bucket_bounds(passing, len(windows), len(entries), damaged, shift, bounds)
    starts, ends = bounds[0::2].astype(np.int64), bounds[1::2].astype(np.int64)
    assert (starts <= ends).all() and (ends <= len(entries)).all() and total == int((ends - starts).sum())


@settings(max_examples=200, deadline=None)
@given(
    positions=st.sets(st.integers(0, 300), max_size=60),
    length=st.integers(1, 120),
    size=st.sampled_from([3, 5, 12]),
)
def test_best_cover_is_its_definition(positions: set[int], length: int, size: int) -> None:
    ordered = np.array(sorted(positions), dtype=np.int64)
    assert compiled_match._best_cover(ordered, length, size) == best_cover_reference(ordered, length, size)


@settings(max_examples=200, deadline=None)
@given(
    hits=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 6)), max_size=60, unique_by=lambda hit: hit[0]),
    reach=st.integers(1, 120),
)
def test_lone_windows_are_their_definition(hits: list[tuple[int, int]], reach: int) -> None:
    hits.sort()
    positions = np.array([p for p, _ in hits], dtype=np.int64)
    keys = np.array([k for _, k in hits], dtype=np.uint32)  # the first slot of each window's hash
    last = np.full(7, -1, dtype=np.int64)
    lone = compiled_match._lone_windows(positions, keys, reach, last)
    assert lone.tolist() == lone_windows_reference(positions, keys, reach).tolist()
    assert (last == -1).all()  # work space left as it was found


@settings(max_examples=200, deadline=None)
@given(
    positions=st.sets(st.integers(0, 150), min_size=1, max_size=40),
    length=st.integers(1, 80),
    size=st.sampled_from([3, 5, 12]),
    starts=st.lists(st.booleans(), min_size=170, max_size=170),
)
def test_the_cover_in_whole_words_takes_at_most_two_partial_words_off(
    positions: set[int], length: int, size: int, starts: list[bool]
) -> None:
    ordered = np.array(sorted(positions), dtype=np.int64)
    word_start = np.array([True, *starts[1:], True])
    best = best_cover_reference(ordered, length, size)
    trimmed = trimmed_cover_reference(ordered, length, size, word_start)
    assert compiled_match.trimmed_cover(ordered, length, size, word_start, PARTIAL_WORD_CHARS) == trimmed
    assert best - 2 * PARTIAL_WORD_CHARS <= trimmed <= best  # why a pair with that much to spare needs no look
    # Every character a word of its own: nothing is partial, nothing is taken off.
    assert trimmed_cover_reference(ordered, length, size, np.ones(len(word_start), dtype=np.bool_)) == best


def test_words_start_after_separators_not_inside_words() -> None:
    text = prenormalize(pa.array(["Re-enable example's café, now: 2.0"])).to_pylist()[0]
    starts = word_starts(text, fold_table())
    # reenable examples cafe now 2 0: at 0 (re), 2 (enable), 8 (examples), 16 (cafe), 20 (now), 23, 24; the end
    assert np.flatnonzero(starts).tolist() == [0, 2, 8, 16, 20, 23, 24, 25]


@settings(max_examples=80, deadline=None)
@given(
    hashes=st.lists(st.integers(0, 12), max_size=60),
    posts=st.lists(st.integers(0, 5), min_size=60, max_size=60),
    budget=st.lists(st.integers(0, 4), min_size=6, max_size=6),
    least=st.integers(1, 4),
)
def test_heavy_selection_is_the_reference(hashes: list[int], posts: list[int], budget: list[int], least: int) -> None:
    entries = np.sort(
        (np.array(hashes, np.uint64) << np.uint64(32)) | (np.array(posts[: len(hashes)], np.uint64) << 8) | 1
    )
    limits = np.array(budget, dtype=np.int64)
    picked, shared, counts = compiled_index.select_heavy(entries, least, 8, limits, int(limits.max()))
    taken = np.arange(picked.shape[1])[None, :] < counts[:, None]
    chosen, sharing, owners = containment.select_heavy_reference(entries, least, 8, limits)
    assert picked[taken].tolist() == chosen.tolist() and shared[taken].tolist() == sharing.tolist()
    assert np.repeat(np.arange(6), counts).tolist() == owners.tolist()


# Eight posts, each sharing 8 hashes with the next (post i holds blocks i and i + 1): every hash is in two
# posts' prefixes, and each post holds apart 2 of its own, so about 16 hashes would be heavy.
SHARING_POSTS = np.array([[100 * b + j for b in (i, (i + 1) % 8) for j in range(8)] for i in range(8)], np.uint32)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from([*SHARING_POSTS.ravel().tolist(), 1, 2]), max_size=50), max_size=6))
def test_heavy_hashes_beyond_the_room_of_their_ids_stay_light(rows: list[list[int]]) -> None:
    assert len(ContainmentIndex.build(SHARING_POSTS.copy(), 0.5, heavy_group=2).heavy_hashes) > 8
    # A 29-bit slot field leaves 3 bits of post field: 8 posts, and 8 heavy ids at the most.
    with patch.object(containment, "entry_layout", lambda posts: 29):
        index = ContainmentIndex.build(SHARING_POSTS.copy(), 0.5, heavy_group=2)
    assert len(index.heavy_hashes) == 8
    whole = ContainmentIndex.build(SHARING_POSTS.copy(), 0.5, heavy_group=9)
    assert len(whole.heavy_hashes) == 0
    assert index.whole_prefix().tolist() == [
        (int(e) & ~((1 << 32) - 1)) | ((int(e) >> 8 & 0xFFFFFF) << 29) | (int(e) & 0xFF) for e in whole.whole_prefix()
    ]  # the same prefix, in the other layout
    mixed = np.array([v for r in rows for v in r], dtype=np.uint32)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    found = whole.candidates(mixed, offsets)
    capped = index.candidates(mixed, offsets)
    assert (capped.rows.tolist(), capped.posts.tolist()) == (found.rows.tolist(), found.posts.tolist())


@settings(max_examples=60, deadline=None)
@given(
    posts=st.lists(st.lists(st.integers(0, 60), min_size=16, max_size=16), min_size=1, max_size=12),
    rows=st.lists(st.lists(st.integers(0, 80), max_size=60), min_size=1, max_size=8),
    part_bits=st.integers(1, 12),
    fold=st.integers(0, 6),
)
def test_the_partitioned_probe_finds_the_hits_of_the_probe(
    posts: list[list[int]], rows: list[list[int]], part_bits: int, fold: int
) -> None:
    # Hashes spread over all 32 bits, so that every partition can be reached.
    spread = np.uint32(0x9E3779B1)
    index = ContainmentIndex.build(np.array(posts, dtype=np.uint32) * spread, 0.5, heavy_group=2)
    mixed = np.array([v for r in rows for v in r], dtype=np.uint32) * spread
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    rows_of, keys_of = (a.copy() for a in index.probe(mixed, offsets, part_bits=0))
    rows_by, keys_by = index.probe(mixed, offsets, part_bits=part_bits, fold=fold)
    assert rows_by.tolist() == rows_of.tolist()  # grouped by row, in row order
    by_row = sorted(zip(rows_by.tolist(), keys_by.tolist(), strict=True))
    assert by_row == sorted(zip(rows_of.tolist(), keys_of.tolist(), strict=True))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    posts=st.integers(1, 6),
    rows=st.integers(1, 6),
    threshold=st.sampled_from([0.5, 0.8]),
)
def test_scores_of_full_signatures_match_the_reference(seed: int, posts: int, rows: int, threshold: float) -> None:
    # 128 slots: a post's prefix is a part of its counted hashes, so pairs below their floor are scored too.
    rng = np.random.default_rng(seed)
    slot_hashes = rng.integers(0, 400, size=(posts, 128), dtype=np.uint32) * np.uint32(0x9E3779B1)
    index = ContainmentIndex.build(slot_hashes.copy(), threshold)
    row_values = []
    for _ in range(rows):
        source = index.slot_hashes[rng.integers(posts)]
        kept = source[rng.random(128) < rng.random()]
        noise = rng.integers(0, 2**32, size=rng.integers(0, 40), dtype=np.uint64).astype(np.uint32)
        row = np.concatenate([kept, noise, kept[: rng.integers(0, len(kept) + 1)]])
        row_values.append(rng.permutation(row))
    mixed = np.concatenate(row_values).astype(np.uint32)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum([len(r) for r in row_values], out=offsets[1:])
    pairs = CandidatePairs(np.repeat(np.arange(rows), posts), np.tile(np.arange(posts), rows))
    fast, reference = index.score(pairs, mixed, offsets), index.score_reference(pairs, mixed, offsets)
    names = ("matched_slots", "matched_specific_slots", "matched_distinct", "matched_specific_distinct", "covered")
    for name in (*names, "windows", "window_starts"):
        assert getattr(fast, name).tolist() == getattr(reference, name).tolist(), name
    some = np.flatnonzero(rng.random(len(pairs.rows)) < 0.5)
    windows, starts = fast.windows_of(some)
    for i, pair in enumerate(some.tolist()):
        own = reference.windows[reference.window_starts[pair] : reference.window_starts[pair + 1]]
        assert windows[starts[i] : starts[i + 1]].tolist() == own.tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=12),
    st.integers(0, 3),
    st.booleans(),
    st.data(),
)
def test_row_digests_hash_each_rows_text(texts: list[str | None], cut: int, large: bool, data: st.DataObject) -> None:
    array = pa.array(["dropped"] * cut + texts, type=pa.large_string() if large else pa.string())[cut:]
    rows = np.array(data.draw(st.lists(st.integers(0, len(texts) - 1), max_size=20)), dtype=np.int64)
    assert scan._row_digests(array, rows) == scan.row_digests_reference(array, rows)


@pytest.fixture(scope="module")
def quoting_scanner(tmp_path_factory: pytest.TempPathFactory) -> tuple[CorpusScanner, list[str]]:
    folder = tmp_path_factory.mktemp("words")
    writer = Writer(seed=11)
    posts = [writer.post() for _ in range(200)]
    path = write_jsonl(folder / "p.jsonl", [{"id": f"p{i}", "text": t} for i, t in enumerate(posts)])
    build_fingerprint_set([PostSource(path)], folder / "s.fp.parquet", Fingerprinter())
    return CorpusScanner(fingerprint_set.load(folder / "s.fp.parquet")), posts


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_whole_words_compiled_is_the_reference(
    quoting_scanner: tuple[CorpusScanner, list[str]], data: st.DataObject
) -> None:
    # Posts quoted in rows whose words are cut, joined and split by marks, apostrophes and punctuation,
    # so that covers end inside words; every candidate pair is looked at, not only those near the threshold.
    scanner, posts = quoting_scanner
    glue = st.sampled_from([" ", "'", "\u2019", "-", "\u0301", "", ", ", "\u00e9", "日"])
    rows = []
    for _ in range(data.draw(st.integers(1, 6))):
        chosen = data.draw(st.lists(st.sampled_from(posts), min_size=1, max_size=3))
        words = " ".join(chosen).split(" ")
        cut = data.draw(st.integers(0, len(words) // 2))
        rows.append("".join(word + data.draw(glue) for word in words[cut:]))
    prenormalized = prenormalize(pa.array(rows))
    shingled = scanner.shingle(prenormalized)
    index = scanner.index
    pairs = index.candidates(shingled.mixed, shingled.window_offsets)
    scores = index.score(pairs, shingled.mixed, shingled.window_offsets)
    expected = index.whole_word_covers_reference(pairs, shingled.mixed, shingled.window_offsets, prenormalized)
    found = index.whole_word_covers(pairs, shingled.mixed, shingled.window_offsets, prenormalized)
    assert found.tolist() == expected.tolist()
    # Scoring keeps the windows of the pairs that reach their floor (the others cannot be accepted).
    posts = pairs.posts
    specific = index.specific_distinct[posts] >= MIN_SPECIFIC_SLOTS
    counted = np.where(specific, scores.matched_specific_distinct, scores.matched_distinct)
    floor = np.flatnonzero(counted >= index.required[posts])
    reaching = CandidatePairs(pairs.rows[floor], posts[floor])
    windows = scores.windows_of(floor)
    reused = index.whole_word_covers(reaching, shingled.mixed, shingled.window_offsets, prenormalized, windows)
    assert reused.tolist() == expected[floor].tolist()
    kept = index.whole_words(reaching, shingled.mixed, shingled.window_offsets, prenormalized, windows)
    assert kept.tolist() == index.covers(reaching.posts, expected[floor]).tolist()


def test_may_start_is_its_table() -> None:
    # The removal pass's test of a byte pair, in comparisons, against the table that defines it.
    from auditor.kernels.compiled_text import _MAY_START, _may_start

    pairs = [bool(_may_start(np.uint8(pair >> 8), np.uint8(pair & 0xFF))) for pair in range(1 << 16)]
    assert pairs == _MAY_START.tolist()


def test_the_scanner_takes_chunked_and_all_null_text(quoting_scanner: tuple[CorpusScanner, list[str]]) -> None:
    # A table's column is chunked, and a batch of nulls only is typed null: the library API takes both.
    scanner, posts = quoting_scanner
    plain = scanner.scan(pa.array([posts[0], None, "nothing here at all " * 5, posts[1]]))
    chunked = scanner.scan(pa.chunked_array([[posts[0], None], ["nothing here at all " * 5, posts[1]]]))
    assert chunked.rows.tolist() == plain.rows.tolist() and len(plain.rows) == 2
    assert chunked.row_sha256 == plain.row_sha256
    assert len(scanner.scan(pa.array([None, None])).rows) == 0
