"""Generic posts files: JSON lines (plain or compressed), a JSON array of objects, CSV and Parquet.

Fields are named by options (`--id-field`, `--text-field`; dotted paths such as `tweet.full_text` reach
into nested objects in JSON and struct columns in Parquet); `created_at`, `author` and `url` are kept
when present. JSON lines are decoded by msgspec into a struct holding only the wanted fields (the rest
of each line is skipped without building Python objects); a JSON array is streamed with ijson.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from auditor.errors import InputError
from auditor.sources.exports.base import (
    STREAM_ERRORS,
    HashingReader,
    Reader,
    field_path,
    json_lines,
    lookup,
    post_batch,
    stream_errors,
)
from auditor.sources.text_columns import as_strings, first_bad_utf8, is_text_type

METADATA_FIELDS = ("created_at", "author", "url")


def _names(reader: Reader) -> list[str]:
    return [reader.options.id_field, reader.options.text_field, *METADATA_FIELDS]


@dataclass(frozen=True)
class FieldDecoder:
    """A msgspec decoder of just the wanted (possibly nested) fields, and for each of them a function
    gathering its values from a list of decoded records."""

    decoder: msgspec.json.Decoder[Any]
    columns: tuple[Callable[[list[Any]], list[Any]], ...]

    @classmethod
    def build(cls, names: list[str]) -> FieldDecoder:
        paths = [field_path(name) for name in names]
        tree: dict[str, Any] = {}
        for path in paths:
            node = tree
            for part in path[:-1]:
                child = node.setdefault(part, {})
                if child is None:  # a name that is both a leaf and a parent: keep it a parent
                    child = node[part] = {}
                node = child
            node.setdefault(path[-1], None)
        counter = itertools.count()
        attributes: dict[tuple[str, ...], str] = {}

        def struct_of(node: dict[str, Any], prefix: tuple[str, ...]) -> Any:
            fields: list[tuple[str, Any, Any]] = []
            rename: dict[str, str] = {}
            for key, child in node.items():
                attribute = f"f{next(counter)}"
                attributes[(*prefix, key)] = attribute
                kind = Any if child is None else struct_of(child, (*prefix, key)) | None
                fields.append((attribute, kind, None))
                rename[attribute] = key
            return msgspec.defstruct(f"Fields{next(counter)}", fields, rename=rename)

        root = struct_of(tree, ())

        def parent(path: tuple[str, ...]) -> bool:
            node: Any = tree
            for part in path:
                node = node[part]
            return node is not None

        def column(path: tuple[str, ...]) -> Callable[[list[Any]], list[Any]]:
            chain = [attributes[path[: i + 1]] for i in range(len(path))]
            if len(chain) == 1 and not parent(path):  # the common case, a top-level field: one C loop
                return functools.partial(_gather, operator.attrgetter(chain[0]))

            def get(obj: Any) -> Any:
                for attribute in chain:
                    obj = getattr(obj, attribute)
                    if obj is None:
                        return None
                if isinstance(obj, msgspec.Struct):  # a leaf of one path is the parent of another
                    return msgspec.to_builtins(obj)
                return obj

            return functools.partial(_gather, get)

        return cls(msgspec.json.Decoder(root), tuple(column(path) for path in paths))


def _gather(get: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return list(map(get, items))


class JsonLinesReader(Reader):
    format = "jsonl"

    def batches(self) -> Iterator[pa.RecordBatch]:
        fields = FieldDecoder.build(_names(self))
        get_id, get_text, get_created, get_author, get_url = fields.columns
        stream, hashing = self.open_stream()
        has_text = False
        has_id = False
        pending: list[Any] = []
        for items in json_lines(self, stream, fields.decoder, str(self.path)):
            pending.extend(items)
            while len(pending) >= self.options.batch_rows:
                chunk, pending = pending[: self.options.batch_rows], pending[self.options.batch_rows :]
                batch = self._batch(chunk, get_id, get_text, get_created, get_author, get_url)
                has_text = has_text or batch.column("text").null_count < batch.num_rows
                has_id = has_id or batch.column("post_id").null_count < batch.num_rows
                yield batch
        if pending:
            batch = self._batch(pending, get_id, get_text, get_created, get_author, get_url)
            has_text = has_text or batch.column("text").null_count < batch.num_rows
            has_id = has_id or batch.column("post_id").null_count < batch.num_rows
            yield batch
        self.record_stream(hashing)
        decoded = self.records_read - self.left_out["bad_line"]  # records that are objects, bad lines not
        if decoded and not has_id:
            raise InputError(
                f"{self.path}: no record has the id field {self.options.id_field!r}; name the right one with "
                "--id-field."
            )
        if decoded and not has_text:
            raise InputError(
                f"{self.path}: no record has the text field {self.options.text_field!r}; name the right one with "
                "--text-field."
            )

    def _batch(self, items: list[Any], *columns: Callable[[list[Any]], list[Any]]) -> pa.RecordBatch:
        self.records_read += len(items)
        ids, texts, created, authors, urls = (column(items) for column in columns)
        return post_batch(ids, texts, created, authors, urls, None, None)


class JsonArrayReader(Reader):
    """A JSON array of objects (or an object holding one array of them), streamed with ijson."""

    format = "json"

    def batches(self) -> Iterator[pa.RecordBatch]:
        paths = [field_path(name) for name in _names(self)]
        stream, hashing = self.open_stream()
        columns: list[list[Any]] = [[] for _ in paths]
        items = 0  # items parsed; an item is named by its number from 1, as a line is
        try:
            for items, obj in enumerate(ijson.items(stream, "item", use_float=True), start=1):
                if not isinstance(obj, dict):
                    self.bad_record(f"{self.path} item {items}", "not a JSON object")
                    self.records_read += 1  # a record read, left out as a bad line
                    continue
                for column, path in zip(columns, paths, strict=True):
                    column.append(lookup(obj, path))
                if len(columns[0]) >= self.options.batch_rows:
                    yield self._batch(columns)
                    columns = [[] for _ in paths]
        except ijson.JSONError as error:
            raise InputError(
                f"{self.path}: not a valid JSON array (at item {items + 1}: "
                f"{str(error).splitlines()[0]}); check that the file is whole."
            ) from None
        except STREAM_ERRORS as error:
            raise stream_errors(self.path)(error) from None
        if columns[0]:
            yield self._batch(columns)
        self.record_stream(hashing)
        if self.records_read == 0:
            raise InputError(
                f"{self.path}: an empty JSON array (no posts in it); check that it is the export you meant."
            )
        if self.records_read == self.left_out["bad_line"]:  # no object among the items
            raise InputError(f"{self.path}: holds no JSON array of posts; give a JSON array of objects.")

    def _batch(self, columns: list[list[Any]]) -> pa.RecordBatch:
        self.records_read += len(columns[0])
        ids, texts, created, authors, urls = columns
        return post_batch(ids, texts, created, authors, urls, None, None)


class HashingStdin:
    """A decompressed standard input as Arrow's file wrapper wants it; counts the quotes it passes on."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.closed = False
        self.quotes = 0

    def read(self, size: int = -1) -> bytes:
        data = bytes(self.stream.read(size))
        self.quotes += data.count(b'"')
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def _check_columns(path: object, available: list[str], names: list[tuple[str, str]]) -> None:
    for option, name in names:
        if name not in available:
            shown = ", ".join(available)
            shown = shown if len(shown) <= 200 else shown[:197] + "..."
            raise InputError(f"{path} has no column {name!r} (it has {shown}); name the right one with {option}.")


class CsvReader(Reader):
    format = "csv"

    def batches(self) -> Iterator[pa.RecordBatch]:
        hashing: HashingReader | None = None
        if self.is_stdin:
            stream, hashing = self.open_stream()
            source: Any = None
        else:
            self.identify(self.path)
            source = self.path
        bad: list[str] = []
        id_field, text_field = self.options.id_field, self.options.text_field
        piped = HashingStdin(stream) if self.is_stdin else None
        if piped is not None:
            source = pa.PythonFile(piped, mode="r")

        def on_invalid_row(row: Any) -> str:
            # Arrow knows line numbers only when values hold no newlines; otherwise quote the row.
            where = f"line {row.number}" if row.number is not None else f"row {row.text[:60]!r}"
            why = f"has {row.actual_columns} fields where the header has {row.expected_columns}"
            if not self.options.skip_bad_lines:
                bad.append(
                    f"{self.path} {where}: {why}; fix or remove that line, or pass --skip-bad-lines "
                    "to count and skip such lines."
                )
                return "error"
            self.left_out["bad_line"] += 1
            self.records_read += 1  # a record read, left out as a bad line
            return "skip"

        try:
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(block_size=1 << 22),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in (id_field, text_field, *METADATA_FIELDS)},
                    strings_can_be_null=True,
                ),
            )
            names = reader.schema.names
            _check_columns(self.path, names, [("--id-field", id_field), ("--text-field", text_field)])
            for batch in reader:
                yield self._select(batch, names)
            quotes = piped.quotes if piped is not None else _quotes_in(self.path)
            if quotes % 2:
                raise InputError(
                    f"{self.path}: a quoted field is never closed (the file holds an odd number of double quotes), "
                    "so the lines after it run together into one value; close or remove that quote."
                )
            if hashing is not None:
                self.record_stream(hashing)
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:
            if bad:
                raise InputError(bad[0]) from None
            raise InputError(f"{self.path}: not a readable CSV file ({error}); check the file.") from None

    def _select(self, batch: pa.RecordBatch, names: list[str]) -> pa.RecordBatch:
        self.records_read += batch.num_rows

        def column(name: str) -> pa.Array | None:
            return batch.column(names.index(name)) if name in names else None

        nulls = pa.nulls(batch.num_rows, pa.string())
        names_wanted = (self.options.id_field, self.options.text_field, "created_at", "author", "url")
        return pa.RecordBatch.from_arrays(
            [*(c if (c := column(n)) is not None else nulls for n in names_wanted), nulls, nulls],
            names=["post_id", "text", "created_at", "author", "url", "platform", "kind"],
        )


def _quotes_in(path: Path) -> int:
    """Double quotes in a file: balanced in any well-formed CSV (a quote inside a value is doubled)."""
    count = 0
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            count += block.count(b'"')
    return count


class ParquetReader(Reader):
    """Parquet columns; a name with dots is a column of that name when there is one, else a path into
    struct columns."""

    format = "parquet"

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.is_stdin:
            raise InputError("Parquet cannot be read from standard input; give the file's path.")
        try:
            parquet = pq.ParquetFile(self.path)
            available = parquet.schema_arrow.names
            wanted = {name: self._resolve(name, parquet.schema_arrow) for name in _names(self)}
            for option, name in (("--id-field", self.options.id_field), ("--text-field", self.options.text_field)):
                if wanted[name] is None:
                    _check_columns(self.path, available, [(option, name)])
                self._check_type(option, name, wanted[name], parquet.schema_arrow)
            tops = list(dict.fromkeys(path[0] for path in wanted.values() if path is not None))
            self.identify(self.path)
            for batch in parquet.iter_batches(batch_size=self.options.batch_rows, columns=tops):
                self.records_read += batch.num_rows
                yield self._select(batch, wanted)
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:  # UnicodeDecodeError: damaged column names
            raise InputError(
                f"{self.path}: not a readable Parquet file ({error}); check that it was copied whole."
            ) from None

    def _check_type(self, option: str, name: str, path: tuple[str, ...] | None, schema: pa.Schema) -> None:
        """A text is text (`text_columns.is_text_type`: strings, bytes read as UTF-8, or a dictionary of
        them); an id is text or a number. A list or a struct would be read as its repr, a number as a text
        of digits (then left out as too short, without a word of why)."""
        if path is None:
            return
        kind = schema.field(path[0]).type
        for part in path[1:]:
            kind = kind.field(part).type
        if pa.types.is_null(kind) or is_text_type(kind):
            return
        if option == "--text-field":
            raise InputError(
                f"{self.path}: column {name!r} holds {kind}, not text; name the text column with --text-field "
                "(a dotted path such as tweet.full_text reaches inside a struct)."
            )
        if option == "--id-field" and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise InputError(f"{self.path}: column {name!r} holds {kind}, not ids; name the id column with --id-field.")

    @staticmethod
    def _resolve(name: str, schema: pa.Schema) -> tuple[str, ...] | None:
        if name in schema.names:
            return (name,)
        path = tuple(name.split("."))
        if path[0] not in schema.names:
            return None
        kind = schema.field(path[0]).type
        for part in path[1:]:
            if not pa.types.is_struct(kind) or kind.get_field_index(part) < 0:
                return None
            kind = kind.field(part).type
        return path

    def _select(self, batch: pa.RecordBatch, wanted: dict[str, tuple[str, ...] | None]) -> pa.RecordBatch:
        def column(name: str) -> pa.Array:
            path = wanted[name]
            if path is None:
                return pa.nulls(batch.num_rows, pa.string())
            array = batch.column(batch.schema.names.index(path[0]))
            for part in path[1:]:
                array = pc.struct_field(array, part)
            return array

        def checked(name: str) -> pa.Array:
            """The column, a dictionary decoded and bytes as strings, refused when they are not UTF-8."""
            array = as_strings(column(name))
            bad = first_bad_utf8(array)
            if bad is None:
                return array
            row = self.records_read - batch.num_rows + bad  # records_read counts this batch already
            if name == self.options.id_field:  # ids in bytes (digests) cannot be re-encoded
                raise InputError(
                    f"{self.path}: column {name!r} holds bytes that are not UTF-8 text (row {row:,}), not ids; name "
                    "an id column of text or numbers with --id-field."
                )
            raise InputError(
                f"{self.path}: row {row:,} of column {name!r} is not valid UTF-8; re-encode the file as UTF-8."
            )

        def text(name: str) -> pa.Array:
            array = checked(name)
            if pa.types.is_string(array.type) or pa.types.is_null(array.type):
                return array.cast(pa.string())
            if pa.types.is_integer(array.type) or pa.types.is_large_string(array.type):
                return array.cast(pa.string())
            # NaN is no value (an id "nan" would name every such post as one): null, as a missing value.
            values = array.to_pylist()
            return pa.array([str(v) if v is not None and v == v else None for v in values], type=pa.string())

        names = _names(self)
        created = checked(names[2])  # a date stays a date; text of dates is parsed later, so checked here
        return pa.RecordBatch.from_arrays(
            [
                text(names[0]),
                text(names[1]),
                created,
                text(names[3]),
                text(names[4]),
                pa.nulls(batch.num_rows, pa.string()),
                pa.nulls(batch.num_rows, pa.string()),
            ],
            names=["post_id", "text", "created_at", "author", "url", "platform", "kind"],
        )
