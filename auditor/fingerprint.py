"""Posts to fingerprints: normalize, shingle, hash and MinHash a batch of posts. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from auditor.defaults import MAX_MIN_SHINGLES
from auditor.errors import UsageError
from auditor.fingerprint_set import FORMAT_VERSION, signature_column, signature_type
from auditor.kernels import compiled_minhash, compiled_text
from auditor.kernels.codepoints import Offsets, to_codepoints, utf8_view
from auditor.kernels.containment import distinct_group_keys
from auditor.kernels.minhash import Permutations
from auditor.kernels.normalize import fold_table, normalize_texts, prenormalize
from auditor.kernels.scratch import Scratch
from auditor.kernels.shingle_hash import Hashes, ShingleHasher, fmix32
from auditor.keys import key_matches
from auditor.params import DEFAULT_MIN_SHINGLES, FingerprintParams
from auditor.sources import POST_METADATA
from auditor.sources.skips import SKIP_NO_TEXT, SKIP_TOO_SHORT

# Windows hashed at once by the compiled shingler: its running sums (8 bytes each) stay in the L1 cache.
SHINGLE_TILE = 512


def fingerprint_schema(num_perm: int, keep_text: bool, version: int = FORMAT_VERSION) -> pa.Schema:
    """The columns of a fingerprint set of format `version` (the signature's type is the format's)."""
    fields = [
        pa.field("post_id", pa.string(), nullable=False),
        pa.field("signature", signature_type(num_perm, version)),
        pa.field("shingle_count", pa.uint32(), nullable=False),
        pa.field("normalized_length", pa.uint32(), nullable=False),
        pa.field("skip_reason", pa.string()),
        *(pa.field(name, pa.string()) for name in POST_METADATA),
    ]
    if keep_text:
        fields.append(pa.field("text", pa.string()))
    return pa.schema(fields)


@dataclass(frozen=True)
class ShingledTexts:
    """Mixed shingle hashes (fmix32 of the base hash) of a batch of texts, grouped per text."""

    mixed: Hashes
    window_offsets: Offsets
    normalized_lengths: npt.NDArray[np.int64]

    def distinct_counts(self) -> npt.NDArray[np.int64]:
        counts: npt.NDArray[np.int64] = compiled_text.distinct_counts(self.mixed, self.window_offsets)
        return counts

    def distinct_counts_reference(self) -> npt.NDArray[np.int64]:
        keys = distinct_group_keys(self.mixed, self.window_offsets)
        return np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=len(self.window_offsets) - 1)


def shingle_texts(texts: pa.Array, hasher: ShingleHasher, scratch: Scratch | None = None) -> ShingledTexts:
    """Normalize and shingle a batch of texts; the one path both posts and corpus rows take.

    `shingle_texts_reference` defines the result. With a `scratch`, the hashes live in its reused buffer
    and are valid until the next call with the same scratch.
    """
    return shingle_prenormalized(prenormalize(texts), hasher, scratch)


def shingle_prenormalized(
    prenormalized: pa.Array, hasher: ShingleHasher, scratch: Scratch | None = None
) -> ShingledTexts:
    """Shingle texts that `prenormalize` gave: UTF-8 decoding, the letters-and-digits filter, the base
    hash and fmix32 run compiled (compiled_text.shingle_utf8), work space taken from `scratch`."""
    data, offsets = utf8_view(prenormalized)
    strings = len(offsets) - 1
    work = scratch or Scratch()
    hashes = work.buffer("hashes", max(len(data), 1), np.uint32)
    codepoints = work.buffer("codepoints", len(data) + 1, np.uint32)
    tile = work.buffer("tile", SHINGLE_TILE, np.uint64)
    window_offsets = np.empty(strings + 1, dtype=np.int64)
    lengths = np.empty(strings, dtype=np.int64)
    written = compiled_text.shingle_utf8(
        data, offsets, fold_table(), hasher.coefficients, hasher.size, hashes, window_offsets, lengths, codepoints, tile
    )
    return ShingledTexts(hashes[:written], window_offsets, lengths)


def shingle_texts_reference(texts: pa.Array, hasher: ShingleHasher) -> ShingledTexts:
    """The numpy reference of shingle_texts: normalize with regexes, then hash code point windows."""
    codepoints, offsets = to_codepoints(normalize_texts(texts))
    hashes, window_offsets = hasher.window_hashes(codepoints, offsets)
    return ShingledTexts(fmix32(hashes), window_offsets, np.diff(offsets))


@dataclass(frozen=True)
class Fingerprinter:
    """Turns batches of posts (columns post_id, text, metadata) into fingerprint batches."""

    params: FingerprintParams = field(default_factory=FingerprintParams)
    key: bytes = b""
    min_shingles: int = DEFAULT_MIN_SHINGLES
    keep_text: bool = False
    hasher: ShingleHasher = field(init=False, repr=False, compare=False)
    permutations: Permutations = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.min_shingles <= MAX_MIN_SHINGLES:
            raise UsageError(f"--min-shingles must be from 1 to {MAX_MIN_SHINGLES:,}, got {self.min_shingles:,}.")
        hasher = ShingleHasher(self.params.shingle_size, self.key)
        if not key_matches(self.key, self.params.key_id):
            raise UsageError(
                f"the key given is not the key the parameters name ({self.params.key_id}); "
                "pass the key file the parameters were made for."
            )
        object.__setattr__(self, "hasher", hasher)
        object.__setattr__(self, "permutations", Permutations(self.params.num_perm, self.params.seed))

    @property
    def schema(self) -> pa.Schema:
        return fingerprint_schema(self.params.num_perm, self.keep_text)

    def fingerprint(self, posts: pa.RecordBatch, scratch: Scratch | None = None) -> pa.RecordBatch:
        """The fingerprint batch of a batch of posts. With a `scratch`, the work buffers and the
        signatures of the batch returned live in its reused buffers (a fresh buffer of tens of
        megabytes costs more in page faults than the work done in it): the batch is valid until the
        next call with the same scratch, so write it before then."""
        texts = posts.column("text")
        shingled = shingle_texts(texts, self.hasher, scratch)
        if scratch is None:
            signatures = self.permutations.signatures(shingled.mixed, shingled.window_offsets)
        else:
            groups, num_perm = len(shingled.window_offsets) - 1, self.params.num_perm
            signatures = scratch.buffer("signatures", groups * num_perm, np.uint32).reshape(groups, num_perm)
            compiled_minhash.signatures_into(
                shingled.mixed, shingled.window_offsets, self.permutations.a, self.permutations.b, signatures
            )
        distinct = shingled.distinct_counts()
        # Null or empty: no text, whichever way the format wrote its absence (CSV an empty field, JSON "").
        no_text = np.asarray(
            pc.equal(pc.binary_length(texts), 0).fill_null(True).to_numpy(zero_copy_only=False), dtype=np.bool_
        )
        too_short = ~no_text & (distinct < self.min_shingles)
        skip = np.full(len(distinct), None, dtype=object)
        skip[too_short] = SKIP_TOO_SHORT
        skip[no_text] = SKIP_NO_TEXT
        usable = ~(no_text | too_short)
        columns = [
            posts.column("post_id"),
            signature_column(signatures, usable),
            pa.array(distinct, type=pa.uint32()),
            pa.array(shingled.normalized_lengths, type=pa.uint32()),
            pa.array(skip, type=pa.string()),
            *(posts.column(name) for name in POST_METADATA),
        ]
        if self.keep_text:
            columns.append(texts)
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)
