"""The audit: a fingerprint set against a corpus, assembled into an AuditResult. Library entry point."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor import __version__
from auditor.claims import assess, domain_rates
from auditor.engine.local import PartScan, RowsCallback
from auditor.engine.processes import scan_parts_in_processes
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.files import identify, sha256_of
from auditor.kernels.sorting import unique_sorted
from auditor.result import AuditResult, AuditSettings, CorpusFileSummary
from auditor.sampling import RowSample
from auditor.scan import CorpusScanner
from auditor.sources.corpus import CorpusFile, corpus_parts
from auditor.sources.skips import SkipCounter
from auditor.stats import TextShare


def audit(
    scanner: CorpusScanner,
    files: Sequence[CorpusFile],
    on_rows: RowsCallback | None = None,
    workers: int = 1,
    cutoff: str | None = None,
    keep_nonspecific: bool = False,
    row_sample: RowSample | None = None,
    post_sample: float | None = None,
    hash_corpus: bool = True,
) -> AuditResult:
    """Scan every corpus file for the scanner's posts and summarize; never prints.

    The result is the same for any number of `workers`: parts are scanned in any order but merged in
    file and row order. `row_sample` scans a seeded sample of rows; `post_sample` only records that the
    scanner's set is a sample of posts (see sampling.sample_posts and FingerprintSet.subset).
    `hash_corpus` records each corpus file's SHA-256, so a third party can check it reran on the same data.
    """
    parts = corpus_parts(files)
    by_file: dict[int, list[PartScan]] = {index: [] for index in range(len(files))}
    domain_rows: Counter[str] = Counter()
    domain_matched: Counter[str] = Counter()
    text_share = TextShare()
    for scanned in scan_parts_in_processes(scanner, files, parts, workers, on_rows, row_sample):
        by_file[scanned.part.file_index].append(scanned)
        domain_rows.update(scanned.domain_rows)
        domain_matched.update(scanned.domain_matched_rows)
        text_share += scanned.text_share
    summaries: list[CorpusFileSummary] = []
    tables: list[pa.Table] = []
    matched_posts: list[np.ndarray] = []
    for index, scans in by_file.items():
        evidence = pa.concat_tables([s.evidence for s in scans]) if scans else EVIDENCE_SCHEMA.empty_table()
        skipped = SkipCounter()
        for scanned in scans:
            skipped.update(scanned.rows_skipped)
        posts = unique_sorted(np.concatenate([s.matched_posts for s in scans])) if scans else np.zeros(0, np.int64)
        rows_matched = len(pc.unique(evidence.column("corpus_row"))) if evidence.num_rows else 0
        summaries.append(
            CorpusFileSummary(
                path=str(files[index].path),
                size=files[index].size,
                rows=files[index].rows,
                rows_skipped=skipped.as_dict(),
                rows_matched=rows_matched,
                matches=evidence.num_rows,
                posts_matched=len(posts),
                sha256=sha256_of(files[index].path) if hash_corpus else None,
            )
        )
        tables.append(evidence)
        matched_posts.append(posts)
    fingerprints = scanner.fingerprints
    evidence = pa.concat_tables(tables) if tables else EVIDENCE_SCHEMA.empty_table()
    posts_matched = len(unique_sorted(np.concatenate(matched_posts))) if matched_posts else 0
    id_columns = {f.id_column for f in files}
    return AuditResult(
        tool_version=__version__,
        fingerprint_file=identify(Path(fingerprints.path)),
        fingerprint_info=fingerprints.info,
        settings=AuditSettings(
            threshold=scanner.threshold,
            min_slots=scanner.min_slots,
            text_column=files[0].text_column if files else "text",
            id_column=next(iter(id_columns)) if len(id_columns) == 1 else None,
            post_sample=post_sample,
            row_sample=row_sample.fraction if row_sample is not None else None,
            sample_seed=row_sample.seed if row_sample is not None else 0,
        ),
        files=tuple(summaries),
        posts_testable=len(fingerprints.slot_hashes),
        posts_matched=posts_matched,
        evidence=evidence,
        matches_by_kind=_by_kind(evidence),
        text_share=text_share,
        untestable_examples=fingerprints.untestable_examples,
        claims=replace(
            assess(
                evidence,
                fingerprints.post_ids,
                fingerprints.metadata.column("created_at").combine_chunks(),
                fingerprints.metadata.column("author").combine_chunks(),
                cutoff,
                keep_nonspecific,
            ),
            by_domain=domain_rates(dict(domain_rows), dict(domain_matched)),
        ),
    )


def _by_kind(evidence: pa.Table) -> dict[str, int]:
    if not evidence.num_rows:
        return {}
    counts = pc.value_counts(evidence.column("match_kind")).to_pylist()
    return {item["values"]: item["counts"] for item in sorted(counts, key=lambda i: i["values"])}
