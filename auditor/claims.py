"""What an audit lets a reader conclude: the headline rate without non-specific posts, a negative control
from posts published after the corpus was collected, and breakdowns by month and author. Pure."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor.dates import valid_calendar_date
from auditor.errors import UsageError
from auditor.stats import Rate

# A post matching more distinct rows than this many times the median matched post, and at least
# MIN_ROWS_FOR_FLAG rows, is non-specific: templated or generic text that proves little.
FLAG_FACTOR = 10
MIN_ROWS_FOR_FLAG = 20
SIGNIFICANCE = 0.05
TOP_AUTHORS = 10
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def parse_cutoff(text: str) -> str:
    if not _DATE.match(text):
        raise UsageError(f"--cutoff takes a date as YYYY-MM-DD, got {text!r}.")
    if not valid_calendar_date(text):
        raise UsageError(f"--cutoff {text} is no calendar date; give a real day as YYYY-MM-DD.")
    return text


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact test of the table [[a, b], [c, d]]: P(first row's share >= observed)."""
    total, matched, first = a + b + c + d, a + c, a + b
    if total == 0 or matched == 0 or first == 0:
        return 1.0
    lgamma = np.vectorize(math.lgamma)

    def log_choose(n: float, r: np.ndarray) -> np.ndarray:
        result: np.ndarray = lgamma(n + 1) - lgamma(r + 1) - lgamma(n - r + 1)
        return result

    k = np.arange(a, min(matched, first) + 1, dtype=np.float64)
    log_terms = (
        log_choose(matched, k)
        + log_choose(total - matched, first - k)
        - log_choose(total, np.array([first], dtype=np.float64))
    )
    return float(min(1.0, np.exp(log_terms).sum()))


@dataclass(frozen=True)
class ControlComparison:
    """The rate of the tested posts against the rate of control posts, which cannot be in the corpus
    (published after its collection, or an explicit control set): the control's rate is chance."""

    tested: str  # who the tested posts are, e.g. "posts published up to 2025-06-30"
    control: str  # who the control posts are, e.g. "posts published after it"
    before: Rate  # the tested posts
    after: Rate  # the control posts
    p_value: float  # one-sided Fisher exact: the tested rate exceeds the control rate
    cutoff: str | None = None

    @property
    def ratio(self) -> float | None:
        return self.before.value / self.after.value if self.after.value > 0 else None

    @property
    def statement(self) -> str:
        if self.before.denominator == 0 or self.after.denominator == 0:
            missing = self.tested if self.before.denominator == 0 else self.control
            return f"There are no testable {missing}, so the control cannot be compared."
        before, after, p = self.before.value, self.after.value, f"p = {self.p_value:.2g}"
        tested = upper_first(self.tested)
        if self.p_value < SIGNIFICANCE and before > after:
            if self.ratio is None:
                found = f"{before:.1%} of {self.tested} are found and none of the {self.control}"
            else:
                found = (
                    f"{tested} are found {self.ratio:.1f} times as often as {self.control} "
                    f"({before:.1%} against {after:.1%})"
                )
            return f"{found} ({p}): the corpus carries these posts beyond chance."
        return (
            f"{tested} are not found significantly more often than {self.control} "
            f"({before:.1%} against {after:.1%}, {p}): the data do not support the claim that the corpus "
            "carries them."
        )


def compare(
    tested: Rate, control: Rate, tested_label: str, control_label: str, cutoff: str | None = None
) -> ControlComparison:
    a, n1, c, n2 = tested.numerator, tested.denominator, control.numerator, control.denominator
    return ControlComparison(tested_label, control_label, tested, control, fisher_greater(a, n1 - a, c, n2 - c), cutoff)


@dataclass(frozen=True)
class Claims:
    headline: Rate  # posts found, non-specific posts left out unless kept
    nonspecific_posts: tuple[str, ...]
    rows_per_post_limit: int
    nonspecific_kept: bool
    control: ControlComparison | None
    undated_posts: int
    by_month: tuple[tuple[str, Rate], ...]
    by_author: tuple[tuple[str, Rate], ...]
    by_domain: tuple[tuple[str, Rate], ...] = ()  # rows carrying posts by source domain, most first


TOP_DOMAINS = 20


def domains_of(urls: pa.Array) -> pa.Array:
    """The host of each URL, lowercased, without a leading "www."; null where there is none."""
    hosts = pc.extract_regex(pc.utf8_lower(urls), pattern=r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?(?P<host>[^/:?#\s]+)")
    return pc.struct_field(hosts, "host")


def domain_rates(rows: dict[str, int], matched: dict[str, int]) -> tuple[tuple[str, Rate], ...]:
    """Rows carrying posts by domain, the domains with most such rows first."""
    ranked = sorted(rows, key=lambda d: (-matched.get(d, 0), d))[:TOP_DOMAINS]
    return tuple((domain, Rate(matched.get(domain, 0), rows[domain])) for domain in ranked)


def _months(created: list[str | None]) -> list[str | None]:
    return [c[:7] if c and _DATE.match(c[:10]) else None for c in created]


def assess(
    evidence: pa.Table,
    post_ids: pa.Array,
    created_at: pa.Array,
    authors: pa.Array,
    cutoff: str | None = None,
    keep_nonspecific: bool = False,
) -> Claims:
    """Claims from the evidence and the usable posts' metadata (arrays parallel to post_ids)."""
    counts = pc.value_counts(evidence.column("post_id")).to_pylist() if evidence.num_rows else []
    rows_per_post = {item["values"]: item["counts"] for item in counts}
    median = float(np.median(list(rows_per_post.values()))) if rows_per_post else 0.0
    limit = max(MIN_ROWS_FOR_FLAG, math.ceil(FLAG_FACTOR * median))
    flagged = tuple(sorted(post for post, rows in rows_per_post.items() if rows > limit))
    left_out = set() if keep_nonspecific else set(flagged)
    ids = post_ids.to_pylist()
    found = [post in rows_per_post and post not in left_out for post in ids]
    counted = [post not in left_out for post in ids]
    headline = Rate(sum(found), sum(counted))
    dates = [c[:10] if c and _DATE.match(c[:10]) else None for c in created_at.to_pylist()]
    control = None
    if cutoff is not None:
        groups = [(d <= cutoff) if d else None for d in dates]
        a = sum(1 for g, f, c in zip(groups, found, counted, strict=True) if g is True and f and c)
        n1 = sum(1 for g, c in zip(groups, counted, strict=True) if g is True and c)
        c2 = sum(1 for g, f, c in zip(groups, found, counted, strict=True) if g is False and f and c)
        n2 = sum(1 for g, c in zip(groups, counted, strict=True) if g is False and c)
        control = compare(
            Rate(a, n1), Rate(c2, n2), f"posts published up to {cutoff}", "posts published after it", cutoff
        )
    by_author = sorted(_breakdown(authors.to_pylist(), found, counted), key=lambda i: (-i[1].numerator, i[0]))
    return Claims(
        headline=headline,
        nonspecific_posts=flagged,
        rows_per_post_limit=limit,
        nonspecific_kept=keep_nonspecific,
        control=control,
        undated_posts=sum(d is None for d in dates),
        by_month=_breakdown(_months(created_at.to_pylist()), found, counted),
        by_author=tuple(by_author[:TOP_AUTHORS]),
    )


def _breakdown(keys: list[str | None], found: list[bool], counted: list[bool]) -> tuple[tuple[str, Rate], ...]:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for key, hit, count in zip(keys, found, counted, strict=True):
        if key is None or not count:
            continue
        totals[key] += 1
        hits[key] += hit
    return tuple((key, Rate(hits[key], totals[key])) for key in sorted(totals))
