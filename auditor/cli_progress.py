"""How the command line shows the library's `Progress`: bars on a terminal, plain lines in a log, nothing when quiet.

On a terminal, rich progress bars redraw in place. A CI log (stderr not a terminal) cannot redraw, so it
gets plain lines instead: one when a stage starts, one every few seconds with the count, rate and time
left, and one when the stage ends; a long job never looks hung, and the log stays readable. Names from the
data (files, sets) are printed as inert text, never parsed as markup, and each message is one line that
the console never wraps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from auditor.formats.safe import printable
from auditor.progress import NoProgress

if TYPE_CHECKING:  # rich is imported where bars are drawn: a quiet or logged run never loads it
    from rich.console import Console
    from rich.progress import Progress as RichProgressBars
    from rich.progress import TaskID

LOG_INTERVAL_SECONDS = 5.0


class Writable(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class QuietProgress(NoProgress):
    """Shows nothing: `-q`."""

    def close(self, finished: bool = True) -> None:
        pass


class LogProgress:
    """Plain progress lines for a log: a stage still running after `interval` seconds gets a line then and
    every `interval` seconds after (count, rate, time left), and a last line when it ends. Stages shorter
    than that print nothing, so a quick command's log holds only its result (or its one error line);
    with `verbose`, every stage prints its start and end.

    A background thread ticks, so stages that report no units (loading and indexing a set) still print
    that they are running. `clock` and `background` are parameters so that tests can drive time.
    """

    def __init__(
        self,
        stream: Callable[[], Writable],
        verbose: bool = False,
        interval: float = LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self._stream = stream
        self._verbose = verbose
        self._interval = interval
        self._clock = clock
        self._background = background
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._description = ""
        self._total: int | None = None
        self._unit = ""
        self._done = 0
        self._started = 0.0
        self._last = 0.0
        self._open = False
        self._shown = False

    def _line(self, text: str) -> None:
        stream = self._stream()
        stream.write(printable(text) + "\n")
        stream.flush()

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        with self._lock:
            self._end_stage()
            self._description, self._total, self._unit, self._done = description, total, unit, 0
            self._started = self._last = self._clock()
            self._open, self._shown = True, False
            if self._verbose:
                size = f" ({total:,} {unit})" if total is not None and unit else ""
                self._line(f"{description}{size} ...")
                self._shown = True
        if self._background and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick_in_background, name="progress-log", daemon=True)
            self._ticker.start()

    def _state(self, now: float) -> str:
        elapsed = now - self._started
        unit = f" {self._unit}" if self._unit else ""
        state = f"{self._done:,}"
        if self._total:
            state += f" of {self._total:,}{unit} ({self._done / self._total:.0%})"
        else:
            state += unit
        if elapsed > 0 and self._done:
            rate = self._done / elapsed
            state += f", {rate:,.0f}{unit}/s"
            if self._total and self._done < self._total:
                state += f", about {_duration((self._total - self._done) / rate)} left"
        if not self._done and not self._unit:
            return f"running, {_duration(elapsed)} elapsed"
        return f"{state}, {_duration(elapsed)} elapsed"

    def tick(self) -> None:
        """Print the stage's state when `interval` seconds passed since the last line (or its start)."""
        with self._lock:
            if not self._open:
                return
            now = self._clock()
            if now - self._last >= self._interval:
                self._last = now
                self._shown = True
                self._line(f"{self._description}: {self._state(now)}")

    def _tick_in_background(self) -> None:
        while not self._stop.wait(min(self._interval / 4, 1.0)):
            self.tick()

    def advance(self, count: int) -> None:
        with self._lock:
            if not self._open:
                return
            self._done += count
        self.tick()

    def note(self, message: str) -> None:
        with self._lock:
            self._line(f"note: {message}")

    def _end_stage(self, finished: bool = True) -> None:
        if not self._open:
            return
        self._open = False
        if self._shown and finished:
            self._line(f"{self._description}: done, {self._state(self._clock())}")

    def close(self, finished: bool = True) -> None:
        """Stop; the current stage's last line says `done` only when the work `finished` (not on an error)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            self._end_stage(finished)


class BarProgress:
    """Rich progress bars on a terminal: one task a stage; with `verbose`, a line when each stage ends."""

    def __init__(self, console: Console, verbose: bool = False) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Description(TextColumn):
            """The task's description (it names files) as plain printable text, never parsed as markup."""

            def render(self, task: object) -> Text:
                return Text(printable(getattr(task, "description", "")), style="bold")

        self._bars: RichProgressBars = Progress(
            Description(""),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._bars.start()
        self._verbose = verbose
        self._task: TaskID | None = None
        self._unit = ""
        self._started = 0.0

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        self._finish()
        self._task = self._bars.add_task(description, total=total, rate="")
        self._unit = unit
        self._started = time.monotonic()

    def advance(self, count: int) -> None:
        if self._task is None:
            return
        self._bars.advance(self._task, count)
        speed = self._bars.tasks[self._task].speed
        self._bars.update(self._task, rate=f"{speed:,.0f} {self._unit}/s" if speed and self._unit else "")

    def note(self, message: str) -> None:
        from rich.text import Text

        self._bars.console.print(
            Text.assemble(("note:", "yellow"), " ", printable(message)), highlight=False, soft_wrap=True
        )

    def _finish(self) -> None:
        if self._task is None:
            return
        task = self._bars.tasks[self._task]
        if task.total is None:
            self._bars.update(self._task, total=1, completed=1)
        if self._verbose:
            from rich.text import Text

            took = _duration(time.monotonic() - self._started)
            self._bars.console.print(
                Text(printable(f"{task.description}: done in {took}"), style="dim"), highlight=False, soft_wrap=True
            )
        self._task = None

    def close(self, finished: bool = True) -> None:
        if finished:
            self._finish()
        self._bars.stop()
