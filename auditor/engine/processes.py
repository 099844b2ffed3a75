"""The process engine: parts of the corpus scanned by a pool of forked workers.

Workers are forked after the scanners are built, so they share their indexes copy-on-write instead of
each loading the fingerprint sets again. The audit merges part results in part order, so the report is
the same whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.batch import PartResult
from auditor.engine import RowsCallback, ScanJob
from auditor.engine.local import LocalEngine, scan_part
from auditor.sources.corpus import CorpusPart

# Set in the parent just before forking; the children inherit it.
_JOB: ScanJob | None = None


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _scan(part: CorpusPart) -> tuple[CorpusPart, PartResult]:
    if _JOB is None:
        raise RuntimeError("the process engine's job is set before its pool forks")
    return part, scan_part(_JOB, part)


@dataclass(frozen=True)
class ProcessEngine:
    """Scans parts in `workers` forked processes; one worker (or no fork) falls back to the local engine.
    Progress advances a part at a time."""

    workers: int

    @property
    def name(self) -> str:
        return "processes"

    def run(self, job: ScanJob, on_rows: RowsCallback | None = None) -> Iterator[tuple[CorpusPart, PartResult]]:
        parts = job.parts
        if self.workers <= 1 or len(parts) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield from LocalEngine().run(job, on_rows)
            return
        global _JOB
        _JOB = job
        try:
            with multiprocessing.get_context("fork").Pool(min(self.workers, len(parts))) as pool:
                for part, result in pool.imap(_scan, parts):
                    if on_rows is not None:
                        on_rows(part.rows)
                    yield part, result
        finally:
            _JOB = None
