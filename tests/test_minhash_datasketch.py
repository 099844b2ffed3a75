"""Our batched signatures are bit-identical to datasketch's default scheme for the same shingles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.build import build_fingerprint_set
from auditor.fingerprint import Fingerprinter
from auditor.kernels.codepoints import to_codepoints
from auditor.kernels.minhash import EMPTY_SLOT, Permutations
from auditor.kernels.normalize import normalize_texts
from auditor.kernels.shingle_hash import ShingleHasher, fmix32
from auditor.sources.posts import PostSource

EDGE_CASES = [
    "",
    "   ",
    "short",
    "emoji 😂🔥 and more emoji 🎉 in a row 👍🏽 here",
    "combining marks: e\u0301 a\u0308 o\u0302 n\u0303 stacked a\u0301\u0302\u0303",
    "中文文本的例子，没有空格但是很长的一句话。",
    "עברית מימין לשמאל עם מספרים 12345 באמצע",
    "العربية من اليمين إلى اليسار نص طويل بما فيه الكفاية",
    "x" * 500,
]


def _datasketch_signature(text: str, hasher: ShingleHasher, num_perm: int, seed: int) -> np.ndarray:
    sketch = MinHash(num_perm=num_perm, seed=seed, hashfunc=hasher.hash_shingle)
    sketch.update_batch([text[i : i + hasher.size] for i in range(len(text) - hasher.size + 1)])
    return np.asarray(sketch.hashvalues)


def _our_signatures(texts: list[str], hasher: ShingleHasher, permutations: Permutations) -> np.ndarray:
    codepoints, offsets = to_codepoints(pa.array(texts, type=pa.string()))
    hashes, window_offsets = hasher.window_hashes(codepoints, offsets)
    return permutations.signatures(fmix32(hashes), window_offsets)


@pytest.mark.parametrize(("num_perm", "seed", "size", "key"), [(128, 1, 12, b""), (64, 42, 5, b"k" * 16)])
def test_edge_cases_match_datasketch(num_perm: int, seed: int, size: int, key: bytes) -> None:
    hasher = ShingleHasher(size, key)
    signatures = _our_signatures(EDGE_CASES, hasher, Permutations(num_perm, seed))
    for text, signature in zip(EDGE_CASES, signatures, strict=True):
        assert np.array_equal(signature, _datasketch_signature(text, hasher, num_perm, seed)), text


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(min_size=0, max_size=80), min_size=1, max_size=8), seed=st.integers(0, 2**32 - 1))
def test_random_texts_match_datasketch(texts: list[str], seed: int) -> None:
    # Surrogates cannot be UTF-8 encoded; Arrow strings never hold them.
    texts = [t.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(t) else t for t in texts]
    hasher = ShingleHasher(4)
    signatures = _our_signatures(texts, hasher, Permutations(32, seed))
    for text, signature in zip(texts, signatures, strict=True):
        assert np.array_equal(signature, _datasketch_signature(text, hasher, 32, seed))


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def test_large_batches_are_chunked_without_changing_results() -> None:
    hasher = ShingleHasher(12)
    permutations = Permutations(128, 1)
    texts = [f"post number {i} " * (1 + i % 50) for i in range(3_000)]  # more shingles than one chunk
    together = _our_signatures(texts, hasher, permutations)
    one_by_one = np.vstack([_our_signatures([t], hasher, permutations) for t in texts[:40]])
    assert np.array_equal(together[:40], one_by_one)


def test_empty_text_has_datasketch_empty_signature() -> None:
    signatures = _our_signatures(["", "tiny"], ShingleHasher(12), Permutations(128, 1))
    assert (signatures == EMPTY_SLOT).all()
    assert np.array_equal(signatures[0], MinHash(num_perm=128).hashvalues)


def test_winning_shingles_are_a_sample_of_the_post_shingles() -> None:
    hasher = ShingleHasher(12)
    permutations = Permutations(128, 1)
    text = "the slots of a minhash signature invert to the shingles that won them"
    codepoints, offsets = to_codepoints(pa.array([text]))
    hashes, window_offsets = hasher.window_hashes(codepoints, offsets)
    mixed = fmix32(hashes)
    winners = permutations.winning_shingles(permutations.signatures(mixed, window_offsets))
    assert set(winners[0].tolist()) <= set(mixed.tolist())
    assert len(set(winners[0].tolist())) > 30  # a sample, not one repeated value


def test_permutations_refuse_bad_parameters() -> None:
    with pytest.raises(ValueError, match="num_perm"):
        Permutations(8, 1)
    with pytest.raises(ValueError, match="seed"):
        Permutations(128, -1)


@settings(max_examples=40, deadline=None)
@given(num_perm=st.integers(16, 1024), seed=st.integers(0, 2**32 - 1))
def test_permutations_are_drawn_as_datasketch_draws_them(num_perm: int, seed: int) -> None:
    """The audit does not import datasketch (its import costs every process start); the permutations
    it draws itself must stay datasketch's."""
    from auditor.kernels.minhash import datasketch_permutations

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    ours = datasketch_permutations(num_perm, seed)
    assert ours[0].dtype == ours[1].dtype == np.uint32
    assert np.array_equal(ours[0], a) and np.array_equal(ours[1], b)


def test_a_set_stores_datasketch_hash_values_as_documented(tmp_path: Path) -> None:
    """A set's signature column, decoded as the README says (num_perm little-endian uint32 values), holds
    datasketch's hash values of each post's normalized text."""
    texts = ["the quick brown fox jumps over the lazy dog again", "posts are fingerprinted one by one here"]
    posts = tmp_path / "p.jsonl"
    posts.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    build_fingerprint_set([PostSource(posts)], tmp_path / "s.fp.parquet", Fingerprinter())
    stored = pq.read_table(tmp_path / "s.fp.parquet").column("signature").to_pylist()
    normalized = normalize_texts(pa.array(texts)).to_pylist()
    for text, value in zip(normalized, stored, strict=True):
        assert np.array_equal(np.frombuffer(value, "<u4"), _datasketch_signature(text, ShingleHasher(12), 128, 1))
