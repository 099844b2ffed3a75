"""Fingerprinting with reused work buffers (a Scratch) gives the batches fingerprinting without one gives."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.fingerprint import Fingerprinter
from auditor.kernels.scratch import Scratch
from auditor.params import FingerprintParams
from auditor.sources.posts import POST_METADATA

_WORDS = st.sampled_from(["harbour", "tide", "lighthouse", "keeper", "fog", "gull", "Straße", "café", "日本"])
_TEXT = st.one_of(st.none(), st.lists(_WORDS, max_size=30).map(" ".join))


def _posts(texts: list[str | None]) -> pa.RecordBatch:
    columns = {
        "post_id": pa.array([str(n) for n in range(len(texts))], pa.string()),
        "text": pa.array(texts, pa.string()),
    }
    columns |= {name: pa.nulls(len(texts), pa.string()) for name in POST_METADATA}
    return pa.RecordBatch.from_pydict(columns)


@settings(max_examples=30, deadline=None)
@given(batches=st.lists(st.lists(_TEXT, max_size=12), min_size=1, max_size=4), num_perm=st.sampled_from([16, 128]))
def test_batches_with_a_scratch_equal_batches_without(batches: list[list[str | None]], num_perm: int) -> None:
    """Batches of growing and shrinking sizes through one scratch: each, checked before the next call
    (as build_fingerprint_set writes it), equals the batch made with fresh buffers."""
    fingerprinter = Fingerprinter(FingerprintParams(num_perm=num_perm), min_shingles=2)
    scratch = Scratch()
    for texts in batches:
        posts = _posts(texts)
        assert fingerprinter.fingerprint(posts, scratch).equals(fingerprinter.fingerprint(posts))
