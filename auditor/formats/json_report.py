"""The JSON report: versioned, complete, documented by reports/report.schema.json."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from auditor.claims import Claims
from auditor.formats.wording import (
    NORMALIZED_CHARACTERS,
    counted,
    describe_copies,
    describe_dates,
    describe_reasons,
    describe_sampling,
    describe_templated,
    explain_containment,
    split_left_out,
)
from auditor.gate import GateOutcome
from auditor.plural import for_count
from auditor.result import EXACT, LOWER_BOUND, AuditResult, CorpusFileSummary, FigureReading
from auditor.stats import Rate

# 2.0: the row-count "non-specific" flag gave way to templated posts (by content) and copies; a rate of
# nothing has null value and interval; sampling says what each figure estimates; posts not found are
# listed; the control's p-value is null when a side is empty. Evidence rows carry the posts' date,
# author and URL.
SCHEMA_VERSION = "2.0"
FIGURES = ("posts_found", "rows_carrying_posts", "corpus_text_from_posts")


@dataclass(frozen=True)
class ArrowStrings:
    """A list of strings kept as an Arrow string array, in a document for `dumps_indented`, which writes it
    as json writes the list (`strings_json`) without making each string a Python object first."""

    values: pa.Array


def report_dict(result: AuditResult, *, arrow_strings: bool = False) -> dict[str, Any]:
    """The report as JSON values; with `arrow_strings`, the ids of the posts not found are `ArrowStrings`
    (for `dumps_indented`: a set of millions of posts lists millions)."""
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
            "max_row_chars": result.settings.max_row_chars,
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
            "corpus_files": [_corpus_file(f) for f in result.files],
        },
        "sampling": {
            **{figure: result.reading(figure).to_dict() for figure in FIGURES},
            "statement": describe_sampling(result),
        },
        "counts": {
            "posts_in_set": result.posts_in_set,
            "posts_testable_in_set": result.posts_testable_in_set,
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
            "posts_found": _stated(result.post_rate.to_dict(), result.reading("posts_found")),
            "rows_carrying_posts": _stated(result.row_rate.to_dict(), result.reading("rows_carrying_posts")),
            "corpus_text_from_posts": _stated(result.text_share.to_dict(), result.reading("corpus_text_from_posts")),
        },
        "detection_limit": {
            "min_shingles": info.min_shingles,
            "shingle_size": info.params.shingle_size,
            "posts_untestable": result.posts_skipped,
            "examples": {reason: list(ids) for reason, ids in result.untestable_examples.items()},
            "statement": detection_statement(result),
        },
        "claims": claims_dict(
            result.claims, result.posts_testable, result.reading("posts_found"), result.reading("rows_carrying_posts")
        ),
        "posts_not_found": _not_found(result, arrow_strings),
        "explanations": {
            "containment": explain_containment(info.params.shingle_size, result.settings.threshold),
            "normalized_characters": NORMALIZED_CHARACTERS,
        },
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


def _corpus_file(summary: CorpusFileSummary) -> dict[str, Any]:
    """A corpus file's identity: name (a path or URL), size, rows, SHA-256, and a remote object's ETag,
    version and last-modified time when the store gave them."""
    item: dict[str, Any] = {"name": summary.path, "size": summary.size, "rows": summary.rows, "sha256": summary.sha256}
    for key in ("etag", "version", "last_modified"):
        value = getattr(summary, key)
        if value is not None:
            item[key] = value
    return item


def detection_statement(result: AuditResult) -> str:
    """What the absence of a match can and cannot say."""
    info = result.fingerprint_info
    untestable, others = split_left_out(result.posts_skipped)
    untested = sum(untestable.values())
    # posts_untestable lists every reason; the records left out before the set was built are said apart,
    # so that the statement's count and that list add up.
    more = sum(others.values())
    left_out = (
        f" {counted(more, 'more record')} of the posts files {for_count(more, 'was', 'were')} left out of the set "
        f"({describe_reasons(others)})."
        if others
        else ""
    )
    return (
        f"{counted(untested, 'post')} of the set could not be tested (no text, or fewer than {info.min_shingles} "
        f"distinct {info.params.shingle_size}-character shingles after normalization); finding none of them says "
        f"nothing about whether the corpus carries them.{left_out}"
    )


def _stated(rate: dict[str, Any], reading: FigureReading) -> dict[str, Any]:
    """A figure's rate as the report states it: a lower bound of the full run (a sampled figure that only
    finds part of what the full run would) has no interval: the sample's interval bounds the sample's
    figure, and would read as an upper bound of the full run's, which nothing bounds from above."""
    return {**rate, "ci95": None} if reading.reading == LOWER_BOUND else rate


def claims_dict(
    claims: Claims,
    testable: int,
    reading: FigureReading = FigureReading(EXACT),
    rows_reading: FigureReading = FigureReading(EXACT),
) -> dict[str, Any]:
    """The claims as the JSON report states them. `reading` is the posts-found figure's: the headline, the
    templated posts, the control's rates and the breakdowns by month and author read as it does (a lower
    bound under a row sample); `rows_reading` the rows-carrying-posts figure's, as the breakdown by domain
    does."""
    control = claims.control
    templated = claims.templated

    def found(rate: Rate) -> dict[str, Any]:
        return _stated(rate.to_dict(), reading)

    return {
        "headline_posts_found": found(claims.headline),
        "templated_posts": {
            "count": templated.found.denominator,
            "found": found(templated.found),
            "example_post_ids": list(templated.examples),
            "example_text": templated.example_text,
            "statement": describe_templated(claims),
        },
        "copies": {
            "posts_in_several_rows": claims.posts_in_several_rows,
            "most_copied": [{"post_id": post, "rows": rows} for post, rows in claims.copies],
            "statement": describe_copies(claims),
        },
        "control": None
        if control is None
        else {
            "tested": control.tested,
            "control": control.control,
            "cutoff": control.cutoff,
            "before": found(control.before),
            "after": found(control.after),
            "ratio": control.ratio,
            "test": "fisher-exact-one-sided",
            "p_value": control.p_value,
            "undated_posts_left_out": control.undated_posts,
            "statement": control.statement,
        },
        "undated_posts": claims.undated_posts,
        "dates_statement": describe_dates(claims, testable),
        "by_month": [{"month": month, "posts_found": found(rate)} for month, rate in claims.by_month],
        "by_author": [{"author": author, "posts_found": found(rate)} for author, rate in claims.by_author],
        "by_domain": [
            {"domain": domain, "rows_carrying_posts": _stated(rate.to_dict(), rows_reading)}
            for domain, rate in claims.by_domain
        ],
    }


def render_json(result: AuditResult) -> str:
    return dumps_indented(report_dict(result, arrow_strings=True)) + "\n"


LONG_LIST = 1_000  # items from which a list of plain values is written on one line
_PLAIN = {str, int, float, bool}
# The ASCII characters json writes as they are in a string, but for the quote: " " to "~" without the
# backslash (it escapes the rest, control characters and DEL, and every character past ASCII).
_AS_THEY_ARE = bytes(range(0x20, 0x7F)).replace(b'"', b"").replace(b"\\", b"")


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`, except that a list of LONG_LIST or more strings or numbers is written
    on one line. The same JSON value; indented output is encoded by json's pure-Python encoder, and a
    set of millions of posts lists millions of ids (the posts not found), which took seconds per million:
    such lists are written by `one_line` in place of a placeholder no text can hold, and `ArrowStrings`
    by `strings_json`."""
    long_lists: list[tuple[list[Any] | ArrowStrings, bool]] = []  # and whether all of the items are strings
    token = uuid.uuid4().hex

    def shortened(node: Any) -> Any:
        if isinstance(node, ArrowStrings):
            if len(node.values) < LONG_LIST or node.values.null_count:  # written as the list would be
                return shortened(node.values.to_pylist())
            long_lists.append((node, True))
            return f"{token}-{len(long_lists) - 1}"
        if isinstance(node, dict):
            return {key: shortened(item) for key, item in node.items()}
        if isinstance(node, list):
            kinds = set(map(type, node)) if len(node) >= LONG_LIST else None
            if kinds is not None and kinds <= _PLAIN:
                long_lists.append((node, kinds == {str}))
                return f"{token}-{len(long_lists) - 1}"
            return [shortened(item) for item in node]
        return node

    text = json.dumps(shortened(value), indent=2)
    for number, (items, strings) in enumerate(long_lists):
        encoded = strings_json(items.values) if isinstance(items, ArrowStrings) else one_line(items, strings)
        text = text.replace(f'"{token}-{number}"', encoded, 1)
    return text


def one_line(items: list[Any], strings: bool | None = None) -> str:
    """`json.dumps(items)`; `strings`: whether every item is a `str` (found out when not given). Strings that
    need no escaping (post ids, as a rule) are joined between quotes directly: json's encoder took about a
    second for the ten million ids of a large set's posts not found."""
    if strings is None:
        strings = bool(items) and set(map(type, items)) == {str}
    if strings and items:
        written = _between_quotes('", "'.join(items), len(items))
        if written is not None:
            return written
    return json.dumps(items)


def strings_json(values: pa.Array) -> str:
    """`json.dumps(values.to_pylist())` for a string array on one line, as `one_line` writes it: Arrow joins
    the strings (in 64-bit offsets, whatever their number), and when none needs escaping (post ids, as a
    rule) that is the list, no string made a Python object first (millions of them, for the posts not
    found of a large set)."""
    if values.null_count or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return one_line(values.to_pylist())
    if len(values) == 0:
        return "[]"
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(values)], type=pa.int64()), values.cast(pa.large_string()))
    written = _between_quotes(pc.binary_join(whole, pa.scalar('", "', type=pa.large_string()))[0].as_py(), len(values))
    return written if written is not None else one_line(values.to_pylist(), True)


def _between_quotes(joined: str, items: int) -> str | None:
    """`joined` (`items` strings joined by '", "') between quotes, when that is what json writes for them;
    None when a string holds a character json escapes: once the characters it writes as they are are
    deleted, more is left than the separators' quotes."""
    if joined.isascii() and len(joined.encode("ascii").translate(None, _AS_THEY_ARE)) == 2 * (items - 1):
        return '["' + joined + '"]'
    return None


def gate_dict(outcome: GateOutcome, *, arrow_strings: bool = False) -> dict[str, Any]:
    """The check's verdict, with each set's full report (`report_dict`'s `arrow_strings` for each)."""
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
                "duplicate_corpus_ids": list(verdict.duplicate_corpus_ids),
                "new_posts_found": verdict.post_rate.to_dict(),
                "new_rows_carrying_posts": verdict.row_rate.to_dict(),
                "report": report_dict(verdict.result, arrow_strings=arrow_strings),
            }
            for verdict in outcome.verdicts
        ],
        # Sets the baseline accepts matches of that this check did not judge: {set name: accepted matches}.
        "baseline_sets_not_checked": dict(outcome.baseline_sets_not_checked),
    }


def _not_found(result: AuditResult, arrow_strings: bool = False) -> dict[str, Any]:
    listed = result.posts_not_found
    omitted = result.not_found_count - len(listed)
    ids = ArrowStrings(listed) if arrow_strings else listed.to_pylist()
    return {"count": result.not_found_count, "post_ids": ids, **({"post_ids_omitted": omitted} if omitted else {})}
