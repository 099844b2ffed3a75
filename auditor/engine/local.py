"""The local engine: this process, part after part, batch after batch, in a stable order."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.batch import CorpusBatch, PartResult, scan_batches
from auditor.engine import RowsCallback, ScanJob
from auditor.sources.corpus import CorpusPart

# Text of the batches whose windows one probe of a large index takes (scan_batches), at the most.
PROBE_GROUP_BYTES = 32 << 20


def scan_part(job: ScanJob, part: CorpusPart, on_rows: RowsCallback | None = None) -> PartResult:
    """The result of one part: its batches scanned in row order and added up. With a large index, the
    batches go in groups of about PROBE_GROUP_BYTES of text, each group's windows probing the index at
    once, while its hits are sparse (`CorpusScanner.probes_in_groups`); the result is the same."""
    corpus_file = job.files[part.file_index]
    result = PartResult.empty(len(job.scanners))
    group: list[CorpusBatch] = []
    group_bytes = 0
    first_row = part.first_row
    for table in corpus_file.batches(part.row_groups):
        group.append(CorpusBatch.of(corpus_file.name, first_row, table))
        group_bytes += table.column("text").nbytes
        first_row += table.num_rows
        grouped = any(scanner.probes_in_groups for scanner in job.scanners)  # as the last probe found
        if not grouped or group_bytes >= PROBE_GROUP_BYTES:
            result = result + _scanned(job, group, on_rows)
            group, group_bytes = [], 0
    if group:
        result = result + _scanned(job, group, on_rows)
    return result


def _scanned(job: ScanJob, group: list[CorpusBatch], on_rows: RowsCallback | None) -> PartResult:
    result = scan_batches(job.scanners, group, job.options)
    if on_rows is not None:
        on_rows(sum(batch.table.num_rows for batch in group))
    return result


class LocalEngine:
    """Scans every part in this process, in part order."""

    name = "local"

    def run(self, job: ScanJob, on_rows: RowsCallback | None = None) -> Iterator[tuple[CorpusPart, PartResult]]:
        for part in job.parts:
            yield part, scan_part(job, part, on_rows)
