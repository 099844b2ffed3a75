"""Samples are seeded, independent of how the corpus is cut, and their intervals hold the full value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.demo import DEMO_CUTOFF, demo_corpus
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
    assert RowSample(1.0).mask("corpus/a.parquet", 0, 1000).all()  # the largest share allowed (it overflowed)
    just_under = RowSample(1 - 2**-52).mask("corpus/a.parquet", 0, 1000)
    assert just_under.all()
    # The limit is the share of 2**64 (the same integers as before, where they did not overflow).
    assert np.array_equal(sample.mask("corpus/a.parquet", 0, 1000), whole)


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


SEEDS = 200


@pytest.fixture(scope="module")
def demo_scan(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """The demo audited once, in full, with each corpus row's text share terms (x, y) and matched posts."""
    from auditor import fingerprint_set
    from auditor.audit import audit
    from auditor.kernels.normalize import prenormalize
    from auditor.keys import key_for_set
    from auditor.scan import CorpusScanner
    from auditor.sources.corpus import open_corpus

    folder = tmp_path_factory.mktemp("demo")
    assert runner.invoke(app, ["demo", "--output-dir", str(folder), "-q"]).exit_code == 0
    path = folder / "fingerprints" / "demo.fp.parquet"
    key = key_for_set(path, fingerprint_set.read_info(path).params.key_id, None)
    scanner = CorpusScanner(fingerprint_set.load(path), key)
    files = open_corpus([str(demo_corpus())])
    full = audit(scanner, files, hash_corpus=False)
    rows = {}
    evidence = full.evidence.to_pylist()
    for corpus_file in files:
        texts = pq.read_table(corpus_file.path, columns=["text"]).column("text").combine_chunks()
        x = scanner.shingle(prenormalize(texts)).normalized_lengths.astype(np.int64)
        valid = np.asarray(texts.is_valid().to_numpy(zero_copy_only=False))
        y = np.zeros(len(texts), dtype=np.int64)
        posts: list[set[str]] = [set() for _ in range(len(texts))]
        for match in evidence:
            if match["corpus_file"] == corpus_file.name:
                posts[match["corpus_row"]].add(match["post_id"])
        for row in np.flatnonzero([bool(p) for p in posts]):
            y[row] = scanner.scan(texts.slice(int(row), 1)).text_share.covered
        rows[corpus_file.name] = (x, y, valid, posts)
    return {"folder": folder, "full": full, "rows": rows, "files": files, "scanner": scanner}


def simulate_rows(demo: dict, fraction: float, seed: int):  # type: ignore[no-untyped-def,type-arg]
    """What `--sample-rows fraction --seed seed` reports, from the full scan's rows (RowSample's own masks)."""
    from auditor.stats import Rate, TextShare

    sample = RowSample(fraction, seed)
    share, scanned, matched, found = TextShare(), 0, 0, set()
    for name, (x, y, valid, posts) in demo["rows"].items():
        keep = sample.mask(name, 0, len(x)) & valid
        xs, ys = x[keep], y[keep]
        share += TextShare(int(keep.sum()), int(xs.sum()), int(ys.sum()), int((xs * xs).sum()), int((ys * ys).sum()),
                           int((xs * ys).sum()))  # fmt: skip
        scanned += int(keep.sum())
        matched += sum(1 for row in np.flatnonzero(keep) if posts[row])
        found.update(post for row in np.flatnonzero(keep) for post in posts[row])
    return Rate(matched, scanned), share, Rate(len(found), demo["full"].posts_testable)


def test_the_simulation_is_what_a_sampled_audit_reports(demo_scan: dict) -> None:  # type: ignore[type-arg]
    from auditor.audit import audit

    for fraction, seed in ((0.3, 4), (0.6, 17)):
        sampled = audit(
            demo_scan["scanner"], demo_scan["files"], row_sample=RowSample(fraction, seed), hash_corpus=False
        )
        rows, share, posts = simulate_rows(demo_scan, fraction, seed)
        assert (sampled.row_rate, sampled.text_share, sampled.post_rate) == (rows, share, posts)


@pytest.mark.parametrize("fraction", [0.25, 0.5])
def test_row_sample_intervals_cover_the_full_run(demo_scan: dict, fraction: float) -> None:  # type: ignore[type-arg]
    """The rows' and the text's intervals are estimates' intervals; the posts' share is only a lower bound:
    read as an interval (as reports once did), it would almost never hold the full run's value."""
    full = demo_scan["full"]
    row_hits = share_hits = post_hits = 0
    for seed in range(SEEDS):
        rows, share, posts = simulate_rows(demo_scan, fraction, seed)
        low, high = rows.interval
        row_hits += low <= full.row_rate.value <= high
        low, high = share.interval
        share_hits += low <= full.text_share.value <= high
        assert posts.value <= full.post_rate.value  # a lower bound, always
        low, high = posts.interval
        post_hits += low <= full.post_rate.value <= high
    assert row_hits / SEEDS >= 0.93 and share_hits / SEEDS >= 0.93, (row_hits, share_hits)
    assert post_hits / SEEDS < 0.5, post_hits


def test_post_sample_intervals_cover_the_full_run(demo_scan: dict) -> None:  # type: ignore[type-arg]
    from auditor.stats import Rate

    full = demo_scan["full"]
    ids = full.evidence.column("post_id").to_pylist()
    all_ids = demo_scan["scanner"].fingerprints.post_ids.to_pylist()
    found = set(ids)
    for size in (60, 150):
        hits = 0
        for seed in range(SEEDS):
            sample = [all_ids[i] for i in sample_posts(len(all_ids), size, seed)]
            low, high = Rate(sum(post in found for post in sample), len(sample)).interval
            hits += low <= full.post_rate.value <= high
        assert hits / SEEDS >= 0.93, hits


def rendered(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    import io

    from rich.console import Console

    from auditor.formats.html import render_html
    from auditor.formats.json_report import render_json
    from auditor.formats.markdown import render_markdown
    from auditor.formats.terminal import render_terminal

    console = Console(width=3000, record=True, file=io.StringIO())
    console.print(render_terminal(result))
    return {
        "terminal": console.export_text(),
        "markdown": render_markdown(result),
        "html": render_html(result),
        "json": render_json(result),
    }


def test_every_report_says_what_was_sampled_and_what_the_figures_mean(demo_scan: dict) -> None:  # type: ignore[type-arg]
    from auditor import fingerprint_set
    from auditor.audit import audit
    from auditor.scan import CorpusScanner

    scanner, files = demo_scan["scanner"], demo_scan["files"]
    rows = audit(scanner, files, row_sample=RowSample(0.5, 1), hash_corpus=False)
    subset = fingerprint_set.load(scanner.fingerprints.path).subset(sample_posts(300, 120, 1))
    posts = audit(CorpusScanner(subset, scanner.key), files, post_sample=120, seed=1, hash_corpus=False)
    exact, bound, estimate = "exact", "lower_bound", "estimate"
    cases = [
        (demo_scan["full"], "Nothing was sampled", {"posts_found": exact, "rows_carrying_posts": exact}),
        (rows, "a seeded random 50% of the corpus rows", {"posts_found": bound, "rows_carrying_posts": estimate}),
        (posts, "300 testable posts (seed 1)", {"posts_found": estimate, "rows_carrying_posts": bound}),
    ]
    for result, sampled, readings in cases:
        reports = rendered(result)
        sampling = json.loads(reports["json"])["sampling"]
        assert sampled in sampling["statement"]
        assert {figure: sampling[figure]["reading"] for figure in readings} == readings
        assert sampling["corpus_text_from_posts"]["reading"] == readings["rows_carrying_posts"]
        for name in ("terminal", "markdown", "html"):
            assert sampled in reports[name], name
            bound = "lower bound" in reports[name]
            assert bound == ("lower_bound" in readings.values()), name
    sampling = json.loads(rendered(rows)["json"])["sampling"]
    assert sampling["posts_found"]["at_least"] == rows.post_rate.value <= demo_scan["full"].post_rate.value
    # A lower bound has no interval in the JSON (the sample's would read as an upper bound of the full
    # run's figure); an estimate and an exact count keep theirs.
    for result, bounded in ((rows, ("posts_found",)), (posts, ("rows_carrying_posts", "corpus_text_from_posts"))):
        report = json.loads(rendered(result)["json"])
        for figure, rate in report["rates"].items():
            assert (rate["ci95"] is None) == (figure in bounded), figure
            assert rate["value"] is not None, figure
        headline = report["claims"]["headline_posts_found"]
        assert (headline["ci95"] is None) == ("posts_found" in bounded) and headline["value"] is not None
        # The breakdowns read as their figure does: by month and author as posts found, by domain as rows.
        claims = report["claims"]
        assert claims["by_month"] and claims["by_author"] and claims["by_domain"]
        for key, figure, name in (
            ("by_month", "posts_found", "posts_found"),
            ("by_author", "posts_found", "posts_found"),
            ("by_domain", "rows_carrying_posts", "rows_carrying_posts"),
        ):
            stated = [entry[name] for entry in claims[key] if entry[name]["value"] is not None]
            assert stated and all((rate["ci95"] is None) == (figure in bounded) for rate in stated), key
    # The control's rates under a row sample: lower bounds, no interval.
    control = audit(scanner, files, row_sample=RowSample(0.5, 1), hash_corpus=False, cutoff=DEMO_CUTOFF)
    before_after = json.loads(rendered(control)["json"])["claims"]["control"]
    assert before_after["before"]["value"] is not None and before_after["before"]["ci95"] is None
    assert before_after["after"]["ci95"] is None
    full_control = json.loads(rendered(audit(scanner, files, hash_corpus=False, cutoff=DEMO_CUTOFF))["json"])
    assert full_control["claims"]["control"]["before"]["ci95"] is not None
    assert f"at least {rows.post_rate.value:.2%}" in rendered(rows)["markdown"]  # the sample follows the path


def test_reports_explain_their_words_and_list_the_posts_not_found(
    demo_scan: dict,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from auditor.formats import html

    full = demo_scan["full"]
    monkeypatch.setattr(html, "NOT_FOUND_SHOWN", 5)
    reports = rendered(full)
    for name in ("terminal", "markdown", "html"):
        assert "Containment: the share of a post's distinct 12-character pieces" in reports[name].replace("&#x27;", "'")
        assert "Normalized characters: the letters and digits" in reports[name]
        assert "Undated posts: 0 of the 300 testable posts have no date" in reports[name]
    missing = full.posts_not_found.to_pylist()
    assert len(missing) == 300 - full.posts_matched and not set(missing) & set(
        full.evidence.column("post_id").to_pylist()
    )
    data = json.loads(reports["json"])
    assert data["posts_not_found"]["post_ids"] == missing and data["claims"]["undated_posts"] == 0
    assert f"{len(missing)} testable posts were not found. The first 5 are listed" in reports["html"]
    assert f'<p id="not-found">{", ".join(missing[:5])}</p>' in reports["html"]


def test_a_sampled_share_is_written_with_the_digits_it_needs() -> None:
    """A row sample of 0.1% is not described as 0% (nor 2.5% as 3%)."""
    from auditor.formats.wording import share

    fractions = (0.5, 0.025, 0.001, 0.0015, 1e-9, 0.9999, 1.0, 0.0)
    assert [share(f) for f in fractions] == ["50%", "2.5%", "0.1%", "0.15%", "0.0000001%", "99.99%", "100%", "0%"]


def test_a_count_of_one_takes_the_singular() -> None:
    from auditor.formats.wording import counted

    assert [counted(n, "post") for n in (0, 1, 2, 1_000)] == ["0 posts", "1 post", "2 posts", "1,000 posts"]
