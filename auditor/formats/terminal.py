"""The terminal summary: a rich renderable built from an AuditResult."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from auditor.claims import upper_first
from auditor.formats.wording import describe_rate, describe_reasons, describe_share, describe_sources
from auditor.gate import GateOutcome
from auditor.result import AuditResult

_TOP_FILES = 10


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
    summary.add_row("Posts read from", describe_sources(result.fingerprint_info))
    summary.add_row("Posts not testable", describe_reasons(result.posts_skipped))
    summary.add_row("Corpus", f"{len(result.files):,} files, {result.rows_scanned:,} rows scanned")
    summary.add_row("Corpus rows skipped", describe_reasons(result.rows_skipped))
    summary.add_row("Posts found", describe_rate(result.post_rate))
    summary.add_row("Rows carrying posts", describe_rate(result.row_rate))
    summary.add_row("Corpus text from posts", describe_share(result.text_share))
    summary.add_row("Matches", f"{result.matches:,} (containment >= {result.settings.threshold:.2f})")
    claims = result.claims
    if claims.nonspecific_posts:
        kept = "kept in" if claims.nonspecific_kept else "left out of"
        summary.add_row(
            "Non-specific posts",
            f"{len(claims.nonspecific_posts):,} match over {claims.rows_per_post_limit:,} rows each; "
            f"{kept} the headline",
        )
        summary.add_row("Headline", describe_rate(claims.headline))
    if claims.control is not None:
        summary.add_row(upper_first(claims.control.tested), describe_rate(claims.control.before))
        summary.add_row(f"{upper_first(claims.control.control)} (control)", describe_rate(claims.control.after))
        summary.add_row("Conclusion", claims.control.statement)
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
    examples = _examples(result)
    if examples is not None:
        parts.append(examples)
    if result.files:
        parts.append(files)
        if len(ranked) > _TOP_FILES:
            parts.append(Text(f"... and {len(ranked) - _TOP_FILES:,} more files (see the JSON report)", style="dim"))
    return Group(*parts)


_EXAMPLES = 3


def _marked(excerpt: dict[str, Any]) -> Text:
    text = Text(excerpt["text"].replace("\n", " "))
    for start, end in excerpt["marks"]:
        text.stylize("bold black on yellow", start, end)
    return text


def _examples(result: AuditResult) -> Table | None:
    """A few matches side by side, the text shared with the post highlighted; one per corpus file first."""
    rows = [m for m in result.evidence.slice(0, 5_000).to_pylist() if m.get("corpus_excerpt")]
    if not rows:
        return None
    chosen: list[dict[str, Any]] = []
    for match in rows:
        if len(chosen) < _EXAMPLES and all(match["corpus_file"] != c["corpus_file"] for c in chosen):
            chosen.append(match)
    chosen += [m for m in rows if m not in chosen][: _EXAMPLES - len(chosen)]
    table = Table(title="Examples (shared text highlighted)", title_justify="left", show_lines=True)
    table.add_column("post", ratio=1, overflow="fold")
    table.add_column("corpus row", ratio=2, overflow="fold")
    for match in chosen:
        where = match["corpus_id"] or f"{match['corpus_file']}#{match['corpus_row']}"
        post = Text(match["post_id"], style="bold")
        if match.get("post_text"):
            post.append("\n" + match["post_text"], style="")
        corpus = Text(f"{where} ({match['match_kind'].replace('_', ' ')}, {match['containment']:.2f})\n", style="bold")
        corpus.append_text(_marked(match["corpus_excerpt"]))
        table.add_row(post, corpus)
    return table


def render_gate_terminal(outcome: GateOutcome) -> RenderableType:
    head = Text(
        "Provenance check passed" if outcome.passed else "Provenance check failed",
        style="bold green" if outcome.passed else "bold red",
    )
    table = Table(show_edge=False)
    table.add_column("fingerprint set", overflow="fold")
    for column in ("new matches", "accepted", "posts found", "rows carrying", "verdict"):
        table.add_column(column, justify="right")
    for verdict in outcome.verdicts:
        table.add_row(
            verdict.set_name,
            f"{verdict.new_evidence.num_rows:,}",
            f"{verdict.accepted_matches:,}",
            f"{verdict.post_rate.value:.2%}",
            f"{verdict.row_rate.value:.2%}",
            Text("passed", style="green") if verdict.passed else Text("failed", style="red"),
        )
    violations = [
        Text(f"{verdict.set_name}: {violation}", style="red")
        for verdict in outcome.verdicts
        for violation in verdict.violations
    ]
    note = Text("Counts and rates are of new matches; the baseline's are accepted.", style="dim")
    return Group(head, table, *violations, note)
