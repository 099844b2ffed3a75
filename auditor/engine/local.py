"""The local engine: this process, part after part, batch after batch, in a stable order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from auditor.evidence import EVIDENCE_SCHEMA, evidence_batch
from auditor.kernels.sorting import unique_sorted
from auditor.sampling import RowSample
from auditor.scan import CorpusScanner
from auditor.sources.corpus import CorpusFile, CorpusPart
from auditor.sources.skips import SkipCounter

RowsCallback = Callable[[int], None]


@dataclass(frozen=True)
class PartScan:
    """What scanning one part of a corpus file produced."""

    part: CorpusPart
    rows_skipped: dict[str, int]
    evidence: pa.Table
    matched_posts: np.ndarray  # distinct indices of the usable posts matched in this part


def scan_part(
    scanner: CorpusScanner,
    corpus_file: CorpusFile,
    part: CorpusPart,
    on_rows: RowsCallback | None = None,
    row_sample: RowSample | None = None,
) -> PartScan:
    fingerprints = scanner.fingerprints
    skipped = SkipCounter()
    batches: list[pa.RecordBatch] = []
    posts: list[np.ndarray] = []
    first_row = part.first_row
    for batch in corpus_file.batches(part.row_groups):
        texts = batch.column(0)
        sampled = None
        if row_sample is not None:
            keep = row_sample.mask(str(corpus_file.path), first_row, batch.num_rows)
            skipped["not_sampled"] += int((~keep).sum())
            sampled = np.flatnonzero(keep)
            texts = texts.take(pa.array(sampled))
        skipped["null_text"] += texts.null_count
        matches = scanner.scan(texts)
        if sampled is not None:
            matches = replace(matches, rows=sampled[matches.rows])
        if len(matches.rows):
            ids = batch.column(1) if corpus_file.id_column else None
            batches.append(
                evidence_batch(
                    matches,
                    fingerprints.params.num_perm,
                    fingerprints.post_ids,
                    fingerprints.shingle_counts,
                    fingerprints.normalized_lengths,
                    str(corpus_file.path),
                    first_row,
                    ids,
                )
            )
            posts.append(matches.posts)
        first_row += batch.num_rows
        if on_rows is not None:
            on_rows(batch.num_rows)
    evidence = pa.Table.from_batches(batches, schema=EVIDENCE_SCHEMA)
    matched = unique_sorted(np.concatenate(posts)) if posts else np.zeros(0, dtype=np.int64)
    return PartScan(part, skipped.as_dict(), evidence, matched)


def scan_parts(
    scanner: CorpusScanner,
    files: Sequence[CorpusFile],
    parts: Sequence[CorpusPart],
    on_rows: RowsCallback | None = None,
    row_sample: RowSample | None = None,
) -> Iterator[PartScan]:
    for part in parts:
        yield scan_part(scanner, files[part.file_index], part, on_rows, row_sample)
