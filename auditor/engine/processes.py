"""The process engine: parts of the corpus scanned by a pool of forked workers, results in part order.

Workers are forked after the scanner is built, so they share its index copy-on-write instead of each
loading the fingerprint set again. Results come back in the order of the parts, so the audit is the same
whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence

from auditor.engine.local import PartScan, RowsCallback, scan_part, scan_parts
from auditor.sampling import RowSample
from auditor.scan import CorpusScanner
from auditor.sources.corpus import CorpusFile, CorpusPart

# Set in the parent just before forking; the children inherit them.
_SCANNER: CorpusScanner | None = None
_FILES: Sequence[CorpusFile] = ()
_ROW_SAMPLE: RowSample | None = None


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _scan(part: CorpusPart) -> PartScan:
    assert _SCANNER is not None  # set before the pool forks
    return scan_part(_SCANNER, _FILES[part.file_index], part, row_sample=_ROW_SAMPLE)


def scan_parts_in_processes(
    scanner: CorpusScanner,
    files: Sequence[CorpusFile],
    parts: Sequence[CorpusPart],
    workers: int,
    on_rows: RowsCallback | None = None,
    row_sample: RowSample | None = None,
) -> Iterator[PartScan]:
    """Like engine.local.scan_parts, over `workers` processes; progress advances a part at a time."""
    if workers <= 1 or len(parts) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from scan_parts(scanner, files, parts, on_rows, row_sample)
        return
    global _SCANNER, _FILES, _ROW_SAMPLE
    _SCANNER, _FILES, _ROW_SAMPLE = scanner, files, row_sample
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(parts))) as pool:
            for scanned in pool.imap(_scan, parts):
                if on_rows is not None:
                    on_rows(scanned.part.rows)
                yield scanned
    finally:
        _SCANNER, _FILES, _ROW_SAMPLE = None, (), None
