"""A CLI that feels native: a fast start, help that shows defaults and groups options, -h, usage errors
in one line, `-` for standard output, progress lines in logs, -q and -v, and a closed pipe that ends
the output quietly."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from auditor.cli import app
from auditor.cli_progress import LogProgress
from tests.conftest import POSTS, write_parquet

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
runner = CliRunner()
WIDE = {"COLUMNS": "220", "TERMINAL_WIDTH": "220"}


def _loaded_after(script: str, libraries: tuple[str, ...]) -> list[str]:
    """Which of `libraries` a fresh interpreter has imported after running `script`."""
    script += (
        f"\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {libraries!r}}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    return loaded


def test_help_and_version_load_no_numerical_library() -> None:
    """What makes `auditor --help` slow is importing numba, pyarrow, datasketch, numpy at start-up."""
    script = (
        "from typer.main import get_command\n"
        "from auditor.cli import app\n"
        "for args in (['--help'], ['-h'], ['--version'], ['audit', '-h'], ['check', '--help'], ['report', '-h']):\n"
        "    try:\n"
        "        get_command(app).main(args, prog_name='auditor', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    assert _loaded_after(script, ("numba", "pyarrow", "datasketch", "numpy", "scipy")) == []


def test_parsing_a_command_loads_no_validation_library(tmp_path: Path) -> None:
    """typer 0.29 coerces every parameter through pydantic (with asyncio and zoneinfo behind it), a cost every
    command would pay at start; the pin below 0.29 keeps it out. The audit is refused after its parameters
    were parsed (its set is missing)."""
    script = (
        "from typer.main import get_command\n"
        "from auditor.cli import app\n"
        "try:\n"
        f"    get_command(app).main(['audit', {str(tmp_path / 'missing.fp.parquet')!r}, {str(tmp_path)!r},\n"
        "                           '--workers', '1', '--threshold', '0.6'], prog_name='auditor')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 2, exit.code\n"
    )
    assert _loaded_after(script, ("pydantic", "asyncio")) == []


def test_audit_and_fingerprint_do_not_load_datasketch() -> None:
    """Importing datasketch (its LSH and integration modules) is a cost every audit and fingerprint process
    would pay at start, for permutations the kernels draw themselves (tested equal to datasketch's)."""
    assert _loaded_after("import auditor.audit, auditor.build, auditor.cli", ("datasketch",)) == []
    assert _loaded_after("import auditor.kernels.minhash, datasketch", ("datasketch",)) == ["datasketch"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_clean_and_grouped(command: str) -> None:
    short = runner.invoke(app, [command, "-h"], env=WIDE)
    assert short.exit_code == 0 and "Usage:" in short.output
    assert short.output == runner.invoke(app, [command, "--help"], env=WIDE).output
    for noise in ("<bool>", "<list[", "<path>", "<str>", "<int>", "<float>", "{", "}", "[default: ]"):
        assert noise not in short.output, f"{command} -h shows {noise}"
    assert "╭─ Run " in short.output or command in ("report", "inspect")


def test_help_shows_defaults_with_their_placeholders() -> None:
    output = runner.invoke(app, ["audit", "-h"], env=WIDE).output
    assert "reports/SET.evidence.parquet" in output and "reports/SET.report.json" in output
    assert ".EVIDENCE.checkpoints/" in output
    assert "Usage: auditor audit [OPTIONS] SET CORPUS..." in " ".join(output.split())
    for panel in ("Inputs", "Outputs", "Matching", "Sampling", "Negative control", "Performance", "Run", "Privacy"):
        assert f"╭─ {panel} " in output, panel
    fingerprint = runner.invoke(app, ["fingerprint", "-h"], env=WIDE).output
    assert "fingerprints/NAME.fp.parquet" in fingerprint and "[default: 128]" in fingerprint


def test_formats_listed_are_formats_implemented(tmp_path: Path, posts_file: Path) -> None:
    check_help = runner.invoke(app, ["check", "-h"], env=WIDE).output
    assert "html" not in check_help.split("--format")[1].split("\n")[0]
    result = runner.invoke(app, ["check", "x.parquet", "--format", "html"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: Invalid value for '--format'")


def test_usage_errors_are_one_line() -> None:
    for args in (["audit", "--no-such-option"], ["audit", "s.fp.parquet", "c.parquet", "--workers", "many"]):
        result = runner.invoke(app, args)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "--help" in lines[0]


@pytest.fixture
def audited(tmp_path: Path, posts_file: Path, in_scratch_folder: None) -> tuple[Path, Path]:
    fp = tmp_path / "s.fp.parquet"
    assert runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(fp), "-q"]).exit_code == 0
    corpus = write_parquet(tmp_path / "c.parquet", [{"id": "r0", "text": POSTS[0]}, {"id": "r1", "text": "other"}])
    return fp, corpus


def test_dash_prints_a_report_and_moves_the_summary_to_stderr(tmp_path: Path, audited: tuple[Path, Path]) -> None:
    fp, corpus = audited
    evidence = tmp_path / "e.parquet"
    result = runner.invoke(app, ["audit", str(fp), str(corpus), "--json", "-", "--evidence", str(evidence)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["posts_matched"] == 1
    assert "1 of 5 testable posts found" in result.stderr and evidence.exists()
    assert not (tmp_path / "-").exists()
    markdown = runner.invoke(app, ["audit", str(fp), str(corpus), "--markdown", "-", "--evidence", str(evidence)])
    assert markdown.stdout.startswith("## Provenance audit")
    again = runner.invoke(app, ["report", str(evidence), "--format", "json", "-o", "-"])
    assert again.exit_code == 0 and json.loads(again.stdout)["counts"]["posts_matched"] == 1
    both = runner.invoke(app, ["audit", str(fp), str(corpus), "--json", "-", "--html", "-"])
    assert both.exit_code == 2 and "only one output can go to standard output" in both.stderr
    parquet = runner.invoke(app, ["audit", str(fp), str(corpus), "--evidence", "-"])
    assert parquet.exit_code == 2 and "give --evidence a file path, not -" in parquet.stderr


def test_quiet_and_verbose(tmp_path: Path, audited: tuple[Path, Path]) -> None:
    fp, corpus = audited
    outputs = ["--json", str(tmp_path / "r.json"), "--evidence", str(tmp_path / "e.parquet")]
    quiet = runner.invoke(app, ["audit", str(fp), str(corpus), *outputs, "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""
    verbose = runner.invoke(app, ["audit", str(fp), str(corpus), *outputs, "-v", "--restart"])
    assert verbose.exit_code == 0
    assert "scanning the corpus (2 rows) ..." in verbose.stderr and "scanning the corpus: done" in verbose.stderr
    both = runner.invoke(app, ["audit", str(fp), str(corpus), "-q", "-v"])
    assert both.exit_code == 2 and "not both" in both.stderr


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_progress_prints_long_stages_every_interval_and_short_ones_not_at_all() -> None:
    lines: list[str] = []

    class Sink:
        def write(self, text: str) -> int:
            lines.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    clock, sink = Clock(), Sink()
    progress = LogProgress(lambda: sink, interval=5.0, clock=clock, background=False)
    progress.stage("loading s.fp.parquet")
    clock.now = 1.0
    progress.stage("scanning the corpus", total=1_000, unit="rows")
    assert lines == []  # a stage of a second says nothing
    for _ in range(10):
        clock.now += 1.0
        progress.advance(50)
    assert lines == [
        "scanning the corpus: 250 of 1,000 rows (25%), 50 rows/s, about 0:00:15 left, 0:00:05 elapsed\n",
        "scanning the corpus: 500 of 1,000 rows (50%), 50 rows/s, about 0:00:10 left, 0:00:10 elapsed\n",
    ]
    progress.stage("hashing the corpus files", total=1, unit="files")
    assert (
        lines[-1]
        == "scanning the corpus: done, 500 of 1,000 rows (50%), 50 rows/s, about 0:00:10 left, 0:00:10 elapsed\n"
    )
    clock.now += 6.0
    progress.tick()  # the background thread's tick: a stage reporting no units still shows it runs
    assert lines[-1] == "hashing the corpus files: 0 of 1 files (0%), 0:00:06 elapsed\n"
    progress.stage("indexing \x1b]0;title\x07posts")
    clock.now += 5.0
    progress.tick()
    assert lines[-1] == "indexing posts: running, 0:00:05 elapsed\n"  # names made printable
    progress.close(finished=False)  # an error: no `done`
    assert lines[-1] == "indexing posts: running, 0:00:05 elapsed\n"


def test_a_closed_pipe_ends_the_output_quietly(tmp_path: Path, audited: tuple[Path, Path]) -> None:
    """`auditor audit ... | head -1`: the reader is gone before the summary is written."""
    fp, corpus = audited
    read, write = os.pipe()
    os.close(read)  # every write to the pipe now fails with EPIPE
    args = [sys.executable, "-m", "auditor", "audit", str(fp), str(corpus), "--json", str(tmp_path / "r.json"),
            "--evidence", str(tmp_path / "e.parquet"), "--workers", "1"]  # fmt: skip
    done = subprocess.run(args, stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=300)
    os.close(write)
    notes = [line for line in done.stderr.splitlines() if not line.startswith("note: indexing")]  # first use
    assert done.returncode == 0 and notes == [], done.stderr
    assert json.loads((tmp_path / "r.json").read_text())["counts"]["posts_matched"] == 1


def test_every_format_the_report_command_offers_is_a_format_the_formats_render() -> None:
    from auditor.cli import ReportFormat
    from auditor.formats import REPORT_FORMATS, render_report

    assert {f.value for f in ReportFormat} == set(REPORT_FORMATS)
    with pytest.raises(ValueError, match="no report format 'pdf'"):
        render_report(None, "pdf")  # type: ignore[arg-type]


def test_a_command_started_from_the_cli_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow would import pandas at the first list it converts (a large share of every start); the CLI's
    process tells it pandas is absent instead, and pandas can still be imported when asked for."""
    script = (
        "import sys\n"
        f"sys.argv = ['auditor', 'demo', '-q', '--output-dir', {str(tmp_path)!r}]\n"
        "from auditor.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "assert 'pandas' not in sys.modules\n"
        "import pandas, pyarrow\n"
        "assert pyarrow.table({'a': [1]}).to_pandas()['a'].tolist() == [1]\n"
    )
    assert _loaded_after(script, ("pandas",)) == ["pandas"]
