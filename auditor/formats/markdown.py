"""Markdown: fits a pull-request comment or $GITHUB_STEP_SUMMARY. Reads result models only.

Every string from the data (names, paths, ids, reasons, statements naming files) goes through `_cell`.
"""

from __future__ import annotations

from auditor.formats.safe import markdown_text
from auditor.formats.wording import (
    DUPLICATE_IDS,
    MATCH_RULE,
    NORMALIZED_CHARACTERS,
    counted,
    describe_copies,
    describe_dates,
    describe_figure,
    describe_not_found,
    describe_post,
    describe_rate,
    describe_reasons,
    describe_sampling,
    describe_some,
    describe_sources,
    describe_templated,
    describe_verdict,
    explain_containment,
    rows_carrying,
    split_left_out,
)
from auditor.gate import GateOutcome, SetVerdict
from auditor.result import AuditResult

_EXAMPLES = 10


def _cell(text: object) -> str:
    """Data as inert Markdown: one line, Markdown syntax and HTML escaped (see formats.safe)."""
    return markdown_text(text)


def render_markdown(result: AuditResult) -> str:
    claims = result.claims
    lines = [
        f"## Provenance audit: {_cell(result.fingerprint_file.name)}",
        "",
        f"**{_cell(describe_verdict(result))}** ({MATCH_RULE}).",
        "",
        f"_{describe_sampling(result)}_",  # the tool's own words, no data: not escaped
        "",
        "| measure | value |",
        "|---|---|",
        f"| posts found | {describe_figure(result.post_rate, result.reading('posts_found'))} |",
    ]
    templated = describe_templated(claims, _cell)
    if templated is not None:
        lines += [
            f"| headline (distinctive posts) | {describe_figure(claims.headline, result.reading('posts_found'))} |",
            f"| templated posts | {templated} |",
        ]
    copies = describe_copies(claims, show=_cell)
    if copies is not None:
        lines.append(f"| copies | {copies} |")
    untestable, left_out = split_left_out(result.posts_skipped)
    lines += [
        f"| rows carrying posts | {describe_figure(result.row_rate, result.reading('rows_carrying_posts'))} |",
        f"| corpus text from posts | {describe_figure(result.text_share, result.reading('corpus_text_from_posts'))} |",
        f"| matches | {result.matches:,} |",
        f"| posts read from | {_cell(describe_sources(result.fingerprint_info))} |",
        f"| posts not testable | {_cell(describe_reasons(untestable))} |",
        *([f"| left out of the set | {_cell(describe_reasons(left_out))} |"] if left_out else []),
        f"| corpus | {counted(len(result.files), 'file')}, {counted(result.rows_scanned, 'row')} scanned |",
        f"| corpus rows skipped | {_cell(describe_reasons(result.rows_skipped))} |",
        f"| dates | {describe_dates(claims, result.posts_testable)} |",
    ]
    if claims.control is not None:
        lines += [
            f"| {_cell(claims.control.tested)} | {describe_rate(claims.control.before)} |",
            f"| {_cell(claims.control.control)} (control) | {describe_rate(claims.control.after)} |",
            "",
            f"**{_cell(claims.control.statement)}**",
        ]
    lines += [
        "",
        f"- {explain_containment(result.fingerprint_info.params.shingle_size, result.settings.threshold)}",
        f"- {NORMALIZED_CHARACTERS}",
        f"- {describe_not_found(result, _EXAMPLES, _cell)}",
        "",
    ]
    ranked = sorted(result.files, key=lambda f: (-f.matches, f.path))[:_EXAMPLES]
    if ranked:
        lines += ["| corpus file | rows scanned | rows matched | posts matched |", "|---|---:|---:|---:|"]
        lines += [
            f"| {_cell(f.path)} | {f.rows_scanned:,} | {f.rows_matched:,} | {f.posts_matched:,} |" for f in ranked
        ]
        lines.append("")
    lines += _matches(result)
    return "\n".join(lines)


def _matches(result: AuditResult) -> list[str]:
    """The first matches, with each post's date, author and URL when the set has them."""
    if not result.evidence.num_rows:
        return []
    shown = result.evidence.slice(0, _EXAMPLES).to_pylist()
    copies = rows_carrying(result, [m["post_id"] for m in shown])
    lines = ["| post | date, author, URL | corpus row | kind | containment | rows carrying the post |"]
    lines.append("|---|---|---|---|---:|---:|")
    for match in shown:
        where = match["corpus_id"] or f"{match['corpus_file']}#{match['corpus_row']}"
        lines.append(
            f"| {_cell(match['post_id'])} | {_cell(describe_post(match))} | {_cell(where)} | {match['match_kind']} "
            f"| {match['containment']:.2f} | {copies.get(match['post_id'], 1):,} |"
        )
    if result.evidence.num_rows > _EXAMPLES:
        lines.append(f"\n... and {result.evidence.num_rows - _EXAMPLES:,} more matches (see the evidence file)")
    lines.append("")
    return lines


def _verdict_section(verdict: SetVerdict) -> list[str]:
    status = "passed" if verdict.passed else "failed"
    lines = [
        f"### {_cell(verdict.set_name)}: {status}",
        "",
        f"- new matches: {verdict.new_evidence.num_rows:,}; accepted by the baseline: {verdict.accepted_matches:,}",
        f"- posts found (new matches): {describe_rate(verdict.post_rate)}",
        f"- rows carrying posts (new matches): {describe_rate(verdict.row_rate)}",
        *(f"- **{_cell(violation)}**" for violation in verdict.violations),
        *_duplicates(verdict),
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
        settings, params = verdict.result.settings, verdict.result.fingerprint_info.params
        lines += ["", f"_{explain_containment(params.shingle_size, settings.threshold)}_"]
        lines.append("")
    return lines


def _duplicates(verdict: SetVerdict) -> list[str]:
    ids = verdict.duplicate_corpus_ids
    if not ids:
        return []
    return [f"- {DUPLICATE_IDS}: {describe_some(ids, _EXAMPLES, _cell)}"]


def render_gate_markdown(outcome: GateOutcome) -> str:
    head = "passed" if outcome.passed else "failed"
    lines = [f"## Provenance check {head}", ""]
    for verdict in outcome.verdicts:
        lines += _verdict_section(verdict)
    if outcome.baseline_note:
        lines += [_cell(outcome.baseline_note), ""]
    return "\n".join(lines)
