"""The terminal summary: a rich renderable built from an AuditResult.

Every string from the data (names, paths, ids, texts, reasons) goes in as a `Text` made `printable`: rich
never parses it as markup and the terminal never receives its escape sequences or control characters.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from auditor.claims import upper_first
from auditor.formats.safe import printable
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
from auditor.gate import GateOutcome
from auditor.result import AuditResult

_TOP_FILES = 10


def _plain(value: object, style: str = "") -> Text:
    return Text(printable(value), style=style)


_NOT_FOUND_SHOWN = 10


def render_terminal_text(result: AuditResult, width: int = 120) -> str:
    """The terminal summary as plain text (no colours), for a file or a pipe."""
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(render_terminal(result))
    return console.export_text()


def render_terminal(result: AuditResult) -> RenderableType:
    found = result.posts_matched > 0
    verdict = Text(describe_verdict(result), style="bold red" if found else "bold green")
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="dim")
    summary.add_column()
    row = summary.add_row
    claims = result.claims
    row("Fingerprint set", _plain(f"{result.fingerprint_file.name} ({counted(result.posts_in_set, 'post')})"))
    row("Posts read from", _plain(describe_sources(result.fingerprint_info)))
    untestable, left_out = split_left_out(result.posts_skipped)
    row("Posts not testable", _plain(describe_reasons(untestable)))
    if left_out:
        row("Left out of the set", _plain(describe_reasons(left_out)))
    row("Corpus", _plain(f"{counted(len(result.files), 'file')}, {counted(result.rows_scanned, 'row')} scanned"))
    row("Corpus rows skipped", _plain(describe_reasons(result.rows_skipped)))
    row("Sampling", _plain(describe_sampling(result)))
    row("Posts found", _plain(describe_figure(result.post_rate, result.reading("posts_found"))))
    templated = describe_templated(claims)
    if templated is not None:
        row("Headline (distinctive posts)", _plain(describe_figure(claims.headline, result.reading("posts_found"))))
        row("Templated posts", _plain(templated))
    copies = describe_copies(claims)
    if copies is not None:
        row("Copies", _plain(copies))
    row("Rows carrying posts", _plain(describe_figure(result.row_rate, result.reading("rows_carrying_posts"))))
    row(
        "Corpus text from posts",
        _plain(describe_figure(result.text_share, result.reading("corpus_text_from_posts"))),
    )
    row("Matches", _plain(f"{result.matches:,} ({MATCH_RULE})"))
    row("Dates", _plain(describe_dates(claims, result.posts_testable)))
    if claims.control is not None:
        row(_plain(upper_first(claims.control.tested)), _plain(describe_rate(claims.control.before)))
        row(_plain(f"{upper_first(claims.control.control)} (control)"), _plain(describe_rate(claims.control.after)))
        row("Conclusion", _plain(claims.control.statement))
    row("Not found", _plain(describe_not_found(result, _NOT_FOUND_SHOWN)))
    notes = Text(
        explain_containment(result.fingerprint_info.params.shingle_size, result.settings.threshold)
        + "\n"
        + NORMALIZED_CHARACTERS,
        style="dim",
    )
    files = Table(title="Matches by corpus file", title_justify="left", show_edge=False)
    files.add_column("file", no_wrap=True, overflow="fold")
    files.add_column("rows scanned", justify="right")
    files.add_column("rows matched", justify="right")
    files.add_column("posts matched", justify="right")
    ranked = sorted(result.files, key=lambda f: (-f.matches, f.path))
    for summary_row in ranked[:_TOP_FILES]:
        files.add_row(
            _plain(summary_row.path),
            f"{summary_row.rows_scanned:,}",
            f"{summary_row.rows_matched:,}",
            f"{summary_row.posts_matched:,}",
        )
    parts: list[RenderableType] = [verdict, summary, notes]
    examples = _examples(result)
    if examples is not None:
        parts.append(examples)
    elif result.matches and not result.evidence.num_rows:
        parts.append(
            Text(
                "No examples: this was rendered from a JSON report, which holds no evidence rows; render the "
                "evidence file to see them.",
                style="dim",
            )
        )
    if result.files:
        parts.append(files)
        if len(ranked) > _TOP_FILES:
            parts.append(Text(f"... and {len(ranked) - _TOP_FILES:,} more files (see the JSON report)", style="dim"))
    return Group(*parts)


_EXAMPLES = 3


def _marked(excerpt: dict[str, Any]) -> Text:
    """The excerpt with its shared spans highlighted, each piece made printable on its own (so the
    marks keep their place whatever is removed)."""
    raw, text, cursor = excerpt["text"], Text(), 0
    for start, end in excerpt["marks"]:
        text.append(printable(raw[cursor:start]))
        text.append(printable(raw[start:end]), style="bold black on yellow")
        cursor = max(cursor, end)
    text.append(printable(raw[cursor:]))
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
    rows_per_post = rows_carrying(result, [m["post_id"] for m in chosen])
    table = Table(title="Examples (shared text highlighted)", title_justify="left", show_lines=True)
    table.add_column("post", ratio=1, overflow="fold")
    table.add_column("corpus row", ratio=2, overflow="fold")
    for match in chosen:
        where = match["corpus_id"] or f"{match['corpus_file']}#{match['corpus_row']}"
        post = _plain(match["post_id"], style="bold")
        copies = rows_per_post.get(match["post_id"], 1)
        if copies > 1:
            post.append(f" (copied into {copies:,} rows)", style="")
        about = describe_post(match)
        if about:
            post.append("\n" + printable(about), style="dim")
        if match.get("post_text"):
            post.append("\n" + printable(match["post_text"]), style="")
        kind = f"{match['match_kind'].replace('_', ' ')}, {match['containment']:.2f}"
        corpus = _plain(f"{where} ({kind})", style="bold")
        corpus.append("\n")
        corpus.append_text(_marked(match["corpus_excerpt"]))
        table.add_row(post, corpus)
    return table


def render_gate_terminal(outcome: GateOutcome) -> RenderableType:
    head = Text(
        "Provenance check passed" if outcome.passed else "Provenance check failed",
        style="bold green" if outcome.passed else "bold red",
    )
    table = Table(show_edge=False)
    table.add_column("fingerprint set", no_wrap=True, overflow="fold")
    for column in ("new matches", "accepted", "posts found", "rows carrying", "verdict"):
        table.add_column(column, justify="right")
    for verdict in outcome.verdicts:
        table.add_row(
            _plain(verdict.set_name),
            f"{verdict.new_evidence.num_rows:,}",
            f"{verdict.accepted_matches:,}",
            f"{verdict.post_rate.value:.2%}",
            f"{verdict.row_rate.value:.2%}",
            Text("passed", style="green") if verdict.passed else Text("failed", style="red"),
        )
    violations = [
        _plain(f"{verdict.set_name}: {violation}", style="red")
        for verdict in outcome.verdicts
        for violation in verdict.violations
    ]
    duplicates = [
        _plain(f"{verdict.set_name}: {DUPLICATE_IDS}: {describe_some(verdict.duplicate_corpus_ids, 30)}", "yellow")
        for verdict in outcome.verdicts
        if verdict.duplicate_corpus_ids
    ]
    note = Text("Counts and rates are of new matches; the baseline's are accepted.", style="dim")
    others = [_plain(outcome.baseline_note, "yellow")] if outcome.baseline_note else []
    return Group(head, table, *violations, *duplicates, *others, *_new_matches(outcome), note)


_NEW_MATCHES = 20


def _new_matches(outcome: GateOutcome) -> list[RenderableType]:
    """The first new matches, so a failed check says what to look at without opening a report."""
    total = sum(v.new_evidence.num_rows for v in outcome.verdicts)
    if not total:
        return []
    table = Table(title="New matches", title_justify="left", show_edge=False)
    table.add_column("fingerprint set", no_wrap=True, overflow="fold")
    table.add_column("post", overflow="fold")
    table.add_column("corpus row", no_wrap=True, overflow="fold")
    table.add_column("kind")
    table.add_column("containment", justify="right")
    shown = 0
    for verdict in outcome.verdicts:
        for match in verdict.new_evidence.slice(0, _NEW_MATCHES - shown).to_pylist():
            where = f"{match['corpus_file']}#{match['corpus_row']}"
            if match["corpus_id"] is not None:
                where += f" (id {match['corpus_id']})"
            table.add_row(
                _plain(verdict.set_name),
                _plain(match["post_id"]),
                _plain(where),
                _plain(match["match_kind"].replace("_", " ")),
                f"{match['containment']:.2f}",
            )
            shown += 1
    parts: list[RenderableType] = [table]
    if total > shown:
        parts.append(Text(f"... and {total - shown:,} more new matches (see --format json or --sarif)", style="dim"))
    return parts
