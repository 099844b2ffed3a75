"""Facts about input files recorded in fingerprint sets and reports: name, size, SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from auditor.errors import InputError


@dataclass(frozen=True)
class FileIdentity:
    name: str
    size: int
    sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileIdentity:
        return cls(str(data["name"]), int(data["size"]), data.get("sha256"))


class Hashable(Protocol):
    """A file that hashes itself: a remote object, read whole as a stream."""

    def sha256(self) -> str: ...


def sha256_of(path: Path | Hashable) -> str:
    """SHA-256 of a file's bytes: a local file (computed once a process for a given path, size, modification and
    change time), or any object that hashes itself (a remote object is read whole for it)."""
    if not isinstance(path, Path):
        return path.sha256()
    try:
        status = path.stat()
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror}); check its permissions.") from None
    key = (str(path.absolute()), status.st_size, status.st_mtime_ns, status.st_ctime_ns)
    if key not in _KNOWN:
        if len(_KNOWN) >= _KNOWN_MAX:
            _KNOWN.pop(next(iter(_KNOWN)))
        _KNOWN[key] = _sha256_uncached(path)
    return _KNOWN[key]


_KNOWN: dict[tuple[str, int, int, int], str] = {}  # by path, size, modification and change time
_KNOWN_MAX = 1024


def remember_sha256(path: Path, sha256: str) -> None:
    """Record a local file's SHA-256 known from elsewhere (a stored index that recorded it with the file's
    unchanged status), so that `sha256_of` does not read the file again in this process."""
    status = path.stat()
    _KNOWN[(str(path.absolute()), status.st_size, status.st_mtime_ns, status.st_ctime_ns)] = sha256


def _sha256_uncached(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror}); check its permissions.") from None


def file_sha256(path: Path) -> str:
    """SHA-256 of a local file's bytes, read now; OSError goes to the caller."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identify(path: Path, with_hash: bool = True) -> FileIdentity:
    return FileIdentity(str(path), path.stat().st_size, sha256_of(path) if with_hash else None)
