"""Vectorized kernels agree with their per-item references, on Unicode edge cases too."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.kernels.codepoints import to_codepoints
from auditor.kernels.containment import contains, min_slots_for
from auditor.kernels.shingle_hash import ShingleHasher, fmix32
from tests.test_minhash_datasketch import EDGE_CASES

utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), utf8_text), max_size=10), large=st.booleans(), cut=st.integers(0, 3))
def test_codepoints_match_python_strings(texts: list[str | None], large: bool, cut: int) -> None:
    array = pa.array(texts, type=pa.large_string() if large else pa.string())
    array = array.slice(min(cut, len(array)))  # a slice has a non-zero offset into its buffers
    codepoints, offsets = to_codepoints(array)
    for i, text in enumerate(array.to_pylist()):
        expected = [ord(c) for c in (text or "")]
        assert codepoints[offsets[i] : offsets[i + 1]].tolist() == expected


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(utf8_text, min_size=1, max_size=6), size=st.integers(3, 12))
def test_window_hashes_match_reference_hash(texts: list[str], size: int) -> None:
    hasher = ShingleHasher(size)
    codepoints, offsets = to_codepoints(pa.array(texts))
    hashes, window_offsets = hasher.window_hashes(codepoints, offsets)
    for i, text in enumerate(texts):
        expected = [hasher.hash_shingle(text[j : j + size]) for j in range(len(text) - size + 1)]
        assert hashes[window_offsets[i] : window_offsets[i + 1]].tolist() == expected


def test_windows_never_cross_strings() -> None:
    hasher = ShingleHasher(4)
    _, window_offsets = hasher.window_hashes(*to_codepoints(pa.array(["abcdef", "ab", "", "wxyz"])))
    assert np.diff(window_offsets).tolist() == [3, 0, 0, 1]


def test_edge_cases_hash_without_error() -> None:
    hashes, window_offsets = ShingleHasher(12).window_hashes(*to_codepoints(pa.array(EDGE_CASES)))
    assert window_offsets[-1] == len(hashes)


def test_key_changes_every_hash() -> None:
    public, keyed = ShingleHasher(12), ShingleHasher(12, b"a secret key of 32 bytes........")
    assert public.hash_shingle("hello world!") != keyed.hash_shingle("hello world!")


def test_hash_shingle_refuses_wrong_length() -> None:
    with pytest.raises(ValueError, match="exactly 12"):
        ShingleHasher(12).hash_shingle("short")


def test_fmix32_matches_datasketch() -> None:
    from datasketch.minhash import _fmix

    values = np.random.default_rng(3).integers(0, 2**32, 1000, dtype=np.uint32)
    assert np.array_equal(fmix32(values), _fmix(values.copy(), 32))


def test_contains_and_min_slots() -> None:
    keys = np.array([1, 5, 9], dtype=np.uint64)
    assert contains(keys, np.array([[0, 1], [9, 10]], dtype=np.uint64)).tolist() == [[False, True], [True, False]]
    assert not contains(np.zeros(0, dtype=np.uint64), np.array([1], dtype=np.uint64)).any()
    assert min_slots_for(0.6, 128) == 77
    assert min_slots_for(0.5, 128) == 64
