"""The local engine: this process, part after part, batch after batch, in a stable order."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.batch import CorpusBatch, PartResult, scan_batch
from auditor.engine import RowsCallback, ScanJob
from auditor.sources.corpus import CorpusPart


def scan_part(job: ScanJob, part: CorpusPart, on_rows: RowsCallback | None = None) -> PartResult:
    """The result of one part: its batches scanned in row order and added up."""
    corpus_file = job.files[part.file_index]
    result = PartResult.empty(len(job.scanners))
    first_row = part.first_row
    for table in corpus_file.batches(part.row_groups):
        batch = CorpusBatch.of(corpus_file.name, first_row, table)
        result = result + scan_batch(job.scanners, batch, job.options)
        first_row += table.num_rows
        if on_rows is not None:
            on_rows(table.num_rows)
    return result


class LocalEngine:
    """Scans every part in this process, in part order."""

    name = "local"

    def run(self, job: ScanJob, on_rows: RowsCallback | None = None) -> Iterator[tuple[CorpusPart, PartResult]]:
        for part in job.parts:
            yield part, scan_part(job, part, on_rows)
