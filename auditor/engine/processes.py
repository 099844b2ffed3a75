"""The process engine: parts of the corpus scanned by a pool of forked workers.

Workers are forked after the scanners are built, so they share their indexes copy-on-write instead of
each loading the fingerprint sets again. The audit merges part results in part order, so the report is
the same whatever the number of workers.

A worker that dies (killed, out of memory, crashed) breaks the pool at once: the engine stops every
other worker and raises an EngineError naming the part the dead worker held and how it died, instead of
waiting for a result that will never come. When the engine is stopped (SIGINT, SIGTERM turned into an
exception by the CLI, an error elsewhere), it terminates its workers before it returns; workers also die
with the parent process (Linux), so none is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from auditor import stopping
from auditor.batch import PartResult
from auditor.engine import RowsCallback, ScanJob
from auditor.engine.local import LocalEngine, scan_part
from auditor.errors import EngineError
from auditor.sources.corpus import CorpusPart

# Set in the parent just before forking; the children inherit them.
_JOB: ScanJob | None = None
_STARTED: Any = None  # a queue of (worker pid, part index), put when a worker takes a part
_WAKE_SECONDS = 0.2  # how often the parent looks for a stop request while it waits for parts


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):  # die with the parent, even when it is killed (Linux)
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _scan(index: int) -> PartResult:
    if _JOB is None:
        raise RuntimeError("the process engine's job is set before its pool forks")
    _STARTED.put((os.getpid(), index))
    return scan_part(_JOB, _JOB.parts[index])


def _how_it_died(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory, or killed)" if -exitcode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {exitcode}"


def describe_part(job: ScanJob, part: CorpusPart) -> str:
    name = job.files[part.file_index].name
    return f"rows {part.first_row:,} to {part.first_row + max(part.rows, 1) - 1:,} of {name}"


@dataclass(frozen=True)
class ProcessEngine:
    """Scans parts in `workers` forked processes; one worker (or no fork) falls back to the local engine.
    Progress advances a part at a time."""

    workers: int

    @property
    def name(self) -> str:
        return "processes"

    def run(self, job: ScanJob, on_rows: RowsCallback | None = None) -> Iterator[tuple[CorpusPart, PartResult]]:
        parts = job.parts
        if self.workers <= 1 or len(parts) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield from LocalEngine().run(job, on_rows)
            return
        global _JOB, _STARTED
        context = multiprocessing.get_context("fork")
        _JOB, _STARTED = job, context.SimpleQueue()
        started = _STARTED
        processes: dict[int, BaseProcess] = {}
        with stopping.deferred():
            executor = ProcessPoolExecutor(min(self.workers, len(parts)), mp_context=context, initializer=_worker_init)
            try:
                try:
                    pending: dict[Future[PartResult], int] = {executor.submit(_scan, i): i for i in range(len(parts))}
                except BrokenProcessPool:  # a worker died before every part was handed out
                    raise self._broken(executor, job, started, processes) from None
                processes = dict(getattr(executor, "_processes", None) or {})
                while pending:
                    stopping.check()
                    finished, _ = wait(pending, timeout=_WAKE_SECONDS, return_when=FIRST_COMPLETED)
                    for future in sorted(finished, key=lambda f: pending[f]):
                        index = pending.pop(future)
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            raise self._broken(executor, job, started, processes) from None
                        if on_rows is not None:
                            on_rows(parts[index].rows)
                        yield parts[index], result
            finally:
                _JOB, _STARTED = None, None
                processes.update(getattr(executor, "_processes", None) or {})
                for process in processes.values():
                    if process.exitcode is None:
                        process.terminate()
                executor.shutdown(wait=True, cancel_futures=True)
                for process in processes.values():
                    process.join(timeout=5)

    def _broken(
        self, executor: ProcessPoolExecutor, job: ScanJob, started: Any, processes: dict[int, BaseProcess]
    ) -> EngineError:
        """The error of a pool broken by a dead worker, once the pool has reaped it."""
        processes.update(getattr(executor, "_processes", None) or {})
        # The pool's own thread reaps the workers; polling them from here at the same time can lose an exit
        # status to it (waitpid answers one caller), so let it finish first.
        manager = getattr(executor, "_executor_manager_thread", None)
        if manager is not None:
            manager.join(timeout=5)
        return self._death(job, started, processes)

    @staticmethod
    def _death(job: ScanJob, started: Any, processes: dict[int, BaseProcess]) -> EngineError:
        """Which part the dead worker held, and how it died."""
        holding: dict[int, int] = {}
        while not started.empty():
            pid, index = started.get()
            holding[pid] = index
        for process in processes.values():
            process.join(timeout=1)

        # The cause first: a worker killed by a signal (other than the SIGTERM the pool sends the survivors
        # when it breaks), then one that exited with an error (a survivor may, on its broken pipe).
        def rank(code: int | None) -> int:
            return 0 if code is not None and code < 0 and code != -signal.SIGTERM else 1 if code else 2

        dead = sorted((p for p in processes.values() if p.exitcode not in (None, 0)), key=lambda p: rank(p.exitcode))
        if dead and dead[0].pid is not None and dead[0].pid in holding:
            process = dead[0]
            where = describe_part(job, job.parts[holding[dead[0].pid]])
            how = _how_it_died(process.exitcode)
            return EngineError(
                f"a worker process scanning {where} {how}; rerun the same command to resume from the finished "
                "parts (fewer --workers or a lower --max-row-chars need less memory)."
            )
        return EngineError(
            "a worker process died; rerun the same command to resume from the finished parts (fewer --workers "
            "need less memory)."
        )
