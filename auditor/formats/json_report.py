"""The JSON report: versioned, complete, documented by reports/report.schema.json."""

from __future__ import annotations

import json
from typing import Any

from auditor.claims import Claims
from auditor.gate import GateOutcome
from auditor.result import AuditResult

SCHEMA_VERSION = "1.1"


def report_dict(result: AuditResult) -> dict[str, Any]:
    info = result.fingerprint_info
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "provenance-auditor", "version": result.tool_version},
        "parameters": {
            "fingerprint": info.params.to_dict(),
            "min_shingles": info.min_shingles,
            "threshold": result.settings.threshold,
            "min_matching_slots": result.settings.min_slots,
            "text_column": result.settings.text_column,
            "id_column": result.settings.id_column,
            "sample": {
                "posts": result.settings.post_sample,
                "rows": result.settings.row_sample,
                "seed": result.settings.sample_seed,
            },
        },
        "inputs": {
            "fingerprint_set": {
                **result.fingerprint_file.to_dict(),
                "tool_version": info.tool_version,
                "posts_from": [item.to_dict() for item in info.inputs],
                "sources": [item.to_dict() for item in info.sources],
                "posts_undated": info.counts.get("posts_undated"),
                "undated": info.undated,
            },
            "corpus_files": [
                {"name": f.path, "size": f.size, "rows": f.rows, "sha256": f.sha256} for f in result.files
            ],
        },
        "counts": {
            "posts_in_set": result.posts_in_set,
            "posts_testable": result.posts_testable,
            "posts_skipped": result.posts_skipped,
            "posts_matched": result.posts_matched,
            "corpus_files": len(result.files),
            "corpus_rows_read": result.rows_read,
            "corpus_rows_skipped": result.rows_skipped,
            "corpus_rows_scanned": result.rows_scanned,
            "corpus_rows_matched": result.rows_matched,
            "matches": result.matches,
            "matches_by_kind": result.matches_by_kind,
        },
        "rates": {
            "posts_found": result.post_rate.to_dict(),
            "rows_carrying_posts": result.row_rate.to_dict(),
            "corpus_text_from_posts": result.text_share.to_dict(),
        },
        "detection_limit": {
            "min_shingles": info.min_shingles,
            "shingle_size": info.params.shingle_size,
            "posts_untestable": result.posts_skipped,
            "examples": {reason: list(ids) for reason, ids in result.untestable_examples.items()},
            "statement": detection_statement(result),
        },
        "claims": claims_dict(result.claims),
        "files": [
            {
                "name": f.path,
                "rows": f.rows,
                "rows_skipped": f.rows_skipped,
                "rows_scanned": f.rows_scanned,
                "rows_matched": f.rows_matched,
                "matches": f.matches,
                "posts_matched": f.posts_matched,
            }
            for f in result.files
        ],
    }


def detection_statement(result: AuditResult) -> str:
    """What the absence of a match can and cannot say."""
    info = result.fingerprint_info
    untested = sum(count for reason, count in result.posts_skipped.items() if reason in ("too_short", "no_text"))
    return (
        f"{untested:,} posts of the set could not be tested (no text, or fewer than {info.min_shingles} distinct "
        f"{info.params.shingle_size}-character shingles after normalization); finding none of them says nothing "
        "about whether the corpus carries them."
    )


def claims_dict(claims: Claims) -> dict[str, Any]:
    control = claims.control
    return {
        "headline_posts_found": claims.headline.to_dict(),
        "nonspecific_posts": {
            "count": len(claims.nonspecific_posts),
            "rows_per_post_limit": claims.rows_per_post_limit,
            "kept_in_headline": claims.nonspecific_kept,
            "post_ids": list(claims.nonspecific_posts[:100]),
        },
        "control": None
        if control is None
        else {
            "tested": control.tested,
            "control": control.control,
            "cutoff": control.cutoff,
            "before": control.before.to_dict(),
            "after": control.after.to_dict(),
            "ratio": control.ratio,
            "test": "fisher-exact-one-sided",
            "p_value": control.p_value,
            "statement": control.statement,
        },
        "undated_posts": claims.undated_posts,
        "by_month": [{"month": month, "posts_found": rate.to_dict()} for month, rate in claims.by_month],
        "by_author": [{"author": author, "posts_found": rate.to_dict()} for author, rate in claims.by_author],
        "by_domain": [{"domain": domain, "rows_carrying_posts": rate.to_dict()} for domain, rate in claims.by_domain],
    }


def render_json(result: AuditResult) -> str:
    return json.dumps(report_dict(result), indent=2, sort_keys=False) + "\n"


def gate_dict(outcome: GateOutcome) -> dict[str, Any]:
    """The check's verdict, with each set's full report."""
    limits = outcome.limits
    return {
        "schema_version": SCHEMA_VERSION,
        "passed": outcome.passed,
        "limits": {
            "max_post_rate": limits.max_post_rate,
            "max_row_rate": limits.max_row_rate,
            "max_matches": limits.effective_max_matches,
        },
        "sets": [
            {
                "fingerprint_set": verdict.set_name,
                "passed": verdict.passed,
                "violations": list(verdict.violations),
                "new_matches": verdict.new_evidence.num_rows,
                "accepted_matches": verdict.accepted_matches,
                "new_posts_found": verdict.post_rate.to_dict(),
                "new_rows_carrying_posts": verdict.row_rate.to_dict(),
                "report": report_dict(verdict.result),
            }
            for verdict in outcome.verdicts
        ],
    }
