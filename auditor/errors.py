"""Errors grouped by the boundary they cross; each carries one sentence a user can act on."""

import errno


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


def cannot_write_fix(number: int | None, elsewhere: str = "choose another path") -> str:
    """What to do when a file cannot be written (`number` the OS error number, if known): free some space
    when the disk or quota is full, else write it elsewhere (a missing, read-only or forbidden folder)."""
    if number in (errno.ENOSPC, errno.EDQUOT):
        return f"free some space or {elsewhere}"
    return elsewhere
