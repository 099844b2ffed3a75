"""Fingerprint sets on disk: one self-describing Parquet file.

Rows: post_id, signature (num_perm uint32 values as one binary value, `signature_type`; null for posts kept
out of matching), shingle_count, normalized_length, skip_reason, metadata and, only when asked, text. The
file's key-value metadata holds, under `provenance_auditor`, a JSON document with the format and its
version, every parameter that decides a hash value, the tool version, the inputs (name, size, SHA-256),
counts and a digest of the whole content.

The digest (`content_sha256`) covers every metadata field and every column of every row, is computed while
the set is written and checked while it is loaded, so a set edited after it was built (signatures swapped
between posts, a parameter changed) is refused instead of silently giving wrong evidence. It detects
modification, not forgery: whoever edits a set on purpose can recompute it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import __version__
from auditor.defaults import MAX_MIN_SHINGLES, SET_SUFFIX
from auditor.errors import InputError, UsageError, cannot_write_fix, os_error_reason
from auditor.files import FileIdentity
from auditor.kernels.codepoints import utf8_view
from auditor.kernels.minhash import Permutations
from auditor.kernels.normalize import single_array
from auditor.keys import is_key_id
from auditor.memory import release_freed_memory
from auditor.outputs import flush_to_disk, missing_folders, through_links, umask
from auditor.params import FingerprintParams

FORMAT = "provenance-auditor/fingerprint-set"
FORMAT_VERSION = 3  # 2: content digest; salted key ids. 3: a signature is one binary value (`signature_type`)
OLDEST_READABLE_VERSION = 2
METADATA_KEY = b"provenance_auditor"
SUFFIX = SET_SUFFIX
_REPEATING_COLUMNS = frozenset(("skip_reason", "created_at", "author", "platform", "kind"))
UNTESTABLE_EXAMPLES = 100  # ids of posts kept out of matching listed in reports, by reason


@dataclass(frozen=True)
class InputSummary:
    """What one input gave: its format, the records read, the posts kept, and what was left out."""

    name: str
    format: str
    records: int
    posts: int
    left_out: dict[str, int]
    undated: dict[str, int]
    kept: dict[str, int] = field(default_factory=dict)  # kept on request though a default run leaves them out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format,
            "records": self.records,
            "posts": self.posts,
            "left_out": self.left_out,
            "undated": self.undated,
            "kept": self.kept,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSummary:
        return cls(
            name=str(data["name"]),
            format=str(data["format"]),
            records=int(data.get("records", 0)),
            posts=int(data.get("posts", 0)),
            left_out={str(k): int(v) for k, v in data.get("left_out", {}).items()},
            undated={str(k): int(v) for k, v in data.get("undated", {}).items()},
            kept={str(k): int(v) for k, v in data.get("kept", {}).items()},
        )


@dataclass(frozen=True)
class FingerprintSetInfo:
    """What a fingerprint set says about itself."""

    params: FingerprintParams
    min_shingles: int
    has_text: bool
    inputs: tuple[FileIdentity, ...]
    counts: dict[str, int]
    skipped: dict[str, int]
    tool_version: str = __version__
    content_sha256: str = ""  # set by FingerprintSetWriter.close; see ContentDigest
    sources: tuple[InputSummary, ...] = ()  # per input given: format, records, posts, left out, undated
    undated: dict[str, int] = field(default_factory=dict)  # posts in the set without a date, by reason
    format_version: int = FORMAT_VERSION  # the file's: a set of an earlier readable version is read as it is

    def to_dict(self) -> dict[str, Any]:
        data = {
            "format": FORMAT,
            "format_version": self.format_version,
            "tool_version": self.tool_version,
            "params": self.params.to_dict(),
            "min_shingles": self.min_shingles,
            "has_text": self.has_text,
            "inputs": [item.to_dict() for item in self.inputs],
            "counts": self.counts,
            "skipped": self.skipped,
            "sources": [item.to_dict() for item in self.sources],
            "undated": self.undated,
        }
        if self.content_sha256:
            data["content_sha256"] = self.content_sha256
        return data

    @classmethod
    def from_dict(cls, data: object, source: str, rows: int | None = None) -> FingerprintSetInfo:
        """The info a set's metadata records, every field checked for its type and range.

        `rows`, the rows the file holds, bounds the counts: a count never allocates more than the file has.
        """
        return _MetadataReader(source).info(data, rows)


# Bounds of metadata values: far above any real set, far below what would exhaust memory or overflow.
_MAX_COUNT = 2**48
_MAX_TEXT = 65_536
_REASON = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _MetadataReader:
    """Checks each metadata field and names the first bad one in one sentence."""

    def __init__(self, source: str) -> None:
        self.source = source

    def bad(self, name: str, expected: str, value: object) -> InputError:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return InputError(
            f"{self.source}: its metadata field {name} must be {expected}, got {shown}; "
            "rebuild the set with `auditor fingerprint`."
        )

    def field(self, data: dict[str, Any], name: str, path: str) -> Any:
        if name not in data:
            raise InputError(
                f"{self.source}: its metadata lacks the field {path}; rebuild the set with `auditor fingerprint`."
            )
        return data[name]

    def integer(self, value: object, name: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.bad(name, f"a whole number from {low:,} to {high:,}", value)
        return value

    def text(self, value: object, name: str) -> str:
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            raise self.bad(name, f"a string of at most {_MAX_TEXT:,} characters", value)
        return value

    def mapping(self, value: object, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.bad(name, "an object", value)
        return value

    def counts(self, value: object, name: str, keys: re.Pattern[str]) -> dict[str, int]:
        counts = self.mapping(value, name)
        for key, count in counts.items():
            if keys.fullmatch(key) is None:
                raise self.bad(f"{name} (a key)", "a reason in lower case", key)
            self.integer(count, f"{name}.{key}", 0, _MAX_COUNT)
        return dict(counts)

    def info(self, raw: object, rows: int | None) -> FingerprintSetInfo:
        data = self.mapping(raw, "(the whole)")
        if data.get("format") != FORMAT:
            raise InputError(
                f"{self.source} is a Parquet file but not a fingerprint set; build one with `auditor fingerprint`."
            )
        version = self.field(data, "format_version", "format_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise InputError(
                f"{self.source} has fingerprint format version {version}, newer than this auditor reads "
                f"({FORMAT_VERSION}); upgrade provenance-auditor."
            )
        if version == 1 and not isinstance(version, bool):
            raise InputError(
                f"{self.source} was built by an older provenance-auditor (format version 1, with no content "
                "digest); rebuild it with `auditor fingerprint`."
            )
        version = self.integer(version, "format_version", OLDEST_READABLE_VERSION, FORMAT_VERSION)
        params = self.params(self.mapping(self.field(data, "params", "params"), "params"))
        counts = self.counts(self.field(data, "counts", "counts"), "counts", _REASON)
        names = ("posts_read", "posts_in_set", "posts_fingerprinted")
        for name in names:
            self.field(counts, name, f"counts.{name}")
        if not set(names) <= set(counts) <= {*names, "posts_undated"}:
            raise self.bad("counts", f"an object of {', '.join(names)} and posts_undated", sorted(counts))
        if rows is not None and counts["posts_in_set"] != rows:
            raise self.bad("counts.posts_in_set", f"the {rows:,} rows the file holds", counts["posts_in_set"])
        if counts["posts_fingerprinted"] > counts["posts_in_set"]:
            raise self.bad(
                "counts.posts_fingerprinted",
                f"at most counts.posts_in_set ({counts['posts_in_set']:,})",
                counts["posts_fingerprinted"],
            )
        inputs = self.field(data, "inputs", "inputs")
        if not isinstance(inputs, list) or len(inputs) > _MAX_COUNT:
            raise self.bad("inputs", "a list", inputs)
        sources = data.get("sources", [])  # sets from before formats were recorded have none
        if not isinstance(sources, list) or len(sources) > _MAX_COUNT:
            raise self.bad("sources", "a list", sources)
        digest = self.field(data, "content_sha256", "content_sha256")
        if not isinstance(digest, str) or _SHA256.fullmatch(digest) is None:
            raise self.bad("content_sha256", "64 hexadecimal digits", digest)
        has_text = self.field(data, "has_text", "has_text")
        if not isinstance(has_text, bool):
            raise self.bad("has_text", "true or false", has_text)
        return FingerprintSetInfo(
            params=params,
            min_shingles=self.integer(
                self.field(data, "min_shingles", "min_shingles"), "min_shingles", 1, MAX_MIN_SHINGLES
            ),
            has_text=has_text,
            inputs=tuple(self.input(item, f"inputs[{i}]") for i, item in enumerate(inputs)),
            counts=counts,
            skipped=self.counts(self.field(data, "skipped", "skipped"), "skipped", _REASON),
            tool_version=self.text(self.field(data, "tool_version", "tool_version"), "tool_version"),
            content_sha256=digest,
            sources=tuple(self.source_summary(item, f"sources[{i}]") for i, item in enumerate(sources)),
            undated=self.counts(data.get("undated", {}), "undated", _REASON),
            format_version=version,
        )

    def params(self, data: dict[str, Any]) -> FingerprintParams:
        ranges = {"num_perm": (16, 1024), "seed": (0, 2**32 - 1), "shingle_size": (3, 64)}
        values: dict[str, Any] = {}
        for name in FingerprintParams.__dataclass_fields__:
            value = self.field(data, name, f"params.{name}")
            if name in ranges:
                values[name] = self.integer(value, f"params.{name}", *ranges[name])
            elif name == "key_id":
                if not is_key_id(value):
                    raise self.bad("params.key_id", "`public` or a salted key id of this version", value)
                values[name] = value
            else:
                values[name] = self.text(value, f"params.{name}")
        return FingerprintParams(**values)

    def source_summary(self, value: object, name: str) -> InputSummary:
        item = self.mapping(value, name)
        return InputSummary(
            name=self.text(self.field(item, "name", f"{name}.name"), f"{name}.name"),
            format=self.text(self.field(item, "format", f"{name}.format"), f"{name}.format"),
            records=self.integer(item.get("records", 0), f"{name}.records", 0, _MAX_COUNT),
            posts=self.integer(item.get("posts", 0), f"{name}.posts", 0, _MAX_COUNT),
            left_out=self.counts(item.get("left_out", {}), f"{name}.left_out", _REASON),
            undated=self.counts(item.get("undated", {}), f"{name}.undated", _REASON),
            kept=self.counts(item.get("kept", {}), f"{name}.kept", _REASON),
        )

    def input(self, value: object, name: str) -> FileIdentity:
        item = self.mapping(value, name)
        sha256 = self.field(item, "sha256", f"{name}.sha256")
        if sha256 is not None and (not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None):
            raise self.bad(f"{name}.sha256", "64 hexadecimal digits or null", sha256)
        return FileIdentity(
            self.text(self.field(item, "name", f"{name}.name"), f"{name}.name"),
            self.integer(self.field(item, "size", f"{name}.size"), f"{name}.size", 0, 2**63 - 1),
            sha256,
        )


def _in_place(values: npt.NDArray[Any], dtype: type[np.generic] | None) -> memoryview:
    """The bytes of `values` (as `dtype`) for hashing, without a copy when they are contiguous already."""
    return np.ascontiguousarray(values, dtype=dtype).data.cast("B")


def signature_type(num_perm: int, version: int = FORMAT_VERSION) -> pa.DataType:
    """How a set of format `version` stores a signature. Since version 3: its num_perm uint32 hash values,
    little-endian, as one fixed-size binary value (`np.frombuffer(value, "<u4")` gives them back), written
    and read as one value a row, where Parquet gives a list a repetition and a definition level for each of
    its num_perm values. Version 2 stored the fixed-size list itself."""
    if version >= 3:
        return pa.binary(4 * num_perm)
    return pa.list_(pa.uint32(), num_perm)


def signature_column(signatures: npt.NDArray[np.uint32], usable: npt.NDArray[np.bool_]) -> pa.Array:
    """The signature column (`signature_type`) of a batch's (posts, num_perm) signatures, null where a post is
    not `usable`. Its data buffer is the signatures' own bytes where they are little-endian already."""
    rows, num_perm = signatures.shape
    data = np.ascontiguousarray(signatures, dtype="<u4")
    validity = pa.array(usable, type=pa.bool_()).buffers()[1]
    return pa.FixedSizeBinaryArray.from_buffers(signature_type(num_perm), rows, [validity, pa.py_buffer(data)])


def _binary_bytes(values: pa.Array) -> npt.NDArray[np.uint8]:
    """The data bytes of a fixed-size binary array's values (nulls included), in place."""
    width = values.type.byte_width
    start = values.offset * width
    return np.frombuffer(values.buffers()[1], dtype=np.uint8)[start : start + len(values) * width]


def signature_words(column: pa.Array, num_perm: int) -> npt.NDArray[np.uint32]:
    """The (rows, num_perm) hash values of a signature column of either readable format (no nulls)."""
    if pa.types.is_fixed_size_binary(column.type):
        words = _binary_bytes(column).view("<u4")
    else:
        words = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(words, dtype=np.uint32).reshape(len(column), num_perm)


class ContentDigest:
    """SHA-256 of a set's metadata and rows, the same however the rows are split into batches.

    Each column feeds two running hashes in row order: its shape (null or not, and the byte length of
    strings) and its data (the bytes of its valid values). The digest then hashes the canonical JSON of
    the metadata (all but the digest itself), the row count and, column by column, its name, type and
    two hashes. Vectorized: no per-row Python.
    """

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.rows = 0
        self._shape = [hashlib.sha256() for _ in schema]
        self._data = [hashlib.sha256() for _ in schema]

    def update(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for index, column in enumerate(batch.columns):
            shape, data = self._shape[index], self._data[index]
            kind = column.type
            # hashlib reads the arrays in place (memoryview): no copy of the column to bytes first.
            if pa.types.is_string(kind):
                lengths = pc.fill_null(pc.binary_length(column), -1)
                shape.update(_in_place(lengths.to_numpy(zero_copy_only=False), np.int64))
                data.update(_in_place(utf8_view(column)[0], np.uint8))
                continue
            valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
            shape.update(_in_place(valid, np.uint8))
            values = column if column.null_count == 0 else column.filter(pc.is_valid(column))
            if pa.types.is_fixed_size_binary(kind):  # on a little-endian machine, the bytes a list of its words gives
                data.update(_in_place(_binary_bytes(values), np.uint8))
                continue
            if pa.types.is_fixed_size_list(kind):
                values = values.flatten()
            data.update(_in_place(values.to_numpy(zero_copy_only=False), None))

    def hexdigest(self, metadata: dict[str, Any]) -> str:
        described = {k: v for k, v in metadata.items() if k != "content_sha256"}
        total = hashlib.sha256(b"provenance-auditor fingerprint set content v1\0")
        total.update(json.dumps(described, sort_keys=True, separators=(",", ":")).encode())
        total.update(self.rows.to_bytes(8, "little"))
        for index, column in enumerate(self.schema):
            total.update(f"\0{column.name}\0{column.type}\0".encode())
            total.update(self._shape[index].digest() + self._data[index].digest())
        return total.hexdigest()


@dataclass
class FingerprintSetWriter:
    """Writes batches to a temporary file and moves it into place on `close`, so no half set is left.

    The temporary file has a unique name in the set's own directory (the rename stays on one file system,
    so it is atomic) and is flushed to disk before the rename: two commands writing the same set each put a
    whole set of their own in place, and a full disk or a read-only directory leaves the previous set as
    it was. Every failure to write is an InputError naming the set.
    """

    path: Path
    schema: pa.Schema
    _seen_ids: set[str] = field(default_factory=set)
    duplicates: int = 0
    rows: int = 0
    last_kept: npt.NDArray[np.bool_] | None = None  # see `write`

    def __post_init__(self) -> None:
        if self.path.is_dir() or not self.path.name or self.path.name in (".", ".."):
            raise UsageError(f"{self.path}: the fingerprint set path is a directory; give a file name.")
        self._target = through_links(self.path)  # a symbolic link is written through, as every output
        # The folders made for the set, removed again (when empty) if it is not written.
        self._made = missing_folders(self._target)
        try:
            self._target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(
                prefix=f".{self._target.name}.", suffix=".partial", dir=self._target.parent
            )
            os.close(descriptor)
        except OSError as error:
            raise self._cannot_write(error) from None
        self._partial = Path(name)
        try:
            # Signatures are uniform random words: dictionary encoding gains nothing and zstd a few percent of
            # the file, for more time than the rest of the write; the other columns compress well at zstd's
            # fastest level. Dictionaries only for the columns that repeat values (ids and links are unique:
            # a dictionary is built, then abandoned), and no column statistics (nothing reads them: a set
            # is loaded whole, never filtered by row group).
            others = [name for name in self.schema.names if name != "signature"]
            compression = {name: "zstd" for name in others} | {"signature": "none"}
            repeating = [name for name in others if name in _REPEATING_COLUMNS]
            self._writer = pq.ParquetWriter(
                self._partial,
                self.schema,
                compression=compression,
                compression_level={name: 1 for name in others},
                use_dictionary=repeating,
                write_statistics=False,
            )
        except (OSError, pa.ArrowException) as error:
            self._partial.unlink(missing_ok=True)
            raise self._cannot_write(error) from None
        self._digest = ContentDigest(self.schema)

    def _cannot_write(self, error: BaseException) -> InputError:
        reason, number = os_error_reason(error)
        return InputError(f"{self.path}: cannot write the fingerprint set ({reason}); {cannot_write_fix(number)}.")

    def write(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Write a batch, dropping (and counting) ids seen before; returns what was written, and keeps in
        `last_kept` which of the batch's rows that was (None: all of them)."""
        self.last_kept = None
        ids = batch.column("post_id").to_pylist()
        seen = self._seen_ids
        fresh_batch = seen.isdisjoint(ids)  # the common case, in C loops, without a set of the batch
        if fresh_batch:
            before = len(seen)
            seen.update(ids)
            if len(seen) - before != len(ids):  # an id twice in the batch: undone (none was seen before)
                seen.difference_update(ids)
                fresh_batch = False
        if not fresh_batch:
            keep = []
            for post_id in ids:
                fresh = post_id not in self._seen_ids
                keep.append(fresh)
                if fresh:
                    self._seen_ids.add(post_id)
            self.duplicates += len(keep) - sum(keep)
            self.last_kept = np.array(keep, dtype=np.bool_)
            batch = batch.filter(pa.array(keep))
        try:
            self._writer.write_batch(batch)
        except (OSError, pa.ArrowException) as error:
            raise self._cannot_write(error) from None
        self._digest.update(batch)
        self.rows += batch.num_rows
        return batch

    def close(self, info: FingerprintSetInfo) -> FingerprintSetInfo:
        """Record `info` with the content digest and move the set into place; returns what was recorded."""
        info = replace(info, content_sha256=self._digest.hexdigest(info.to_dict()))
        try:
            self._writer.add_key_value_metadata({METADATA_KEY: json.dumps(info.to_dict(), sort_keys=True)})
            self._writer.close()
            os.chmod(self._partial, 0o666 & ~umask())  # mkstemp made it 0600; a set is as shareable as any file
            flush_to_disk(self._partial)
            os.replace(self._partial, self._target)
        except (OSError, pa.ArrowException) as error:
            self._partial.unlink(missing_ok=True)
            raise self._cannot_write(error) from None
        return info

    def abort(self) -> None:
        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()
        self._partial.unlink(missing_ok=True)
        for folder in self._made:  # deepest first; one holding anything else stays
            with contextlib.suppress(OSError):
                folder.rmdir()


@dataclass(frozen=True)
class FingerprintSet:
    """A loaded fingerprint set: its info and the rows of the posts usable for matching."""

    path: Path
    info: FingerprintSetInfo
    post_ids: pa.Array
    # (usable posts, num_perm): the winning shingle hash of each slot, i.e. the signatures inverted
    # (minhash.Permutations.winning_shingles). Indexing sorts each post's slots in place.
    slot_hashes: npt.NDArray[np.uint32]
    shingle_counts: npt.NDArray[np.int64]
    normalized_lengths: npt.NDArray[np.int64]
    texts: pa.Array | None
    metadata: pa.Table  # post_id and metadata columns of the usable posts
    untestable_examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first ids, by reason
    # The slots of the whole set when this is a sample of it (`subset`): which shingles are common
    # (templates) is a property of the set, not of the sample (ContainmentIndex.build).
    population: npt.NDArray[np.uint32] | None = None

    @property
    def params(self) -> FingerprintParams:
        return self.info.params

    @property
    def total_posts(self) -> int:
        return self.info.counts.get("posts_in_set", 0)

    @property
    def skipped(self) -> dict[str, int]:
        return self.info.skipped

    def subset(self, indices: npt.NDArray[np.int64]) -> FingerprintSet:
        """The same set restricted to some of its usable posts (a sample), in the given order."""
        take = pa.array(indices)
        return FingerprintSet(
            path=self.path,
            info=self.info,
            post_ids=self.post_ids.take(take),
            slot_hashes=self.slot_hashes[indices],
            shingle_counts=self.shingle_counts[indices],
            normalized_lengths=self.normalized_lengths[indices],
            texts=self.texts.take(take) if self.texts is not None else None,
            metadata=self.metadata.take(take),
            untestable_examples=self.untestable_examples,
            population=self.slot_hashes if self.population is None else self.population,
        )


def _parquet(path: Path) -> pq.ParquetFile:
    if not path.exists():
        raise InputError(f"{path}: no such fingerprint set; build one with `auditor fingerprint`.")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a fingerprint set; name the set's file.")
    try:
        # Without pre_buffer: pre-buffering keeps every column chunk read until the file is closed.
        return pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as error:  # UnicodeDecodeError: damaged column names
        if _looks_like_posts(path):
            raise _posts_not_set(path) from None
        raise InputError(f"{path}: not a readable Parquet file ({error}); rebuild or re-copy it.") from None


_POSTS_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".gz", ".zst", ".xml", ".zip", ".car", ".7z", ".txt")


def _looks_like_posts(path: Path) -> bool:
    """A posts file given where a set belongs: a posts suffix, or text that starts like JSON."""
    if path.name.lower().endswith(_POSTS_SUFFIXES):
        return True
    try:
        with path.open("rb") as stream:
            start = stream.read(64).lstrip()
    except OSError:
        return False
    return start[:1] in (b"{", b"[")


def _posts_not_set(path: Path) -> InputError:
    return InputError(
        f"{path} looks like a posts file, not a fingerprint set; fingerprint it first "
        f"(`auditor fingerprint {path}`) and give the set that writes."
    )


def _metadata(path: Path, parquet: pq.ParquetFile) -> tuple[dict[str, Any], FingerprintSetInfo]:
    raw = parquet.metadata.metadata or {}
    if METADATA_KEY not in raw:
        raise InputError(
            f"{path} is a Parquet file but not a fingerprint set; if it holds posts, fingerprint it first "
            f"(`auditor fingerprint {path}`) and give the set that writes."
        )
    try:
        data = json.loads(raw[METADATA_KEY])
    except (ValueError, RecursionError):
        raise InputError(f"{path}: its fingerprint metadata is damaged; rebuild the set.") from None
    info = FingerprintSetInfo.from_dict(data, str(path), parquet.metadata.num_rows)
    info.params.supported(str(path))
    return data, info


def read_info(path: Path) -> FingerprintSetInfo:
    """Read only the self-description of a fingerprint set, every field checked (not the content digest)."""
    return _metadata(path, _parquet(path))[1]


def load(path: Path) -> FingerprintSet:
    """Load the usable posts of a set, with their signatures already inverted to winning shingle hashes.

    Read batch by batch into one preallocated array, so memory holds the slot hashes once (512 bytes a
    post at num_perm 128) and no Arrow copy of the signatures. The content digest is checked on the way.
    """
    fingerprints = _read(path)
    release_freed_memory()  # only once the reader and its batches are gone are whole pages free
    return fingerprints


def _modified(path: Path) -> InputError:
    return InputError(f"{path} was modified after it was built (its content digest does not match); rebuild it.")


def _read(path: Path) -> FingerprintSet:
    parquet = _parquet(path)
    data, info = _metadata(path, parquet)
    num_perm = info.params.num_perm
    permutations = Permutations(num_perm, info.params.seed)
    from auditor.fingerprint import fingerprint_schema  # it imports the posts sources, which import this

    expected = fingerprint_schema(num_perm, info.has_text, info.format_version)
    schema = parquet.schema_arrow
    if [(f.name, f.type) for f in schema] != [(f.name, f.type) for f in expected]:
        found = schema.field("signature").type if "signature" in schema.names else "none"
        raise InputError(
            f"{path}: its columns do not match its recorded format version {info.format_version} and num_perm "
            f"{num_perm} (a signature of type {signature_type(num_perm, info.format_version)}, found {found}); "
            "rebuild the set."
        )
    digest = ContentDigest(expected)  # type names as written (Parquet renames list items)
    slot_hashes = np.empty((info.counts["posts_fingerprinted"], num_perm), dtype=np.uint32)
    rest: list[pa.RecordBatch] = []
    untestable: dict[str, list[str]] = {}
    filled = 0
    try:
        for batch in parquet.iter_batches(batch_size=1 << 16):
            digest.update(batch)
            required = ("post_id", "shingle_count", "normalized_length")
            if any(batch.column(name).null_count for name in required):
                raise _modified(path)
            reasons = batch.column("skip_reason")
            skipped = batch.filter(pc.is_valid(reasons)).select(["post_id", "skip_reason"])
            for post_id, reason in zip(*skipped.to_pydict().values(), strict=True):
                examples = untestable.setdefault(reason, [])
                if len(examples) < UNTESTABLE_EXAMPLES:
                    examples.append(post_id)
            usable = batch.filter(pc.is_null(reasons))
            if usable.column("signature").null_count:
                raise _modified(path)
            count = usable.num_rows
            if filled + count > len(slot_hashes):
                raise _modified(path)
            slot_hashes[filled : filled + count] = permutations.winning_shingles(
                signature_words(usable.column("signature"), num_perm)
            )
            filled += count
            rest.append(usable.drop_columns(["signature"]))
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: not a readable Parquet file ({error}); rebuild or re-copy it.") from None
    if filled != len(slot_hashes) or digest.hexdigest(data) != info.content_sha256:
        raise _modified(path)
    table = pa.Table.from_batches(rest, schema=schema.remove(schema.get_field_index("signature")))
    metadata_columns = [n for n in table.column_names if n != "text"]
    return FingerprintSet(
        path=path,
        info=info,
        post_ids=single_array(table.column("post_id")),
        slot_hashes=slot_hashes,
        shingle_counts=table.column("shingle_count").to_numpy().astype(np.int64),
        normalized_lengths=table.column("normalized_length").to_numpy().astype(np.int64),
        texts=single_array(table.column("text")) if "text" in table.column_names else None,
        metadata=table.select(metadata_columns),
        untestable_examples={reason: tuple(ids) for reason, ids in sorted(untestable.items())},
    )
