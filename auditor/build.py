"""The fingerprint job: posts files in, one fingerprint set out. Library entry point of `auditor fingerprint`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow.compute as pc

from auditor.files import identify
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import FingerprintSetInfo, FingerprintSetWriter
from auditor.sources.posts import PostSource
from auditor.sources.skips import SkipCounter

ProgressCallback = Callable[[int], None]


def build_fingerprint_set(
    sources: Sequence[PostSource],
    output: Path,
    fingerprinter: Fingerprinter,
    on_posts: ProgressCallback | None = None,
) -> FingerprintSetInfo:
    """Fingerprint every post of `sources` into `output`; returns what the set records about itself."""
    inputs = tuple(identify(source.path) for source in sources)
    writer = FingerprintSetWriter(output, fingerprinter.schema)
    skipped = SkipCounter()
    usable = 0
    try:
        for source in sources:
            for posts in source.batches():
                written = writer.write(fingerprinter.fingerprint(posts))
                reasons = written.column("skip_reason")
                usable += reasons.null_count
                for item in pc.value_counts(reasons.drop_null()).to_pylist():
                    skipped[item["values"]] += item["counts"]
                if on_posts is not None:
                    on_posts(posts.num_rows)
            skipped.update(source.skipped)
        skipped["duplicate_id"] += writer.duplicates
        info = FingerprintSetInfo(
            params=fingerprinter.params,
            min_shingles=fingerprinter.min_shingles,
            has_text=fingerprinter.keep_text,
            inputs=inputs,
            counts={
                "posts_read": sum(source.rows_read for source in sources),
                "posts_in_set": writer.rows,
                "posts_fingerprinted": usable,
            },
            skipped=skipped.as_dict(),
        )
        info = writer.close(info)
    except BaseException:
        writer.abort()
        raise
    return info
