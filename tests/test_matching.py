"""The decision rule on real-looking copies: a copy truncated to more than half or with a word changed is
found, a row holding half of a post is not; commonness is a property of the whole set, not of a sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from auditor import fingerprint_set
from auditor.build import build_fingerprint_set
from auditor.fingerprint import Fingerprinter
from auditor.kernels.containment import ContainmentIndex
from auditor.scan import CorpusScanner
from auditor.sources.posts import PostSource
from benchmarks.realtext import truncate
from benchmarks.synthetic import half_of
from tests.conftest import write_jsonl

POSTS = [
    "Fix a potential unbalanced mutex unlock when there is a short read while using the bounce buffer",
    "Return the TurtleScreen object the turtle is drawing on, so screen methods can be called for it",
    "Declare conflicts with emboss on sqlite3-tools, which both ship a binary of the same name",
    "Bind a callback for the given event sequence to the tag tagname when an event is delivered",
]


def scanner(tmp_path: Path) -> CorpusScanner:
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": f"p{i}", "text": t} for i, t in enumerate(POSTS)])
    build_fingerprint_set([PostSource(path)], tmp_path / "s.fp.parquet", Fingerprinter())
    return CorpusScanner(fingerprint_set.load(tmp_path / "s.fp.parquet"))


def found(scan: CorpusScanner, rows: list[str]) -> list[tuple[int, int]]:
    matches = scan.scan(pa.array(rows))
    return list(zip(matches.rows.tolist(), matches.posts.tolist(), strict=True))


def test_truncated_and_changed_copies_are_found_and_halves_are_not(tmp_path: Path) -> None:
    scan = scanner(tmp_path)
    page = "Unrelated text of a manual page about options and files. " * 20
    truncated = [truncate(post, 0.62) for post in POSTS]
    changed = [post.replace(post.split(" ")[4], "zebra") for post in POSTS]
    halves = [half_of(post, first=True) for post in POSTS] + [half_of(post, first=False) for post in POSTS]
    rows = [*truncated, *(f"{page}{copy} {page}" for copy in changed), *halves, *(f"{page}{h}{page}" for h in halves)]
    assert found(scan, rows) == [(i, i) for i in range(4)] + [(4 + i, i) for i in range(4)]


def test_two_halves_of_different_posts_match_neither(tmp_path: Path) -> None:
    scan = scanner(tmp_path)
    rows = [half_of(POSTS[i], first=True) + " " + half_of(POSTS[(i + 1) % 4], first=False) for i in range(4)]
    assert found(scan, rows) == []


SHORT = [
    "Restore the separate build directory for docs",
    "Fix FTCBFS: configure fails to find readline.h (closes: #925906). #Readline",
    "Update debian/patches metadata. #Metadata",
]


def test_short_posts_truncated_to_just_over_half_or_with_a_word_changed_are_found(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": f"p{i}", "text": t} for i, t in enumerate(SHORT)])
    build_fingerprint_set([PostSource(path)], tmp_path / "s.fp.parquet", Fingerprinter())
    scan = CorpusScanner(fingerprint_set.load(tmp_path / "s.fp.parquet"))
    rows = [
        "Restore the separate build…",  # 24 of 39 normalized characters: 13 of its 28 shingles
        "Restore the zebra build directory for docs",  # "restorethe" lies in no window that is left
        # A half (29 of 58 characters) followed by "re" of another word, where the post goes on "readline":
        # those two letters are chance, not a copy's.
        "Fix FTCBFS: configure fails to find references.",
        "Fix FTCBFS: configure fails to find readline.h",  # the same cut after a whole word: a truncated copy
        # The post's last 16 characters, "metadatametadata", three times over: a piece repeated within the
        # post's length covers nothing, so 24 covered characters of its 35 do not make a match.
        "Fields: metadata metadata metadata.",
        "update debian/patches metadata #metadata",
    ]
    assert found(scan, rows) == [(0, 0), (1, 0), (3, 1), (5, 2)]


def test_a_sample_counts_commonness_over_the_whole_set() -> None:
    # Distinct hashes, apart in their low bits too: rarity is counted in a table indexed by them.
    slots = (100 + np.arange(40 * 64, dtype=np.uint32)).reshape(40, 64)
    slots[:10, :32] = np.arange(32, dtype=np.uint32)  # ten posts share half their shingles: a template
    sample = np.array([0, 1, 20, 21])
    alone = ContainmentIndex.build(slots[sample].copy(), 0.6)
    assert alone.specific_distinct.tolist() == [64, 64, 64, 64]  # two siblings in the sample: not common
    whole = ContainmentIndex.build(slots[sample].copy(), 0.6, population=slots)
    assert whole.specific_distinct.tolist() == [32, 32, 64, 64]
    everything = ContainmentIndex.build(slots.copy(), 0.6)
    assert whole.specific_distinct.tolist() == everything.specific_distinct[sample].tolist()


def test_a_subset_keeps_the_whole_set_as_its_population(tmp_path: Path) -> None:
    scan = scanner(tmp_path)
    whole = scan.fingerprints
    part = whole.subset(np.array([2, 0]))
    assert part.population is whole.slot_hashes
    assert part.subset(np.array([1])).population is whole.slot_hashes
