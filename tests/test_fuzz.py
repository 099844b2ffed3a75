"""Fuzzing the readers of files the tool did not write itself: corpus files, fingerprint set metadata,
reports. Whatever the bytes, a command exits 0 or 2, says at most one line on stderr (the error), never
shows a traceback and never changes its inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor.cli import app
from auditor.fingerprint_set import METADATA_KEY
from tests.conftest import POSTS, write_jsonl

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
runner = CliRunner()


def invariant(args: list[str], inputs: list[Path]) -> int:
    before = {path: path.read_bytes() for path in inputs}
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    errors = result.stderr.strip().splitlines()
    if result.exit_code == 2:
        assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    else:
        assert not any(line.startswith("error") for line in errors), result.stderr
    assert {path: path.read_bytes() for path in inputs} == before, "an input was changed"
    return result.exit_code


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    posts = write_jsonl(root / "posts.jsonl", [{"id": f"p{i}", "text": t} for i, t in enumerate(POSTS)])
    fp = root / "s.fp.parquet"
    assert runner.invoke(app, ["fingerprint", str(posts), "-o", str(fp), "--public", "-q"]).exit_code == 0
    corpus = root / "corpus.parquet"
    table = pa.table({"id": [f"r{i}" for i in range(40)], "text": [POSTS[i % 5] + f" row {i}" for i in range(40)]})
    pq.write_table(table, corpus, row_group_size=10)
    evidence, report = root / "e.parquet", root / "r.json"
    args = ["audit", str(fp), str(corpus), "--evidence", str(evidence), "--json", str(report), "-q", "--workers", "1"]
    assert runner.invoke(app, args).exit_code == 0
    return {"root": root, "set": fp, "corpus": corpus, "evidence": evidence, "report": report}


def _audit(workspace: dict[str, Path], fp: Path, corpus: Path) -> list[str]:
    out = workspace["root"] / "out"
    return ["audit", str(fp), str(corpus), "--evidence", str(out / "e.parquet"), "--json", str(out / "r.json"),
            "-q", "--workers", "1", "--restart"]  # fmt: skip


@FUZZ
@given(data=st.binary(max_size=2_000))
def test_random_bytes_as_a_corpus_file(workspace: dict[str, Path], data: bytes) -> None:
    corpus = workspace["root"] / "random.parquet"
    corpus.write_bytes(data)
    assert invariant(_audit(workspace, workspace["set"], corpus), [corpus, workspace["set"]]) == 2


@FUZZ
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_corpus_file(workspace: dict[str, Path], cut: float) -> None:
    whole = workspace["corpus"].read_bytes()
    corpus = workspace["root"] / "truncated.parquet"
    corpus.write_bytes(whole[: int(len(whole) * cut)])
    assert invariant(_audit(workspace, workspace["set"], corpus), [corpus]) == 2


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=8))
def test_corrupted_corpus_file(workspace: dict[str, Path], flips: list[tuple[float, int]]) -> None:
    data = bytearray(workspace["corpus"].read_bytes())
    for where, mask in flips:
        data[int(len(data) * where)] ^= mask
    corpus = workspace["root"] / "corrupted.parquet"
    corpus.write_bytes(bytes(data))
    invariant(_audit(workspace, workspace["set"], corpus), [corpus])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document: keys of objects, indices of lists."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = _replace(document[head], rest, value)
    return copy


def _mutated(document: Any, data: st.DataObject) -> Any:
    """The document with one value, anywhere in it, replaced by a random JSON value (or one key removed)."""
    path = data.draw(st.sampled_from(_paths(document)))
    if path and isinstance(path[-1], str) and data.draw(st.booleans()):
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        return _replace(document, path[:-1], {k: v for k, v in parent.items() if k != path[-1]})
    return _replace(document, path, data.draw(JSON_VALUES))


@FUZZ
@given(data=st.data())
def test_set_metadata(workspace: dict[str, Path], data: st.DataObject) -> None:
    original = pq.ParquetFile(workspace["set"])
    metadata = json.loads(original.metadata.metadata[METADATA_KEY])
    table = original.read()
    mutated = _mutated(metadata, data) if data.draw(st.booleans()) else data.draw(JSON_VALUES)
    fp = workspace["root"] / "mutated.fp.parquet"
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(mutated)}), fp)
    invariant(["inspect", str(fp)], [fp])
    invariant(_audit(workspace, fp, workspace["corpus"]), [fp, workspace["corpus"]])


@FUZZ
@given(data=st.data())
def test_report_loader(workspace: dict[str, Path], data: st.DataObject) -> None:
    report = json.loads(workspace["report"].read_text())
    mutated = _mutated(report, data)
    path = workspace["root"] / "mutated.json"
    path.write_text(json.dumps(mutated))
    fmt = data.draw(st.sampled_from(["terminal", "json", "markdown", "html"]))
    invariant(["report", str(path), "--format", fmt], [path])


@FUZZ
@given(data=st.data())
def test_evidence_manifest(workspace: dict[str, Path], data: st.DataObject) -> None:
    original = pq.ParquetFile(workspace["evidence"])
    manifest = json.loads(original.metadata.metadata[METADATA_KEY])
    table = original.read()
    mutated = _mutated(manifest, data)
    if data.draw(st.booleans()) and table.num_columns:
        table = table.drop_columns([data.draw(st.sampled_from(table.column_names))])
    path = workspace["root"] / "mutated.evidence.parquet"
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(mutated)}), path)
    invariant(["report", str(path), "--format", data.draw(st.sampled_from(["terminal", "json", "html"]))], [path])


POST_SUFFIXES = [".jsonl", ".json", ".csv", ".txt", ".js", ".xml", ".zst", ".car", ".parquet"]
_JSON_BITS = '{"id": |"p1"|"text": |"hello there"|[|]|{|}|,|:|"\\ud83d"|\\|"|null|1e999|\xe9'
_JSON_BITS += '|{"data": [|"created_at": "x"'
JSON_BITS = st.sampled_from([*_JSON_BITS.split("|"), "\n"])


@FUZZ
@given(
    content=st.one_of(st.binary(max_size=300), st.lists(JSON_BITS, max_size=40).map("".join).map(str.encode)),
    suffix=st.sampled_from(POST_SUFFIXES),
    skip=st.booleans(),
)
def test_any_posts_file_fingerprints_or_fails_in_one_sentence(
    workspace: dict[str, Path], content: bytes, suffix: str, skip: bool
) -> None:
    posts = workspace["root"] / f"fuzzed{suffix}"
    posts.write_bytes(content)
    output = workspace["root"] / "fuzzed.fp.parquet"
    args = ["fingerprint", str(posts), "-o", str(output), "--public", "-q", *(["--skip-bad-lines"] if skip else [])]
    invariant(args, [posts])
