"""The corpus side: expand paths and URLs into Parquet files, check them up front, read only the needed columns.

A corpus file is a local `Path` or a `RemoteObject` (s3://, gs://, hf://, http(s)://, see
auditor.sources.remote); both are read the same way, only the needed columns of the needed row groups,
and remote files with coalesced, parallel ranged reads (Parquet pre-buffering).
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor.errors import InputError
from auditor.sources.remote import RemoteObject, expand_url, is_data_name, is_url
from auditor.sources.text_columns import as_strings, first_bad_utf8, is_text_type

# Rows per read aim at this much text, so a batch of 60,000-character pages stays as small in memory as a
# batch of tweets.
TARGET_BATCH_BYTES = 8 << 20
# A dictionary-encoded text column's stored size says little of its decoded size (a few long texts repeated
# over many rows take a few bytes a row): read so many rows at a time at the most.
DICTIONARY_BATCH_ROWS = 1 << 12
# A unit of work for an engine: whole row groups of one file, about this much text.
TARGET_PART_BYTES = 64 << 20


CorpusLocation = Path | RemoteObject


def _is_data_file(path: Path, root: Path | None = None) -> bool:
    """A Parquet shard of a directory or glob: named as one (`is_data_name`), or, when its name has no
    suffix at all (Hive writes shards named 000000_0), beginning with Parquet's magic bytes. Spark and Hive
    leave _SUCCESS, _metadata and .crc files (and _temporary/ directories) beside the shards."""
    relative = path.relative_to(root).as_posix() if root is not None else path.name
    if not path.is_file():
        return False
    if is_data_name(relative):
        return True
    return "." not in path.name and is_data_name(relative + ".parquet") and _starts_as_parquet(path)


def _starts_as_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            return stream.read(4) == b"PAR1"
    except OSError:
        return False


def expand_corpus_paths(arguments: Sequence[str]) -> list[CorpusLocation]:
    """Files, directories (searched recursively, hive partitions included) and globs, local or remote (URLs,
    see auditor.sources.remote), in a stable order."""
    found: list[CorpusLocation] = []
    for argument in arguments:
        if is_url(argument):
            found.extend(expand_url(argument))
            continue
        path = Path(argument)
        if path.is_dir():
            matches = sorted(p for p in path.rglob("*") if _is_data_file(p, path))
            if not matches:
                raise InputError(f"{path}: the directory holds no .parquet files; point at the corpus shards.")
            found.extend(matches)
        elif path.is_file():
            found.append(path)
        elif glob.has_magic(argument):
            matches = sorted(Path(p) for p in glob.glob(argument, recursive=True) if _is_data_file(Path(p)))
            if not matches:
                raise InputError(f"{argument}: the pattern matches no .parquet files; check the pattern.")
            found.extend(matches)
        else:
            raise InputError(f"{path}: no such corpus file or directory; check the path.")
    return _distinct(found)


def _distinct(found: Sequence[CorpusLocation]) -> list[CorpusLocation]:
    """Each file once, in first-seen order, however it was spelled (`a.parquet`, `./x/../a.parquet`, an
    absolute path, a symbolic link, a directory holding it): a file scanned twice would count its rows twice."""
    seen: set[object] = set()
    distinct: list[CorpusLocation] = []
    for location in found:
        key: object = location
        if isinstance(location, Path):
            try:
                key = location.resolve(strict=True)
            except (OSError, RuntimeError):  # vanished or a symbolic link loop: opening it names the problem
                key = location.absolute()
        if key not in seen:
            seen.add(key)
            distinct.append(location)
    return distinct


@dataclass(frozen=True)
class CorpusFile:
    """One Parquet file of the corpus, checked: it opens and has the text column. `path` is a local Path or
    a RemoteObject (its URL and the identity the store gave when the file was opened)."""

    path: CorpusLocation
    rows: int
    size: int
    text_column: str
    id_column: str | None
    batch_rows: int
    row_group_rows: tuple[int, ...]
    row_group_bytes: tuple[int, ...]  # uncompressed, all columns: at least the text's
    url_column: str | None = None

    @property
    def name(self) -> str:
        """How evidence and reports name the file: its path, or its URL."""
        return str(self.path)

    def identity(self) -> dict[str, object]:
        """What tells this file from a changed one without reading it: name, size, and its modification
        time (local) or ETag, version and last-modified time (remote)."""
        remote = self.remote
        if remote is not None:
            return {
                "name": self.name,
                "size": self.size,
                "etag": remote.etag,
                "version": remote.version,
                "last_modified": remote.last_modified,
            }
        try:
            modified = Path(str(self.path)).stat().st_mtime_ns
        except OSError as error:
            raise InputError(f"{self.path}: cannot be read ({error.strerror}); check the path.") from None
        return {"name": self.name, "size": self.size, "modified_ns": modified}

    @property
    def local_path(self) -> Path | None:
        return self.path if isinstance(self.path, Path) else None

    @property
    def remote(self) -> RemoteObject | None:
        return self.path if isinstance(self.path, RemoteObject) else None

    @classmethod
    def open(
        cls,
        path: CorpusLocation,
        text_column: str,
        id_column: str | None,
        id_required: bool,
        url_column: str | None = "url",
        url_required: bool = False,
    ) -> CorpusFile:
        with ExitStack() as stack:
            handle = stack.enter_context(path.open_file()) if isinstance(path, RemoteObject) else None
            try:
                parquet = pq.ParquetFile(path) if handle is None else pq.ParquetFile(handle, pre_buffer=True)
            except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:  # column names that are no UTF-8
                raise InputError(
                    f"{path}: not a readable Parquet file ({error}); re-copy it or leave it out of the corpus."
                ) from None
            if handle is not None and isinstance(path, RemoteObject):
                path = path.identified(handle)
            return cls._checked(path, parquet, text_column, id_column, id_required, url_column, url_required)

    @classmethod
    def _checked(
        cls,
        path: CorpusLocation,
        parquet: pq.ParquetFile,
        text_column: str,
        id_column: str | None,
        id_required: bool,
        url_column: str | None,
        url_required: bool,
    ) -> CorpusFile:
        schema = parquet.schema_arrow
        if text_column not in schema.names:
            raise InputError(
                f"{path} has no column {text_column!r} (it has {', '.join(schema.names)}); name the text "
                "column with --text-column."
            )
        text_type = schema.field(text_column).type
        if not is_text_type(text_type):
            raise InputError(
                f"{path}: column {text_column!r} holds {text_type}, not text; name the text column with --text-column."
            )
        id_column = _optional_column(path, schema, id_column, id_required, "--id-column")
        url_column = _optional_column(path, schema, url_column, url_required, "--url-column")
        metadata = parquet.metadata
        groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
        # The row groups' own sizes, not their text column chunks': pyarrow aborts the process (an exception
        # thrown through C++ that cannot pass it on) when a damaged footer's column chunk statistics are
        # read through that accessor, where reading the data reports the damage as an error.
        group_bytes = tuple(max(int(g.total_byte_size), 0) for g in groups)
        rows = metadata.num_rows
        per_row = max(sum(group_bytes) / rows, 1.0) if rows else 1.0
        batch_rows = int(min(max(TARGET_BATCH_BYTES / per_row, 16), 65_536))
        if pa.types.is_dictionary(text_type):  # its sizes count indices, not the texts they decode to
            batch_rows = min(batch_rows, DICTIONARY_BATCH_ROWS)
        size = path.size if isinstance(path, RemoteObject) else path.stat().st_size
        return cls(
            path,
            rows,
            size or 0,
            text_column,
            id_column,
            batch_rows,
            tuple(int(g.num_rows) for g in groups),
            group_bytes,
            url_column,
        )

    def batches(self, row_groups: Sequence[int] | None = None) -> Iterator[pa.RecordBatch]:
        """Record batches of the text column (as `text`) and, when the file has them, the id and URL
        columns (as `id` and `url`, strings), of the given row groups (all by default)."""
        named = {"text": self.text_column, "id": self.id_column, "url": self.url_column}
        columns = list(dict.fromkeys(c for c in named.values() if c))
        groups = list(row_groups) if row_groups is not None else None
        # Parts are consecutive row groups, so rows are numbered from the first group's first row.
        row = sum(self.row_group_rows[: groups[0]]) if groups else 0
        try:
            with ExitStack() as stack:
                if isinstance(self.path, RemoteObject):
                    # Pre-buffering coalesces the reads of the wanted column chunks of each row group into a
                    # few large ranged requests, issued in parallel.
                    parquet = pq.ParquetFile(stack.enter_context(self.path.open_file()), pre_buffer=True)
                else:
                    parquet = pq.ParquetFile(self.path)
                for batch in parquet.iter_batches(batch_size=self.batch_rows, columns=columns, row_groups=groups):
                    arrays = {name: batch.column(column) for name, column in named.items() if column}
                    arrays["text"] = as_strings(arrays["text"])  # a dictionary decoded, bytes as strings
                    for name in ("id", "url"):
                        if name in arrays:  # bytes viewed as strings first, so bad bytes are named below
                            values = as_strings(arrays[name])
                            if pa.types.is_floating(values.type):  # NaN names no row: null, not "nan"
                                values = pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
                            arrays[name] = values.cast(pa.string())
                    for name, array in arrays.items():
                        _check_utf8(array, self.path, named[name] or name, row, None if name == "text" else name)
                    row += batch.num_rows
                    yield pa.RecordBatch.from_pydict(arrays)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(
                f"{self.path}: a part of this Parquet file cannot be read ({error}); re-copy it or leave it "
                "out of the corpus."
            ) from None


def _check_utf8(
    array: pa.Array, path: CorpusLocation, column: str, first_row: int, optional: str | None = None
) -> None:
    """Refuse a string column holding bytes that are not UTF-8 (Parquet writers do not all check, and bytes
    columns are read as text), naming the first bad row: normalizing such text would fail deep inside the
    scan. `optional` names the option of a column the audit can do without (`id`, `url`): bytes there are
    likely digests, which no re-encoding makes text."""
    bad = first_bad_utf8(array)
    if bad is None:
        return
    if optional is not None:
        raise InputError(
            f"{path}: column {column!r} holds bytes that are not UTF-8 text (row {first_row + bad:,}); name a text "
            f"column with --{optional}-column."
        )
    raise InputError(
        f"{path}: row {first_row + bad:,} of column {column!r} is not valid UTF-8; re-encode the file as UTF-8 or "
        "leave it out of the corpus."
    )


@dataclass(frozen=True)
class CorpusPart:
    """Consecutive row groups of one corpus file: the unit engines hand to a worker."""

    file_index: int
    row_groups: tuple[int, ...]
    first_row: int  # index in the file of the part's first row
    rows: int


def corpus_parts(files: Sequence[CorpusFile], target_bytes: int | None = None) -> list[CorpusPart]:
    """Split files into parts of whole row groups holding about `target_bytes` of data (the text, and the
    other columns the file holds: a wide file makes smaller parts), in file order."""
    target = TARGET_PART_BYTES if target_bytes is None else target_bytes
    parts: list[CorpusPart] = []
    for index, corpus_file in enumerate(files):
        groups: list[int] = []
        first = size = rows = 0
        for group, (group_rows, group_bytes) in enumerate(
            zip(corpus_file.row_group_rows, corpus_file.row_group_bytes, strict=True)
        ):
            groups.append(group)
            size, rows = size + group_bytes, rows + group_rows
            if size >= target:
                parts.append(CorpusPart(index, tuple(groups), first, rows))
                groups, first, size, rows = [], first + rows, 0, 0
        if groups or not parts or parts[-1].file_index != index:
            parts.append(CorpusPart(index, tuple(groups), first, rows))
    return parts


def _optional_column(
    path: CorpusLocation, schema: pa.Schema, column: str | None, required: bool, option: str
) -> str | None:
    """The column when the file has it and it holds names (strings, bytes, numbers, dates: what reads as
    a string); an error naming the option when it was asked for and is missing or holds other values
    (lists, structs). A default column that holds other values is not used (rows are named by number)."""
    if column is None:
        return None
    if column not in schema.names:
        if required:
            raise InputError(
                f"{path} has no column {column!r} (it has {', '.join(schema.names)}); name the right one with "
                f"{option}, or leave the option out."
            )
        return None
    kind = schema.field(column).type
    if not _names_rows(kind):
        if required:
            raise InputError(
                f"{path}: column {column!r} holds {kind}, not names of rows; name a column of strings or numbers "
                f"with {option}, or leave the option out."
            )
        return None
    return column


def _names_rows(kind: pa.DataType) -> bool:
    """Whether a column of this type reads as strings that name rows (ids, URLs)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return is_text_type(kind) or any(
        check(kind) for check in (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_temporal)
    )


def open_corpus(
    arguments: Sequence[str],
    text_column: str = "text",
    id_column: str | None = "id",
    id_required: bool = False,
    url_column: str | None = "url",
    url_required: bool = False,
) -> list[CorpusFile]:
    """Expand and check every corpus file before any scanning starts, so a bad file fails fast."""
    return [
        CorpusFile.open(p, text_column, id_column, id_required, url_column, url_required)
        for p in expand_corpus_paths(arguments)
    ]
