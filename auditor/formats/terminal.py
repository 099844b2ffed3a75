"""The terminal summary: a rich renderable built from an AuditResult."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from auditor.result import AuditResult
from auditor.stats import Rate

_TOP_FILES = 10


def _rate(rate: Rate) -> str:
    low, high = rate.interval
    return f"{rate.value:.2%}  (95% CI {low:.2%} to {high:.2%}; {rate.numerator:,} of {rate.denominator:,})"


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in counts.items()) or "none"


def render_terminal(result: AuditResult) -> RenderableType:
    found = result.posts_matched > 0
    verdict = Text(
        f"{result.posts_matched:,} of {result.posts_testable:,} testable posts found in "
        f"{result.rows_matched:,} corpus rows"
        if found
        else "No post of the set was found in the corpus",
        style="bold red" if found else "bold green",
    )
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="dim")
    summary.add_column()
    summary.add_row("Fingerprint set", f"{result.fingerprint_file.name} ({result.posts_in_set:,} posts)")
    summary.add_row("Posts not testable", _reasons(result.posts_skipped))
    summary.add_row("Corpus", f"{len(result.files):,} files, {result.rows_scanned:,} rows scanned")
    summary.add_row("Corpus rows skipped", _reasons(result.rows_skipped))
    summary.add_row("Posts found", _rate(result.post_rate))
    summary.add_row("Rows carrying posts", _rate(result.row_rate))
    summary.add_row("Matches", f"{result.evidence.num_rows:,} (containment >= {result.settings.threshold:.2f})")
    files = Table(title="Matches by corpus file", title_justify="left", show_edge=False)
    files.add_column("file", overflow="fold")
    files.add_column("rows scanned", justify="right")
    files.add_column("rows matched", justify="right")
    files.add_column("posts matched", justify="right")
    ranked = sorted(result.files, key=lambda f: (-f.matches, f.path))
    for summary_row in ranked[:_TOP_FILES]:
        files.add_row(
            summary_row.path,
            f"{summary_row.rows_scanned:,}",
            f"{summary_row.rows_matched:,}",
            f"{summary_row.posts_matched:,}",
        )
    parts: list[RenderableType] = [verdict, summary]
    if result.files:
        parts.append(files)
        if len(ranked) > _TOP_FILES:
            parts.append(Text(f"... and {len(ranked) - _TOP_FILES:,} more files (see the JSON report)", style="dim"))
    return Group(*parts)
