"""Bad posts files: one sentence and exit 2 (or counted and skipped with --skip-bad-lines), never a
traceback and never a silently wrong set."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.fingerprint_set import read_info
from auditor.sources.exports import base
from tests.conftest import POSTS

runner = CliRunner()


def fingerprint(path: Path, *options: str, stdin: bytes | None = None) -> tuple[int, str]:
    output = path.with_name(path.name + ".fp.parquet")
    result = runner.invoke(app, ["fingerprint", str(path) if stdin is None else "-", "-o", str(output), "--public",
                                 *options], input=stdin)  # fmt: skip
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


def test_json_nested_50000_deep_is_one_bad_line(tmp_path: Path) -> None:
    deep = '{"id": "1", "text": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
    path = tmp_path / "deep.jsonl"
    path.write_text(deep + f'{{"id": "2", "text": "{POSTS[0]}"}}\n')
    code, output = fingerprint(path)
    assert code == 2 and "deep.jsonl line 1: JSON nested too deeply" in output and len(output) < 400
    code, output = fingerprint(path, "--skip-bad-lines")
    assert code == 0 and "1 post fingerprinted of 2 records read; not fingerprinted: bad line 1" in output


def test_a_lone_surrogate_and_latin_1_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b'{"id": "1", "text": "x \\ud83d y"}\n' + f'{{"id": "2", "text": "{POSTS[1]}"}}\n'.encode()
                     + b'{"id": "3", "text": "caf\xe9 au lait"}\n')  # fmt: skip
    code, output = fingerprint(path)
    assert code == 2 and "odd.jsonl line 1" in output
    code, output = fingerprint(path, "--skip-bad-lines")
    assert code == 0 and "left out: bad line 2" in output


@pytest.mark.parametrize("piped", [False, True])
def test_an_unclosed_csv_quote_is_refused_not_merged(tmp_path: Path, piped: bool) -> None:
    text = f'id,text\n1,"an unclosed quote and then\n2,{POSTS[0]}\n3,{POSTS[1]}\n'
    path = tmp_path / "quote.csv"
    path.write_text(text)
    options = ["--input-format", "csv"] if piped else []
    code, output = fingerprint(path, *options, stdin=text.encode() if piped else None)
    assert code == 2 and "a quoted field is never closed" in output
    path.write_text(f'id,text\n1,"a quoted value\nover two lines"\n2,"{POSTS[0]} ""quoted"""\n')  # well formed
    assert fingerprint(path)[0] == 0


@pytest.mark.parametrize("values", [[["a", "b"], ["c"]], [{"a": "x"}, {"a": "y"}], [1, 2]])
def test_a_parquet_text_column_that_is_not_text_is_refused(tmp_path: Path, values: list[object]) -> None:
    path = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"id": ["1", "2"], "text": values}), path)
    code, output = fingerprint(path)
    assert code == 2 and "column 'text' holds" in output and "not text" in output and "--text-field" in output


@pytest.mark.parametrize("piped", [False, True])
def test_a_bad_line_after_many_blocks_is_named_by_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piped: bool
) -> None:
    """Numbered by reading the file again up to the bad line, or, piped, as the lines pass; a byte order
    mark and blank lines before it."""
    monkeypatch.setattr(base, "BLOCK_BYTES", 211)
    lines = [f'{{"id": "{n}", "text": "{POSTS[n % len(POSTS)]}"}}\n' if n % 7 else "\n" for n in range(1, 80)]
    text = "\ufeff" + "".join(lines) + '{"id": "x", "text": \n' + "".join(lines[:5])
    path = tmp_path / "many.jsonl"
    path.write_text(text, encoding="utf-8")
    code, output = fingerprint(path, "--input-format", "jsonl", stdin=text.encode() if piped else None)
    assert code == 2 and "line 80: not valid JSON" in output


@pytest.mark.parametrize("kind", ["jsonl", "json", "csv"])
def test_the_summary_adds_up_posts_fingerprinted_and_left_out_to_the_records_read(tmp_path: Path, kind: str) -> None:
    """Every record read is fingerprinted or left out for a reason the summary lists: a record without an
    id (left out before it is a post), a repeated id, no text, a text too short, a damaged record (with
    --skip-bad-lines), in each format."""
    records = [
        {"id": "a", "text": POSTS[0]},
        {"id": "b", "text": POSTS[1]},
        {"text": POSTS[2]},
        {"id": "a", "text": POSTS[3]},
        {"id": "c", "text": ""},
        {"id": "d", "text": "short"},
        {"id": "", "text": POSTS[4]},  # an empty id names no post: a missing id, as none at all
    ]
    path = tmp_path / f"mixed.{kind}"
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records) + "{not json\n")
    elif kind == "json":
        path.write_text(json.dumps([*records, "not an object"]))
    else:
        path.write_text("id,text\n" + "".join(f'{r.get("id", "")},"{r["text"]}"\n' for r in records) + "x,y,z\n")
    code, output = fingerprint(path, "--skip-bad-lines")
    assert code == 0 and "2 posts fingerprinted of 8 records read; not fingerprinted:" in output, output
    left_out = output.split("not fingerprinted: ", 1)[1].split(".", 1)[0]
    assert sum(int(part.rsplit(" ", 1)[1]) for part in left_out.split(", ")) == 8 - 2, left_out
    assert "missing id 2" in left_out, left_out
    assert f"mixed.{kind} ({kind}): 8 records" in output, output
    assert "no text 1" in left_out and "too short 1" in left_out, left_out  # "" is no text in every format


def test_the_sets_undated_posts_by_reason_are_of_the_posts_in_the_set(tmp_path: Path) -> None:
    """A repeated id left out of the set is not among the set's undated posts by reason (its input's own
    summary still counts it: the input held it)."""
    path = tmp_path / "dup.jsonl"
    lines = [
        {"id": "a", "text": POSTS[0], "created_at": "2024-01-01"},
        {"id": "a", "text": POSTS[1]},
        {"id": "b", "text": POSTS[2], "created_at": "not a date"},
        {"id": "c", "text": POSTS[3]},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, output = fingerprint(path)
    assert code == 0 and "2 posts in the set are undated (missing 1, unparseable 1)" in output, output
    info = read_info(path.with_name(path.name + ".fp.parquet"))
    assert info.counts["posts_undated"] == sum(info.undated.values()) == 2
    assert info.sources[0].undated == {"missing": 2, "unparseable": 1}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_input_of_no_record_is_refused_as_an_empty_file_is(tmp_path: Path, kind: str) -> None:
    """A CSV of only its header, a Parquet file of no row: no record, as an empty file (exit 2, no set);
    records all left out (bad lines skipped, every text too short) still make a set that says so."""
    path = tmp_path / f"header.{kind}"
    if kind == "csv":
        path.write_text("id,text\n")
    else:
        pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), path)
    code, output = fingerprint(path)
    assert code == 2 and "no record in it (no posts)" in output, output
    result = runner.invoke(app, ["fingerprint", str(path), "-o", str(tmp_path / "new" / "deeper" / "s.fp.parquet")])
    assert result.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no set, no key, no folder made for them
    (tmp_path / "existing").mkdir()  # reached through a folder that is missing: kept (that one removed)
    result = runner.invoke(app, ["fingerprint", str(path), "-o", str(tmp_path / "new" / ".." / "existing" / "s.fp")])
    assert result.exit_code == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["existing", path.name]


def test_a_nan_id_is_a_missing_id(tmp_path: Path) -> None:
    """A float id column's NaN names no post (as the id "nan" it named them all as one: duplicates)."""
    path = tmp_path / "floats.parquet"
    ids = [1.0, float("nan"), 3.0, float("nan")]
    pq.write_table(pa.table({"id": ids, "text": POSTS[:4]}), path)
    code, output = fingerprint(path)
    assert code == 0 and "2 posts fingerprinted of 4 records read; not fingerprinted: missing id 2." in output, output


def test_a_file_of_only_bad_records_skipped_is_counted_not_refused_for_its_fields(tmp_path: Path) -> None:
    """With --skip-bad-lines, a JSON lines file whose every line is damaged is counted (nothing to
    fingerprint), not refused for lacking an id field its records do have; a JSON array of no object is
    refused as no array of posts."""
    path = tmp_path / "cut.jsonl"
    path.write_text('{"id": "1", "text": "a post cut short\n{"id": "2", "text": "another one cut short\n')
    code, output = fingerprint(path, "--skip-bad-lines")
    assert code == 0 and "0 posts fingerprinted of 2 records read; not fingerprinted: bad line 2" in output, output
    array = tmp_path / "items.json"
    array.write_text('[1, 2, "x"]')
    code, output = fingerprint(array, "--skip-bad-lines")
    assert code == 2 and "holds no JSON array of posts" in output, output
    array.write_text("[]")
    code, output = fingerprint(array)
    assert code == 2 and "an empty JSON array (no posts in it)" in output, output
    array.write_text(json.dumps([{"id": "1", "text": POSTS[0]}, 5]))
    code, output = fingerprint(array)
    assert code == 2 and "items.json item 2: not a JSON object" in output, output  # numbered from 1, as lines
    array.write_text("[,")
    code, output = fingerprint(array)
    assert code == 2 and "not a valid JSON array (at item 1:" in output, output
    array.write_text('[{"id": "1", "text": "a post"}, {"id": "2", "te')
    code, output = fingerprint(array)
    assert code == 2 and "not a valid JSON array (at item 2:" in output, output
