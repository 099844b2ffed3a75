"""Safe outputs: checked before any work starts, written whole or not at all, together.

Every output is first written to a unique temporary file in its own directory (so the final rename stays
on one file system and is atomic), flushed to disk, and renamed into place only after every output of the
command was written. A failure on the way (a full disk, a read-only directory) removes the temporary
files and leaves the previous outputs as they were. Two commands writing the same output each rename a
complete file of their own, so a reader never sees a mixed or truncated one. An output path that is a
symbolic link is written through (its target is replaced, the link stays); one that is a device, a pipe or
a socket is refused: a rename would put a regular file in its place (as root, `/dev/null` itself).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from auditor.errors import InputError, UsageError, cannot_write_fix, os_error_reason


def _writable_directory(path: Path) -> Path | None:
    """The nearest existing ancestor of `path`, when the output could be created there, else None."""
    for ancestor in path.absolute().parents:
        if ancestor.exists():
            return ancestor if ancestor.is_dir() and os.access(ancestor, os.W_OK | os.X_OK) else None
    return None


def check_outputs(outputs: Sequence[tuple[Path, str]], inputs: Sequence[Path] = ()) -> None:
    """Refuse, before anything is read or written, outputs that cannot be written or would clobber an input.

    `outputs` pairs each path with what it is ("evidence", "JSON report", ...), for the message. A symbolic
    link is judged by the file it leads to, which is what is written.
    """
    taken = {_same_file_key(p): p for p in inputs}
    seen: dict[str, str] = {}
    for path, what in outputs:
        if str(path) == "-":
            continue
        try:
            target = through_links(path)
            key = _same_file_key(target)  # stats the target: a name too long, say, is an OSError here
        except (RuntimeError, OSError) as error:  # RuntimeError: a loop of links (before Python 3.13)
            if isinstance(error, RuntimeError) or error.errno == errno.ELOOP:
                raise UsageError(f"{path}: the {what} path is a loop of symbolic links; give a file path.") from None
            reason, _ = os_error_reason(error)
            raise InputError(f"{path}: the {what} path cannot be used ({reason}); choose another path.") from None
        if target.is_dir():
            raise UsageError(f"{path}: the {what} path is a directory; give a file name.")
        if target.exists() and not target.is_file():
            raise UsageError(
                f"{path}: the {what} path is not a regular file (a device, a pipe or a socket), which the "
                "output would replace; give the path of a file (or - where the option takes standard output)."
            )
        if key in taken:
            raise UsageError(f"{path}: the {what} path is also an input; choose another output path.")
        if key in seen:
            raise UsageError(f"{path}: given as both the {seen[key]} and the {what} path; give each its own file.")
        seen[key] = what
        if target.exists() and not os.access(target, os.W_OK):
            raise InputError(f"{path}: the {what} cannot be replaced (no write permission); choose another path.")
        if _writable_directory(target) is None:  # a new file is made there, an old one replaced by a rename
            raise InputError(
                f"{path}: the {what} cannot be written there (the directory is missing or not writable); "
                "choose another path."
            )


def missing_folders(path: Path) -> list[Path]:
    """The folders above `path` that do not exist yet, deepest first: what writing it makes (`mkdir` with
    parents), and what a failed write removes again. Only those before a `..` are counted: past it, a
    folder named may be one that exists (`new/../old`), which must never be removed."""
    prefixes: list[Path] = []
    current = Path(path.absolute().anchor)
    for part in path.absolute().parent.parts[1:]:
        if part == "..":
            break
        current = current / part
        prefixes.append(current)
    return [folder for folder in reversed(prefixes) if not folder.exists()]


def through_links(path: Path) -> Path:
    """The file an output at `path` replaces: the target of a symbolic link (so the link stays), else `path`."""
    return path.resolve() if path.is_symlink() else path


def _same_file_key(path: Path) -> str:
    return str(path.resolve()) if path.exists() or path.parent.exists() else str(path.absolute())


def flush_to_disk(path: Path) -> None:
    """Make a written file durable before it is renamed into place."""
    with path.open("rb+") as stream:
        os.fsync(stream.fileno())


def replace_atomically(path: Path, write: Callable[[Path], object], *, durable: bool = True) -> None:
    """Write `path` whole or not at all, now: `write` fills a temporary file in the same directory, which
    is flushed to disk and renamed into place (so it is whole or absent after a crash or a reboot) and
    removed on any failure. OSError goes to the caller, who knows what the file is. A symbolic link is
    written through (`through_links`).

    `durable=False` leaves the flush to the system: the file is still whole or absent for any reader and
    after the process is killed, but after a crash of the machine it may be there and damaged; for files
    whose reader checks them and can make them again (checkpoints), where a flush per file is most of
    the cost of writing many small ones."""
    path = through_links(path)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        write(Path(name))
        if durable:
            flush_to_disk(Path(name))
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)


def umask() -> int:
    """The process's file creation mask (read by setting and restoring it)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


class StagedOutputs:
    """Outputs written to temporary files, renamed into place together by `commit`."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temporary, final)

    @staticmethod
    def _cannot_write(path: Path, what: str, error: OSError) -> InputError:
        """The sentence of a failure to write `path`: named by its own path, with the fix that fits."""
        reason, number = os_error_reason(error)
        return InputError(f"{path}: cannot write the {what} ({reason}); {cannot_write_fix(number)}.")

    def write(self, path: Path, what: str, writer: Callable[[Path], object]) -> None:
        """Stage `path` (through a symbolic link): `writer` writes the whole file to the temporary path it is
        given."""
        path = through_links(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(descriptor)
        except OSError as error:
            raise self._cannot_write(path, what, error) from None
        temporary = Path(name)
        self._staged.append((temporary, path))
        try:
            writer(temporary)
            os.chmod(temporary, 0o666 & ~umask())
            flush_to_disk(temporary)
        except OSError as error:
            raise self._cannot_write(path, what, error) from None

    def text(self, path: Path, text: str, what: str) -> None:
        self.write(path, what, lambda temporary: temporary.write_text(text, encoding="utf-8"))

    def commit(self) -> None:
        try:
            for temporary, final in self._staged:
                os.replace(temporary, final)
        except OSError as error:
            raise InputError(f"{final}: cannot be put in place ({error.strerror}); choose another path.") from None
        finally:
            self.discard()

    def discard(self) -> None:
        for temporary, _ in self._staged:
            temporary.unlink(missing_ok=True)
        self._staged.clear()


@contextmanager
def staged_outputs() -> Iterator[StagedOutputs]:
    """Stage outputs in the block; they are put in place together when it ends, or discarded on error."""
    staged = StagedOutputs()
    try:
        yield staged
    except BaseException:
        staged.discard()
        raise
    staged.commit()


def write_text_atomically(path: Path, text: str, what: str) -> None:
    with staged_outputs() as staged:
        staged.text(path, text, what)
