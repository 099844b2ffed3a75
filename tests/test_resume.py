"""Long audits survive: checkpoints and resume, a dead worker reported in seconds, SIGTERM leaving nothing
behind, rows too large to scan counted."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from auditor import audit as audit_module
from auditor.audit import AuditOutputs, AuditRequest, CorpusSpec, run_audit
from auditor.batch import PartResult
from auditor.build import build_fingerprint_set
from auditor.checkpoints import PartStore, checkpoint_folder
from auditor.engine import RowsCallback, ScanJob
from auditor.engine.local import LocalEngine
from auditor.errors import InputError
from auditor.fingerprint import Fingerprinter
from auditor.sources.corpus import CorpusPart
from auditor.sources.posts import PostSource
from benchmarks.synthetic import Writer
from tests.conftest import POSTS, write_jsonl, write_parquet

FILLER = Writer(seed=23)
FILES = 8


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A set of five posts and a corpus of eight files (a part each), posts planted in some."""
    folder = tmp_path_factory.mktemp("resume")
    records = [{"id": f"p{i}", "text": text} for i, text in enumerate(POSTS)]
    fp = folder / "s.fp.parquet"
    build_fingerprint_set([PostSource(write_jsonl(folder / "posts.jsonl", records))], fp, Fingerprinter())
    background = [FILLER.post() for _ in range(400)] + [FILLER.page(2_000, 4_000, quoted=[]) for _ in range(40)]
    for index in range(FILES):
        rows = [{"id": f"f{index}r{i}", "text": text} for i, text in enumerate(background)]
        rows[index * 7]["text"] = POSTS[index % len(POSTS)]
        rows[-1]["text"] = FILLER.page(3_000, 5_000, quoted=[POSTS[(index + 2) % len(POSTS)]])
        write_parquet(folder / "corpus" / f"part-{index}.parquet", rows)
    return fp, folder / "corpus"


class Counting:
    """The local engine, counting the parts it scans, and crashing after `crash_after` of them."""

    name = "counting"

    def __init__(self, crash_after: int | None = None) -> None:
        self.scanned: list[CorpusPart] = []
        self.crash_after = crash_after

    def run(self, job: ScanJob, on_rows: RowsCallback | None = None) -> Iterator[tuple[CorpusPart, PartResult]]:
        for part, result in LocalEngine().run(job, on_rows):
            if self.crash_after is not None and len(self.scanned) == self.crash_after:
                raise RuntimeError("crash")
            self.scanned.append(part)
            yield part, result


class Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def note(self, message: str) -> None:
        self.notes.append(message)


def _request(fp: Path, corpus: Path, out: Path, **options: object) -> AuditRequest:
    outputs = AuditOutputs(out / "e.parquet", out / "r.json")
    return AuditRequest(fp, CorpusSpec((str(corpus),)), outputs, **options)  # type: ignore[arg-type]


def _run(request: AuditRequest, engine: Counting, monkeypatch: pytest.MonkeyPatch) -> Notes:
    monkeypatch.setattr(audit_module, "ProcessEngine", lambda workers: engine)
    notes = Notes()
    run_audit(request, notes)
    return notes


def _outputs(out: Path) -> tuple[object, str]:
    return pq.read_table(out / "e.parquet").to_pylist(), (out / "r.json").read_text()


@pytest.mark.parametrize("crash_after", [0, 3, 7])
def test_a_crashed_audit_resumes_with_identical_results(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    fp, corpus = world
    whole = tmp_path / "whole"
    _run(_request(fp, corpus, whole), Counting(), monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        _run(_request(fp, corpus, out), Counting(crash_after), monkeypatch)
    assert not (out / "e.parquet").exists()
    resumed = Counting()
    notes = _run(_request(fp, corpus, out), resumed, monkeypatch)
    assert len(resumed.scanned) == FILES - crash_after
    assert any(f"{crash_after} of {FILES} parts" in n for n in notes.notes) == (crash_after > 0)
    assert _outputs(out) == _outputs(whole)
    assert not checkpoint_folder(out / "e.parquet").exists()  # a finished run cleans up


@pytest.mark.parametrize("damage", ["evidence", "marker", "missing evidence"])
def test_a_finished_part_whose_files_did_not_reach_the_disk_is_scanned_again(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """Checkpoints are not flushed file by file: after a crash of the machine a part may have its marker and
    not its evidence. The rerun checks each finished part's files against the SHA-256 its marker names and
    scans the damaged part again; the results are those of an audit never interrupted."""
    fp, corpus = world
    whole = tmp_path / "whole"
    _run(_request(fp, corpus, whole), Counting(), monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        _run(_request(fp, corpus, out), Counting(5), monkeypatch)
    folder = checkpoint_folder(out / "e.parquet")
    markers = sorted(folder.glob("part-*.json"))
    assert len(markers) == 5
    evidence = markers[2].with_suffix(".set0.arrow")
    if damage == "evidence":  # the right size, its last page never written
        data = bytearray(evidence.read_bytes())
        data[-64:] = bytes(64)
        evidence.write_bytes(bytes(data))
    elif damage == "missing evidence":
        evidence.unlink()
    else:
        markers[2].write_bytes(b"")
    resumed = Counting()
    _run(_request(fp, corpus, out), resumed, monkeypatch)
    assert len(resumed.scanned) == FILES - 4
    assert _outputs(out) == _outputs(whole)


def test_a_changed_input_or_setting_starts_afresh_and_says_why(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp, corpus = world
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        _run(_request(fp, corpus, out), Counting(4), monkeypatch)
    fresh = Counting()
    notes = _run(_request(fp, corpus, out, threshold=0.7, keep_checkpoints=True), fresh, monkeypatch)
    assert len(fresh.scanned) == FILES
    assert any("starting afresh: threshold changed" in n for n in notes.notes), notes.notes
    assert checkpoint_folder(out / "e.parquet").exists()  # kept when asked
    again = Counting()
    assert not _run(_request(fp, corpus, out, threshold=0.7, keep_checkpoints=True), again, monkeypatch).notes[1:]
    assert again.scanned == []  # every part was kept: nothing to scan
    restarted = Counting()
    notes = _run(_request(fp, corpus, out, threshold=0.7, restart=True), restarted, monkeypatch)
    assert len(restarted.scanned) == FILES and any("--restart" in n for n in notes.notes)


def test_a_changed_corpus_file_starts_afresh(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp, corpus = world
    copy = tmp_path / "corpus"
    copy.mkdir()
    for path in sorted(corpus.iterdir()):
        (copy / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        _run(_request(fp, copy, out), Counting(2), monkeypatch)
    write_parquet(copy / "part-5.parquet", [{"id": "new", "text": POSTS[0]}])
    fresh = Counting()
    notes = _run(_request(fp, copy, out), fresh, monkeypatch)
    assert len(fresh.scanned) == FILES and any("corpus files" in n for n in notes.notes)


def test_rows_too_large_are_skipped_and_counted(world: tuple[Path, Path], tmp_path: Path) -> None:
    fp, _ = world
    big = FILLER.page(20_000, 30_000, quoted=[POSTS[1]])
    wide = POSTS[2] + " " + "東京" * 3_000  # more bytes than the limit, fewer characters: scanned
    rows = [{"text": POSTS[0]}, {"text": big}, {"text": None}, {"text": wide}]
    corpus = write_parquet(tmp_path / "c.parquet", rows)
    result = run_audit(_request(fp, corpus, tmp_path, max_row_chars=10_000))
    assert result.rows_skipped == {"null_text": 1, "too_large": 1}
    assert result.evidence.column("corpus_row").to_pylist() == [0, 3]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["parameters"]["max_row_chars"] == 10_000
    assert report["counts"]["corpus_rows_skipped"] == {"null_text": 1, "too_large": 1}


# The CLI as a user runs it, killed for real: in a forked process whose parts take a while each.


def _run_cli_slowly(args: list[str], delay: float, err: Path) -> None:
    """Child process: the CLI with every part slowed by `delay` seconds, stderr into `err`."""
    from auditor import cli
    from auditor.engine import local, processes

    descriptor = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(descriptor, 2)
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - pytest's capture is not this child's stderr
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    original = local.scan_part

    def slow(job: ScanJob, part: CorpusPart, on_rows: RowsCallback | None = None) -> PartResult:
        time.sleep(delay)
        return original(job, part, on_rows)

    local.scan_part = processes.scan_part = slow  # type: ignore[assignment]
    sys.argv = ["auditor", *args]
    try:
        cli.main()
    except SystemExit as exit_:
        os._exit(exit_.code if isinstance(exit_.code, int) else 1)
    os._exit(0)


class Cli:
    def __init__(self, tmp_path: Path, *args: str, delay: float = 0.4) -> None:
        self.err = tmp_path / f"stderr-{time.monotonic_ns()}.txt"
        context = multiprocessing.get_context("fork")
        self.process = context.Process(target=_run_cli_slowly, args=(list(args), delay, self.err))
        self.process.start()
        assert self.process.pid is not None
        self.pid = self.process.pid

    def wait(self, timeout: float = 60) -> tuple[int | None, str]:
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            raise AssertionError(f"still running after {timeout} s: {self.err.read_text()}")
        return self.process.exitcode, self.err.read_text()


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_killed_audit_resumes_and_a_dead_worker_or_sigterm_leaves_nothing(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    fp, corpus = world
    out = tmp_path / "out"
    common = [str(fp), str(corpus), "--evidence", str(out / "e.parquet"), "--json", str(out / "r.json")]
    marks = checkpoint_folder(out / "e.parquet")

    def parts_done() -> int:
        try:
            return len(list(marks.glob("part-*.json")))
        except FileNotFoundError:  # `--restart` removing the folder while it is listed
            return 0

    # SIGKILL after two parts, then resume: fewer parts scanned, the same report as an uninterrupted run.
    killed = Cli(tmp_path, "audit", *common, "--workers", "1")
    _wait_for(lambda: parts_done() >= 2)
    os.kill(killed.pid, signal.SIGKILL)
    assert killed.wait()[0] == -signal.SIGKILL
    done = parts_done()
    code, stderr = Cli(tmp_path, "audit", *common, "--workers", "1", delay=0).wait()
    assert code == 0, stderr
    assert f"resuming: {done} of {FILES} parts" in stderr and 2 <= done < FILES
    whole = ["--evidence", str(tmp_path / "w.parquet"), "--json", str(tmp_path / "w.json")]
    assert Cli(tmp_path, "audit", str(fp), str(corpus), *whole, "--workers", "1", delay=0).wait()[0] == 0
    assert pq.read_table(out / "e.parquet").equals(pq.read_table(tmp_path / "w.parquet"))
    assert (out / "r.json").read_text() == (tmp_path / "w.json").read_text()

    # One worker of two killed while it scans: exit 2 within seconds, naming the part; no worker left.
    audit = Cli(tmp_path, "audit", *common, "--workers", "2", "--restart", delay=2.0)
    _wait_for(lambda: (marks / "run.json").exists() and len(_children(audit.pid)) >= 2)
    workers = _children(audit.pid)
    time.sleep(0.3)  # both have taken a part
    os.kill(workers[-1], signal.SIGKILL)
    killed_at = time.monotonic()
    code, stderr = audit.wait(30)
    assert code == 2 and time.monotonic() - killed_at < 10, stderr
    assert "worker process scanning rows 0 to 439 of" in stderr and "SIGKILL" in stderr and "resume" in stderr
    # stderr is a log here: a stage running over 5 s may print progress lines first; the error is one line, last.
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and [line for line in lines if line.startswith("error:")] == lines[-1:], stderr
    assert not any(_alive(pid) for pid in workers)

    # SIGTERM: every worker stopped, no temporary file left, the finished parts kept for a rerun.
    previous = (out / "e.parquet").read_bytes()
    audit = Cli(tmp_path, "audit", *common, "--workers", "2", "--restart", delay=0.5)
    _wait_for(lambda: parts_done() >= 1)
    workers = _children(audit.pid)
    os.kill(audit.pid, signal.SIGTERM)
    code, stderr = audit.wait(30)
    assert code == 128 + signal.SIGTERM and "stopped by SIGTERM" in stderr and "resume" in stderr, stderr
    assert "Traceback" not in stderr
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=10)
    assert [p.name for p in out.rglob("*") if p.name.endswith((".tmp", ".partial"))] == []
    assert parts_done() >= 1 and (out / "e.parquet").read_bytes() == previous


def test_two_audits_writing_the_same_evidence_do_not_mix(world: tuple[Path, Path], tmp_path: Path) -> None:
    fp, corpus = world
    request = _request(fp, corpus, tmp_path)
    first = PartStore.open(checkpoint_folder(tmp_path / "e.parquet"), request.run_identity([]), 1)
    with pytest.raises(InputError, match="another audit writing the same evidence"):
        run_audit(request)
    first.remove()
    run_audit(request)  # the lock went with the first run
    assert not checkpoint_folder(tmp_path / "e.parquet").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
