"""Stopping on SIGINT and SIGTERM without leaving workers or temporary files behind.

The CLI installs `handle` for both signals. Outside a `deferred()` block the handler raises Stopped at
once, like Ctrl-C's KeyboardInterrupt, and the `finally` blocks and staged outputs clean up. Inside one
(an engine that is starting, feeding or collecting worker processes), raising at an arbitrary point
could leave a forked worker untracked, and the interpreter would then wait for it forever at exit; so
the handler only records the signal and the engine calls `check()` at safe points (it wakes at least
every fraction of a second), which raises Stopped there. A second signal while one is pending stops at
once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_deferring = 0
_pending: int | None = None


class Stopped(BaseException):
    """The process was asked to stop (SIGINT or SIGTERM). A BaseException, so no `except Exception`
    on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def handle(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _deferring and _pending is None:
        _pending = signum
        return
    _pending = None
    raise Stopped(signum)


def install() -> None:
    """Route SIGINT and SIGTERM through `handle` (main thread only)."""
    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, a signal is recorded for `check()` instead of raised where it lands."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


def check() -> None:
    """Raise Stopped if a signal arrived during a deferred block."""
    global _pending
    if _pending is not None:
        signum, _pending = _pending, None
        raise Stopped(signum)
