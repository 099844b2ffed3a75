"""How long work reports its progress: a small protocol the library calls and front ends implement.
Light on purpose (no heavy imports), so a CLI can import it before it knows what it will run."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What long work reports as it goes: a stage at a time, and units done within a stage."""

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        """A new stage begins (the previous one is finished); `total` units of `unit` when known."""

    def advance(self, count: int) -> None:
        """`count` more units of the current stage are done."""

    def note(self, message: str) -> None:
        """Something the user should know about the run (a restart and why)."""


class NoProgress:
    """Progress that goes nowhere: the default for library callers."""

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass
