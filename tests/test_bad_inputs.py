"""Every bad input ends a command with exit code 2 and one sentence naming the file (or option) and the fix:
never a traceback, never exit 1 (which `check` uses for findings), never a half-written output."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor.errors import InputError, UsageError
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import FingerprintSetWriter, load
from auditor.sources.posts import PostSource
from tests.conftest import POSTS, write_jsonl, write_parquet

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


pytestmark = pytest.mark.usefixtures("in_scratch_folder")


def run(*args: str) -> tuple[int, str, str]:
    from auditor.cli import app

    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def one_sentence(code: int, stderr: str, *expected: str) -> str:
    """The error of a command: exit code 2, one line on stderr starting with `error:`, holding `expected`."""
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, stderr)
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def keyed_set(tmp_path: Path, posts_file: Path) -> Path:
    output = tmp_path / "s.fp.parquet"
    assert run("fingerprint", str(posts_file), "-o", str(output), "-q")[0] == 0
    return output


def test_invalid_utf8_in_a_corpus_text_column_names_the_file_and_row(tmp_path: Path, keyed_set: Path) -> None:
    # Parquet writers need not check UTF-8: a binary column viewed as string carries any bytes.
    raw = pa.array([POSTS[0].encode(), POSTS[1].encode(), b"caf\xe9 au lait, not UTF-8 at all"], pa.binary())
    corpus = tmp_path / "latin1.parquet"
    pq.write_table(pa.table({"text": raw.view(pa.string())}), corpus)
    before = corpus.read_bytes()
    code, _, stderr = run("audit", str(keyed_set), str(corpus), "--json", str(tmp_path / "r.json"), "-q")
    one_sentence(code, stderr, "latin1.parquet: row 2 of column 'text' is not valid UTF-8", "re-encode")
    assert corpus.read_bytes() == before and not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("ids", [pa.array([[1, 2], [3]]), pa.array([{"a": 1}, {"a": 2}])])
def test_an_id_column_of_lists_or_structs_is_refused_when_named_and_not_used_by_default(
    tmp_path: Path, keyed_set: Path, ids: pa.Array
) -> None:
    corpus = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"id": ids, "text": [POSTS[0], "an unrelated row of some length"]}), corpus)
    code, _, stderr = run("audit", str(keyed_set), str(corpus), "--id-column", "id", "-q", "--workers", "1")
    kind = str(ids.type).split("<")[0]  # list<item ...> comes back from Parquet as list<element ...>
    one_sentence(code, stderr, f"nested.parquet: column 'id' holds {kind}<", "not names of rows", "--id-column")
    report = tmp_path / "r.json"
    code, _, _ = run("audit", str(keyed_set), str(corpus), "--json", str(report), "-q", "--workers", "1")
    assert code == 0 and json.loads(report.read_text())["counts"]["matches"] == 1  # rows named by number


def test_a_nan_corpus_id_names_no_row(tmp_path: Path, keyed_set: Path) -> None:
    corpus = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"id": [1.5, float("nan")], "text": [POSTS[0], POSTS[1]]}), corpus)
    evidence = tmp_path / "e.parquet"
    code, _, stderr = run("audit", str(keyed_set), str(corpus), "--evidence", str(evidence), "-q", "--workers", "1")
    assert code == 0, stderr
    assert sorted(pq.read_table(evidence).column("corpus_id").to_pylist(), key=str) == ["1.5", None]


def test_every_row_sampled_is_a_run_of_every_row(tmp_path: Path, keyed_set: Path) -> None:
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}, {"text": "an unrelated row of some length"}])
    report = tmp_path / "r.json"
    code, _, stderr = run("audit", str(keyed_set), str(corpus), "--sample-rows", "1", "--json", str(report), "-q")
    assert code == 0, stderr  # it overflowed the sampling limit
    assert json.loads(report.read_text())["counts"]["matches"] == 1


@pytest.mark.parametrize("where", [".", "existing-dir"])
def test_fingerprint_into_a_directory_is_refused_before_any_key_is_made(
    tmp_path: Path, posts_file: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing-dir").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, stderr = run("fingerprint", str(posts_file), "-o", where)
    one_sentence(code, stderr, "the fingerprint set path is a directory; give a file name")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no key, no temporary file


def test_fingerprint_into_an_unwritable_place_is_refused_before_reading(tmp_path: Path, posts_file: Path) -> None:
    not_a_directory = tmp_path / "file.txt"
    not_a_directory.write_text("x")
    code, _, stderr = run("fingerprint", str(posts_file), "-o", str(not_a_directory / "s.fp.parquet"))
    one_sentence(code, stderr, "cannot be written there", "choose another path")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_fingerprint_into_a_read_only_directory(tmp_path: Path, posts_file: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, stderr = run("fingerprint", str(posts_file), "-o", str(locked / "s.fp.parquet"))
    one_sentence(code, stderr, "cannot be written there")


def test_a_full_disk_during_fingerprint_is_one_sentence_and_leaves_nothing(tmp_path: Path) -> None:
    """The file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes writes fail with EFBIG past 64 KiB:
    the set cannot be completed, as on a full disk."""
    posts = write_jsonl(
        tmp_path / "posts.jsonl", [{"id": f"p{i}", "text": f"{POSTS[i % 5]} number {i}"} for i in range(3_000)]
    )
    out = tmp_path / "out"
    out.mkdir()

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    done = subprocess.run(
        [sys.executable, "-m", "auditor", "fingerprint", str(posts), "-o", str(out / "s.fp.parquet"), "--keep-text"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        preexec_fn=limit_file_size,
        timeout=300,
    )
    assert "Traceback" not in done.stderr
    one_sentence(done.returncode, done.stderr, "s.fp.parquet: cannot write the fingerprint set (File too large)")
    assert list(out.iterdir()) == []  # no set, no temporary file, no key made for it


def test_two_writers_of_one_set_each_put_a_whole_set_in_place(tmp_path: Path, posts_file: Path) -> None:
    """Interleaved like two commands writing the same set: each writes its own temporary file, so the
    set in place is always one whole, loadable set (the last one closed)."""
    fingerprinter = Fingerprinter()
    batches = list(PostSource(posts_file).batches())
    path = tmp_path / "s.fp.parquet"
    first, second = FingerprintSetWriter(path, fingerprinter.schema), FingerprintSetWriter(path, fingerprinter.schema)
    for batch in batches:
        first.write(fingerprinter.fingerprint(batch))
        second.write(fingerprinter.fingerprint(batch.slice(0, 2)))
    info = _info(fingerprinter, first.rows)
    first.close(info)
    assert len(load(path).post_ids) == 5
    second.close(_info(fingerprinter, second.rows))
    assert len(load(path).post_ids) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.jsonl", "s.fp.parquet"]


def _info(fingerprinter: Fingerprinter, rows: int):  # type: ignore[no-untyped-def]
    from auditor.fingerprint_set import FingerprintSetInfo

    counts = {"posts_read": rows, "posts_in_set": rows, "posts_fingerprinted": rows}
    return FingerprintSetInfo(fingerprinter.params, fingerprinter.min_shingles, False, (), counts, {})


def test_a_set_writer_into_a_directory_raises_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="the fingerprint set path is a directory; give a file name"):
        FingerprintSetWriter(tmp_path, Fingerprinter().schema)


AUDIT_NUMBERS = [
    ("--sample-posts", "nan"),
    ("--sample-posts", "inf"),
    ("--sample-posts", "-1"),
    ("--sample-rows", "nan"),
    ("--sample-rows", "-0.5"),
    ("--seed", "-1"),
    ("--threshold", "nan"),
    ("--threshold", "inf"),
    ("--workers", "-1"),
    ("--workers", "nan"),
    ("--max-row-chars", "-1"),
]


@pytest.mark.parametrize(("option", "value"), AUDIT_NUMBERS)
def test_audit_refuses_nan_inf_and_negative_numbers(tmp_path: Path, keyed_set: Path, option: str, value: str) -> None:
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    json_out = tmp_path / "r.json"
    code, _, stderr = run("audit", str(keyed_set), str(corpus), option, value, "--json", str(json_out), "-q")
    one_sentence(code, stderr, option)
    assert not json_out.exists()


CHECK_NUMBERS = [
    ("--max-post-rate", "nan"),
    ("--max-row-rate", "-0.1"),
    ("--max-matches", "-1"),
    ("--threshold", "nan"),
]


@pytest.mark.parametrize(("option", "value"), CHECK_NUMBERS)
def test_check_refuses_nan_and_negative_limits(tmp_path: Path, keyed_set: Path, option: str, value: str) -> None:
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    code, _, stderr = run("check", str(corpus), "--fingerprints", str(keyed_set), option, value)
    one_sentence(code, stderr, option)


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("--min-shingles", "-1", "--min-shingles"), ("--num-perm", "-1", "--num-perm"), ("--seed", "-1", "--seed"),
     ("--shingle-size", "-1", "--shingle-size"), ("--num-perm", "nan", "--num-perm"),
     ("--min-shingles", "99999999999", "--min-shingles must be from 1 to 2,147,483,647")],
)  # fmt: skip
def test_fingerprint_refuses_negative_numbers(
    tmp_path: Path, posts_file: Path, option: str, value: str, named: str
) -> None:
    code, _, stderr = run("fingerprint", str(posts_file), "-o", str(tmp_path / "s.fp.parquet"), option, value)
    one_sentence(code, stderr, named)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.jsonl"]


def test_report_on_a_json_list_a_set_or_a_directory(tmp_path: Path, keyed_set: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2, 3]")
    code, _, stderr = run("report", str(listed))
    one_sentence(code, stderr, "list.json holds a JSON list, not a report")
    code, _, stderr = run("report", str(keyed_set))
    one_sentence(code, stderr, "is a fingerprint set, not a finished audit; audit a corpus with it first")
    code, _, stderr = run("report", str(tmp_path))
    one_sentence(code, stderr, "is a directory")


def test_auditing_a_posts_file_says_fingerprint_it_first(tmp_path: Path, posts_file: Path) -> None:
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    posts_parquet = write_parquet(tmp_path / "posts.parquet", [{"id": "a", "text": POSTS[0]}])
    for posts in (posts_file, posts_parquet):
        code, _, stderr = run("audit", str(posts), str(corpus))
        one_sentence(code, stderr, "fingerprint it first", f"auditor fingerprint {posts}")


def test_one_corpus_file_under_several_spellings_is_scanned_once(
    tmp_path: Path, keyed_set: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards = tmp_path / "shards"
    corpus = write_parquet(shards / "a.parquet", [{"text": POSTS[0]}, {"text": "unrelated"}])
    (tmp_path / "link.parquet").symlink_to(corpus)
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "r.json"
    spellings = ["shards/a.parquet", "./shards/../shards/a.parquet", str(corpus), "link.parquet", "shards", "shards/*"]
    code, _, stderr = run("audit", str(keyed_set), *spellings, "--json", str(report), "-q")
    assert code == 0, stderr
    data = json.loads(report.read_text())
    assert [f["name"] for f in data["files"]] == ["shards/a.parquet"]
    assert data["counts"]["corpus_rows_read"] == 2 and data["counts"]["posts_matched"] == 1


def test_a_report_with_a_value_of_the_wrong_type_deep_inside(tmp_path: Path, keyed_set: Path) -> None:
    """Found by the fuzz suite: `inputs.fingerprint_set.sha256: true` loaded, then broke the HTML rendering."""
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    report = tmp_path / "r.json"
    assert run("audit", str(keyed_set), str(corpus), "--json", str(report), "-q")[0] == 0
    data = json.loads(report.read_text())
    data["inputs"]["fingerprint_set"]["sha256"] = True
    report.write_text(json.dumps(data))
    code, _, stderr = run("report", str(report), "--format", "html")
    one_sentence(code, stderr, "r.json: the report holds a value of the wrong type")
    data["inputs"]["fingerprint_set"]["sha256"] = "0" * 64
    data["counts"]["posts_testable"] = "many"
    report.write_text(json.dumps(data))
    code, _, stderr = run("report", str(report))
    one_sentence(code, stderr, "r.json: the report holds a value of the wrong type (invalid literal")
    del data["counts"]["posts_testable"]
    report.write_text(json.dumps(data))
    code, _, stderr = run("report", str(report))
    one_sentence(code, stderr, "r.json: the report lacks the field 'posts_testable'; rerun the audit")


def test_a_damaged_footer_that_aborts_pyarrows_column_statistics_is_one_sentence(tmp_path: Path) -> None:
    """pyarrow 26 aborts the whole process (an exception thrown through C++ that cannot pass it on) when a
    column chunk's level histograms in a damaged footer are read through its metadata accessor; reading the
    data reports the same damage as an error. The audit plans its parts without that accessor. (The byte
    flipped here is the histogram's length in this pyarrow's layout; the fuzz suite found it.)"""
    corpus = tmp_path / "damaged.parquet"
    rows = {"id": [f"r{i}" for i in range(40)], "text": [f"row {i} of the corpus, with some words" for i in range(40)]}
    pq.write_table(pa.table(rows), corpus)
    data = bytearray(corpus.read_bytes())
    data[697] ^= 2 ^ 29
    corpus.write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", str(ROOT / "fingerprints" / "demo.fp.parquet"), str(corpus),
         "--evidence", str(tmp_path / "e.parquet"), "--json", str(tmp_path / "r.json"), "-q", "--workers", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "damaged.parquet" in done.stderr and "Traceback" not in done.stderr and "terminate" not in done.stderr


def test_a_column_name_that_is_no_utf8_is_one_sentence(tmp_path: Path) -> None:
    corpus = tmp_path / "names.parquet"
    pq.write_table(pa.table({"id": ["r0"], "other": ["x"], "text": ["some text"]}), corpus)
    data = bytearray(corpus.read_bytes())
    at = data.index(b"other")  # the column chunk's path in the footer (pyarrow decodes it on opening)
    data[at] = 0xCE
    data[at + 1] = 0x64  # an invalid continuation byte
    corpus.write_bytes(bytes(data))
    code, _, stderr = run("audit", str(ROOT / "fingerprints" / "demo.fp.parquet"), str(corpus), "--evidence",
                          str(tmp_path / "e.parquet"), "--json", str(tmp_path / "r.json"), "-q")  # fmt: skip
    assert code == 2 and "names.parquet" in stderr and "not a readable Parquet file" in stderr, stderr


def test_a_set_whose_column_names_are_no_utf8_is_one_sentence(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.fp.parquet"
    data = bytearray((ROOT / "fingerprints" / "demo.fp.parquet").read_bytes())
    at = data.index(b"signature")  # the first column chunk path in the footer
    data[at], data[at + 1] = 0xCE, 0x64
    damaged.write_bytes(bytes(data))
    code, _, stderr = run("inspect", str(damaged))
    assert code == 2 and "damaged.fp.parquet" in stderr and "not a readable Parquet file" in stderr, stderr


def test_a_posts_parquet_whose_column_names_are_no_utf8_is_one_sentence(tmp_path: Path) -> None:
    posts = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"id": ["p0"], "other": ["x"], "text": [POSTS[0]]}), posts)
    data = bytearray(posts.read_bytes())
    at = data.index(b"other")
    data[at], data[at + 1] = 0xCE, 0x64
    posts.write_bytes(bytes(data))
    code, _, stderr = run("fingerprint", str(posts), "-o", str(tmp_path / "s.fp.parquet"), "--public", "-q")
    assert code == 2 and "posts.parquet" in stderr, stderr


def test_a_set_that_cannot_be_written_for_want_of_a_folder_or_of_space_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fix named fits the failure: some space for a full disk, another path otherwise (a folder that
    cannot be made, a read-only one), not both whatever the cause."""
    import errno
    import tempfile

    fingerprinter = Fingerprinter()
    for number, fix in (
        (errno.ENOSPC, "; free some space or choose another path."),
        (errno.ENOENT, "; choose another path."),
    ):

        def refuse(*args: object, number: int = number, **kwargs: object) -> None:
            raise OSError(number, os.strerror(number))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
        with pytest.raises(InputError) as raised:
            FingerprintSetWriter(tmp_path / "s.fp.parquet", fingerprinter.schema)
        message = str(raised.value)
        assert message.startswith(
            f"{tmp_path / 's.fp.parquet'}: cannot write the fingerprint set ({os.strerror(number)})"
        )
        assert message.endswith(fix), message


def test_an_evidence_file_that_cannot_be_written_is_named_with_the_fix_that_fits(
    tmp_path: Path, keyed_set: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the evidence is written: the sentence names the evidence path given (not the
    temporary file written first) and asks for space."""
    import errno

    import pyarrow.parquet as pq_module

    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq_module.ParquetWriter, "write_table", full)
    evidence = tmp_path / "out" / "q.ev.parquet"
    code, _, stderr = run("audit", str(keyed_set), str(corpus), "--evidence", str(evidence), "-q")
    one_sentence(code, stderr, f"{evidence}: cannot write the evidence (No space left on device)", "free some space")


def test_a_key_or_an_appended_summary_that_cannot_be_written_gets_the_fix_that_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for sets and evidence: space asked for only when the disk is full, another path otherwise."""
    import errno

    from auditor import cli, keys

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(keys.os, "write", full)
        with pytest.raises(
            InputError, match=r"\(No space left on device\); free some space or choose another --output"
        ):
            keys.create_key(tmp_path / "s.key")
    assert not list(tmp_path.iterdir())  # no half-written key left
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    with pytest.raises(InputError, match=r"cannot write the key of the set \(.*\); choose another --output or pass"):
        keys.create_key(blocked / "s.key")
    with pytest.raises(InputError, match=r"cannot write the step summary \(.*\); choose another path\.$"):
        cli._write_text(blocked / "summary.md", "text", "the step summary", append=True)
    with monkeypatch.context() as patch:
        patch.setattr(Path, "open", full)
        with pytest.raises(InputError, match=r"\(No space left on device\); free some space or choose another path\.$"):
            cli._write_text(tmp_path / "summary.md", "text", "the step summary", append=True)
