"""Engines move corpus batches through the pure per-batch step (auditor.batch.scan_batch); they decide
where work runs, never what it computes.

An engine takes a ScanJob and yields each part's PartResult, in any order; the audit merges them in file
and row order, so every engine gives the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from auditor.batch import PartResult, ScanOptions
from auditor.scan import CorpusScanner
from auditor.sources.corpus import CorpusFile, CorpusPart

RowsCallback = Callable[[int], None]


@dataclass(frozen=True)
class ScanJob:
    """The scanners of one or more fingerprint sets, the corpus files, and the parts of them to scan."""

    scanners: tuple[CorpusScanner, ...]
    files: tuple[CorpusFile, ...]
    parts: tuple[CorpusPart, ...]
    options: ScanOptions = field(default_factory=ScanOptions)


class Engine(Protocol):
    """Where the parts of a scan run."""

    @property
    def name(self) -> str: ...

    def run(self, job: ScanJob, on_rows: RowsCallback | None = None) -> Iterator[tuple[CorpusPart, PartResult]]:
        """Every part of `job` with its result, in any order; `on_rows` counts rows as they are scanned."""
        ...
