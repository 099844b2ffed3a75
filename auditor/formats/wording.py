"""Phrases every human-readable format shares, so a rate reads the same in a terminal, in Markdown and in
HTML: what was sampled and what each figure says about the full run, the words a reader meets
("containment", "normalized characters"), undated posts, templates and copies.

No phrase states a rate from an empty denominator: a rate of nothing reads "no rate".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from auditor.claims import Claims
from auditor.fingerprint_set import FingerprintSetInfo
from auditor.kernels.containment import FLOOR_SHARE, MIN_FLOOR_SHARE
from auditor.plural import counted as counted  # the formats' counts, from the one definition
from auditor.plural import for_count
from auditor.result import ESTIMATE, EXACT, MANIFEST_NOT_FOUND_IDS, AuditResult, FigureReading
from auditor.sources.skips import SKIP_NO_TEXT, SKIP_TOO_SHORT
from auditor.stats import Rate, TextShare

DUPLICATE_IDS = "corpus ids naming more than one matched row (told apart by the digest of their text)"
NO_RATE = "no rate (nothing to count: 0 of 0)"


MATCH_RULE = "each verified: more than half of the post's characters covered, in whole words, in one stretch of the row"


def explain_containment(shingle_size: int, threshold: float) -> str:
    """One line on "containment", for where the word first appears, and on what a match needs."""
    low, high = min(threshold, MIN_FLOOR_SHARE), min(threshold, FLOOR_SHARE)
    return (
        f"Containment: the share of a post's distinct {shingle_size}-character pieces of normalized text that a "
        "corpus row holds (1.00: all of the post). A match needs a stretch of the row, as long as the post, "
        "whose pieces of the post cover more than half of its normalized characters in whole words, and "
        f"{low:.2f} to {high:.2f} of the post's pieces not shared by many posts of the set (more for longer posts)."
    )


NORMALIZED_CHARACTERS = (
    "Normalized characters: the letters and digits of a text once links, @mentions, HTML entities, accents, "
    "punctuation, emoji and white space are dropped and the rest lowercased; lengths and shares of text count them."
)


def describe_rate(rate: Rate) -> str:
    if not rate.defined:
        return NO_RATE
    low, high = rate.interval
    return f"{rate.value:.2%}  (95% CI {low:.2%} to {high:.2%}; {rate.numerator:,} of {rate.denominator:,})"


def describe_share(share: TextShare) -> str:
    if not share.defined:
        return "no share (the scanned rows hold no normalized characters)"
    low, high = share.interval
    return (
        f"{share.value:.3%}  (95% CI {low:.3%} to {high:.3%}; {share.covered:,} of {share.text:,} normalized "
        "characters)"
    )


def describe_figure(figure: Rate | TextShare, reading: FigureReading, unit: str = "") -> str:
    """A figure as what it says about the full run: a count, an estimate with its interval, or a lower bound."""
    if reading.reading == EXACT:
        return describe_rate(figure) if isinstance(figure, Rate) else describe_share(figure)
    if reading.reading == ESTIMATE:
        text = describe_rate(figure) if isinstance(figure, Rate) else describe_share(figure)
        return text if not figure.defined else f"estimated {text}"
    if reading.bound is None:
        return NO_RATE
    places = ".2%" if isinstance(figure, Rate) else ".3%"
    if isinstance(figure, Rate):
        counted = f"{figure.numerator:,} of {figure.denominator:,} in the sample"
    else:
        counted = f"{figure.covered:,} of {figure.text:,} normalized characters in the sample"
    return f"at least {reading.bound:{places}}  (lower bound; {counted})"


def share(fraction: float) -> str:
    """A fraction as a percentage with the digits it needs: 50%, 2.5%, 0.15%, 99.99%; 0% and 100% only for
    0 and 1 (a sample of 0.1% is not "0%", one of 99.99% not "100%")."""
    percent = fraction * 100
    for digits in range(0, 12):
        text = f"{percent:.{digits}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
        exact_end = text in ("0", "100") and fraction not in (0.0, 1.0)
        if not exact_end and abs(float(text) - percent) <= 0.005 * percent:
            return text + "%"
    return f"{percent:g}%"


def describe_sampling(result: AuditResult) -> str:
    """In words: what was sampled, and what the figures then say about the whole set and the whole corpus."""
    settings = result.settings
    seed = settings.sample_seed
    skipped = result.rows_skipped.get("not_sampled", 0)
    posts = (
        f"a seeded random sample of {result.posts_testable:,} of the set's {result.posts_testable_in_set:,} "
        "testable posts"
    )
    rows = (
        f"a seeded random {share(settings.row_sample or 0)} of the corpus rows ({counted(skipped, 'row')} not sampled)"
    )
    if result.posts_sampled and result.rows_sampled:
        bound = result.reading("posts_found").bound
        at_least = "no bound" if bound is None else f"at least {bound:.2%} (95% confidence)"
        return (
            f"Sampled: {posts} was looked for in {rows}, seed {seed}. Every figure is then a lower bound on the "
            f"full run's: the share of posts found is {at_least}, and so are the shares of rows and of text; "
            "no upper bound follows from these samples."
        )
    if result.posts_sampled:
        return (
            f"Sampled: {posts} (seed {seed}), looked for in every corpus row. The share of posts found, the "
            "headline, the control and the breakdowns estimate the whole set's, within their 95% intervals; "
            "the rows carrying posts and the corpus text from posts count the sampled posts only, so the whole "
            "set's are at least as large."
        )
    if result.rows_sampled:
        return (
            f"Sampled: {rows}, seed {seed}. The share of rows carrying posts and the share of corpus text from "
            "posts estimate the whole corpus's, within their 95% intervals. Posts found in the sampled rows are "
            "a lower bound: a full scan finds every one of them, and may find more (posts whose copies all fell "
            "outside the sample), so the share of posts found, the headline, the control's rates and the "
            "breakdowns are at least the ones shown, and a row sample gives no upper bound for them (the control "
            "still compares its two groups within the same rows)."
        )
    return (
        "Nothing was sampled: every testable post of the set was looked for in every corpus row, so the counts "
        "are exact; the intervals are what the rates say of posts like these (the set as a sample of the "
        "platform's posts), not uncertainty about this run."
    )


def describe_dates(claims: Claims, testable: int) -> str:
    """How many posts have no date, and what leaves them out."""
    has = for_count(claims.undated_posts, "has", "have")
    return (
        f"Undated posts: {claims.undated_posts:,} of the {counted(testable, 'testable post')} {has} no date; the "
        "negative control by date (--cutoff) and the posts found by month leave undated posts out."
    )


def describe_templated(claims: Claims, show: Callable[[str], str] = str) -> str | None:
    """Templated posts: how many, how many found, an example; None when the set has none. `show` renders
    data (ids, texts) for the format."""
    templated = claims.templated
    if not templated.found.denominator:
        return None
    example = ""
    if templated.examples:
        example = f" (for example {templated.examples[0]}"
        example += f': "{templated.example_text}")' if templated.example_text else ")"
    return (
        f"{counted(templated.found.denominator, 'post')} {for_count(templated.found.denominator, 'is', 'are')} "
        "templated: most of their text is shared with other posts of "
        f"the set{example}. {templated.found.numerator:,} of them were found; they are counted apart, out of the "
        "headline, since a template's copy can be written anew."
    )


def describe_copies(claims: Claims, limit: int = 5, show: Callable[[str], str] = str) -> str | None:
    """The posts copied into the most rows; None when no post is in more than one row."""
    if not claims.copies:
        return None
    shown = "; ".join(f"{show(post)} copied into {counted(rows, 'row')}" for post, rows in claims.copies[:limit])
    several = claims.posts_in_several_rows
    return f"{counted(several, 'post')} {for_count(several, 'was', 'were')} found in more than one row: {shown}."


def describe_verdict(result: AuditResult) -> str:
    """The one-line verdict, naming what was sampled."""
    posts = "sampled testable post" if result.posts_sampled else "testable post"
    rows = "sampled corpus row" if result.rows_sampled else "corpus row"
    if result.posts_matched:
        found = f"{result.posts_matched:,} of {counted(result.posts_testable, posts)}"
        return f"{found} found in {counted(result.rows_matched, rows)}"
    where = "the sampled rows of the corpus" if result.rows_sampled else "the corpus"
    which = "sampled post" if result.posts_sampled else "post of the set"
    return f"No {which} was found in {where}"


def rows_carrying(result: AuditResult, post_ids: Sequence[str]) -> dict[str, int]:
    """Distinct corpus rows carrying each of `post_ids` (an evidence row is one (post, row) pair)."""
    if not post_ids or not result.evidence.num_rows:
        return {}
    column = result.evidence.column("post_id")
    chosen = column.filter(pc.is_in(column, value_set=pa.array(list(post_ids), type=pa.string())))
    return {item["values"]: item["counts"] for item in pc.value_counts(chosen).to_pylist()}


def describe_post(match: dict[str, object]) -> str:
    """A matched post's date, author and URL, as far as the set has them ("" when it has none)."""
    parts = [str(match[key]) for key in ("post_created_at", "post_author", "post_url") if match.get(key)]
    return " · ".join(parts)


# Where the posts not found are listed, every rendering saying it alike.
NOT_FOUND_LISTED = (
    f"all of them are listed in the JSON report, and in the evidence file's manifest up to {MANIFEST_NOT_FOUND_IDS:,}"
)


def describe_not_found(result: AuditResult, limit: int, show: Callable[[str], str] = str) -> str:
    """How many testable posts were not found, the first few, and where the rest are listed."""
    count = result.not_found_count
    if count == 0:
        return "Every testable post was found."
    ids = [show(str(post)) for post in result.posts_not_found.slice(0, limit).to_pylist()]
    where = "in the sampled rows" if result.rows_sampled else "in the corpus"
    more = f" and {count - len(ids):,} more" if count > len(ids) else ""
    return f"{count:,} testable posts were not found {where}: {', '.join(ids)}{more} ({NOT_FOUND_LISTED})."


def describe_reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in counts.items()) or "none"


# The reasons a post of the set cannot be tested (the set holds it); the other reasons a posts file's record
# has left it out of the set before it was built (a repeated or missing id, a repost, a bad line).
UNTESTABLE = (SKIP_TOO_SHORT, SKIP_NO_TEXT)


def split_left_out(counts: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """A set's left-out records by reason (`posts_skipped`), split: the posts of the set that cannot be
    tested, and the records left out of the set. Every report states them apart, so the counts add up."""
    untestable = {reason: count for reason, count in counts.items() if reason in UNTESTABLE}
    return untestable, {reason: count for reason, count in counts.items() if reason not in UNTESTABLE}


def describe_some(items: Sequence[str], limit: int, show: Callable[[str], str] = str) -> str:
    """The first `limit` items and how many more there are."""
    shown = ", ".join(show(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def describe_sources(info: FingerprintSetInfo) -> str:
    """Where the set's posts came from: each input's format, posts kept and left out; undated posts."""
    parts = []
    for source in info.sources:
        part = (
            f"{source.name} ({source.format}): {counted(source.posts, 'post')} of {counted(source.records, 'record')}"
        )
        if source.left_out:
            part += f", left out: {describe_reasons(source.left_out)}"
        if source.kept:
            part += f", kept on request: {describe_reasons(source.kept)}"
        parts.append(part)
    text = "; ".join(parts) or "not recorded (a set made before formats were recorded)"
    undated = info.counts.get("posts_undated")
    if undated:
        text += f". Undated: {undated:,} ({describe_reasons(info.undated)}), outside the --cutoff control"
    return text
