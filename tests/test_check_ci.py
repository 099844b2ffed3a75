"""`auditor check` in CI: settings from `[tool.auditor]` in pyproject.toml (the command line wins),
--exit-zero, the new matches listed in the terminal, and SARIF 2.1.0 for code-scanning dashboards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import load_check_settings
from auditor.errors import InputError
from tests.conftest import POSTS, write_parquet

runner = CliRunner()


@pytest.fixture
def repository(tmp_path: Path, posts_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dataset repository: sets under sets/, the release under data/, run from data/ (a subdirectory)."""
    fp = tmp_path / "sets" / "twitter.fp.parquet"
    assert runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(fp), "-q"]).exit_code == 0
    rows = [{"id": f"r{i}", "text": f"an unrelated row of the release number {i} " * 3} for i in range(20)]
    rows[4] = {"id": "leak", "text": POSTS[0]}
    rows[9] = {"id": "leak2", "text": f"Someone wrote: {POSTS[1]}"}
    write_parquet(tmp_path / "data" / "part-0.parquet", rows)
    monkeypatch.chdir(tmp_path / "data")
    return tmp_path


def check(*args: str) -> Any:
    result = runner.invoke(app, ["check", "part-0.parquet", "--workers", "1", *args])
    assert "Traceback" not in result.output
    return result


def test_settings_from_pyproject_and_the_command_line_wins(repository: Path) -> None:
    pyproject = repository / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "dataset"\n\n[tool.auditor]\nfingerprints = ["sets"]\nmax-matches = 2\n', encoding="utf-8"
    )
    result = check()  # the sets are found relative to pyproject.toml, from data/
    assert result.exit_code == 0, result.output  # 2 matches, max-matches 2
    result = check("--max-matches", "1")
    assert result.exit_code == 1 and "2 new matches, above --max-matches 1" in result.output
    verbose = check("-v")
    assert "[tool.auditor]: fingerprints = " in verbose.stderr and "max-matches = 2" in verbose.stderr
    pyproject.write_text('[tool.auditor]\nfingerprints = "sets"\nbaseline = "accepted.json"\n', encoding="utf-8")
    assert check("--update-baseline").exit_code == 0 and (repository / "accepted.json").exists()
    accepted = check()  # no limit: any new match would fail, and the baseline accepts both
    assert accepted.exit_code == 0 and "Provenance check passed" in accepted.stdout


@pytest.mark.parametrize(
    ("setting", "message"),
    [("max-post-rate = 2", "max-post-rate must be a number between 0 and 1"),
     ("max-matchs = 3", "has no setting 'max-matchs'"),
     ("fingerprints = 3", "fingerprints must be a path or a list of paths"),
     ("max-matches = -1", "max-matches must be a whole number"),
     ("threshold = nan", "threshold must be a number")],
)  # fmt: skip
def test_bad_settings_are_one_sentence(repository: Path, setting: str, message: str) -> None:
    (repository / "pyproject.toml").write_text(f"[tool.auditor]\n{setting}\n", encoding="utf-8")
    result = check()
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "pyproject.toml [tool.auditor]" in lines[0], result.stderr
    assert message in lines[0]
    with pytest.raises(InputError, match=message):
        load_check_settings(repository / "data")


def test_without_a_table_nothing_is_set(repository: Path) -> None:
    (repository / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert load_check_settings(repository / "data").fingerprints == ()


def test_exit_zero_and_the_new_matches_listed(repository: Path) -> None:
    result = check("--fingerprints", "../sets", "--exit-zero")
    assert result.exit_code == 0 and "Provenance check failed" in result.stdout
    listed = " ".join(result.stdout.replace("│", " ").split())
    assert "New matches" in listed
    assert "twitter.fp.parquet p0 part-0.parquet#4 (id leak) whole row 1.00" in listed
    assert "twitter.fp.parquet p1 part-0.parquet#9 (id leak2) whole row 1.00" in listed


# The essentials of SARIF 2.1.0 (OASIS standard, sections 3.11-3.27) that dashboards read.
SARIF_ESSENTIALS = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                    "properties": {"text": {"type": "string"}},
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string", "minLength": 1}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {"uri": {"type": "string", "minLength": 1}},
                                                    }
                                                },
                                            }
                                        },
                                    },
                                },
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_for_code_scanning(repository: Path) -> None:
    out = repository / "check.sarif"
    result = check("--fingerprints", "../sets", "--sarif", str(out))
    assert result.exit_code == 1
    document = json.loads(out.read_text())
    jsonschema.validate(document, SARIF_ESSENTIALS)
    run = document["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for item in run["results"]:
        assert rules[item["ruleIndex"]] == item["ruleId"]  # ruleIndex points at its rule
    matches = [r for r in run["results"] if r["ruleId"] == "PA001"]
    assert {r["properties"]["corpusId"] for r in matches} == {"leak", "leak2"}
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in matches} == {"part-0.parquet"}
    assert all(r["level"] == "error" for r in run["results"])
    assert len({r["partialFingerprints"]["provenanceMatch/v1"] for r in matches}) == 2
    assert [r["message"]["text"] for r in run["results"] if r["ruleId"] == "PA002"] == [
        "twitter.fp.parquet: 2 new matches, above the default limit of 0 (--max-matches)."
    ]
    printed = check("--fingerprints", "../sets", "--format", "sarif")
    assert json.loads(printed.stdout)["runs"][0]["results"] == run["results"]
    assert json.loads(check("--fingerprints", "../sets", "--sarif", "-").stdout) == document
    passed = check("--fingerprints", "../sets", "--max-matches", "5", "--sarif", str(out))
    assert passed.exit_code == 0
    assert {r["level"] for r in json.loads(out.read_text())["runs"][0]["results"]} == {"warning"}
