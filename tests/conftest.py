from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditor import fingerprint_set, keys
from auditor.build import build_fingerprint_set
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import FingerprintSet
from auditor.sources.posts import PostSource

POSTS = [
    "Just finished reading the most amazing book about the history of the ocean and everything living in it!",
    "Hot take: pineapple on pizza is fine and the people who complain about it have never tried it properly",
    "Our city council voted tonight to turn the old railway depot into a public library and community garden",
    "If your code works on the first try you should be suspicious, that's the first rule of programming",
    "Woke up at five to watch the meteor shower and the clouds rolled in at exactly the wrong moment, classic",
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


class _CountedSecrets:
    """Stands in for `secrets` in auditor.keys: distinct bytes at every call, the same in every run."""

    def __init__(self) -> None:
        self.calls = itertools.count()

    def token_bytes(self, size: int) -> bytes:
        return hashlib.shake_256(f"test key {next(self.calls)}".encode()).digest(size)

    def token_hex(self, size: int) -> str:
        return self.token_bytes(size).hex()


@pytest.fixture
def in_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in the test's own folder: a command's default outputs (an audit without --evidence or --json
    writes reports/ where it runs) stay out of the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _keys_the_same_in_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyed set's slots sample shingles through its key: with a fresh random key per run, a test whose
    data sits near the threshold (the demo's near misses do) would pass or fail by chance. Sets made in
    the test process get keys drawn from a counter instead; processes the tests start keep real ones."""
    monkeypatch.setattr(keys, "secrets", _CountedSecrets())


@pytest.fixture
def posts_file(tmp_path: Path) -> Path:
    records = [{"id": f"p{i}", "text": t, "author": f"user{i}"} for i, t in enumerate(POSTS)]
    return write_jsonl(tmp_path / "posts.jsonl", records)


@pytest.fixture
def make_set(tmp_path: Path) -> Callable[..., FingerprintSet]:
    def make(posts: Path, **options: Any) -> FingerprintSet:
        output = tmp_path / "set.fp.parquet"
        build_fingerprint_set([PostSource(posts)], output, Fingerprinter(**options))
        return fingerprint_set.load(output)

    return make


_CHECKOUT_REPORTS = Path(__file__).resolve().parent.parent / "reports"
_reports_before: set[str] = set()


def _reports_now() -> set[str]:
    return {p.name for p in _CHECKOUT_REPORTS.iterdir()} if _CHECKOUT_REPORTS.is_dir() else set()


def pytest_sessionstart(session: pytest.Session) -> None:
    _reports_before.update(_reports_now())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test that audits without --evidence or --json and does not run `in_scratch_folder` writes the
    default reports/ of the checkout: the run fails, naming what it wrote there."""
    written = sorted(_reports_now() - _reports_before)
    if written:
        print(f"\ntests wrote into the checkout's reports/: {', '.join(written)}; run such tests in_scratch_folder")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
