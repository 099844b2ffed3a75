"""Samples are seeded, independent of how the corpus is cut, and their intervals hold the full value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.demo import demo_corpus
from auditor.errors import UsageError
from auditor.sampling import RowSample, sample_posts

runner = CliRunner()


def test_post_samples_are_seeded_and_sized() -> None:
    assert np.array_equal(sample_posts(1000, 100, seed=3), sample_posts(1000, 100, seed=3))
    assert not np.array_equal(sample_posts(1000, 100, seed=3), sample_posts(1000, 100, seed=4))
    assert len(sample_posts(1000, 0.25)) == 250 and len(sample_posts(10, 50)) == 10
    for bad in (0, -1, 2.5):
        with pytest.raises(UsageError):
            sample_posts(1000, bad)


def test_row_sample_does_not_depend_on_batches() -> None:
    sample = RowSample(0.3, seed=9)
    whole = sample.mask("corpus/a.parquet", 0, 1000)
    pieces = np.concatenate([sample.mask("corpus/a.parquet", 0, 400), sample.mask("corpus/a.parquet", 400, 600)])
    assert np.array_equal(whole, pieces)
    assert 0.25 < whole.mean() < 0.35
    assert not np.array_equal(whole, sample.mask("corpus/b.parquet", 0, 1000))
    with pytest.raises(UsageError):
        RowSample(0.0)


def audit_demo(folder: Path, *options: str) -> dict:  # type: ignore[type-arg]
    assert runner.invoke(app, ["demo", "--output-dir", str(folder), "-q"]).exit_code == 0
    report = folder / "r.json"
    result = runner.invoke(
        app,
        ["audit", str(folder / "fingerprints" / "demo.fp.parquet"), str(demo_corpus()),
         "--json", str(report), "--evidence", str(folder / "e.parquet"), "-q", "--workers", "1", *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return dict(json.loads(report.read_text()))


def test_sample_estimates_hold_the_full_value(tmp_path: Path) -> None:
    full = audit_demo(tmp_path / "full")
    posts = audit_demo(tmp_path / "posts", "--sample-posts", "120", "--seed", "1")
    rows = audit_demo(tmp_path / "rows", "--sample-rows", "0.5", "--seed", "1")
    low, high = posts["rates"]["posts_found"]["ci95"]
    assert posts["counts"]["posts_testable"] == 120
    assert low <= full["rates"]["posts_found"]["value"] <= high
    low, high = rows["rates"]["rows_carrying_posts"]["ci95"]
    assert low <= full["rates"]["rows_carrying_posts"]["value"] <= high
    skipped = rows["counts"]["corpus_rows_skipped"]["not_sampled"]
    assert rows["counts"]["corpus_rows_scanned"] + skipped == full["counts"]["corpus_rows_scanned"]
    assert rows["parameters"]["sample"] == {"posts": None, "rows": 0.5, "seed": 1}
    # Every match in the row sample is a match of the full run, with the same row numbers and scores.
    sampled = pq.read_table(tmp_path / "rows" / "e.parquet").to_pylist()
    whole = {
        (e["post_id"], e["corpus_file"], e["corpus_row"]): e
        for e in pq.read_table(tmp_path / "full" / "e.parquet").to_pylist()
    }
    assert sampled and all(whole[(e["post_id"], e["corpus_file"], e["corpus_row"])] == e for e in sampled)
