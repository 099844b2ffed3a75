"""The audit: a fingerprint set against a corpus, assembled into an AuditResult. Library entry point."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor import __version__
from auditor.engine.local import RowsCallback, scan_files
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.files import identify
from auditor.kernels.sorting import unique_sorted
from auditor.result import AuditResult, AuditSettings, CorpusFileSummary
from auditor.scan import CorpusScanner
from auditor.sources.corpus import CorpusFile


def audit(
    scanner: CorpusScanner,
    files: Sequence[CorpusFile],
    on_rows: RowsCallback | None = None,
) -> AuditResult:
    """Scan every corpus file for the scanner's posts and summarize; never prints."""
    summaries: list[CorpusFileSummary] = []
    tables: list[pa.Table] = []
    matched_posts: list[np.ndarray] = []
    for scanned in scan_files(scanner, files, on_rows):
        evidence = scanned.evidence
        rows_matched = len(pc.unique(evidence.column("corpus_row"))) if evidence.num_rows else 0
        summaries.append(
            CorpusFileSummary(
                path=str(scanned.file.path),
                size=scanned.file.size,
                rows=scanned.file.rows,
                rows_skipped=scanned.rows_skipped,
                rows_matched=rows_matched,
                matches=evidence.num_rows,
                posts_matched=len(scanned.matched_posts),
            )
        )
        tables.append(evidence)
        matched_posts.append(scanned.matched_posts)
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
        ),
        files=tuple(summaries),
        posts_testable=len(fingerprints.signatures),
        posts_matched=posts_matched,
        evidence=evidence,
    )
