"""Fingerprint sets describe themselves fully and refuse to be used with other parameters."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor import fingerprint_set
from auditor.build import build_fingerprint_set
from auditor.cli import app
from auditor.errors import InputError, ParameterMismatchError, UsageError
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import METADATA_KEY, FingerprintSet
from auditor.keys import new_key_id
from auditor.params import FingerprintParams
from auditor.scan import CorpusScanner
from auditor.sources.posts import PostSource
from tests.conftest import POSTS, write_jsonl, write_parquet

runner = CliRunner()


def test_set_records_every_parameter_and_its_inputs(posts_file: Path, make_set: Callable[..., FingerprintSet]) -> None:
    loaded = make_set(posts_file)
    info = loaded.info.to_dict()
    assert info["params"] == {
        "num_perm": 128,
        "seed": 1,
        "shingle_size": 12,
        "scheme": "affine32",
        "shingle_kind": "char",
        "normalization": "letters-digits-v2",
        "base_hash": "multiply-shift-64",
        "key_id": "public",
    }
    assert info["inputs"][0]["sha256"] == hashlib.sha256(posts_file.read_bytes()).hexdigest()
    assert info["counts"] == {"posts_read": 5, "posts_in_set": 5, "posts_fingerprinted": 5, "posts_undated": 5}
    assert info["undated"] == {"missing": 5} and info["sources"][0]["format"] == "jsonl"
    assert loaded.slot_hashes.shape == (5, 128)
    assert loaded.texts is None  # texts stay out unless asked
    assert "text" not in pq.read_schema(loaded.path).names


def test_short_and_empty_posts_are_kept_out_with_their_reason(
    tmp_path: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    posts = write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": 1, "text": POSTS[0]}, {"id": 2, "text": "lol 😂"}, {"id": 3, "text": None}, {"id": 1, "text": "dup"}],
    )
    loaded = make_set(posts)
    assert loaded.skipped == {"duplicate_id": 1, "no_text": 1, "too_short": 1}
    assert loaded.post_ids.to_pylist() == ["1"]
    table = pq.read_table(loaded.path)
    assert table.column("skip_reason").to_pylist() == [None, "too_short", "no_text"]


def test_keep_text_stores_texts(posts_file: Path, make_set: Callable[..., FingerprintSet]) -> None:
    loaded = make_set(posts_file, keep_text=True)
    assert loaded.texts is not None and loaded.texts.to_pylist() == POSTS


def _as_format_2(path: Path) -> None:
    """Rewrite a set as format version 2 wrote it: each signature a fixed-size list of uint32, its digest
    recomputed as version 2 computed it."""
    table = pq.read_table(path)
    info = json.loads(pq.ParquetFile(path).metadata.metadata[METADATA_KEY])
    num_perm = info["params"]["num_perm"]
    column = table.column("signature").combine_chunks()
    words = fingerprint_set.signature_words(column, num_perm)
    listed = pa.FixedSizeListArray.from_arrays(pa.array(words.ravel()), num_perm, mask=column.is_null())
    table = table.set_column(1, pa.field("signature", fingerprint_set.signature_type(num_perm, 2)), listed)
    digest = fingerprint_set.ContentDigest(table.schema)
    for batch in table.to_batches():
        digest.update(batch)
    info["format_version"] = 2
    info["content_sha256"] = digest.hexdigest(info)
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(info)}), path)


def test_a_set_of_format_version_2_is_read_as_it_was_written(tmp_path: Path) -> None:
    """Sets written before signatures were stored as one binary value (format 3) load with the same posts and
    slot hashes, and a change to one of their signatures is still refused."""
    posts = write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": i, "text": text} for i, text in enumerate(POSTS)] + [{"id": "short", "text": "lol"}],
    )
    path = tmp_path / "s.fp.parquet"
    build_fingerprint_set([PostSource(posts)], path, Fingerprinter())
    assert pq.read_schema(path).field("signature").type == pa.binary(4 * 128)
    current = fingerprint_set.load(path)
    _as_format_2(path)
    assert pa.types.is_fixed_size_list(pq.read_schema(path).field("signature").type)
    old = fingerprint_set.load(path)
    assert old.info.format_version == 2 and current.info.format_version == fingerprint_set.FORMAT_VERSION == 3
    assert np.array_equal(old.slot_hashes, current.slot_hashes) and len(old.slot_hashes) == len(POSTS)
    assert old.post_ids.equals(current.post_ids) and old.untestable_examples == current.untestable_examples
    _rewrite_rows(path, _swap_signatures)
    with pytest.raises(InputError, match="modified after it was built"):
        fingerprint_set.load(path)


def _rewrite_metadata(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    table = pq.read_table(path)
    info = json.loads(pq.ParquetFile(path).metadata.metadata[METADATA_KEY])
    change(info)
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(info)}), path)


def test_newer_format_and_unknown_parameters_are_refused(
    posts_file: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    path = make_set(posts_file).path
    _rewrite_metadata(path, lambda info: info.update(format_version=99))
    with pytest.raises(InputError, match=r"format version 99.*upgrade provenance-auditor"):
        fingerprint_set.load(path)
    _rewrite_metadata(path, lambda info: info.update(format_version=1))
    with pytest.raises(InputError, match=r"older provenance-auditor \(format version 1.*rebuild it"):
        fingerprint_set.load(path)
    _rewrite_metadata(path, lambda info: info.update(format_version=fingerprint_set.FORMAT_VERSION))
    _rewrite_metadata(path, lambda info: info["params"].update(normalization="lowercase-v0"))  # type: ignore[attr-defined]
    with pytest.raises(ParameterMismatchError, match=r"normalization 'lowercase-v0'.*rebuild"):
        fingerprint_set.load(path)


def test_plain_parquet_and_missing_files_are_not_sets(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a fingerprint set"):
        fingerprint_set.load(write_parquet(tmp_path / "x.parquet", [{"a": 1}]))
    with pytest.raises(InputError, match="no such fingerprint set"):
        fingerprint_set.load(tmp_path / "absent.fp.parquet")


def test_audit_with_another_key_is_refused(posts_file: Path, make_set: Callable[..., FingerprintSet]) -> None:
    key = b"0123456789abcdef0123"
    loaded = make_set(posts_file, key=key, params=FingerprintParams(key_id=new_key_id(key)))
    with pytest.raises(ParameterMismatchError, match=r"built with another key than the one given; pass the --key-file"):
        CorpusScanner(loaded)
    CorpusScanner(loaded, key=key)  # the right key is accepted


def test_params_validate_and_compare() -> None:
    with pytest.raises(UsageError, match="--num-perm must be between 16 and 1024"):
        FingerprintParams(num_perm=8)
    with pytest.raises(UsageError, match="--shingle-size must be between 3 and 64"):
        FingerprintParams(shingle_size=2)
    with pytest.raises(ParameterMismatchError, match=r"a\.fp was built with seed=1 but b\.fp with seed=2"):
        FingerprintParams().require_same(FingerprintParams(seed=2), "a.fp", "b.fp")


def _rewrite_rows(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    """Rewrite a set's rows, keeping its metadata (content digest included) as it was."""
    table, metadata = pq.read_table(path), pq.ParquetFile(path).metadata.metadata
    pq.write_table(change(table).replace_schema_metadata({METADATA_KEY: metadata[METADATA_KEY]}), path)


def _swap_signatures(table: pa.Table) -> pa.Table:
    signatures = table.column("signature").to_pylist()
    signatures[0], signatures[1] = signatures[1], signatures[0]
    return table.set_column(1, table.schema.field("signature"), pa.array(signatures, table.schema.field(1).type))


def _garbage_signatures(table: pa.Table) -> pa.Table:
    rng = np.random.default_rng(0)
    garbage = [rng.integers(0, 2**32, 128, dtype=np.uint32).astype("<u4").tobytes() for _ in range(table.num_rows)]
    return table.set_column(1, table.schema.field("signature"), pa.array(garbage, table.schema.field(1).type))


def _sets_and_corpus(tmp_path: Path, posts_file: Path) -> tuple[Path, list[str]]:
    fp = tmp_path / "s.fp.parquet"
    assert runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(fp), "-q", "--public"]).exit_code == 0
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}, {"text": POSTS[1]}])
    outputs = ["--evidence", str(tmp_path / "e.parquet"), "--json", str(tmp_path / "r.json"), "-q"]
    return fp, [str(corpus), *outputs]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda path: _rewrite_rows(path, _swap_signatures),
        lambda path: _rewrite_rows(path, _garbage_signatures),
        lambda path: _rewrite_rows(path, lambda t: t.set_column(0, "post_id", pa.array(["x"] * t.num_rows))),
        lambda path: _rewrite_metadata(path, lambda info: info["params"].update(seed=2)),  # type: ignore[attr-defined]
        lambda path: _rewrite_metadata(path, lambda info: info["params"].update(shingle_size=8)),  # type: ignore[attr-defined]
        lambda path: _rewrite_metadata(path, lambda info: info.update(min_shingles=2)),
    ],
    ids=["swapped signatures", "garbage signatures", "ids", "seed", "shingle_size", "min_shingles"],
)
def test_a_set_modified_after_it_was_built_is_refused(
    tmp_path: Path, posts_file: Path, tamper: Callable[[Path], None]
) -> None:
    fp, rest = _sets_and_corpus(tmp_path, posts_file)
    assert runner.invoke(app, ["audit", str(fp), *rest]).exit_code == 0  # untouched, it audits
    tamper(fp)
    result = runner.invoke(app, ["audit", str(fp), *rest])
    assert result.exit_code == 2 and "Traceback" not in result.output
    sentence = " ".join(result.output.split())
    assert f"error: {fp} was modified after it was built" in sentence and sentence.endswith("rebuild it.")
    verified = runner.invoke(app, ["inspect", str(fp), "--verify"])
    assert verified.exit_code == 2 and f"{fp} was modified after it was built" in " ".join(verified.output.split())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda i: i.update(format_version=0), r"field format_version must be a whole number from 2 to 3, got 0"),
        (lambda i: i.update(format_version=-5), r"field format_version must be .*, got -5"),
        (lambda i: i.update(format_version=True), r"field format_version must be .*, got True"),
        (lambda i: i.update(format_version="2"), r"field format_version must be .*, got '2'"),
        (lambda i: i["counts"].update(posts_in_set=10**12), r"field counts.posts_in_set must be the 5 rows"),
        (lambda i: i["counts"].update(posts_fingerprinted=10**12), r"field counts.posts_fingerprinted must be"),
        (lambda i: i["counts"].update(posts_read=-1), r"field counts.posts_read must be a whole number"),
        (lambda i: i.update(counts=[]), r"field counts must be an object, got \[\]"),
        (lambda i: i["params"].update(num_perm="128"), r"field params.num_perm must be a whole number from 16"),
        (lambda i: i["params"].update(seed=-1), r"field params.seed must be a whole number from 0 to 4,294,967,295"),
        (lambda i: i["params"].update(key_id="sha256:0123456789abcdef"), r"field params.key_id must be"),
        (lambda i: i["params"].pop("seed"), r"lacks the field params.seed"),
        (lambda i: i.update(has_text="no"), r"field has_text must be true or false"),
        (lambda i: i.update(min_shingles=0), r"field min_shingles must be a whole number from 1"),
        (lambda i: i.update(inputs=[{"name": 5, "size": 1, "sha256": None}]), r"field inputs\[0\].name must be"),
        (lambda i: i.update(skipped={"too_short": 1.5}), r"field skipped.too_short must be a whole number"),
        (lambda i: i.update(skipped={"\x1b]0;x": 1}), r"field skipped \(a key\) must be a reason"),
        (lambda i: i.pop("content_sha256"), r"lacks the field content_sha256"),
        (lambda i: i.update(tool_version=None), r"field tool_version must be a string"),
    ],
)
def test_every_metadata_field_is_checked_in_one_sentence(
    posts_file: Path, make_set: Callable[..., FingerprintSet], change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = make_set(posts_file).path
    _rewrite_metadata(path, change)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=message) as caught:
        fingerprint_set.read_info(path)
    assert str(caught.value).startswith(f"{path}: its metadata") and "\n" not in str(caught.value)
    assert str(caught.value).endswith("rebuild the set with `auditor fingerprint`.")


def test_damaged_metadata_and_directories_are_refused(tmp_path: Path, posts_file: Path) -> None:
    fp, rest = _sets_and_corpus(tmp_path, posts_file)
    table = pq.read_table(fp)
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: b"[[[" * 10}), fp)
    result = runner.invoke(app, ["audit", str(fp), *rest])
    assert result.exit_code == 2 and "its fingerprint metadata is damaged" in result.output
    result = runner.invoke(app, ["audit", str(tmp_path), *rest])
    assert result.exit_code == 2 and "is a directory, not a fingerprint set" in result.output


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_FIELDS = [
    ("format_version",), ("tool_version",), ("min_shingles",), ("has_text",), ("inputs",), ("counts",),
    ("skipped",), ("content_sha256",), ("params",), ("counts", "posts_in_set"), ("counts", "posts_fingerprinted"),
    ("counts", "posts_read"), ("params", "num_perm"), ("params", "seed"), ("params", "shingle_size"),
    ("params", "key_id"), ("params", "scheme"), ("inputs", 0), ("skipped", "too_short"),
]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(path=st.sampled_from(_FIELDS), value=_JSON)
def test_any_metadata_value_is_read_or_refused_in_one_sentence(
    tmp_path_factory: pytest.TempPathFactory, path: tuple[str | int, ...], value: object
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    posts = write_jsonl(folder / "p.jsonl", [{"id": "1", "text": POSTS[0]}])
    output = folder / "s.fp.parquet"
    build_fingerprint_set([PostSource(posts)], output, Fingerprinter())
    table = pq.read_table(output)
    info = json.loads(pq.ParquetFile(output).metadata.metadata[METADATA_KEY])
    target = info
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(info)}), output)
    try:
        fingerprint_set.load(output)
    except (InputError, ParameterMismatchError) as error:
        assert "\n" not in str(error) and str(error).startswith(str(output))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=6), max_size=5))
def test_writer_keeps_the_first_post_of_each_id(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[str]]
) -> None:
    """Ids repeated inside a batch, across batches, or both: the first post of each id is written, in order."""
    fingerprinter = Fingerprinter()
    writer = fingerprint_set.FingerprintSetWriter(tmp_path_factory.mktemp("w") / "s.fp.parquet", fingerprinter.schema)
    written: list[str] = []
    try:
        for number, ids in enumerate(batches):
            texts = [f"{post_id} post {number}.{row}" for row, post_id in enumerate(ids)]
            posts = pa.RecordBatch.from_pydict(
                {"post_id": ids, "text": texts}
                | {name: [None] * len(ids) for name in ("created_at", "author", "url", "platform", "kind")},
                schema=pa.schema(
                    [
                        (name, pa.string())
                        for name in ("post_id", "text", "created_at", "author", "url", "platform", "kind")
                    ]
                ),
            )
            out = writer.write(fingerprinter.fingerprint(posts))
            written += [f"{i}:{number}" for i in out.column("post_id").to_pylist()]
    finally:
        writer.abort()
    expected: dict[str, str] = {}
    for number, ids in enumerate(batches):
        for post_id in ids:
            expected.setdefault(post_id, f"{post_id}:{number}")
    assert written == list(expected.values())
    assert writer.duplicates == sum(map(len, batches)) - len(expected) and writer.rows == len(expected)


DATA = Path(__file__).parent / "data"


def test_a_set_written_by_format_2_code_loads_with_this_code_s_slot_hashes(tmp_path: Path) -> None:
    """tests/data/format2.fp.parquet was written by the code before format 3 (commit 2d7927f, `auditor
    fingerprint format2-posts.jsonl -o format2.fp.parquet --public`): its digest, computed by that code, is
    accepted, and it holds what a set built now from the same posts holds."""
    old = fingerprint_set.load(DATA / "format2.fp.parquet")
    assert old.info.format_version == 2
    assert pa.types.is_fixed_size_list(pq.read_schema(DATA / "format2.fp.parquet").field("signature").type)
    path = tmp_path / "now.fp.parquet"
    build_fingerprint_set([PostSource(DATA / "format2-posts.jsonl")], path, Fingerprinter())
    now = fingerprint_set.load(path)
    assert now.info.format_version == 3 and old.info.params == now.info.params
    assert old.post_ids.to_pylist() == now.post_ids.to_pylist() == ["a1", "b2", "d4"]
    assert np.array_equal(old.slot_hashes, now.slot_hashes)
    assert old.untestable_examples == now.untestable_examples == {"too_short": ("c3",)}
    assert old.metadata.equals(now.metadata)


@pytest.mark.usefixtures("in_scratch_folder")  # the evidence's default place, were the audit to run
def test_a_set_whose_signature_type_is_not_its_format_version_s_is_named(tmp_path: Path) -> None:
    """A format-3 record over a list column (or the reverse) is refused naming the version and both types."""
    path = tmp_path / "s.fp.parquet"
    (tmp_path / "format2.fp.parquet").write_bytes((DATA / "format2.fp.parquet").read_bytes())
    _rewrite_metadata(tmp_path / "format2.fp.parquet", lambda info: info.update(format_version=3))
    expected = (
        r"recorded format version 3 and num_perm 128 \(a signature of type fixed_size_binary\[512\], found "
        r"fixed_size_list<element: uint32>\[128\]\); rebuild"
    )
    with pytest.raises(InputError, match=expected):
        fingerprint_set.load(tmp_path / "format2.fp.parquet")
    build_fingerprint_set([PostSource(DATA / "format2-posts.jsonl")], path, Fingerprinter())
    _rewrite_metadata(path, lambda info: info.update(format_version=2))
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    result = runner.invoke(app, ["audit", str(path), str(corpus), "--json", str(tmp_path / "r.json"), "-q"])
    assert result.exit_code == 2 and "recorded format version 2" in result.output, result.output
