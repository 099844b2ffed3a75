"""Read a platform's posts from JSONL (optionally gzipped), CSV or Parquet into uniform batches.

Every batch has the columns `post_id` and `text` and the metadata columns of POST_METADATA, all strings
(metadata null where the input lacks it). Rows without an id are counted, not silently dropped.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from auditor.errors import InputError
from auditor.sources.skips import SkipCounter

POST_METADATA = ("created_at", "author", "url")
DEFAULT_BATCH_ROWS = 50_000


def _posts_format(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv")):
        if name.endswith(suffix) or name.endswith(suffix + ".gz"):
            return kind
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise InputError(
        f"{path}: cannot tell the format of this posts file from its name; use a .jsonl, .jsonl.gz, "
        ".csv, .csv.gz or .parquet file."
    )


def _plain(kind: pa.DataType) -> bool:
    """Types whose cast to string reads as the line reader renders them."""
    return bool(pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_null(kind))


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, sort_keys=True)


@dataclass
class PostSource:
    """Posts of one file, read in batches; `skipped` counts rows left out, by reason."""

    path: Path
    id_field: str = "id"
    text_field: str = "text"
    skip_bad_lines: bool = False
    batch_rows: int = DEFAULT_BATCH_ROWS
    skipped: SkipCounter = field(default_factory=SkipCounter)
    rows_read: int = 0

    def __post_init__(self) -> None:
        if not self.path.exists():
            raise InputError(f"{self.path}: no such posts file; check the path.")
        if self.path.is_dir():
            raise InputError(f"{self.path} is a directory; give the posts files themselves.")
        self.format = _posts_format(self.path)

    def batches(self) -> Iterator[pa.RecordBatch]:
        readers = {"jsonl": self._jsonl, "csv": self._csv, "parquet": self._parquet}
        for batch in readers[self.format]():
            self.rows_read += batch.num_rows
            yield batch

    def _open_text(self) -> IO[str]:
        if self.path.name.lower().endswith(".gz"):
            return gzip.open(self.path, "rt", encoding="utf-8", errors="strict")
        return self.path.open("r", encoding="utf-8", errors="strict")

    def _bad_line(self, line_number: int, why: str) -> None:
        if not self.skip_bad_lines:
            raise InputError(
                f"{self.path} line {line_number}: {why}; fix or remove that line, or pass "
                "--skip-bad-lines to count and skip such lines."
            )
        self.skipped["bad_line"] += 1

    def _records_to_batch(self, records: list[dict[str, str | None]], columns: list[str]) -> pa.RecordBatch:
        arrays = [pa.array([record.get(name) for record in records], type=pa.string()) for name in columns]
        return pa.RecordBatch.from_arrays(arrays, names=columns)

    def _jsonl(self) -> Iterator[pa.RecordBatch]:
        """Arrow's JSON reader when the file is plain (about ten times faster); the line-by-line reader,
        which names a bad line and takes mixed types, when it is not."""
        table = self._jsonl_arrow()
        if table is None:
            yield from self._jsonl_lines()
            return
        for batch in table.to_batches(max_chunksize=self.batch_rows):
            yield self._select(batch)

    def _jsonl_arrow(self) -> pa.Table | None:
        try:
            compression = "gzip" if self.path.name.lower().endswith(".gz") else None
            with pa.input_stream(self.path, compression=compression) as stream:
                table = pajson.read_json(stream, read_options=pajson.ReadOptions(block_size=1 << 24))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
            return None
        for name in (self.id_field, self.text_field, *POST_METADATA):
            if name in table.column_names and not _plain(table.schema.field(name).type):
                return None  # objects, lists, floats or booleans: the line reader renders those
        if self.id_field not in table.column_names or self.text_field not in table.column_names:
            return None  # the line reader counts or reports what is missing
        try:
            table.validate(full=True)  # Arrow's reader does not check UTF-8; the line reader names the error
        except pa.ArrowInvalid:
            return None
        return table

    def _jsonl_lines(self) -> Iterator[pa.RecordBatch]:
        columns = ["post_id", "text", *POST_METADATA]
        records: list[dict[str, str | None]] = []
        kept = 0
        has_text = False
        try:
            with self._open_text() as lines:
                for line_number, line in enumerate(lines, start=1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as error:
                        self._bad_line(line_number, f"not valid JSON ({error.msg})")
                        continue
                    if not isinstance(obj, dict):
                        self._bad_line(line_number, "not a JSON object")
                        continue
                    post_id = _as_text(obj.get(self.id_field))
                    if post_id is None:
                        self.skipped["missing_id"] += 1
                        continue
                    has_text = has_text or self.text_field in obj
                    record = {"post_id": post_id, "text": _as_text(obj.get(self.text_field))}
                    for name in POST_METADATA:
                        record[name] = _as_text(obj.get(name))
                    records.append(record)
                    kept += 1
                    if len(records) >= self.batch_rows:
                        yield self._records_to_batch(records, columns)
                        records = []
        except UnicodeDecodeError as error:
            raise InputError(f"{self.path}: not UTF-8 text ({error.reason}); re-encode it as UTF-8.") from None
        except (OSError, EOFError) as error:
            raise InputError(f"{self.path}: cannot be read ({error}); check the file is whole.") from None
        if records:
            yield self._records_to_batch(records, columns)
        if kept and not has_text:
            raise InputError(
                f"{self.path}: no record has the text field {self.text_field!r}; name the right one with --text-field."
            )
        if kept == 0 and self.skipped["missing_id"]:
            raise InputError(
                f"{self.path}: no record has the id field {self.id_field!r}; name the right one with --id-field."
            )

    def _check_columns(self, available: list[str]) -> None:
        for option, name in (("--id-field", self.id_field), ("--text-field", self.text_field)):
            if name not in available:
                raise InputError(
                    f"{self.path} has no column {name!r} (it has {', '.join(available)}); name the right "
                    f"one with {option}."
                )

    def _select(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        names = batch.schema.names
        ids = batch.column(names.index(self.id_field)).cast(pa.string())
        missing = ids.null_count
        columns = {"post_id": ids, "text": batch.column(names.index(self.text_field)).cast(pa.string())}
        for name in POST_METADATA:
            if name in names:
                columns[name] = batch.column(names.index(name)).cast(pa.string())
            else:
                columns[name] = pa.nulls(batch.num_rows, pa.string())
        out = pa.RecordBatch.from_pydict(columns)
        if missing:
            self.skipped["missing_id"] += missing
            out = out.filter(ids.is_valid())
        return out

    def _csv(self) -> Iterator[pa.RecordBatch]:
        bad: list[str] = []

        def on_invalid_row(row: Any) -> str:
            # Arrow knows line numbers only when values hold no newlines; otherwise quote the row.
            where = f"line {row.number}" if row.number is not None else f"row {row.text[:60]!r}"
            why = f"has {row.actual_columns} fields where the header has {row.expected_columns}"
            if not self.skip_bad_lines:
                bad.append(
                    f"{self.path} {where}: {why}; fix or remove that line, or pass --skip-bad-lines "
                    "to count and skip such lines."
                )
                return "error"
            self.skipped["bad_line"] += 1
            return "skip"

        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=1 << 22),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row),
                convert_options=pacsv.ConvertOptions(
                    column_types={self.id_field: pa.string(), self.text_field: pa.string()},
                    strings_can_be_null=True,
                ),
            )
            self._check_columns(reader.schema.names)
            for batch in reader:
                yield self._select(batch)
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:
            if bad:
                raise InputError(bad[0]) from None
            raise InputError(f"{self.path}: not a readable CSV file ({error}); check the file.") from None

    def _parquet(self) -> Iterator[pa.RecordBatch]:
        try:
            parquet = pq.ParquetFile(self.path)
            available = parquet.schema_arrow.names
            self._check_columns(available)
            wanted = [self.id_field, self.text_field, *(n for n in POST_METADATA if n in available)]
            for batch in parquet.iter_batches(batch_size=self.batch_rows, columns=list(dict.fromkeys(wanted))):
                yield self._select(batch)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(
                f"{self.path}: not a readable Parquet file ({error}); check that it was copied whole."
            ) from None
