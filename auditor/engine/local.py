"""The local engine: this process, file after file, batch after batch, in a stable order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from auditor.evidence import EVIDENCE_SCHEMA, evidence_batch
from auditor.kernels.sorting import unique_sorted
from auditor.scan import CorpusScanner
from auditor.sources.corpus import CorpusFile
from auditor.sources.skips import SkipCounter

RowsCallback = Callable[[int], None]


@dataclass(frozen=True)
class FileScan:
    """What scanning one corpus file produced."""

    file: CorpusFile
    rows_skipped: dict[str, int]
    evidence: pa.Table
    matched_posts: np.ndarray  # distinct indices of the usable posts matched in this file


def scan_file(scanner: CorpusScanner, corpus_file: CorpusFile, on_rows: RowsCallback | None = None) -> FileScan:
    fingerprints = scanner.fingerprints
    skipped = SkipCounter()
    batches: list[pa.RecordBatch] = []
    posts: list[np.ndarray] = []
    first_row = 0
    for batch in corpus_file.batches():
        texts = batch.column(0)
        skipped["null_text"] += texts.null_count
        matches = scanner.scan(texts)
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
    return FileScan(corpus_file, skipped.as_dict(), evidence, matched)


def scan_files(
    scanner: CorpusScanner, files: Sequence[CorpusFile], on_rows: RowsCallback | None = None
) -> Iterator[FileScan]:
    for corpus_file in files:
        yield scan_file(scanner, corpus_file, on_rows)
