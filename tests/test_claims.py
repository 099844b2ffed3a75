"""Claims: the negative control, non-specific posts, breakdowns and the statistics behind them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from auditor.claims import assess, fisher_greater, parse_cutoff
from auditor.errors import UsageError
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.stats import Rate
from tests.conftest import write_jsonl


def evidence_of(pairs: list[tuple[str, int]]) -> pa.Table:
    rows = [
        {"post_id": p, "corpus_file": "c.parquet", "corpus_row": r, "corpus_id": None, "match_kind": "whole_row",
         "containment": 1.0, "matched_slots": 128, "specific_containment": 1.0, "jaccard": 1.0,
         "exact_containment": None, "post_shingles": 50, "row_shingles": 50, "row_length": 60}
        for p, r in pairs
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=EVIDENCE_SCHEMA)


def test_fisher_exact_matches_known_values() -> None:
    # Values from scipy.stats.fisher_exact(..., alternative="greater").
    assert fisher_greater(8, 2, 1, 5) == pytest.approx(0.024475524475524483)
    assert fisher_greater(3, 1, 1, 3) == pytest.approx(0.24285714285714283)
    assert fisher_greater(0, 10, 0, 10) == 1.0


def test_wilson_interval_is_exact_at_the_ends() -> None:
    assert Rate(0, 111).interval[0] == 0.0
    assert Rate(5, 5).interval[1] == 1.0
    low, high = Rate(120, 300).interval
    assert low == pytest.approx(0.34617, abs=1e-4) and high == pytest.approx(0.45636, abs=1e-4)


def test_control_separates_carried_posts_from_chance() -> None:
    ids = pa.array([f"p{i}" for i in range(40)])
    created = pa.array([("2023-05-01" if i < 20 else "2025-01-01") for i in range(40)])
    authors = pa.array([f"a{i % 3}" for i in range(40)])
    carried = assess(evidence_of([(f"p{i}", i) for i in range(12)]), ids, created, authors, cutoff="2024-06-30")
    assert carried.control is not None
    assert (carried.control.before.numerator, carried.control.before.denominator) == (12, 20)
    assert carried.control.after.numerator == 0 and carried.control.p_value < 0.001
    assert "beyond chance" in carried.control.statement
    chance = assess(evidence_of([("p1", 0), ("p30", 1)]), ids, created, authors, cutoff="2024-06-30")
    assert chance.control is not None and chance.control.p_value > 0.05
    assert "do not support" in chance.control.statement
    assert [month for month, _ in carried.by_month] == ["2023-05", "2025-01"]
    assert carried.by_month[0][1].numerator == 12
    assert carried.by_author[0][1].numerator == 4


def test_posts_matching_unusually_many_rows_leave_the_headline() -> None:
    ids = pa.array(["generic", "a", "b", "c"])
    nulls = pa.nulls(4, pa.string())
    pairs = [("generic", r) for r in range(30)] + [("a", 100), ("b", 101)]
    claims = assess(evidence_of(pairs), ids, nulls, nulls)
    assert claims.nonspecific_posts == ("generic",) and claims.rows_per_post_limit == 20
    assert (claims.headline.numerator, claims.headline.denominator) == (2, 3)
    kept = assess(evidence_of(pairs), ids, nulls, nulls, keep_nonspecific=True)
    assert (kept.headline.numerator, kept.headline.denominator) == (3, 4)
    assert claims.undated_posts == 4 and claims.control is None


def test_cutoff_must_be_a_date() -> None:
    assert parse_cutoff("2024-01-31") == "2024-01-31"
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        parse_cutoff("last year")


def test_an_explicit_control_set(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app
    from auditor.demo import DEMO_CUTOFF, demo_corpus, demo_posts

    posts = [json.loads(line) for line in demo_posts().read_text(encoding="utf-8").splitlines()]
    early = write_jsonl(tmp_path / "early.jsonl", [p for p in posts if p["created_at"] <= DEMO_CUTOFF])
    late = write_jsonl(tmp_path / "late.jsonl", [p for p in posts if p["created_at"] > DEMO_CUTOFF])
    runner = CliRunner()
    for name in ("early", "late"):
        source = early if name == "early" else late
        assert runner.invoke(app, ["fingerprint", str(source), "-o", str(tmp_path / f"{name}.fp"), "-q"]).exit_code == 0
    report = tmp_path / "r.json"
    arguments = ["audit", str(tmp_path / "early.fp"), str(demo_corpus()), "--json", str(report),
                 "--evidence", str(tmp_path / "e.parquet"), "-q", "--workers", "1"]  # fmt: skip
    result = runner.invoke(app, [*arguments, "--control", str(tmp_path / "late.fp")])
    assert result.exit_code == 0, result.output
    control = json.loads(report.read_text())["claims"]["control"]
    assert control["control"] == "posts of the control set late.fp" and control["cutoff"] is None
    assert control["after"]["numerator"] == 0 and "beyond chance" in control["statement"]
    both = runner.invoke(app, [*arguments, "--control", str(tmp_path / "late.fp"), "--cutoff", DEMO_CUTOFF])
    assert both.exit_code == 2 and "not both" in both.output


def test_text_share_interval_is_the_ratio_estimator() -> None:
    from auditor.stats import TextShare

    x = np.array([100, 200, 50, 400, 120], dtype=np.int64)
    y = np.array([40, 90, 50, 150, 60], dtype=np.int64)
    share = TextShare(5, int(x.sum()), int(y.sum()), int((x * x).sum()), int((y * y).sum()), int((x * y).sum()))
    r = y.sum() / x.sum()
    half = 1.959963984540054 * np.sqrt(((y - r * x) ** 2).sum() / 4 / 5) / x.mean()
    assert share.value == pytest.approx(r)
    assert share.interval == pytest.approx((r - half, r + half))
    assert (share + share).rows == 10


def test_text_share_of_a_corpus(tmp_path: Path) -> None:
    from auditor import fingerprint_set
    from auditor.audit import audit
    from auditor.build import build_fingerprint_set
    from auditor.fingerprint import Fingerprinter
    from auditor.scan import CorpusScanner
    from auditor.sources.corpus import open_corpus
    from auditor.sources.posts import PostSource
    from tests.conftest import POSTS, write_parquet

    posts = write_jsonl(tmp_path / "p.jsonl", [{"id": i, "text": t} for i, t in enumerate(POSTS)])
    build_fingerprint_set([PostSource(posts)], tmp_path / "s.fp", Fingerprinter())
    scanner = CorpusScanner(fingerprint_set.load(tmp_path / "s.fp"))
    copy = write_parquet(tmp_path / "copy.parquet", [{"text": POSTS[0]}])
    assert audit(scanner, open_corpus([str(copy)])).text_share.value > 0.9
    half = write_parquet(tmp_path / "half.parquet", [{"text": POSTS[1] + " " + "unrelated words here " * 5}])
    share = audit(CorpusScanner(fingerprint_set.load(tmp_path / "s.fp")), open_corpus([str(half)])).text_share
    assert 0.35 < share.value < 0.65 and share.covered <= share.text
