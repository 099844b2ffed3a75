"""The compiled per-match kernels (excerpts, covered characters) equal their references, on random Unicode
text and random matches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.excerpts import EXCERPT_MAX, excerpt_reference, excerpts
from auditor.fingerprint import shingle_prenormalized
from auditor.kernels.coverage import covered_lengths_reference
from auditor.kernels.normalize import fold_table, prenormalize
from auditor.kernels.shingle_hash import ShingleHasher

HASHER = ShingleHasher(12)
WORDS = ["ocean", "pizza", "Café", "naïve", "东京", "🙂", "x", "—", "ß", "İstanbul", "  ", "\n", "42", "l'été", "a.b"]
texts = st.lists(st.sampled_from(WORDS) | st.text(max_size=6), min_size=0, max_size=60).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(texts, min_size=1, max_size=5), picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
       data=st.data())  # fmt: skip
def test_compiled_excerpts_equal_the_reference(rows: list[str], picks: list[int], data: st.DataObject) -> None:
    check_excerpts(rows, picks, data)


long_texts = st.lists(st.sampled_from(WORDS) | st.text(max_size=6), min_size=150, max_size=400).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(long_texts, min_size=1, max_size=3), picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=6),
       data=st.data())  # fmt: skip
def test_compiled_excerpts_of_rows_longer_than_an_excerpt_equal_the_reference(
    rows: list[str], picks: list[int], data: st.DataObject
) -> None:
    # Rows are decoded only as far as their excerpts reach: rows of more than EXCERPT_MAX characters.
    check_excerpts(rows, picks, data)


def check_excerpts(rows: list[str], picks: list[int], data: st.DataObject) -> None:
    prenormalized = prenormalize(pa.array(rows))
    shingled = shingle_prenormalized(prenormalized, HASHER)
    fold, offsets = fold_table(), shingled.window_offsets
    pair_rows, hashes, lengths = [], [], []
    if data.draw(st.booleans()):  # pairs sorted by row, as the scan gives them: a row's pairs share one pass
        picks = sorted(picks, key=lambda pick: pick % len(rows))
    for pick in picks:
        row = pick % len(rows)
        windows = shingled.mixed[offsets[row] : offsets[row + 1]]
        chosen = data.draw(st.lists(st.integers(0, max(len(windows) - 1, 0)), min_size=8, max_size=8))
        own = [int(windows[i]) for i in chosen] if len(windows) else []
        noise = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=8 - min(len(own), 8), max_size=8))
        hashes.append(np.array((own + noise)[:8] if own else noise, dtype=np.uint32))
        pair_rows.append(row)
        lengths.append(data.draw(st.integers(0, 300)))
    compiled = excerpts(
        prenormalized, shingled.mixed, offsets, np.array(pair_rows), np.stack(hashes), np.array(lengths), fold, 12
    ).to_pylist()
    for got, row, post_hashes, length in zip(compiled, pair_rows, hashes, lengths, strict=True):
        text = prenormalized[row].as_py() or ""
        expected = excerpt_reference(
            text, shingled.mixed[offsets[row] : offsets[row + 1]], post_hashes, fold, 12, length
        )
        assert got["text"] == expected.text
        assert [tuple(m) for m in got["marks"]] == list(expected.marks)
        assert len(got["text"]) <= EXCERPT_MAX


def test_no_pairs_give_an_empty_array() -> None:
    prenormalized = prenormalize(pa.array(["nothing to see here at all"]))
    shingled = shingle_prenormalized(prenormalized, HASHER)
    empty = np.zeros(0, dtype=np.int64)
    result = excerpts(
        prenormalized, shingled.mixed, shingled.window_offsets, empty, np.zeros((0, 8), np.uint32), empty,
        fold_table(), 12,
    )  # fmt: skip
    assert len(result) == 0


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(texts, min_size=1, max_size=6), data=st.data())
def test_covered_lengths_found_with_the_excerpts_equal_the_reference(rows: list[str], data: st.DataObject) -> None:
    prenormalized = prenormalize(pa.array(rows))
    shingled = shingle_prenormalized(prenormalized, HASHER)
    offsets = shingled.window_offsets
    pair_rows = sorted(data.draw(st.lists(st.integers(0, len(rows) - 1), max_size=10)))
    hashes = []
    for row in pair_rows:
        windows = shingled.mixed[offsets[row] : offsets[row + 1]]
        own = [int(w) for w in data.draw(st.lists(st.sampled_from(list(windows)), max_size=6))] if len(windows) else []
        hashes.append((own + [7] * 6)[:6])
    matched = np.array(pair_rows, dtype=np.int64)
    post_hashes = np.array(hashes, dtype=np.uint32).reshape(len(pair_rows), 6)
    expected = covered_lengths_reference(shingled.mixed, offsets, matched, post_hashes, 12)
    covered = np.zeros(len(rows), dtype=np.int64)
    lengths = np.array(data.draw(st.lists(st.integers(0, 300), min_size=len(pair_rows), max_size=len(pair_rows))))
    excerpts(
        prenormalized,
        shingled.mixed,
        offsets,
        matched,
        post_hashes,
        lengths.astype(np.int64),
        fold_table(),
        12,
        covered,
    )
    assert np.array_equal(covered, expected)


def test_covered_lengths_need_pairs_sorted_by_row() -> None:
    prenormalized = prenormalize(pa.array(["one row of some length here", "and another row of text"]))
    shingled = shingle_prenormalized(prenormalized, HASHER)
    rows, hashes = np.array([1, 0]), np.zeros((2, 8), np.uint32)
    with pytest.raises(ValueError, match="sorted by row"):
        excerpts(
            prenormalized,
            shingled.mixed,
            shingled.window_offsets,
            rows,
            hashes,
            rows,
            fold_table(),
            12,
            np.zeros(2, np.int64),
        )
