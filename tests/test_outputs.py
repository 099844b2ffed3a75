"""Outputs are checked before any work, written whole, and put in place together or not at all."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor import outputs
from auditor.cli import app
from auditor.errors import InputError, UsageError
from auditor.formats.json_report import LONG_LIST, ArrowStrings, dumps_indented, one_line, strings_json
from auditor.outputs import check_outputs, staged_outputs
from tests.conftest import POSTS, write_parquet

runner = CliRunner()


@pytest.fixture
def audited(tmp_path: Path, posts_file: Path) -> tuple[Path, Path]:
    corpus = write_parquet(tmp_path / "corpus.parquet", [{"id": "r1", "text": POSTS[0]}, {"id": "r2", "text": "x"}])
    fp = tmp_path / "s.fp.parquet"
    assert runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(fp), "-q"]).exit_code == 0
    return fp, corpus


def _audit(fp: Path, corpus: Path, *options: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", str(fp), str(corpus), "-q", "--workers", "1", *options])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_an_output_that_is_a_directory_or_an_input_fails_before_reading(
    audited: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp, corpus = audited
    before = corpus.read_bytes()
    loads: list[Path] = []
    monkeypatch.setattr("auditor.fingerprint_set.load", lambda path: loads.append(path))
    code, output = _audit(fp, corpus, "--json", str(tmp_path))
    assert code == 2 and "is a directory" in output
    code, output = _audit(fp, corpus, "--evidence", str(corpus), "--json", str(tmp_path / "r.json"))
    assert code == 2 and "also an input" in output
    code, output = _audit(fp, corpus, "--evidence", str(tmp_path / "x"), "--json", str(tmp_path / "x"))
    assert code == 2 and "give each its own file" in output
    assert loads == [] and corpus.read_bytes() == before
    assert not (tmp_path / "r.json").exists()


@pytest.mark.usefixtures("in_scratch_folder")  # an audit without --evidence writes reports/ where it runs
def test_an_output_is_written_through_a_link_and_never_replaces_a_pipe_or_device(
    audited: tuple[Path, Path], tmp_path: Path, posts_file: Path
) -> None:
    fp, corpus = audited
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    for option in ("--json", "--evidence", "--markdown"):
        code, output = _audit(fp, corpus, option, str(pipe))
        assert code == 2 and "is not a regular file" in output and pipe.is_fifo(), output
    result = runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(pipe), "-q"])
    assert result.exit_code == 2 and "is not a regular file" in result.output and pipe.is_fifo()
    (tmp_path / "out").mkdir()
    target, link = tmp_path / "out" / "r.json", tmp_path / "r.json"
    target.write_text("old")
    link.symlink_to(target)
    set_target, set_link = tmp_path / "out" / "s.fp.parquet", tmp_path / "linked.fp.parquet"
    set_link.symlink_to(set_target)
    assert _audit(fp, corpus, "--json", str(link))[0] == 0
    assert link.is_symlink() and json.loads(target.read_text())["counts"]["matches"] == 1
    result = runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(set_link), "-q"])
    assert result.exit_code == 0 and set_link.is_symlink()
    assert pq.read_table(set_target).num_rows == pq.read_table(fp).num_rows
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r.json", "s.fp.parquet"]  # no leftovers
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    code, output = _audit(fp, corpus, "--json", str(loop))
    assert code == 2 and "is a loop of symbolic links" in output
    key = fp.with_name("s.key")
    before = key.read_bytes()
    code, output = _audit(fp, corpus, "--json", str(key))
    assert code == 2 and "is also an input" in output and key.read_bytes() == before
    result = runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(key), "--key-file", str(key)])
    assert result.exit_code == 2 and "is also an input" in result.output and key.read_bytes() == before
    code, output = _audit(fp, corpus, "--json", str(tmp_path / ("x" * 300) / "r.json"))
    assert code == 2 and "path cannot be used (" in output and "loop" not in output, output


def test_an_unwritable_place_fails_in_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="missing or not writable"):
        check_outputs([(blocker / "report.json", "JSON report")])
    with pytest.raises(UsageError, match="directory"):
        check_outputs([(tmp_path, "evidence")])


def test_a_full_disk_leaves_the_previous_outputs_as_they_were(
    audited: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp, corpus = audited
    evidence, report, html = tmp_path / "e.parquet", tmp_path / "r.json", tmp_path / "r.html"
    paths = ["--evidence", str(evidence), "--json", str(report), "--html", str(html)]
    assert _audit(fp, corpus, *paths)[0] == 0
    previous = {path: path.read_bytes() for path in (evidence, report, html)}
    calls: list[str] = []

    flush = outputs.flush_to_disk

    def flush_until_full(path: Path) -> None:
        if path.name.startswith(".r.html"):  # the last output finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        calls.append(path.name)
        flush(path)

    monkeypatch.setattr(outputs, "flush_to_disk", flush_until_full)
    code, output = _audit(fp, corpus, *paths, "--threshold", "0.9")
    assert code == 2 and "No space left on device" in output and "r.html" in output
    assert {path: path.read_bytes() for path in previous} == previous
    outputs_written = [name for name in calls if name.startswith((".e.parquet.", ".r.json."))]  # not checkpoints
    assert len(outputs_written) == 2  # the evidence and the JSON report were written, then not put in place
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_staged_outputs_appear_together(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    with pytest.raises(RuntimeError), staged_outputs() as staged:
        staged.text(first, "one", "first")
        assert not first.exists()  # nothing in place until the block ends
        raise RuntimeError("stop")
    assert not first.exists() and list(tmp_path.iterdir()) == []
    with staged_outputs() as staged:
        staged.text(first, "one", "first")
        staged.text(second, "two", "second")
    assert first.read_text() == "one" and second.read_text() == "two"
    assert oct(first.stat().st_mode & 0o777) != oct(0o600)  # the umask's mode, not mkstemp's private one


@settings(max_examples=15, deadline=None)  # each example draws a list of LONG_LIST items: slow to generate
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=12,
    ),
    st.lists(st.text(max_size=4) | st.integers(), min_size=LONG_LIST, max_size=LONG_LIST + 5),
)
def test_long_lists_are_written_on_one_line_with_the_same_json_value(value: object, long: list[object]) -> None:
    document = {"value": value, "ids": long, "nested": [{"ids": long}]}
    text = dumps_indented(document)
    assert json.loads(text) == document
    assert text.count("\n") < 40 + json.dumps(value, indent=2).count("\n")  # the long lists on one line each
    assert dumps_indented({"value": value}) == json.dumps({"value": value}, indent=2)  # short ones as before


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x80), max_size=4)
        | st.text(alphabet='abc"\\\x7f\u2028é', max_size=3)
        | st.integers(),
        max_size=12,
    )
    | st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=6), max_size=12)
)
def test_a_long_list_on_one_line_is_what_json_writes(items: list[object]) -> None:
    """The one-line encoding of long lists joins plain ASCII strings directly: byte for byte json.dumps,
    whatever the strings hold (quotes, backslashes, control characters, DEL, non-ASCII) or the items are."""
    assert one_line(items) == json.dumps(items)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x80), max_size=4)
        | st.text(alphabet='abc"\\\x7f\u2028é', max_size=3),
        max_size=12,
    )
    | st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=6), max_size=12),
    st.booleans(),
    st.integers(0, 3),
)
def test_an_arrow_string_list_is_what_json_writes(items: list[str], large: bool, cut: int) -> None:
    """Arrow arrays of strings (post ids not found) are encoded from Arrow's bytes: byte for byte json.dumps of
    the list, whatever the strings hold, for both string types and for slices of an array."""
    array = pa.array(["pad"] * cut + items + ["pad"] * cut, type=pa.large_string() if large else pa.string())
    assert strings_json(array.slice(cut, len(items))) == json.dumps(items)
    assert strings_json(pa.array([None, *items], type=pa.string())) == json.dumps([None, *items])


def test_arrow_string_lists_are_written_as_the_lists_are() -> None:
    short, long = [f"p{i}" for i in range(3)], [f"p{i}" for i in range(LONG_LIST)]
    for items in (short, long, [*long, None]):  # one line for a long list of strings only
        assert dumps_indented({"ids": ArrowStrings(pa.array(items))}) == dumps_indented({"ids": items})
