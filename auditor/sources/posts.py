"""A platform's posts, from any supported input, as uniform batches of the post record.

Every batch has the columns `post_id`, `text` and the metadata columns of POST_METADATA, all strings;
`created_at` is UTC `YYYY-MM-DDTHH:MM:SSZ` or null. The input's format is sniffed from its content
(`sources.exports.detect_format`) unless named. Nothing is dropped silently: rows without an id and
posts the format leaves out (reposts, deleted, synthetic, private) are counted in `skipped`, undated
posts by reason in `undated`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from auditor.dates import parse_dates
from auditor.errors import InputError
from auditor.files import FileIdentity
from auditor.fingerprint_set import InputSummary
from auditor.sources import POST_METADATA
from auditor.sources.exports import FORMATS, detect_format, open_reader
from auditor.sources.exports.base import DEFAULT_BATCH_ROWS, STDIN, Reader, ReadOptions
from auditor.sources.skips import SkipCounter


@dataclass
class PostSource:
    """Posts of one input (file, folder, archive, or `-` for standard input), read in batches."""

    path: Path
    id_field: str = "id"
    text_field: str = "text"
    skip_bad_lines: bool = False
    batch_rows: int = DEFAULT_BATCH_ROWS
    input_format: str = "auto"
    include_private: bool = False
    skipped: SkipCounter = field(default_factory=SkipCounter)
    undated: SkipCounter = field(default_factory=SkipCounter)
    rows_read: int = 0
    # Per post of the batch `batches` yielded last: dates.kernel.OK or why it is undated (dates.ParsedDates).
    date_status: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8), repr=False)

    def __post_init__(self) -> None:
        if str(self.path) != STDIN and not self.path.exists():
            raise InputError(f"{self.path}: no such posts file; check the path.")
        if self.input_format not in FORMATS:
            raise InputError(f"unknown --input-format {self.input_format!r}; use one of {', '.join(FORMATS)}.")
        self.format = detect_format(self.path) if self.input_format == "auto" else self.input_format
        options = ReadOptions(
            self.id_field, self.text_field, self.skip_bad_lines, self.include_private, self.batch_rows
        )
        self.reader: Reader = open_reader(self.path, self.format, options)

    def batches(self) -> Iterator[pa.RecordBatch]:
        for raw in self.reader.batches():
            batch = self._finished(raw)
            if batch.num_rows:
                self.rows_read += batch.num_rows
                yield batch
        self.skipped.update(self.reader.left_out)

    def _finished(self, raw: pa.RecordBatch) -> pa.RecordBatch:
        ids = raw.column(0)
        missing = ids.is_null()
        if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):  # "" names no post either
            missing = pc.or_kleene(missing, pc.equal(pc.binary_length(ids), 0))
        if pc.any(missing).as_py():
            self.skipped["missing_id"] += pc.sum(missing).as_py()
            raw = raw.filter(pc.invert(missing))
        dates = parse_dates(raw.column(2))
        self.undated.update(dates.undated)
        self.date_status = dates.status
        columns = [raw.column(0), raw.column(1), dates.formatted, *raw.columns[3:]]
        return pa.RecordBatch.from_arrays(
            [c if c.type == pa.string() else pc.cast(c, pa.string()) for c in columns],
            names=["post_id", "text", *POST_METADATA],
        )

    @property
    def inputs(self) -> list[FileIdentity]:
        """The files read (known once `batches` has run to the end)."""
        return list(self.reader.files)

    def summary(self) -> InputSummary:
        return InputSummary(
            name=str(self.path),
            format=self.format,
            records=self.reader.records_read,
            posts=self.rows_read,
            left_out=self.skipped.as_dict(),
            undated=self.undated.as_dict(),
            kept=self.reader.kept.as_dict(),
        )
