"""A finished audit read back from its JSON report (and evidence), so formats re-render it unscanned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from auditor.claims import Claims, ControlComparison, TemplatedPosts
from auditor.errors import InputError
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.files import FileIdentity
from auditor.fingerprint_set import FORMAT as SET_FORMAT
from auditor.fingerprint_set import FingerprintSetInfo, InputSummary
from auditor.formats.safe import printable
from auditor.params import FingerprintParams
from auditor.result import AuditResult, AuditSettings, CorpusFileSummary
from auditor.stats import Rate, TextShare

EVIDENCE_KEY = b"provenance_auditor"
MANIFEST_LIMIT = 2**31 - 1  # bytes of a Parquet metadata string the loader accepts


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
    """Claims of a report; reports of schema 1.x (a row-count flag instead of templates) give none of the
    templates and copies, which they did not record."""
    control = data.get("control")
    templated = data.get("templated_posts")
    copies = data.get("copies") or {}
    return Claims(
        headline=_rate(data["headline_posts_found"]),
        templated=TemplatedPosts(Rate(0, 0))
        if templated is None
        else TemplatedPosts(
            _rate(templated["found"]), tuple(templated["example_post_ids"]), templated.get("example_text")
        ),
        copies=tuple((item["post_id"], int(item["rows"])) for item in copies.get("most_copied", [])),
        posts_in_several_rows=int(copies.get("posts_in_several_rows", 0)),
        control=None
        if control is None
        else ControlComparison(
            tested=control["tested"],
            control=control["control"],
            before=_rate(control["before"]),
            after=_rate(control["after"]),
            p_value=None if control["p_value"] is None else float(control["p_value"]),
            cutoff=control["cutoff"],
            undated_posts=int(control.get("undated_posts_left_out", 0)),
        ),
        undated_posts=int(data["undated_posts"]),
        by_month=tuple((item["month"], _rate(item["posts_found"])) for item in data["by_month"]),
        by_author=tuple((item["author"], _rate(item["posts_found"])) for item in data["by_author"]),
        by_domain=tuple((item["domain"], _rate(item["rows_carrying_posts"])) for item in data.get("by_domain", [])),
    )


def _file_summary(item: dict[str, Any], identity: dict[str, Any]) -> CorpusFileSummary:
    """A corpus file's counts (from `files`) with its identity (from `inputs.corpus_files`)."""
    return CorpusFileSummary(
        path=item["name"],
        size=int(identity.get("size", 0)),
        sha256=identity.get("sha256"),
        etag=identity.get("etag"),
        version=identity.get("version"),
        last_modified=identity.get("last_modified"),
        rows=int(item["rows"]),
        rows_skipped={str(k): int(v) for k, v in item["rows_skipped"].items()},
        rows_matched=int(item["rows_matched"]),
        matches=int(item["matches"]),
        posts_matched=int(item["posts_matched"]),
    )


def result_from_report(report: dict[str, Any], evidence: pa.Table | None, source: str) -> AuditResult:
    """Rebuild the result model from a report of schema 1.1 or later, up to the 2.x line."""
    version = str(report.get("schema_version", ""))
    major, _, minor = version.partition(".")
    if major not in ("1", "2") or not minor.isdigit() or (major == "1" and int(minor) < 1):
        raise InputError(
            f"{source} has report schema {version or 'none'}; re-render needs 1.1 to 2.x: rerun the audit."
        )
    try:
        parameters, inputs, counts = report["parameters"], report["inputs"], report["counts"]
        fingerprint_set = inputs["fingerprint_set"]
        info = FingerprintSetInfo(
            params=FingerprintParams.from_dict(parameters["fingerprint"], source),
            min_shingles=int(parameters["min_shingles"]),
            has_text=False,
            inputs=tuple(FileIdentity.from_dict(item) for item in fingerprint_set.get("posts_from", [])),
            counts={
                "posts_in_set": int(counts["posts_in_set"]),
                "posts_fingerprinted": int(counts.get("posts_testable_in_set", counts["posts_testable"])),
            }
            | ({"posts_undated": int(u)} if (u := fingerprint_set.get("posts_undated")) is not None else {}),
            skipped={str(k): int(v) for k, v in counts["posts_skipped"].items()},
            tool_version=str(fingerprint_set.get("tool_version", "unknown")),
            sources=tuple(InputSummary.from_dict(item) for item in fingerprint_set.get("sources", [])),
            undated={str(k): int(v) for k, v in fingerprint_set.get("undated", {}).items()},
        )
        identities = {item["name"]: item for item in inputs["corpus_files"]}
        files = tuple(_file_summary(item, identities.get(item["name"], {})) for item in report["files"])
        not_found = report.get("posts_not_found", {})
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
                max_row_chars=parameters.get("max_row_chars"),
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
            posts_not_found=pa.array([str(post) for post in not_found.get("post_ids", [])], type=pa.string()),
            posts_not_found_count=int(not_found["count"]) if not_found.get("post_ids_omitted") else None,
        )
    except KeyError as error:
        raise InputError(
            f"{source}: the report lacks the field {printable(error)}; rerun the audit to rewrite it."
        ) from None
    except (TypeError, ValueError, AttributeError, IndexError, OverflowError) as error:
        raise InputError(
            f"{source}: the report holds a value of the wrong type ({printable(error)}); rerun the audit to rewrite it."
        ) from None


def load_finished_audit(path: Path) -> AuditResult:
    """From an evidence Parquet file (its manifest holds the report) or a JSON report.

    Whatever the file holds, the answer is an AuditResult or an InputError naming the file and what to
    give instead: a fingerprint set, a posts file, a JSON document that is not a report, a damaged file.
    """
    if not path.exists():
        raise InputError(f"{path}: no such report or evidence file; check the path.")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give an evidence file or a JSON report written by `auditor audit`.")
    if path.suffix.lower() == ".json":
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:
            raise InputError(f"{path}: not a readable JSON report ({printable(error)}); rerun the audit.") from None
        if not isinstance(report, dict):
            raise InputError(
                f"{path} holds a JSON {type(report).__name__}, not a report; give a JSON report or an evidence "
                "file written by `auditor audit`."
            )
        return result_from_report(report, None, str(path))
    neither = InputError(
        f"{path} is neither a JSON report nor an evidence file written by `auditor audit`; give one of those."
    )
    try:
        # Manifests written before the list of posts not found was capped may pass Parquet's default limit on
        # metadata strings.
        parquet = pq.ParquetFile(path, thrift_string_size_limit=MANIFEST_LIMIT)
        raw = (parquet.metadata.metadata or {})[EVIDENCE_KEY]
        manifest = json.loads(raw)
    except (pa.ArrowException, OSError, KeyError, ValueError, RecursionError):
        raise neither from None
    if not isinstance(manifest, dict):
        raise neither
    if manifest.get("format") == SET_FORMAT:
        raise InputError(
            f"{path} is a fingerprint set, not a finished audit; audit a corpus with it first "
            "(`auditor audit SET CORPUS`), then re-render the evidence or JSON report that writes."
        )
    report = manifest.get("report")
    if not isinstance(report, dict):
        raise neither
    try:
        table = parquet.read()
    except (pa.ArrowException, OSError) as error:
        raise InputError(
            f"{path}: the evidence cannot be read ({printable(error)}); re-render the JSON report or rerun the audit."
        ) from None
    return result_from_report(report, _evidence_columns(table, path), str(path))


def _evidence_columns(table: pa.Table, path: Path) -> pa.Table:
    """The evidence columns the formats read, each of the type they expect, in schema order. A column that
    may hold nulls and that an older evidence file lacks is read as all nulls; any other gap is an error."""
    columns = []
    for column in EVIDENCE_SCHEMA:
        if column.name in table.column_names and table.schema.field(column.name).type == column.type:
            columns.append(table.column(column.name))
        elif column.name not in table.column_names and column.nullable:
            columns.append(pa.nulls(table.num_rows, column.type))
        else:
            raise InputError(
                f"{path}: its evidence lacks the column {column.name} ({column.type}); rerun the audit to rewrite it."
            )
    return pa.Table.from_arrays(columns, schema=EVIDENCE_SCHEMA)
