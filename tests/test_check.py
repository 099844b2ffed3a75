"""`auditor check`, the CI gate: exit 0 pass, 1 findings, 2 errors; baselines; CI-friendly outputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from auditor.baseline import Baseline
from auditor.cli import app
from auditor.errors import UsageError
from auditor.gate import Limits
from tests.conftest import POSTS, write_parquet

runner = CliRunner()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def release(tmp_path: Path, posts_file: Path) -> tuple[Path, Path]:
    sets = tmp_path / "sets"
    assert (
        runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(sets / "twitter.fp.parquet"), "-q"]).exit_code
        == 0
    )
    rows = [{"id": f"r{i}", "text": f"an unrelated row of the release number {i} " * 3} for i in range(20)]
    rows[4] = {"id": "leak", "text": POSTS[0]}
    rows[9] = {"id": "leak2", "text": f"Someone wrote: {POSTS[1]}"}
    return sets, write_parquet(tmp_path / "release" / "part-0.parquet", rows)


def check(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["check", *args, "--workers", "1"], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_any_match_fails_by_default_and_a_clean_release_passes(tmp_path: Path, release: tuple[Path, Path]) -> None:
    sets, corpus = release
    code, output = check(str(corpus), "--fingerprints", str(sets))
    assert code == 1 and "failed" in output and "2 new matches, above the default limit of 0 (--max-matches)" in output
    clean = write_parquet(tmp_path / "clean.parquet", [{"text": "nothing of the platform here at all, really"}])
    code, output = check(str(clean), "--fingerprints", str(sets))
    assert code == 0 and "passed" in output


def test_limits_decide(release: tuple[Path, Path]) -> None:
    sets, corpus = release
    assert check(str(corpus), "--fingerprints", str(sets), "--max-matches", "2")[0] == 0
    assert check(str(corpus), "--fingerprints", str(sets), "--max-post-rate", "0.5")[0] == 0  # 2 of 5 posts
    code, output = check(str(corpus), "--fingerprints", str(sets), "--max-post-rate", "0.3")
    assert code == 1 and "40.00% of posts found, above --max-post-rate 30.00%" in output
    code, output = check(str(corpus), "--fingerprints", str(sets), "--max-row-rate", "0.05")
    assert code == 1 and "rows carry posts" in output


def test_baseline_accepts_known_matches_and_only_new_ones_fail(tmp_path: Path, release: tuple[Path, Path]) -> None:
    sets, corpus = release
    baseline = tmp_path / "accepted.json"
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--update-baseline")
    assert code == 0 and "2 accepted matches" in output
    assert Baseline.read(baseline).accepted == {
        ("twitter.fp.parquet", "p0", "id:leak", sha256(POSTS[0])),
        ("twitter.fp.parquet", "p1", "id:leak2", sha256(f"Someone wrote: {POSTS[1]}")),
    }
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--format", "json")
    assert code == 0
    verdict = json.loads(output)["sets"][0]
    assert verdict["new_matches"] == 0 and verdict["accepted_matches"] == 2  # still counted
    grown = write_parquet(corpus.parent / "part-1.parquet", [{"id": "new", "text": POSTS[2]}])
    code, output = check(str(corpus.parent), "--fingerprints", str(sets), "--baseline", str(baseline))
    assert code == 1 and "1 new match, above" in output and grown.exists()


def test_errors_exit_2(tmp_path: Path, release: tuple[Path, Path]) -> None:
    sets, corpus = release
    assert check(str(corpus), "--fingerprints", str(tmp_path / "nowhere"))[0] == 2
    assert check(str(corpus), "--fingerprints", str(tmp_path / "empty_dir_is_missing"))[0] == 2
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(tmp_path / "absent.json"))
    assert code == 2 and "--update-baseline" in output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert check(str(corpus), "--fingerprints", str(sets), "--baseline", str(bad))[0] == 2
    code, output = check(str(corpus), "--fingerprints", str(sets), "--max-post-rate", "5")
    assert code == 2 and "share between 0 and 1" in output
    assert check(str(corpus), "--fingerprints", str(sets), "--update-baseline")[0] == 2
    with pytest.raises(UsageError):
        Limits(max_matches=-1)


def test_ci_outputs(tmp_path: Path, release: tuple[Path, Path]) -> None:
    sets, corpus = release
    summary, junit = tmp_path / "summary.md", tmp_path / "junit.xml"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    code, output = check(
        str(corpus), "--fingerprints", str(sets), "--junit", str(junit), "--format", "markdown", env=env
    )
    assert code == 1
    assert "## Provenance check failed" in output and "| p0 | leak | whole_row |" in output
    assert "::error title=provenance-auditor::twitter.fp.parquet: 2 new matches" in output
    assert "## Provenance check failed" in summary.read_text()
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("tests") == "1" and suite.get("failures") == "1"
    assert suite.find("testcase/failure") is not None


def test_parameter_mismatch_exits_2(tmp_path: Path, posts_file: Path) -> None:
    key = tmp_path / "platform.key"
    key.write_text("a-secret-key-of-enough-bytes")
    sets = tmp_path / "keyed"
    fp = str(sets / "keyed.fp.parquet")
    assert runner.invoke(app, ["fingerprint", str(posts_file), "-o", fp, "--key-file", str(key), "-q"]).exit_code == 0
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    code, output = check(str(corpus), "--fingerprints", str(sets))
    assert code == 2 and "is keyed, but no key was found beside it" in output
    assert check(str(corpus), "--fingerprints", str(sets), "--key-file", str(key))[0] == 1  # found, with the key


def test_an_accepted_row_id_does_not_accept_new_content(tmp_path: Path, release: tuple[Path, Path]) -> None:
    sets, corpus = release
    baseline = tmp_path / "accepted.json"
    assert check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--update-baseline")[0] == 0
    # A new row carries an accepted post under an accepted row's id: it is new, and the id is reported twice.
    write_parquet(corpus.parent / "part-1.parquet", [{"id": "leak", "text": f"Reposted: {POSTS[0]}"}])
    code, output = check(str(corpus.parent), "--fingerprints", str(sets), "--baseline", str(baseline))
    assert code == 1 and "1 new match, above" in output
    duplicates = "corpus ids naming more than one matched row (told apart by the digest of their text): leak"
    assert duplicates in " ".join(output.split())
    code, output = check(
        str(corpus.parent), "--fingerprints", str(sets), "--baseline", str(baseline), "--format", "json"
    )
    verdict = json.loads(output)["sets"][0]
    assert (
        verdict["new_matches"] == 1 and verdict["accepted_matches"] == 2 and verdict["duplicate_corpus_ids"] == ["leak"]
    )
    code, output = check(
        str(corpus.parent), "--fingerprints", str(sets), "--baseline", str(baseline), "--format", "markdown"
    )
    assert "- corpus ids naming more than one matched row (told apart by the digest of their text): leak" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"format": "provenance-auditor/baseline", "format_version": 1, "accepted": []}, "version 1 baseline"),
        ({"format": "provenance-auditor/baseline", "format_version": True, "accepted": []}, "no valid baseline format"),
        ({"format": "provenance-auditor/baseline", "format_version": 2, "accepted": {}}, "are not a list"),
        (
            {
                "format": "provenance-auditor/baseline",
                "format_version": 2,
                "accepted": [{"fingerprint_set": "a", "post_id": "p", "corpus_row": "id:x", "corpus_row_sha256": 1}],
            },
            "accepted match 1 lacks a field or has one of the wrong type",
        ),
    ],
)
def test_old_and_garbled_baselines_are_refused(
    tmp_path: Path, release: tuple[Path, Path], content: object, message: str
) -> None:
    sets, corpus = release
    baseline = tmp_path / "b.json"
    baseline.write_text(json.dumps(content))
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline))
    assert code == 2 and message in " ".join(output.split()) and "--update-baseline" in output


def test_report_files_never_replace_an_input(tmp_path: Path, release: tuple[Path, Path]) -> None:
    sets, corpus = release
    baseline = tmp_path / "accepted.json"
    assert check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--update-baseline")[0] == 0
    kept = {path: path.read_bytes() for path in (baseline, corpus, sets / "twitter.fp.parquet")}
    for option, path in (("--junit", baseline), ("--sarif", sets / "twitter.fp.parquet"), ("--junit", corpus)):
        code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), option, str(path))
        assert code == 2 and "is also an input; choose another output path" in output, output
    key = sets / "twitter.key"
    kept[key] = key.read_bytes()
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--sarif", str(key))
    assert code == 2 and "is also an input" in output, output  # a key replaced could not be made again
    for report in (str(tmp_path / "junit.xml"), "-"):
        code, output = check(
            str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--update-baseline",
            "--junit", report,
        )  # fmt: skip
        assert code == 2 and "writes the baseline only" in output and not (tmp_path / "junit.xml").exists()
    assert {path: path.read_bytes() for path in kept} == kept


def test_a_baseline_of_a_set_not_checked_is_named(tmp_path: Path, release: tuple[Path, Path]) -> None:
    sets, corpus = release
    baseline = tmp_path / "accepted.json"
    assert check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--update-baseline")[0] == 0
    (sets / "twitter.fp.parquet").rename(sets / "x.fp.parquet")  # renamed since the baseline was written
    (sets / "twitter.key").rename(sets / "x.key")
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline))
    assert code == 1 and "2 new matches" in output
    assert (
        "accepts matches of sets this check did not judge: twitter.fp.parquet (2 matches); they are kept"
        in " ".join(output.split())
    )
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--format", "md")
    assert "did not judge: twitter.fp.parquet" in output
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--format", "json")
    assert json.loads(output)["baseline_sets_not_checked"] == {"twitter.fp.parquet": 2}
    code, output = check(str(corpus), "--fingerprints", str(sets), "--max-matches", "5")
    assert code == 0 and "did not judge" not in output  # no baseline, no note
    # Updating with the renamed set keeps the old name's accepted matches (another set's, for all it knows).
    code, output = check(str(corpus), "--fingerprints", str(sets), "--baseline", str(baseline), "--update-baseline")
    assert code == 0 and "4 accepted matches, 2 of them kept of sets this check did not judge" in output, output
    assert {key[0] for key in Baseline.read(baseline).accepted} == {"twitter.fp.parquet", "x.fp.parquet"}
