"""The local engine: this process, part after part, batch after batch, in a stable order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor.claims import domains_of
from auditor.evidence import EVIDENCE_SCHEMA, evidence_batch
from auditor.kernels.sorting import unique_sorted
from auditor.sampling import RowSample
from auditor.scan import CorpusScanner
from auditor.sources.corpus import CorpusFile, CorpusPart
from auditor.sources.skips import SkipCounter
from auditor.stats import TextShare

RowsCallback = Callable[[int], None]


@dataclass(frozen=True)
class PartScan:
    """What scanning one part of a corpus file produced."""

    part: CorpusPart
    rows_skipped: dict[str, int]
    domain_rows: dict[str, int]  # scanned rows by source domain (corpora with a URL column)
    domain_matched_rows: dict[str, int]  # rows carrying posts by source domain
    evidence: pa.Table
    matched_posts: np.ndarray  # distinct indices of the usable posts matched in this part
    text_share: TextShare


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
    domain_rows: Counter[str] = Counter()
    domain_matched: Counter[str] = Counter()
    text_share = TextShare()
    for batch in corpus_file.batches(part.row_groups):
        texts = batch.column("text")
        sampled = None
        if row_sample is not None:
            keep = row_sample.mask(str(corpus_file.path), first_row, batch.num_rows)
            skipped["not_sampled"] += int((~keep).sum())
            sampled = np.flatnonzero(keep)
            texts = texts.take(pa.array(sampled))
        skipped["null_text"] += texts.null_count
        matches = scanner.scan(texts)
        text_share += matches.text_share
        if sampled is not None:
            matches = replace(matches, rows=sampled[matches.rows])
        if "url" in batch.schema.names:
            domains = domains_of(batch.column("url"))
            scanned = pc.is_valid(batch.column("text"))
            if sampled is not None:
                in_sample = np.zeros(batch.num_rows, dtype=np.bool_)
                in_sample[sampled] = True
                scanned = pc.and_(scanned, pa.array(in_sample))
            domain_rows.update(_counts(domains.filter(scanned)))
            domain_matched.update(_counts(domains.take(pa.array(unique_sorted(matches.rows)))))
        if len(matches.rows):
            ids = batch.column("id") if corpus_file.id_column else None
            batches.append(evidence_batch(matches, fingerprints, str(corpus_file.path), first_row, ids))
            posts.append(matches.posts)
        first_row += batch.num_rows
        if on_rows is not None:
            on_rows(batch.num_rows)
    evidence = pa.Table.from_batches(batches, schema=EVIDENCE_SCHEMA)
    matched = unique_sorted(np.concatenate(posts)) if posts else np.zeros(0, dtype=np.int64)
    return PartScan(part, skipped.as_dict(), dict(domain_rows), dict(domain_matched), evidence, matched, text_share)


def _counts(values: pa.Array) -> dict[str, int]:
    return {item["values"]: item["counts"] for item in pc.value_counts(values.drop_null()).to_pylist()}


def scan_parts(
    scanner: CorpusScanner,
    files: Sequence[CorpusFile],
    parts: Sequence[CorpusPart],
    on_rows: RowsCallback | None = None,
    row_sample: RowSample | None = None,
) -> Iterator[PartScan]:
    for part in parts:
        yield scan_part(scanner, files[part.file_index], part, on_rows, row_sample)
