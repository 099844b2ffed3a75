"""Fingerprint sets on disk: one self-describing Parquet file.

Rows: post_id, signature (num_perm uint32 values, null for posts kept out of matching), shingle_count,
normalized_length, skip_reason, metadata and, only when asked, text. The file's key-value metadata holds,
under `provenance_auditor`, a JSON document with the format and its version, every parameter that decides
a hash value, the tool version, the inputs (name, size, SHA-256) and counts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import __version__
from auditor.errors import InputError
from auditor.files import FileIdentity
from auditor.kernels.minhash import Permutations
from auditor.memory import release_freed_memory
from auditor.params import FingerprintParams

FORMAT = "provenance-auditor/fingerprint-set"
FORMAT_VERSION = 1
METADATA_KEY = b"provenance_auditor"
SUFFIX = ".fp.parquet"
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
    sources: tuple[InputSummary, ...] = ()  # per input given: format, records, posts, left out, undated
    undated: dict[str, int] = field(default_factory=dict)  # posts in the set without a date, by reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
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

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str) -> FingerprintSetInfo:
        if data.get("format") != FORMAT:
            raise InputError(
                f"{source} is a Parquet file but not a fingerprint set; build one with `auditor fingerprint`."
            )
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise InputError(
                f"{source} has fingerprint format version {version!r}, newer than this auditor reads "
                f"({FORMAT_VERSION}); upgrade provenance-auditor."
            )
        return cls(
            params=FingerprintParams.from_dict(data.get("params", {}), source),
            min_shingles=int(data["min_shingles"]),
            has_text=bool(data["has_text"]),
            inputs=tuple(FileIdentity.from_dict(item) for item in data.get("inputs", [])),
            counts={str(k): int(v) for k, v in data.get("counts", {}).items()},
            skipped={str(k): int(v) for k, v in data.get("skipped", {}).items()},
            tool_version=str(data.get("tool_version", "unknown")),
            sources=tuple(InputSummary.from_dict(item) for item in data.get("sources", [])),
            undated={str(k): int(v) for k, v in data.get("undated", {}).items()},
        )


@dataclass
class FingerprintSetWriter:
    """Writes batches to a temporary file and moves it into place on `close`, so no half set is left."""

    path: Path
    schema: pa.Schema
    _seen_ids: set[str] = field(default_factory=set)
    duplicates: int = 0
    rows: int = 0

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(self.path.name + ".partial")
        # Signatures are uniform random words: dictionary encoding gains nothing and zstd a few percent of
        # the file, for more time than the rest of the write; the other columns compress well.
        others = [name for name in self.schema.names if name != "signature"]
        compression = {name: "zstd" for name in others} | {"signature": "none"}
        self._writer = pq.ParquetWriter(self._partial, self.schema, compression=compression, use_dictionary=others)

    def write(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Write a batch, dropping (and counting) ids seen before; returns what was written."""
        ids = batch.column("post_id").to_pylist()
        distinct = set(ids)
        if len(distinct) == len(ids) and self._seen_ids.isdisjoint(distinct):  # the common case, in C loops
            self._seen_ids |= distinct
            self._writer.write_batch(batch)
            self.rows += batch.num_rows
            return batch
        keep = []
        for post_id in ids:
            fresh = post_id not in self._seen_ids
            keep.append(fresh)
            if fresh:
                self._seen_ids.add(post_id)
        if not all(keep):
            self.duplicates += len(keep) - sum(keep)
            batch = batch.filter(pa.array(keep))
        self._writer.write_batch(batch)
        self.rows += batch.num_rows
        return batch

    def close(self, info: FingerprintSetInfo) -> None:
        self._writer.add_key_value_metadata({METADATA_KEY: json.dumps(info.to_dict(), sort_keys=True)})
        self._writer.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        self._writer.close()
        self._partial.unlink(missing_ok=True)


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
        )


def read_info(path: Path) -> FingerprintSetInfo:
    """Read only the self-description of a fingerprint set."""
    if not path.exists():
        raise InputError(f"{path}: no such fingerprint set; build one with `auditor fingerprint`.")
    try:
        raw = pq.ParquetFile(path).metadata.metadata or {}
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"{path}: not a readable Parquet file ({error}); rebuild or re-copy it.") from None
    if METADATA_KEY not in raw:
        raise InputError(f"{path} is a Parquet file but not a fingerprint set; build one with `auditor fingerprint`.")
    try:
        data = json.loads(raw[METADATA_KEY])
    except ValueError:
        raise InputError(f"{path}: its fingerprint metadata is damaged; rebuild the set.") from None
    info = FingerprintSetInfo.from_dict(data, str(path))
    info.params.supported(str(path))
    return info


def load(path: Path) -> FingerprintSet:
    """Load the usable posts of a set, with their signatures already inverted to winning shingle hashes.

    Read batch by batch into one preallocated array, so memory holds the slot hashes once (512 bytes a
    post at num_perm 128) and no Arrow copy of the signatures.
    """
    fingerprints = _read(path, read_info(path))
    release_freed_memory()  # only once the reader and its batches are gone are whole pages free
    return fingerprints


def _read(path: Path, info: FingerprintSetInfo) -> FingerprintSet:
    num_perm = info.params.num_perm
    permutations = Permutations(num_perm, info.params.seed)
    try:
        # Without pre_buffer: pre-buffering keeps every column chunk read until the file is closed.
        parquet = pq.ParquetFile(path, pre_buffer=False)
        schema = parquet.schema_arrow
        required = ("post_id", "signature", "shingle_count", "normalized_length", "skip_reason")
        if any(name not in schema.names for name in required) or schema.field("signature").type != pa.list_(
            pa.uint32(), num_perm
        ):
            raise InputError(
                f"{path}: its columns do not match its recorded parameters (num_perm {num_perm}); rebuild the set."
            )
        slot_hashes = np.empty((info.counts.get("posts_fingerprinted", 0), num_perm), dtype=np.uint32)
        rest: list[pa.RecordBatch] = []
        untestable: dict[str, list[str]] = {}
        filled = 0
        for batch in parquet.iter_batches(batch_size=1 << 16):
            skipped = batch.filter(pc.is_valid(batch.column("skip_reason"))).select(["post_id", "skip_reason"])
            for post_id, reason in zip(*skipped.to_pydict().values(), strict=True):
                examples = untestable.setdefault(reason, [])
                if len(examples) < UNTESTABLE_EXAMPLES:
                    examples.append(post_id)
            usable = batch.filter(pc.is_null(batch.column("skip_reason")))
            signatures = usable.column("signature").flatten().to_numpy(zero_copy_only=False)
            count = usable.num_rows
            if filled + count > len(slot_hashes):
                raise InputError(f"{path}: it holds more usable posts than its metadata counts; rebuild the set.")
            slot_hashes[filled : filled + count] = permutations.winning_shingles(
                np.asarray(signatures, dtype=np.uint32).reshape(count, num_perm)
            )
            filled += count
            rest.append(usable.drop_columns(["signature"]))
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"{path}: not a readable Parquet file ({error}); rebuild or re-copy it.") from None
    if filled != len(slot_hashes):
        raise InputError(f"{path}: it holds fewer usable posts than its metadata counts; rebuild the set.")
    table = pa.Table.from_batches(rest, schema=schema.remove(schema.get_field_index("signature")))
    metadata_columns = [n for n in table.column_names if n != "text"]
    return FingerprintSet(
        path=path,
        info=info,
        post_ids=table.column("post_id").combine_chunks(),
        slot_hashes=slot_hashes,
        shingle_counts=table.column("shingle_count").to_numpy().astype(np.int64),
        normalized_lengths=table.column("normalized_length").to_numpy().astype(np.int64),
        texts=table.column("text").combine_chunks() if "text" in table.column_names else None,
        metadata=table.select(metadata_columns),
        untestable_examples={reason: tuple(ids) for reason, ids in sorted(untestable.items())},
    )
