"""Errors grouped by the boundary they cross; each carries one sentence a user can act on."""

import errno
import os
import re


class AuditorError(Exception):
    """Base of every error the CLI turns into one clear sentence and exit code 2."""


class InputError(AuditorError):
    """A file given by the user cannot be read or lacks what the job needs."""


class ParameterMismatchError(AuditorError):
    """Two artifacts (or an artifact and an option) were built with different parameters."""


class UsageError(AuditorError):
    """An option or argument is out of range or contradicts another."""


class EngineError(AuditorError):
    """Work that an engine ran failed outside the tool's control (a worker killed, out of memory)."""


def disk_full(number: int | None) -> bool:
    """Whether an OS error number says the disk or the quota is full."""
    return number in (errno.ENOSPC, errno.EDQUOT)


def cannot_write_fix(number: int | None, elsewhere: str = "choose another path") -> str:
    """What to do when a file cannot be written (`number` the OS error number, if known): free some space
    when the disk or quota is full, else write it elsewhere (a missing, read-only or forbidden folder)."""
    return f"free some space or {elsewhere}" if disk_full(number) else elsewhere


def os_error_reason(error: BaseException) -> tuple[str, int | None]:
    """An OS-level write error's reason in words and its error number, if known: Arrow names the number only
    in its message ("[errno 28] ..."), Python's OSError in `errno`."""
    reason = str(error)
    number = error.errno if isinstance(error, OSError) else None
    found = re.search(r"\[errno (\d+)\]", reason)
    if number is None and found is not None:
        number = int(found.group(1))
    return (os.strerror(number) if number else reason), number
