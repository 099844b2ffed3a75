"""Evidence rows: one per verified (post, corpus row) match, with the scores that verified it. Pure."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from auditor.excerpts import EXCERPT_TYPE
from auditor.fingerprint_set import FingerprintSet
from auditor.scan import BatchMatches

MATCH_WHOLE_ROW = "whole_row"
MATCH_IN_DOCUMENT = "in_document"
# A row at most this many times the post's normalized length is the post itself (perhaps with a prefix,
# a handle or a date); a longer row carries the post inside a document.
WHOLE_ROW_MAX_RATIO = 1.5

EVIDENCE_SCHEMA = pa.schema(
    [
        pa.field("post_id", pa.string(), nullable=False),
        pa.field("corpus_file", pa.string(), nullable=False),
        pa.field("corpus_row", pa.int64(), nullable=False),
        pa.field("corpus_id", pa.string()),
        pa.field("corpus_row_sha256", pa.string()),  # SHA-256 of the row's text: accepted matches name it
        pa.field("match_kind", pa.string(), nullable=False),
        pa.field("containment", pa.float64(), nullable=False),
        pa.field("matched_slots", pa.int32(), nullable=False),
        pa.field("specific_containment", pa.float64()),
        pa.field("jaccard", pa.float64(), nullable=False),
        pa.field("exact_containment", pa.float64()),
        pa.field("post_shingles", pa.int64(), nullable=False),
        pa.field("row_shingles", pa.int64(), nullable=False),
        pa.field("row_length", pa.int64(), nullable=False),
        pa.field("corpus_excerpt", EXCERPT_TYPE),
        pa.field("post_text", pa.string()),  # only from sets built with --keep-text
        # The post's metadata as the set holds it (null where the posts had none): so a reader of the
        # evidence alone can find the post on its platform and place it in time.
        pa.field("post_created_at", pa.string()),
        pa.field("post_author", pa.string()),
        pa.field("post_url", pa.string()),
    ]
)
POST_METADATA_COLUMNS = {"post_created_at": "created_at", "post_author": "author", "post_url": "url"}


def evidence_batch(
    matches: BatchMatches,
    fingerprints: FingerprintSet,
    corpus_file: str,
    file_rows: npt.NDArray[np.int64],
    corpus_ids: pa.Array | None,
) -> pa.RecordBatch:
    """Evidence rows of one scanned batch of `corpus_file` whose rows are the file's rows `file_rows`."""
    post_ids = fingerprints.post_ids
    post_shingles, post_lengths = fingerprints.shingle_counts, fingerprints.normalized_lengths
    count = len(matches.rows)
    containment = matches.containment
    p_size = post_shingles[matches.posts].astype(np.float64)
    shared = containment * p_size
    union = p_size + matches.row_shingles - shared
    jaccard = np.clip(np.divide(shared, union, out=np.zeros(count), where=union > 0), 0.0, 1.0)
    whole = matches.row_lengths <= WHOLE_ROW_MAX_RATIO * post_lengths[matches.posts]
    indices = pa.array(matches.rows)
    exact = pa.array(matches.exact_containment, from_pandas=True)  # NaN becomes null
    return pa.RecordBatch.from_arrays(
        [
            post_ids.take(pa.array(matches.posts)),
            pa.array([corpus_file] * count, type=pa.string()),
            pa.array(file_rows[matches.rows], type=pa.int64()),
            corpus_ids.take(indices) if corpus_ids is not None else pa.nulls(count, pa.string()),
            pa.array(matches.row_sha256, type=pa.string()) if matches.row_sha256 else pa.nulls(count, pa.string()),
            pa.array(np.where(whole, MATCH_WHOLE_ROW, MATCH_IN_DOCUMENT), type=pa.string()),
            pa.array(containment, type=pa.float64()),
            pa.array(matches.matched_slots, type=pa.int32()),
            pa.array(matches.specific_containment, from_pandas=True),
            pa.array(jaccard, type=pa.float64()),
            exact,
            pa.array(post_shingles[matches.posts], type=pa.int64()),
            pa.array(matches.row_shingles, type=pa.int64()),
            pa.array(matches.row_lengths, type=pa.int64()),
            matches.excerpts if len(matches.excerpts) == count else pa.nulls(count, EXCERPT_TYPE),
            fingerprints.texts.take(pa.array(matches.posts))
            if fingerprints.texts is not None
            else pa.nulls(count, pa.string()),
            *(_metadata(fingerprints, name, matches.posts) for name in POST_METADATA_COLUMNS.values()),
        ],
        schema=EVIDENCE_SCHEMA,
    )


def _metadata(fingerprints: FingerprintSet, name: str, posts: npt.NDArray[np.int64]) -> pa.Array:
    """Metadata column `name` (created_at, author, url) of the given posts, as strings."""
    if name not in fingerprints.metadata.column_names:
        return pa.nulls(len(posts), pa.string())
    column = fingerprints.metadata.column(name).take(pa.array(posts))
    return column.combine_chunks().cast(pa.string())
