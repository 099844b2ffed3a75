"""The CLI: every command teaches with --help, runs the contract's shapes, and fails in one sentence."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from auditor.cli import app
from tests.conftest import POSTS, write_jsonl, write_parquet

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("in_scratch_folder")


COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
REPORT_SCHEMA = json.loads((ROOT / "reports" / "report.schema.json").read_text(encoding="utf-8"))


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_commands_of_the_contract_exist() -> None:
    assert {"fingerprint", "audit", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_readme_documentation(command: str) -> None:
    code, output = invoke(command, "--help")
    assert code == 0 and "Usage:" in output
    summary = get_command(app).commands[command].help  # type: ignore[attr-defined]
    assert summary and len(summary.split()) > 8, f"{command} needs a help text that teaches"
    assert f"auditor {command}" in README, f"README does not document `auditor {command}`"


def test_fingerprint_then_audit_as_in_the_contract(tmp_path: Path, posts_file: Path) -> None:
    write_parquet(tmp_path / "corpus" / "a.parquet", [{"id": "r1", "text": POSTS[0]}, {"id": "r2", "text": "x"}])
    fp = tmp_path / "twitter.fp"
    code, output = invoke("fingerprint", str(posts_file), "--output", str(fp))
    assert code == 0, output
    assert "5 posts fingerprinted" in output
    evidence, report = tmp_path / "matches.parquet", tmp_path / "report.json"
    code, output = invoke(
        "audit", str(fp), str(tmp_path / "corpus"), "--evidence", str(evidence), "--json", str(report),
        "--markdown", str(tmp_path / "report.md"),
    )  # fmt: skip
    assert code == 0, output
    assert pq.read_table(evidence).column("post_id").to_pylist() == ["p0"]
    data = json.loads(report.read_text())
    jsonschema.validate(data, REPORT_SCHEMA)
    assert data["counts"]["posts_matched"] == 1
    assert "1 of 5 testable posts found" in output
    markdown = (tmp_path / "report.md").read_text()
    assert "**1 of 5 testable posts found in 1 corpus row**" in markdown
    assert "| posts found | 20.00%  (95% CI" in markdown


def test_the_committed_demo_set_is_what_the_demo_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fingerprints/demo.fp.parquet is rebuilt byte for byte by `auditor demo` run from the project's root
    (as fingerprints/README.md says): a change of the set format or of fingerprinting shows here."""
    monkeypatch.chdir(ROOT)  # the set records its input's path relative to the working directory
    code, output = invoke("demo", "--output-dir", str(tmp_path), "-q")
    assert code == 0, output
    assert (tmp_path / "fingerprints" / "demo.fp.parquet").read_bytes() == (
        ROOT / "fingerprints" / "demo.fp.parquet"
    ).read_bytes()


def test_demo_runs_without_arguments(tmp_path: Path) -> None:
    code, output = invoke("demo", "--output-dir", str(tmp_path))
    assert code == 0, output
    report = json.loads((tmp_path / "reports" / "demo.report.json").read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["counts"]["posts_matched"] > 50
    assert (tmp_path / "fingerprints" / "demo.fp.parquet").exists()
    assert "Examples (shared text highlighted)" in output
    assert (tmp_path / "reports" / "demo.evidence.parquet").exists()
    (tmp_path / "a-file").write_text("")
    code, output = invoke("demo", "--output-dir", str(tmp_path / "a-file"))
    assert code == 2 and "--output-dir is a file, not a folder" in one_error_sentence(output)


def one_error_sentence(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    text = " ".join(lines)
    assert text.startswith("error:"), output
    return text


def test_bad_inputs_exit_2_with_one_sentence(tmp_path: Path, posts_file: Path) -> None:
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"id": 1, "text": "fine"}\nnot json\n', encoding="utf-8")
    code, output = invoke("fingerprint", str(bad_jsonl), "-o", str(tmp_path / "x.fp"))
    assert code == 2 and "bad.jsonl line 2" in one_error_sentence(output)
    assert not (tmp_path / "x.fp").exists()  # no half-written set is left behind
    assert not (tmp_path / "x.fp.key").exists()  # nor the key made for it

    fp = tmp_path / "ok.fp"
    code, output = invoke("fingerprint", str(posts_file), "-o", str(fp))
    assert code == 0 and "can be tested" not in output
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"not parquet at all")
    code, output = invoke("audit", str(fp), str(corrupt))
    assert code == 2 and "corrupt.parquet: not a readable Parquet file" in one_error_sentence(output)

    no_text = write_parquet(tmp_path / "notext.parquet", [{"body": "x"}])
    code, output = invoke("audit", str(fp), str(no_text))
    assert code == 2 and "--text-column" in one_error_sentence(output)

    code, output = invoke("audit", str(posts_file), str(no_text))
    sentence = one_error_sentence(output)
    assert code == 2 and "looks like a posts file, not a fingerprint set; fingerprint it first" in sentence


def test_key_mismatch_exits_2(tmp_path: Path, posts_file: Path) -> None:
    key = tmp_path / "key"
    key.write_text("a-secret-key-of-enough-bytes")
    fp = tmp_path / "keyed.fp"
    assert invoke("fingerprint", str(posts_file), "-o", str(fp), "--key-file", str(key), "-q")[0] == 0
    assert not (tmp_path / "keyed.fp.key").exists()  # the key given is used, none made
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    code, output = invoke("audit", str(fp), str(corpus))
    sentence = one_error_sentence(output)
    assert code == 2 and "is keyed, but no key was found beside it at" in sentence and "keyed.fp.key" in sentence
    assert "pass --key-file" in sentence
    other = tmp_path / "other.key"
    other.write_text("another-secret-key-of-enough-bytes")
    code, output = invoke("audit", str(fp), str(corpus), "--key-file", str(other))
    assert code == 2 and "was built with another key than" in one_error_sentence(output)
    code, output = invoke(
        "audit",
        str(fp),
        str(corpus),
        "--key-file",
        str(key),
        "-q",
        "--json",
        str(tmp_path / "r.json"),
        "--evidence",
        str(tmp_path / "e.parquet"),
    )
    assert code == 0, output


def test_usage_errors_exit_2(tmp_path: Path, posts_file: Path) -> None:
    assert invoke("fingerprint")[0] == 2  # missing argument
    code, output = invoke("fingerprint", str(posts_file), "--num-perm", "8", "-o", str(tmp_path / "x.fp"))
    assert code == 2 and "--num-perm must be between 16 and 1024" in one_error_sentence(output)
    fp = tmp_path / "ok.fp"
    code, output = invoke("fingerprint", str(posts_file), "-o", str(fp))
    assert code == 0 and "can be tested" not in output
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    code, output = invoke("audit", str(fp), str(corpus), "--cutoff", "yesterday")
    assert code == 2 and "YYYY-MM-DD" in one_error_sentence(output)


def test_inspect_prints_the_parameters(tmp_path: Path, posts_file: Path) -> None:
    fp = tmp_path / "s.fp"
    invoke("fingerprint", str(posts_file), "-o", str(fp), "-q")
    code, output = invoke("inspect", str(fp))
    assert code == 0 and json.loads(output)["params"]["num_perm"] == 128
    code, verified = invoke("inspect", str(fp), "--verify")
    assert code == 0 and json.loads(verified) == json.loads(output)


def test_version() -> None:
    code, output = invoke("--version")
    assert code == 0 and re.match(r"provenance-auditor \d+\.\d+\.\d+", output)


def test_schema_rejects_a_report_without_its_version() -> None:
    example = json.loads((ROOT / "reports" / "example" / "demo.report.json").read_text())
    jsonschema.validate(example, REPORT_SCHEMA)
    del example["schema_version"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(example, REPORT_SCHEMA)


def test_report_re_renders_a_finished_audit_without_the_corpus(tmp_path: Path) -> None:
    assert invoke("demo", "--output-dir", str(tmp_path), "-q")[0] == 0
    evidence, report = tmp_path / "reports" / "demo.evidence.parquet", tmp_path / "reports" / "demo.report.json"
    for source in (evidence, report):
        code, output = invoke("report", str(source), "--format", "json", "-o", str(tmp_path / "again.json"))
        assert code == 0, output
        assert json.loads((tmp_path / "again.json").read_text()) == json.loads(report.read_text())
    code, output = invoke("report", str(evidence), "--format", "markdown")
    assert code == 0 and "## Provenance audit" in output and "beyond chance" in output
    manifest = json.loads(pq.ParquetFile(evidence).metadata.metadata[b"provenance_auditor"])
    assert manifest["report"]["inputs"]["fingerprint_set"]["sha256"] and manifest["libraries"]["datasketch"]
    code, output = invoke("report", str(ROOT / "README.md"))
    assert code == 2 and "neither a JSON report nor an evidence file" in one_error_sentence(output)


def test_the_evidence_manifest_lists_the_first_posts_not_found_and_is_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A set of millions of posts made a footer of hundreds of megabytes (every post not found, twice: the
    manifest and the Arrow schema's base64 copy of it), which Parquet readers refuse by default. The
    manifest keeps the first MANIFEST_NOT_FOUND_IDS ids and their count; the JSON report lists them all."""
    from auditor.formats import evidence_parquet

    monkeypatch.setattr(evidence_parquet, "MANIFEST_NOT_FOUND_IDS", 10)
    assert invoke("demo", "--output-dir", str(tmp_path), "-q")[0] == 0
    evidence, report = tmp_path / "reports" / "demo.evidence.parquet", tmp_path / "reports" / "demo.report.json"
    every = json.loads(report.read_text())["posts_not_found"]
    assert every["count"] == len(every["post_ids"]) > 10 and "post_ids_omitted" not in every
    footer = pq.ParquetFile(evidence).metadata.metadata
    assert b"provenance_auditor" not in base64.b64decode(footer[b"ARROW:schema"])
    listed = json.loads(footer[b"provenance_auditor"])["report"]["posts_not_found"]
    assert listed == {
        "count": every["count"],
        "post_ids": every["post_ids"][:10],
        "post_ids_omitted": every["count"] - 10,
    }
    code, output = invoke("report", str(evidence), "--format", "json", "-o", str(tmp_path / "again.json"))
    again = json.loads((tmp_path / "again.json").read_text())
    assert code == 0 and again["posts_not_found"] == listed
    jsonschema.validate(again, REPORT_SCHEMA)
    code, output = invoke("report", str(evidence), "--format", "markdown")
    assert code == 0 and f"{every['count']:,} testable posts" in output.replace("\n", " ")


def test_report_names_untestable_posts_and_hashes_the_corpus(tmp_path: Path) -> None:
    posts = write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": "long", "text": POSTS[0]}, {"id": "short", "text": "lol 😂"}, {"id": "long", "text": POSTS[1]}],
    )
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    assert invoke("fingerprint", str(posts), "-o", str(tmp_path / "s.fp"), "-q")[0] == 0
    report = tmp_path / "r.json"
    base = ["audit", str(tmp_path / "s.fp"), str(corpus), "--json", str(report), "--evidence", str(tmp_path / "e.pq")]
    assert invoke(*base, "-q")[0] == 0
    data = json.loads(report.read_text())
    assert data["detection_limit"]["examples"] == {"too_short": ["short"]}
    assert "1 post of the set could not be tested" in data["detection_limit"]["statement"]
    # The repeated id is among the reasons listed, and the statement names it apart: the counts add up.
    assert data["detection_limit"]["posts_untestable"] == {"too_short": 1, "duplicate_id": 1}
    assert (
        "1 more record of the posts files was left out of the set (duplicate id 1)"
        in (data["detection_limit"]["statement"])
    )
    assert data["inputs"]["corpus_files"][0]["sha256"] == hashlib.sha256(corpus.read_bytes()).hexdigest()
    jsonschema.validate(data, REPORT_SCHEMA)
    assert invoke(*base, "-q", "--no-hash-corpus")[0] == 0
    assert json.loads(report.read_text())["inputs"]["corpus_files"][0]["sha256"] is None
    code, output = invoke("report", str(report), "--format", "md")
    assert code == 0 and "## Provenance audit" in output
    # The reports state the untestable posts and the records left out of the set apart, as the JSON does.
    assert "| posts not testable | too short 1 |" in output and "| left out of the set | duplicate id 1 |" in output
    code, output = invoke("report", str(report), "--format", "terminal")
    flat = " ".join(output.split())
    assert code == 0 and "Posts not testable too short 1" in flat and "Left out of the set duplicate id 1" in flat


def test_empty_runs_are_input_errors_naming_the_likely_cause(tmp_path: Path, posts_file: Path) -> None:
    """No testable post, or no corpus row scanned: exit 2 with the cause, never a clean verdict (audit and check)."""
    fp = tmp_path / "ok.fp"
    code, output = invoke("fingerprint", str(posts_file), "-o", str(fp))
    assert code == 0 and "can be tested" not in output
    outputs = ["--json", str(tmp_path / "r.json"), "--evidence", str(tmp_path / "e.parquet"), "-q"]
    null_text = tmp_path / "null.parquet"  # a string column, null in every row: the text is elsewhere
    pq.write_table(pa.table({"text": pa.nulls(3, pa.string()), "content": [POSTS[0]] * 3}), null_text)
    for command in (["audit", str(fp), str(null_text), *outputs], ["check", str(null_text), "--fingerprints", str(fp)]):
        code, output = invoke(*command)
        sentence = one_error_sentence(output)
        assert (
            code == 2
            and "null.parquet was scanned (of 3 rows read: null text 3)" in sentence
            and "--text-column" in sentence
        )
    assert not (tmp_path / "r.json").exists()
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}])
    code, output = invoke("audit", str(fp), str(corpus), "--max-row-chars", "10", *outputs)
    assert code == 2 and "raise it" in one_error_sentence(output) and "--max-row-chars 10" in output
    # A rate at which the one row is kept once in a billion paths (the sample hashes the file's name).
    code, output = invoke("audit", str(fp), str(corpus), "--sample-rows", "1e-9", *outputs)
    assert code == 2 and "--sample-rows" in one_error_sentence(output)
    empty = tmp_path / "empty.parquet"
    pq.write_table(pq.read_table(corpus).slice(0, 0), empty)
    code, output = invoke("audit", str(fp), str(empty), *outputs)
    assert code == 2 and "holds no rows" in one_error_sentence(output)

    short = write_jsonl(tmp_path / "short.jsonl", [{"id": i, "text": "lol ok"} for i in range(5)])
    no_text = write_jsonl(
        tmp_path / "none.jsonl", [{"id": i, "text": "🎉", "body": text} for i, text in enumerate(POSTS)]
    )
    for posts, cause in ((short, "too short to attribute"), (no_text, "--text-field")):
        set_path = tmp_path / f"{posts.stem}.fp"
        code, output = invoke("fingerprint", str(posts), "-o", str(set_path))
        assert code == 0 and "No post of the set can be tested: an audit of it stops" in output.replace("\n", " ")
        for command in (
            ["audit", str(set_path), str(corpus), *outputs],
            ["check", str(corpus), "--fingerprints", str(set_path)],
        ):
            code, output = invoke(*command)
            sentence = one_error_sentence(output)
            assert code == 2 and "none of its 5 posts can be tested" in sentence and cause in sentence, sentence


def test_report_re_renders_a_report_of_schema_1() -> None:
    """Reports written before schema 2.0 (a row-count flag, no sampling readings) still re-render."""
    from auditor.errors import InputError
    from auditor.formats.json_report import report_dict
    from auditor.formats.markdown import render_markdown
    from auditor.report_loader import result_from_report

    report = json.loads((ROOT / "reports" / "example" / "demo.report.json").read_text())
    found = report["claims"]["headline_posts_found"]["numerator"]
    report["schema_version"] = "1.2"
    for key in ("sampling", "posts_not_found", "explanations"):
        del report[key]
    del report["counts"]["posts_testable_in_set"]
    for key in ("templated_posts", "copies", "dates_statement"):
        del report["claims"][key]
    del report["claims"]["control"]["undated_posts_left_out"]
    report["claims"]["nonspecific_posts"] = {"count": 0, "rows_per_post_limit": 20, "kept_in_headline": False,
                                             "post_ids": []}  # fmt: skip
    result = result_from_report(report, None, "old.json")
    assert result.claims.headline.numerator == found > 100 and result.claims.templated.found.denominator == 0
    assert "beyond chance" in render_markdown(result)
    assert report_dict(result)["schema_version"] == "2.0"
    with pytest.raises(InputError, match=r"re-render needs 1\.1 to 2\.x"):
        result_from_report({**report, "schema_version": "3.0"}, None, "new.json")


def test_input_format_choices_are_the_readers() -> None:
    from auditor.cli import InputFormat
    from auditor.sources.exports import FORMATS

    assert tuple(choice.value for choice in InputFormat) == FORMATS


def test_fingerprint_summary_says_how_many_posts_are_undated(tmp_path: Path) -> None:
    records = [
        {"id": 1, "text": POSTS[0], "created_at": "Wed Oct 10 20:19:24 +0000 2018"},
        {"id": 2, "text": POSTS[1], "created_at": "not a date"},
        {"id": 3, "text": POSTS[2], "created_at": 1539202764},
        {"id": 4, "text": POSTS[3]},
    ]
    path = write_jsonl(tmp_path / "p.jsonl", records)
    code, output = invoke("fingerprint", str(path), "-o", str(tmp_path / "s.fp"))
    assert code == 0, output
    assert "2 posts in the set are undated (missing 1, unparseable 1)" in " ".join(output.split())
    assert "(jsonl): 4 records, 4 posts" in output
    created = pq.read_table(tmp_path / "s.fp", columns=["created_at"]).column(0).to_pylist()
    assert created == ["2018-10-10T20:19:24Z", None, "2018-10-10T20:19:24Z", None]


@pytest.mark.usefixtures("in_scratch_folder")  # short relative paths: the terminal lines are not wrapped
def test_counts_of_one_are_singular_in_the_terminal_and_markdown(tmp_path: Path) -> None:
    """A set of one post, a corpus of one file and one row: "1 post", "1 file", "1 row", never "1 posts"."""
    write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "text": POSTS[0]}])
    assert runner.invoke(app, ["fingerprint", "p.jsonl", "-o", "one.fp.parquet", "--public", "-q"]).exit_code == 0
    write_parquet(tmp_path / "c.parquet", [{"text": "unrelated words only " * 5}])
    markdown = tmp_path / "r.md"
    result = runner.invoke(app, ["audit", "one.fp.parquet", "c.parquet", "--markdown", "r.md"])
    assert result.exit_code == 0, result.output
    assert "one.fp.parquet (1 post)" in result.output
    assert "| corpus | 1 file, 1 row scanned |" in markdown.read_text(encoding="utf-8")
    assert not re.search(r"\b1 (posts|files|rows|records)\b", result.output + markdown.read_text(encoding="utf-8"))


def test_one_post_not_found_and_one_row_not_sampled_are_singular(tmp_path: Path) -> None:
    """HTML's posts-not-found note and the sampling statement say "1 testable post was", "1 row not sampled"."""
    posts = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "text": POSTS[0]}, {"id": "b", "text": POSTS[1]}])
    fp = tmp_path / "two.fp.parquet"
    assert runner.invoke(app, ["fingerprint", str(posts), "-o", str(fp), "--public", "-q"]).exit_code == 0
    corpus = write_parquet(tmp_path / "c.parquet", [{"text": POSTS[0]}, {"text": "unrelated words " * 4}])
    html, json_report = tmp_path / "r.html", tmp_path / "r.json"
    found = runner.invoke(app, ["audit", str(fp), str(corpus), "--html", str(html), "--json", str(json_report), "-q"])
    assert found.exit_code == 0 and json.loads(json_report.read_text())["counts"]["posts_matched"] == 1, found.output
    assert "1 testable post was not found." in html.read_text(encoding="utf-8")
    # Rows sampled until exactly one of the two is left out (the sample is seeded).
    for seed in range(50):
        sampled = runner.invoke(
            app,
            ["audit", str(fp), str(corpus), "--sample-rows", "0.5", "--seed", str(seed), "--json",
             str(json_report), "-q"],
        )  # fmt: skip
        report = json.loads(json_report.read_text())
        if report["counts"]["corpus_rows_skipped"].get("not_sampled") == 1:
            assert "(1 row not sampled)" in report["sampling"]["statement"], report["sampling"]
            break
    else:
        pytest.fail(f"no seed left exactly one row out: {sampled.output}")
    one_row = write_parquet(tmp_path / "one.parquet", [{"text": POSTS[0]}])
    unsampled = runner.invoke(app, ["audit", str(fp), str(one_row), "--sample-rows", "0.001", "-q"])
    assert unsampled.exit_code == 2 and "(of 1 row read: not sampled 1)" in unsampled.output, unsampled.output
