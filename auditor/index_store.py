"""Stored containment indexes: built once from a fingerprint set, opened memory-mapped by every later audit.

Building the index of a set of millions of posts takes minutes (loading and checking the set, inverting
its signatures, counting, sorting); opening a stored one takes milliseconds, and every process that opens
it (the workers of an audit, the Python workers of a Spark executor) shares the same pages of the page
cache instead of holding a copy each.

A stored index is one directory, self-contained (a Spark executor needs nothing else of the set):

    header.json       format and version, the set's SHA-256 and self-description, the threshold, scalars,
                      the shape and type of every array, the first ids of posts kept out of matching
    <array>.npy       one file per array (numpy's format, opened with mmap_mode="r"): the slot hashes
                      (sorted per post), the per-post fields of the index and of the set, the packed prefix
                      entries, the Bloom filter and its coarse fold, the radix table, the posts' shingles when
                      the set has texts
    posts.arrow       post ids and metadata (and texts) of the usable posts, Arrow IPC, memory-mapped

Its name is its key: `<stem>-<first 16 hex digits of the set's SHA-256>-t<threshold>-v<format version>`,
kept beside the set in `<stem>.index/` or in a directory of the caller's choice (a CI cache). Opening
checks the header against the set's SHA-256, the threshold and the format version, and every array's
file against its recorded shape: a mismatched, damaged or truncated index is reported with the reason,
never used. Indexes are written to a temporary directory and renamed into place, so a crash leaves
none half-written.

The set's SHA-256 is its identity, and hashing gigabytes takes seconds: the header records the set
file's status (size, modification and change times, inode and device) next to its hash, and a set whose
status is unchanged is not hashed again (as git's index does; the change time cannot be set back by
hand).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from auditor import __version__
from auditor.errors import InputError
from auditor.files import remember_sha256, sha256_of
from auditor.fingerprint_set import SUFFIX, FingerprintSet, FingerprintSetInfo
from auditor.kernels.containment import COARSE_FOLD, ContainmentIndex
from auditor.kernels.normalize import single_array
from auditor.outputs import flush_to_disk, replace_atomically
from auditor.scan import PostShingles, Prebuilt

INDEX_FORMAT = "provenance-auditor/containment-index"
# 2: post lengths and the shingle size, for the cover rule; 3: floor over specific hashes; 4: heavy prefix hashes
INDEX_FORMAT_VERSION = 5
HEADER = "header.json"
POSTS = "posts.arrow"

# Arrays of the index, by name: where each lives.
_INDEX_ARRAYS = (
    "specific_bits",
    "specific_slots",
    "distinct",
    "specific_distinct",
    "lengths",
    "required",
    "required_prefix_slots",
    "prefix_entries",
    "filter_words",
    "coarse_words",
    "radix",
    "heavy_hashes",
    "heavy_offsets",
    "heavy_ids",
)
_INDEX_SCALARS = ("min_slots", "slot_bits", "filter_shift", "radix_shift", "shingle_size")
_DTYPES = {
    "slot_hashes": np.uint32,
    "shingle_counts": np.int64,
    "normalized_lengths": np.int64,
    "specific_bits": np.uint8,
    "specific_slots": np.int16,
    "distinct": np.int16,
    "specific_distinct": np.int16,
    "lengths": np.int32,
    "required": np.int16,
    "required_prefix_slots": np.int16,
    "prefix_entries": np.uint64,
    "filter_words": np.uint64,
    "coarse_words": np.uint64,
    "radix": np.uint32,
    "heavy_hashes": np.uint32,
    "heavy_offsets": np.int64,
    "heavy_ids": np.uint32,
    "post_shingle_hashes": np.uint32,
    "post_shingle_offsets": np.int64,
}


class IndexMismatch(Exception):
    """A stored index that cannot serve: `reason` says why, in words that follow "the index ...": it is
    rebuilt, or refused with the reason, never used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def set_stem(fingerprints: Path) -> str:
    name = fingerprints.name
    stem = name.removesuffix(SUFFIX).removesuffix(".parquet")
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "set"


def index_name(stem: str, set_sha256: str, threshold: float) -> str:
    """The directory name of the index of a set (by stem and SHA-256) at a threshold."""
    return f"{stem}-{set_sha256[:16]}-t{threshold!r}-v{INDEX_FORMAT_VERSION}"


def index_root(fingerprints: Path, index_dir: Path | None = None) -> Path:
    """Where a set's indexes are kept: `index_dir`, or `<stem>.index/` beside the set."""
    return index_dir if index_dir is not None else fingerprints.parent / f"{set_stem(fingerprints)}.index"


def file_status(path: Path) -> dict[str, int]:
    """What tells a file from a changed one without reading it (its change time cannot be set by hand)."""
    status = path.stat()
    return {
        "size": status.st_size,
        "modified_ns": status.st_mtime_ns,
        "changed_ns": status.st_ctime_ns,
        "inode": status.st_ino,
        "device": status.st_dev,
    }


def index_header(directory: Path) -> dict[str, Any]:
    """A stored index's header, read and checked for its format (IndexMismatch otherwise)."""
    try:
        header = json.loads((directory / HEADER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexMismatch("has no header (it is incomplete)") from None
    except (OSError, ValueError, RecursionError) as error:
        raise IndexMismatch(f"has an unreadable header ({error})") from None
    if not isinstance(header, dict) or header.get("format") != INDEX_FORMAT:
        raise IndexMismatch("has a header of another format")
    return header


def set_sha256(fingerprints: Path, root: Path) -> str:
    """The set's SHA-256: the one an index in `root` recorded for the set's current status, else computed."""
    try:
        status = file_status(fingerprints)
    except OSError as error:
        raise InputError(f"{fingerprints}: cannot be read ({error.strerror}); check the path.") from None
    pattern = f"{set_stem(fingerprints)}-*-v{INDEX_FORMAT_VERSION}"
    candidates = sorted(root.glob(pattern)) if root.is_dir() else []
    for candidate in candidates:
        try:
            recorded = index_header(candidate).get("set", {})
        except IndexMismatch:
            continue
        if not isinstance(recorded, dict) or recorded.get("status") != status:
            continue
        digest, threshold = recorded.get("sha256"), recorded.get("threshold")
        if not isinstance(digest, str) or re.fullmatch(r"[0-9a-f]{64}", digest) is None:
            continue
        if isinstance(threshold, float) and candidate.name == index_name(set_stem(fingerprints), digest, threshold):
            remember_sha256(fingerprints, digest)
            return digest
    return sha256_of(fingerprints)


@dataclass(frozen=True)
class StoredIndex:
    """A stored index, opened: the set's usable posts and the index over them, every array memory-mapped."""

    directory: Path
    fingerprints: FingerprintSet
    prebuilt: Prebuilt
    set_sha256: str

    @property
    def threshold(self) -> float:
        return self.prebuilt.index.threshold


def _array(directory: Path, name: str, spec: object) -> npt.NDArray[Any]:
    if not isinstance(spec, dict) or not isinstance(spec.get("shape"), list) or not isinstance(spec.get("dtype"), str):
        raise IndexMismatch(f"records no shape for {name}")
    path = directory / f"{name}.npy"
    shape = tuple(int(n) for n in spec["shape"])
    try:
        dtype = np.dtype(spec["dtype"])
        if math.prod(shape) == 0:
            array: npt.NDArray[Any] = np.load(path, allow_pickle=False)
        else:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise IndexMismatch(f"lacks its file {name}.npy") from None
    except (OSError, ValueError, TypeError) as error:  # a truncated file cannot be mapped
        raise IndexMismatch(f"has a damaged or truncated {name}.npy ({error})") from None
    if array.shape != shape or array.dtype != dtype:
        raise IndexMismatch(f"has {name}.npy of shape {array.shape} ({array.dtype}), not {shape} ({dtype})")
    return array


def open_index(directory: Path, expected_sha256: str | None, threshold: float) -> StoredIndex:
    """Open a stored index, memory-mapped, after checking it serves this set (by SHA-256; None: whatever
    set the header names) at this threshold; raises IndexMismatch with the reason otherwise."""
    header = index_header(directory)
    if header.get("format_version") != INDEX_FORMAT_VERSION:
        raise IndexMismatch(
            f"has index format version {header.get('format_version')!r}, not {INDEX_FORMAT_VERSION} (another "
            "provenance-auditor built it)"
        )
    recorded = header.get("set")
    if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
        raise IndexMismatch("records no set SHA-256")
    if expected_sha256 is not None and recorded["sha256"] != expected_sha256:
        raise IndexMismatch("was built from another version of the set (its SHA-256 differs)")
    if recorded.get("threshold") != threshold:
        raise IndexMismatch(f"was built for threshold {recorded.get('threshold')!r}, not {threshold!r}")
    scalars = header.get("scalars")
    arrays = header.get("arrays")
    if not isinstance(scalars, dict) or not isinstance(arrays, dict):
        raise IndexMismatch("has a header without its arrays")
    try:
        info = FingerprintSetInfo.from_dict(header.get("set_info"), f"{directory / HEADER}")
    except InputError as error:
        raise IndexMismatch(f"records a damaged set description ({error})") from None
    if unknown := sorted(set(arrays) - set(_DTYPES)):
        raise IndexMismatch(f"holds arrays this version does not know ({', '.join(unknown)})")
    loaded = {name: _array(directory, name, arrays.get(name)) for name in sorted(arrays)}
    for name, array in loaded.items():
        if array.dtype != np.dtype(_DTYPES[name]):
            raise IndexMismatch(f"has {name}.npy of type {array.dtype}, not {np.dtype(_DTYPES[name])}")
    needed = {"slot_hashes", "shingle_counts", "normalized_lengths", *_INDEX_ARRAYS}
    if missing := sorted(needed - set(loaded)):
        raise IndexMismatch(f"lacks the arrays {', '.join(missing)}")
    try:
        with pa.memory_map(str(directory / POSTS), "r") as source:
            table = pa.ipc.open_file(source).read_all()
    except FileNotFoundError:
        raise IndexMismatch(f"lacks its file {POSTS}") from None
    except (OSError, pa.ArrowException) as error:
        raise IndexMismatch(f"has a damaged or truncated {POSTS} ({error})") from None
    slot_hashes = loaded["slot_hashes"]
    posts = slot_hashes.shape[0]
    if table.num_rows != posts or "post_id" not in table.column_names:
        raise IndexMismatch(f"has {table.num_rows:,} rows in {POSTS} for {posts:,} posts")
    if slot_hashes.shape[1] != info.params.num_perm or len(loaded["radix"]) < 2:
        raise IndexMismatch("has arrays that do not fit together")
    if int(loaded["radix"][-1]) != len(loaded["prefix_entries"]):
        raise IndexMismatch("has a radix table that does not end at its prefix entries")
    if len(loaded["coarse_words"]) << COARSE_FOLD != len(loaded["filter_words"]):
        raise IndexMismatch("has a coarse filter that is not its filter folded")
    for name in ("shingle_counts", "normalized_lengths", *_INDEX_ARRAYS[:7]):
        if len(loaded[name]) != posts:
            raise IndexMismatch(f"has {len(loaded[name]):,} values of {name} for {posts:,} posts")
    heavy_offsets, heavy_ids = loaded["heavy_offsets"], loaded["heavy_ids"]
    if len(heavy_offsets) != posts + 1 or int(heavy_offsets[0]) != 0 or int(heavy_offsets[-1]) != len(heavy_ids):
        raise IndexMismatch("has heavy offsets that do not fit its posts and heavy ids")
    if bool((np.diff(heavy_offsets) < 0).any()):
        raise IndexMismatch("has heavy offsets that go down")
    if len(heavy_ids) and int(heavy_ids.max()) >= len(loaded["heavy_hashes"]):
        raise IndexMismatch("has heavy ids beyond its heavy hashes")
    try:
        values = {name: int(scalars[name]) for name in _INDEX_SCALARS}
    except (KeyError, TypeError, ValueError):
        raise IndexMismatch("has a header without its scalars") from None
    index = ContainmentIndex(
        slot_hashes=slot_hashes,
        specific_bits=loaded["specific_bits"],
        specific_slots=loaded["specific_slots"],
        distinct=loaded["distinct"],
        specific_distinct=loaded["specific_distinct"],
        lengths=loaded["lengths"],
        shingle_size=values["shingle_size"],
        required=loaded["required"],
        threshold=threshold,
        min_slots=values["min_slots"],
        prefix_entries=loaded["prefix_entries"],
        slot_bits=values["slot_bits"],
        required_prefix_slots=loaded["required_prefix_slots"],
        filter_words=loaded["filter_words"],
        filter_shift=values["filter_shift"],
        coarse_words=loaded["coarse_words"],
        radix=loaded["radix"],
        radix_shift=values["radix_shift"],
        heavy_hashes=loaded["heavy_hashes"],
        heavy_offsets=heavy_offsets,
        heavy_ids=heavy_ids,
    )
    post_shingles = None
    if "post_shingle_hashes" in loaded and "post_shingle_offsets" in loaded:
        post_shingles = PostShingles(loaded["post_shingle_hashes"], loaded["post_shingle_offsets"])
    has_texts = "text" in table.column_names
    if has_texts != (post_shingles is not None) or has_texts != info.has_text:
        raise IndexMismatch("holds texts and their shingles inconsistently")
    examples = header.get("untestable_examples", {})
    if not isinstance(examples, dict):
        raise IndexMismatch("has damaged examples of untestable posts")
    fingerprints = FingerprintSet(
        path=Path(str(recorded.get("path", directory.name))),
        info=info,
        post_ids=single_array(table.column("post_id")),
        slot_hashes=slot_hashes,
        shingle_counts=loaded["shingle_counts"],
        normalized_lengths=loaded["normalized_lengths"],
        texts=single_array(table.column("text")) if has_texts else None,
        metadata=table.select([name for name in table.column_names if name != "text"]),
        untestable_examples={str(k): tuple(str(i) for i in v) for k, v in sorted(examples.items())},
    )
    return StoredIndex(directory, fingerprints, Prebuilt(index, post_shingles, directory), recorded["sha256"])


def save_index(
    root: Path,
    name: str,
    fingerprints: FingerprintSet,
    prebuilt: Prebuilt,
    set_sha256: str,
    set_status: Mapping[str, int] | None = None,
) -> Path:
    """Write an index into `root/name`, atomically (a temporary directory renamed into place); returns the
    directory. An index already there is replaced (the caller found it unusable), unless another process
    put a good one there first."""
    index = prebuilt.index
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=root))
    try:
        arrays: dict[str, npt.NDArray[Any]] = {
            "slot_hashes": index.slot_hashes,
            "shingle_counts": np.ascontiguousarray(fingerprints.shingle_counts),
            "normalized_lengths": np.ascontiguousarray(fingerprints.normalized_lengths),
            **{array: getattr(index, array) for array in _INDEX_ARRAYS},
        }
        if prebuilt.post_shingles is not None:
            arrays["post_shingle_hashes"] = prebuilt.post_shingles.hashes
            arrays["post_shingle_offsets"] = prebuilt.post_shingles.offsets
        for array_name, array in arrays.items():
            path = work / f"{array_name}.npy"
            np.save(path, np.ascontiguousarray(array), allow_pickle=False)
            flush_to_disk(path)
        metadata = fingerprints.metadata
        if "post_id" not in metadata.column_names or "text" in metadata.column_names:
            raise ValueError("a set's metadata holds the post ids and not the texts")
        fields = list(metadata.schema)
        columns = [metadata.column(f.name).combine_chunks() for f in fields]
        if fingerprints.texts is not None:
            fields.append(pa.field("text", fingerprints.texts.type))
            columns.append(fingerprints.texts)
        table = pa.Table.from_arrays(columns, schema=pa.schema(fields))
        with pa.OSFile(str(work / POSTS), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        flush_to_disk(work / POSTS)
        header = {
            "format": INDEX_FORMAT,
            "format_version": INDEX_FORMAT_VERSION,
            "tool_version": __version__,
            "set": {
                "path": str(fingerprints.path),
                "sha256": set_sha256,
                "threshold": index.threshold,
                "status": dict(set_status) if set_status is not None else None,
            },
            "set_info": fingerprints.info.to_dict(),
            "scalars": {scalar: int(getattr(index, scalar)) for scalar in _INDEX_SCALARS},
            "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()},
            "untestable_examples": {k: list(v) for k, v in fingerprints.untestable_examples.items()},
        }
        (work / HEADER).write_text(json.dumps(header, indent=1, sort_keys=True), encoding="utf-8")
        flush_to_disk(work / HEADER)
        return _put_in_place(work, root / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _put_in_place(work: Path, target: Path) -> Path:
    stale = None
    if target.exists():
        stale = target.with_name(f".{target.name}.stale-{os.getpid()}")
        try:
            os.replace(target, stale)
        except OSError:
            stale = None
    try:
        os.replace(work, target)
    except OSError:
        if not target.exists():  # not a directory another process put there meanwhile
            raise
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)
    return target


def record_status(directory: Path, fingerprints: Path) -> None:
    """Record the set file's current status in an index that serves it, so it is not hashed again."""
    try:
        header = index_header(directory)
        status = file_status(fingerprints)
        if header["set"].get("status") == status:
            return
        header["set"]["status"] = status
        text = json.dumps(header, indent=1, sort_keys=True)
        replace_atomically(directory / HEADER, lambda path: path.write_text(text, encoding="utf-8"))
    except (OSError, IndexMismatch, KeyError, TypeError, AttributeError):
        pass  # only an optimisation: the set is hashed again next time


def writable(root: Path) -> str | None:
    """None when indexes can be written in `root`, else why not (in words)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=".probe.", dir=root)
        os.rmdir(probe)
    except OSError as error:
        return error.strerror or str(error)
    return None


def prune(root: Path, fingerprints: Path, set_sha256: str) -> None:
    """Remove the indexes of earlier versions of a set (another SHA-256, built from a file of the set's
    name), and those of an earlier index format (which this version of the tool never reads), from the
    set's own index folder. Those of other thresholds of this version stay, and those of a later format
    (a newer tool sharing the set), and those of another set whose name differs only in its suffix or in
    characters a directory name cannot hold (`x.fp.parquet` and `x.parquet` share the folder `x.index`)."""
    keep = set_sha256[:16]
    pattern = re.compile(rf"{re.escape(set_stem(fingerprints))}-([0-9a-f]{{16}})-t.*-v([0-9]+)")
    for other in root.iterdir():
        found = pattern.fullmatch(other.name)
        if found is None or not other.is_dir():
            continue
        if found.group(1) == keep:
            stale = int(found.group(2)) < INDEX_FORMAT_VERSION  # this set, an earlier format
        else:
            stale = _built_from(other) in (None, fingerprints.name)  # an earlier version of this set
        if stale:
            shutil.rmtree(other, ignore_errors=True)


def _built_from(directory: Path) -> str | None:
    """The name of the set file a stored index was built from, as its header records it; None when the
    header cannot tell (missing or damaged: nothing worth keeping)."""
    try:
        recorded = json.loads((directory / HEADER).read_text(encoding="utf-8"))["set"]["path"]
    except (OSError, ValueError, RecursionError, KeyError, TypeError):
        return None
    return Path(recorded).name if isinstance(recorded, str) else None
