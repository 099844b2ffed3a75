"""Facts about input files recorded in fingerprint sets and reports: name, size, SHA-256."""

from __future__ import annotations

import functools
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
    """SHA-256 of a file's bytes: a local file (computed once a process for a given path, size and
    modification time), or any object that hashes itself (a remote object is read whole for it)."""
    if not isinstance(path, Path):
        return path.sha256()
    try:
        status = path.stat()
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror}); check its permissions.") from None
    return _sha256(str(path.absolute()), status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def _sha256(path: str, size: int, modified_ns: int) -> str:
    del size, modified_ns  # part of the cache key only
    return _sha256_uncached(Path(path))


def _sha256_uncached(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror}); check its permissions.") from None
    return digest.hexdigest()


def identify(path: Path, with_hash: bool = True) -> FileIdentity:
    return FileIdentity(str(path), path.stat().st_size, sha256_of(path) if with_hash else None)
