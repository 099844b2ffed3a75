"""Markdown: fits a pull-request comment or $GITHUB_STEP_SUMMARY. Reads result models only."""

from __future__ import annotations

from auditor.formats.wording import describe_rate, describe_reasons, describe_share, describe_sources
from auditor.gate import GateOutcome, SetVerdict
from auditor.result import AuditResult

_EXAMPLES = 10


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: AuditResult) -> str:
    lines = [
        f"## Provenance audit: {_cell(result.fingerprint_file.name)}",
        "",
        f"**{result.posts_matched:,} of {result.posts_testable:,} testable posts found in "
        f"{result.rows_matched:,} corpus rows** (containment >= {result.settings.threshold:.2f}).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| posts found | {describe_rate(result.post_rate)} |",
        f"| rows carrying posts | {describe_rate(result.row_rate)} |",
        f"| corpus text from posts | {describe_share(result.text_share)} |",
        f"| matches | {result.matches:,} |",
        f"| posts read from | {_cell(describe_sources(result.fingerprint_info))} |",
        f"| posts not testable | {describe_reasons(result.posts_skipped)} |",
        f"| corpus | {len(result.files):,} files, {result.rows_scanned:,} rows scanned |",
        f"| corpus rows skipped | {describe_reasons(result.rows_skipped)} |",
    ]
    claims = result.claims
    if claims.nonspecific_posts:
        limit, kept = claims.rows_per_post_limit, "with" if claims.nonspecific_kept else "without"
        lines += [
            f"| non-specific posts (over {limit:,} rows each) | {len(claims.nonspecific_posts):,} |",
            f"| headline ({kept} them) | {describe_rate(claims.headline)} |",
        ]
    if claims.control is not None:
        lines += [
            f"| {claims.control.tested} | {describe_rate(claims.control.before)} |",
            f"| {claims.control.control} (control) | {describe_rate(claims.control.after)} |",
            "",
            f"**{claims.control.statement}**",
        ]
    lines.append("")
    ranked = sorted(result.files, key=lambda f: (-f.matches, f.path))[:_EXAMPLES]
    if ranked:
        lines += ["| corpus file | rows scanned | rows matched | posts matched |", "|---|---:|---:|---:|"]
        lines += [
            f"| {_cell(f.path)} | {f.rows_scanned:,} | {f.rows_matched:,} | {f.posts_matched:,} |" for f in ranked
        ]
        lines.append("")
    return "\n".join(lines)


def _verdict_section(verdict: SetVerdict) -> list[str]:
    status = "passed" if verdict.passed else "failed"
    lines = [
        f"### {_cell(verdict.set_name)}: {status}",
        "",
        f"- new matches: {verdict.new_evidence.num_rows:,}; accepted by the baseline: {verdict.accepted_matches:,}",
        f"- posts found (new matches): {describe_rate(verdict.post_rate)}",
        f"- rows carrying posts (new matches): {describe_rate(verdict.row_rate)}",
        *(f"- **{violation}**" for violation in verdict.violations),
        "",
    ]
    if verdict.new_evidence.num_rows:
        lines += ["| post | corpus row | kind | containment |", "|---|---|---|---:|"]
        for match in verdict.new_evidence.slice(0, _EXAMPLES).to_pylist():
            where = match["corpus_id"] or f"{match['corpus_file']}#{match['corpus_row']}"
            lines.append(
                f"| {_cell(match['post_id'])} | {_cell(where)} | {match['match_kind']} | {match['containment']:.2f} |"
            )
        if verdict.new_evidence.num_rows > _EXAMPLES:
            lines.append(f"\n... and {verdict.new_evidence.num_rows - _EXAMPLES:,} more (see the evidence file)")
        lines.append("")
    return lines


def render_gate_markdown(outcome: GateOutcome) -> str:
    head = "passed" if outcome.passed else "failed"
    lines = [f"## Provenance check {head}", ""]
    for verdict in outcome.verdicts:
        lines += _verdict_section(verdict)
    return "\n".join(lines)
