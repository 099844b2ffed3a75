"""Fingerprint sets describe themselves fully and refuse to be used with other parameters."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from auditor import fingerprint_set
from auditor.errors import InputError, ParameterMismatchError, UsageError
from auditor.fingerprint_set import METADATA_KEY, FingerprintSet
from auditor.kernels.shingle_hash import key_id
from auditor.params import FingerprintParams
from auditor.scan import CorpusScanner
from tests.conftest import POSTS, write_jsonl, write_parquet


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
    loaded = make_set(posts_file, key=key, params=FingerprintParams(key_id=key_id(key)))
    with pytest.raises(ParameterMismatchError, match=r"built with key sha256:.*same --key-file"):
        CorpusScanner(loaded)
    CorpusScanner(loaded, key=key)  # the right key is accepted


def test_params_validate_and_compare() -> None:
    with pytest.raises(UsageError, match="num_perm must be between 16 and 1024"):
        FingerprintParams(num_perm=8)
    with pytest.raises(UsageError, match="shingle size"):
        FingerprintParams(shingle_size=2)
    with pytest.raises(ParameterMismatchError, match=r"a\.fp was built with seed=1 but b\.fp with seed=2"):
        FingerprintParams().require_same(FingerprintParams(seed=2), "a.fp", "b.fp")
