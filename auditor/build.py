"""The fingerprint job: posts files in, one fingerprint set out. Library entry point of `auditor fingerprint`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow.compute as pc

from auditor.dates import undated_by_reason
from auditor.errors import InputError
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import FingerprintSetInfo, FingerprintSetWriter
from auditor.kernels.scratch import Scratch
from auditor.sources.posts import PostSource
from auditor.sources.skips import SkipCounter

ProgressCallback = Callable[[int], None]


def build_fingerprint_set(
    sources: Sequence[PostSource],
    output: Path,
    fingerprinter: Fingerprinter,
    on_posts: ProgressCallback | None = None,
) -> FingerprintSetInfo:
    """Fingerprint every post of `sources` into `output`; returns what the set records about itself: the
    files read (with SHA-256), each input's format and what it left out, and the undated posts by reason."""
    writer = FingerprintSetWriter(output, fingerprinter.schema)
    skipped = SkipCounter()
    scratch = Scratch()  # each batch is written before the next is fingerprinted
    usable = 0
    undated = SkipCounter()  # the set's undated posts by reason (an input's own count has its duplicates too)
    try:
        for source in sources:
            for posts in source.batches():
                written = writer.write(fingerprinter.fingerprint(posts, scratch))
                reasons = written.column("skip_reason")
                usable += reasons.null_count
                kept = source.date_status if writer.last_kept is None else source.date_status[writer.last_kept]
                undated.update(undated_by_reason(kept))  # of the posts written, not of those dropped
                for item in pc.value_counts(reasons.drop_null()).to_pylist():
                    skipped[item["values"]] += item["counts"]
                if on_posts is not None:
                    on_posts(posts.num_rows)
            skipped.update(source.skipped)
        skipped["duplicate_id"] += writer.duplicates
        summaries = tuple(source.summary() for source in sources)
        if not any(summary.records for summary in summaries):  # as an empty file: a header, an empty array
            names = ", ".join(summary.name for summary in summaries)
            raise InputError(f"{names}: no record in it (no posts); check that it is the export you meant.")
        info = FingerprintSetInfo(
            params=fingerprinter.params,
            min_shingles=fingerprinter.min_shingles,
            has_text=fingerprinter.keep_text,
            inputs=tuple(identity for source in sources for identity in source.inputs),
            counts={
                "posts_read": sum(source.rows_read for source in sources),
                "posts_in_set": writer.rows,
                "posts_fingerprinted": usable,
                "posts_undated": sum(undated.values()),  # a null created_at is an undated status
            },
            skipped=skipped.as_dict(),
            sources=summaries,
            undated=undated.as_dict(),
        )
        info = writer.close(info)
    except BaseException:
        writer.abort()
        raise
    return info
