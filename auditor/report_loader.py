"""A finished audit read back from its JSON report (and evidence), so formats re-render it unscanned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from auditor.claims import Claims, ControlComparison
from auditor.errors import InputError
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.files import FileIdentity
from auditor.fingerprint_set import FingerprintSetInfo, InputSummary
from auditor.params import FingerprintParams
from auditor.result import AuditResult, AuditSettings, CorpusFileSummary
from auditor.stats import Rate, TextShare

EVIDENCE_KEY = b"provenance_auditor"


def _rate(data: dict[str, Any]) -> Rate:
    return Rate(int(data["numerator"]), int(data["denominator"]))


def _text_share(data: dict[str, Any] | None) -> TextShare:
    if not data:
        return TextShare()
    sums = data["sums"]
    return TextShare(
        rows=int(data["rows"]),
        text=int(data["characters"]),
        covered=int(data["covered_characters"]),
        text_squared=int(sums["x2"]),
        covered_squared=int(sums["y2"]),
        cross=int(sums["xy"]),
    )


def _claims(data: dict[str, Any]) -> Claims:
    control = data.get("control")
    return Claims(
        headline=_rate(data["headline_posts_found"]),
        nonspecific_posts=tuple(data["nonspecific_posts"]["post_ids"]),
        rows_per_post_limit=int(data["nonspecific_posts"]["rows_per_post_limit"]),
        nonspecific_kept=bool(data["nonspecific_posts"]["kept_in_headline"]),
        control=None
        if control is None
        else ControlComparison(
            tested=control["tested"],
            control=control["control"],
            before=_rate(control["before"]),
            after=_rate(control["after"]),
            p_value=float(control["p_value"]),
            cutoff=control["cutoff"],
        ),
        undated_posts=int(data["undated_posts"]),
        by_month=tuple((item["month"], _rate(item["posts_found"])) for item in data["by_month"]),
        by_author=tuple((item["author"], _rate(item["posts_found"])) for item in data["by_author"]),
        by_domain=tuple((item["domain"], _rate(item["rows_carrying_posts"])) for item in data.get("by_domain", [])),
    )


def result_from_report(report: dict[str, Any], evidence: pa.Table | None, source: str) -> AuditResult:
    """Rebuild the result model from a report of schema 1.1 or later in the 1.x line."""
    version = str(report.get("schema_version", ""))
    major, _, minor = version.partition(".")
    if major != "1" or not minor.isdigit() or int(minor) < 1:
        raise InputError(
            f"{source} has report schema {version or 'none'}; re-render needs 1.1 or later 1.x: rerun the audit."
        )
    try:
        parameters, inputs, counts = report["parameters"], report["inputs"], report["counts"]
        fingerprint_set = inputs["fingerprint_set"]
        info = FingerprintSetInfo(
            params=FingerprintParams.from_dict(parameters["fingerprint"], source),
            min_shingles=int(parameters["min_shingles"]),
            has_text=False,
            inputs=tuple(FileIdentity.from_dict(item) for item in fingerprint_set.get("posts_from", [])),
            counts={"posts_in_set": int(counts["posts_in_set"])}
            | ({"posts_undated": int(u)} if (u := fingerprint_set.get("posts_undated")) is not None else {}),
            skipped={str(k): int(v) for k, v in counts["posts_skipped"].items()},
            tool_version=str(fingerprint_set.get("tool_version", "unknown")),
            sources=tuple(InputSummary.from_dict(item) for item in fingerprint_set.get("sources", [])),
            undated={str(k): int(v) for k, v in fingerprint_set.get("undated", {}).items()},
        )
        sizes = {item["name"]: int(item["size"]) for item in inputs["corpus_files"]}
        hashes = {item["name"]: item.get("sha256") for item in inputs["corpus_files"]}
        files = tuple(
            CorpusFileSummary(
                path=item["name"],
                size=sizes.get(item["name"], 0),
                sha256=hashes.get(item["name"]),
                rows=int(item["rows"]),
                rows_skipped={str(k): int(v) for k, v in item["rows_skipped"].items()},
                rows_matched=int(item["rows_matched"]),
                matches=int(item["matches"]),
                posts_matched=int(item["posts_matched"]),
            )
            for item in report["files"]
        )
        return AuditResult(
            tool_version=str(report["tool"]["version"]),
            fingerprint_file=FileIdentity(
                str(fingerprint_set["name"]), int(fingerprint_set["size"]), fingerprint_set.get("sha256")
            ),
            fingerprint_info=info,
            settings=AuditSettings(
                threshold=float(parameters["threshold"]),
                min_slots=int(parameters["min_matching_slots"]),
                text_column=str(parameters["text_column"]),
                id_column=parameters["id_column"],
                post_sample=parameters.get("sample", {}).get("posts"),
                row_sample=parameters.get("sample", {}).get("rows"),
                sample_seed=int(parameters.get("sample", {}).get("seed", 0)),
            ),
            files=files,
            posts_testable=int(counts["posts_testable"]),
            posts_matched=int(counts["posts_matched"]),
            evidence=evidence if evidence is not None else EVIDENCE_SCHEMA.empty_table(),
            claims=_claims(report["claims"]),
            matches_by_kind={str(k): int(v) for k, v in counts["matches_by_kind"].items()},
            text_share=_text_share(report["rates"].get("corpus_text_from_posts")),
            untestable_examples={
                str(reason): tuple(ids) for reason, ids in report.get("detection_limit", {}).get("examples", {}).items()
            },
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{source}: the report lacks or garbles {error}; rerun the audit to rewrite it.") from None


def load_finished_audit(path: Path) -> AuditResult:
    """From an evidence Parquet file (its manifest holds the report) or a JSON report."""
    if not path.exists():
        raise InputError(f"{path}: no such report or evidence file; check the path.")
    if path.suffix.lower() == ".json":
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(f"{path}: not a readable JSON report ({error}); rerun the audit.") from None
        return result_from_report(report, None, str(path))
    try:
        table = pq.read_table(path)
        manifest = json.loads((pq.ParquetFile(path).metadata.metadata or {})[EVIDENCE_KEY])
    except (pa.ArrowInvalid, OSError, KeyError, ValueError):
        raise InputError(
            f"{path} is neither a JSON report nor an evidence file written by `auditor audit`; give one of those."
        ) from None
    return result_from_report(manifest.get("report", {}), table.replace_schema_metadata(None), str(path))
