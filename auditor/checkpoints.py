"""Checkpoints: every finished part of a scan is kept on disk, so a rerun resumes instead of starting over.

A run is identified by everything that decides part results: the tool and checkpoint format versions,
each fingerprint set (path and SHA-256), the settings that change results (threshold, key id, sampling,
columns, row size limit), each corpus file's identity (name, size, modification time or ETag) and the
parts the corpus was cut into. The store lives beside the audit's evidence output, in one folder per
output (`.<evidence name>.checkpoints/`); `run.json` in it records the identity.

A finished part is written as one Arrow IPC file of evidence per set and a JSON file of its counts and
of the SHA-256 of each evidence file, written last and renamed into place: the JSON file is the
completion marker (as datatrove's), so a part killed half-way is simply scanned again. The files are not
flushed to disk one by one (a flush each was most of the cost of keeping a part): after a crash of the
machine a part may have its marker and not all of its evidence, so a rerun takes a part as finished
only when its marker reads and each evidence file has the SHA-256 it names, and scans any other again.
Evidence is read back memory-mapped, so the evidence of any number of matches lives on disk, not in the
process's heap.

Opening a store for a different identity says what changed and starts afresh; a finished audit removes
its store unless asked to keep it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from auditor.batch import PartResult
from auditor.errors import InputError, disk_full, os_error_reason
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.files import file_sha256
from auditor.outputs import replace_atomically
from auditor.sources.corpus import CorpusPart

CHECKPOINT_FORMAT_VERSION = 3  # 2: evidence carries the posts' date, author and URL; 3: markers carry SHA-256


def checkpoint_folder(evidence: Path) -> Path:
    """Where the checkpoints of the audit writing `evidence` live."""
    return evidence.parent / f".{evidence.name}.checkpoints"


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RunIdentity:
    """Everything that decides part results, by name, so a change can be told in words."""

    components: Mapping[str, Any]

    @property
    def digest(self) -> str:
        return _digest(dict(self.components))

    def differences(self, earlier: Mapping[str, Any]) -> list[str]:
        """What changed since `earlier`, in words ("the corpus files", "threshold", ...)."""
        names = sorted(set(self.components) | set(earlier))
        now = json.loads(json.dumps(dict(self.components), default=str))  # as stored: tuples become lists
        return [name.replace("_", " ") for name in names if now.get(name) != earlier.get(name)]


def _part_name(part: CorpusPart) -> str:
    return f"part-{part.file_index:06d}-{part.first_row:012d}"


@dataclass
class PartStore:
    """Finished parts of one run, on disk."""

    folder: Path
    identity: RunIdentity
    sets: int
    restarted_because: str | None = None  # why an earlier run's parts were dropped, when they were
    _finished: set[str] = field(default_factory=set)
    _checked: dict[str, PartResult] = field(default_factory=dict)  # finished parts whose files were checked
    _lock_file: IO[bytes] | None = None

    @classmethod
    def open(cls, folder: Path, identity: RunIdentity, sets: int, restart: bool = False) -> PartStore:
        """The store of this run: finished parts kept when the identity is the same, else a fresh start.

        The store is locked for as long as this process lives (or until `remove`): a second command
        writing the same evidence is refused instead of mixing its parts with this one's.
        """
        lock = _lock(folder)
        reason = None
        manifest = folder / "run.json"
        if folder.exists():
            earlier = cls._read_manifest(manifest)
            if restart:
                reason = "--restart was given"
            elif earlier is None:
                reason = "the earlier checkpoints are unreadable"
            elif earlier.get("digest") != identity.digest:
                changed = identity.differences(earlier.get("components", {}))
                reason = f"{', '.join(changed) or 'the run'} changed since the earlier run"
            if reason is not None:
                shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not manifest.exists():
                document = {"digest": identity.digest, "components": dict(identity.components)}
                replace_atomically(
                    manifest, lambda p: p.write_text(json.dumps(document, sort_keys=True, default=str)), durable=False
                )
        except OSError as error:
            raise InputError(
                f"{folder}: cannot keep checkpoints there ({error.strerror}); choose another --evidence path."
            ) from None
        store = cls(folder, identity, sets, reason, _lock_file=lock)
        store._finished = {p.name.removesuffix(".json") for p in folder.glob("part-*.json")}
        return store

    @staticmethod
    def _read_manifest(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def finished(self, part: CorpusPart) -> bool:
        """Whether the part was finished by an earlier run, its files whole: a part whose marker does not
        read or whose evidence files are not the ones the marker names (a crash of the machine before
        the system wrote them out) is dropped, to be scanned again."""
        name = _part_name(part)
        if name not in self._finished:
            return False
        if name not in self._checked:
            result = self._checked_part(name)
            if result is None:
                self._finished.discard(name)
                for path in self.folder.glob(f"{name}.*"):
                    path.unlink(missing_ok=True)
                return False
            self._checked[name] = result
        return True

    def _checked_part(self, name: str) -> PartResult | None:
        try:
            counts = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
            digests = counts["evidence_sha256"]
            if len(digests) != self.sets or len(counts["sets"]) != self.sets:
                return None
            for index, digest in enumerate(digests):
                if file_sha256(self.folder / f"{name}.set{index}.arrow") != digest:
                    return None
            return PartResult.from_counts(counts)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, part: CorpusPart, result: PartResult) -> PartResult:
        """Keep a finished part on disk; returns its counts (the evidence stays on disk)."""
        name = _part_name(part)
        try:
            digests = []
            for index, set_part in enumerate(result.sets):
                path = self.folder / f"{name}.set{index}.arrow"
                replace_atomically(path, functools.partial(_write_ipc, tables=[set_part.evidence]), durable=False)
                digests.append(file_sha256(path))
            counts = {**result.counts(), "evidence_sha256": digests}
            replace_atomically(self.folder / f"{name}.json", lambda p: p.write_text(json.dumps(counts)), durable=False)
        except OSError as error:
            reason, number = os_error_reason(error)
            # A full disk: the parts done so far stay for a rerun; elsewhere, there is nothing to resume.
            fix = "free some space and rerun to resume" if disk_full(number) else "choose another --evidence path"
            raise InputError(f"{self.folder}: cannot write a checkpoint ({reason}); {fix}.") from None
        self._finished.add(name)
        return result.without_evidence()

    def load(self, part: CorpusPart) -> PartResult:
        """A finished part's counts (its evidence stays on disk until `evidence`)."""
        name = _part_name(part)
        if name in self._checked:
            return self._checked[name]
        try:
            counts = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
            result = PartResult.from_counts(counts)
            if len(result.sets) != self.sets:
                raise ValueError(f"{len(result.sets)} sets instead of {self.sets}")
            return result
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(f"{self.folder}: checkpoint {name} is damaged ({error}); rerun with --restart.") from None

    def evidence(self, set_index: int, parts: list[CorpusPart]) -> pa.Table:
        """Set `set_index`'s evidence of `parts` (in their order), merged into one file and memory-mapped."""
        merged = self.folder / f"evidence.set{set_index}.arrow"
        try:
            tables = (_read_ipc(self.folder / f"{_part_name(part)}.set{set_index}.arrow") for part in parts)
            replace_atomically(merged, lambda p: _write_ipc(p, tables), durable=False)
            return _read_ipc(merged)
        except (OSError, pa.ArrowInvalid) as error:
            raise InputError(
                f"{self.folder}: the checkpoints cannot be merged ({error}); rerun with --restart."
            ) from None

    def remove(self) -> None:
        """Drop the checkpoints and the lock: the run is finished."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock_file is not None:
            _lock_path(self.folder).unlink(missing_ok=True)
            self._lock_file.close()
            self._lock_file = None


def _lock_path(folder: Path) -> Path:
    return folder.with_name(folder.name + ".lock")


def _lock(folder: Path) -> IO[bytes]:
    """An exclusive lock on the store, held by this process; released when it exits, however it exits."""
    path = _lock_path(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("ab")
    except OSError as error:
        raise InputError(
            f"{folder}: cannot keep checkpoints there ({error.strerror}); choose another --evidence path."
        ) from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise InputError(
            f"{folder}: another audit writing the same evidence is running; wait for it to finish or choose "
            "another --evidence path."
        ) from None
    return handle


def _write_ipc(path: Path, tables: Iterable[pa.Table]) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, EVIDENCE_SCHEMA) as writer:
        for table in tables:
            writer.write_table(table)


def _read_ipc(path: Path) -> pa.Table:
    """The table of an Arrow IPC file, memory-mapped: its pages are the file's, not the heap's."""
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()
