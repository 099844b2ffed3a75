"""What an audit lets a reader conclude: the headline rate over the set's distinctive posts, the posts
copied into many rows, a negative control from posts published after the corpus was collected, and
breakdowns by month and author. Pure.

Templates are recognized by their content, never by how often they matched: a post most of whose
distinct slot hashes are shingles common in the set (shared by many of its posts: greetings with a name
filled in, bot posts) is templated, and stays out of the headline, which counts distinctive posts only.
A distinctive post found in many rows is the strongest evidence there is (a viral post is what a
scraper collects many times): it counts, and is reported as copied into that many rows.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from auditor.dates import valid_calendar_date
from auditor.errors import UsageError
from auditor.kernels import compiled_dates, compiled_text
from auditor.kernels.codepoints import utf8_view
from auditor.kernels.containment import MIN_SPECIFIC_SLOTS
from auditor.kernels.normalize import single_array, string_array
from auditor.plural import counted, for_count
from auditor.stats import Rate

SIGNIFICANCE = 0.05
TOP_AUTHORS = 10
TOP_COPIED = 10  # posts named as copied into the most rows
TEMPLATED_EXAMPLES = 5
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def templated_posts(
    distinct: npt.NDArray[np.integer], specific_distinct: npt.NDArray[np.integer]
) -> npt.NDArray[np.bool_]:
    """Posts whose text is mostly shared with other posts of their set: fewer than half of their distinct
    slot hashes are specific (not common in the set), or too few are for the matching rule to tell them
    from their siblings (fewer than MIN_SPECIFIC_SLOTS: such a post matches on its common text alone)."""
    distinct = np.asarray(distinct, dtype=np.int64)
    specific = np.asarray(specific_distinct, dtype=np.int64)
    templated: npt.NDArray[np.bool_] = (specific < MIN_SPECIFIC_SLOTS) | (2 * specific < distinct)
    return templated


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
    (published after its collection, or an explicit control set): the control's rate is chance.

    With either side empty there is nothing to compare: no p-value, and the statement says why."""

    tested: str  # who the tested posts are, e.g. "posts published up to 2025-06-30"
    control: str  # who the control posts are, e.g. "posts published after it"
    before: Rate  # the tested posts
    after: Rate  # the control posts
    p_value: float | None  # one-sided Fisher exact: the tested rate exceeds the control rate; None if a side is empty
    cutoff: str | None = None
    undated_posts: int = 0  # posts left out of a date control for want of a date

    @property
    def comparable(self) -> bool:
        return self.before.denominator > 0 and self.after.denominator > 0

    @property
    def ratio(self) -> float | None:
        if not self.comparable or self.after.value == 0:
            return None
        return self.before.value / self.after.value

    @property
    def statement(self) -> str:
        if not self.comparable or self.p_value is None:
            empty = [
                who for who, rate in ((self.tested, self.before), (self.control, self.after)) if not rate.denominator
            ]
            missing = " and no ".join(empty)
            undated = ""
            if self.cutoff is not None and self.undated_posts:
                count = self.undated_posts
                has, are = for_count(count, "has", "have"), for_count(count, "is", "are")
                undated = f" ({counted(count, 'post')} {has} no date and {are} left out)"
            return (
                f"There are no testable {missing}{undated}, so the control cannot be compared and there is no "
                "p-value: the data neither support nor refute the claim that the corpus carries the posts."
            )
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
    tested: Rate,
    control: Rate,
    tested_label: str,
    control_label: str,
    cutoff: str | None = None,
    undated_posts: int = 0,
) -> ControlComparison:
    a, n1, c, n2 = tested.numerator, tested.denominator, control.numerator, control.denominator
    p_value = fisher_greater(a, n1 - a, c, n2 - c) if n1 and n2 else None
    return ControlComparison(tested_label, control_label, tested, control, p_value, cutoff, undated_posts)


@dataclass(frozen=True)
class TemplatedPosts:
    """Posts of the set written from a template (see `templated_posts`): counted apart, out of the headline."""

    found: Rate  # templated posts found / templated testable posts
    examples: tuple[str, ...] = ()  # ids, found ones first
    example_text: str | None = None  # the first example's text, when the set keeps texts


@dataclass(frozen=True)
class Claims:
    headline: Rate  # distinctive posts found / distinctive testable posts (templated posts left out)
    templated: TemplatedPosts
    copies: tuple[tuple[str, int], ...]  # (post, distinct rows carrying it), most copied first; 2 rows or more
    posts_in_several_rows: int  # posts found in 2 rows or more
    control: ControlComparison | None
    undated_posts: int  # testable posts without a date
    by_month: tuple[tuple[str, Rate], ...]
    by_author: tuple[tuple[str, Rate], ...]
    by_domain: tuple[tuple[str, Rate], ...] = ()  # rows carrying posts by source domain, most first


TOP_DOMAINS = 20


# The host of a URL: after an optional scheme and "www.", up to the first /, :, ?, # or space.
HOST_PATTERN = r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?(?P<host>[^/:?#\s]+)"


def domains_of(urls: pa.Array) -> pa.Array:
    """The host of each URL, lowercased, without a leading "www."; null where there is none: what
    `domains_of_reference` gives, a compiled pass over the lowercased bytes finding the host instead of
    the regex (run over every row with a URL, the regex was a visible share of a scan)."""
    lowered = string_array(pc.utf8_lower(urls))
    data, offsets = utf8_view(lowered)
    starts, ends = compiled_text.url_hosts(data, offsets)
    found = starts >= 0
    if lowered.null_count:
        found &= np.asarray(pc.is_valid(lowered).to_numpy(zero_copy_only=False))
    starts, ends = np.where(found, starts, 0), np.where(found, ends, 0)
    pieces, piece_offsets = compiled_text.gather_bytes(data, starts, ends)
    missing = len(found) - int(found.sum())
    validity = pa.py_buffer(np.packbits(found, bitorder="little")) if missing else None
    return pa.Array.from_buffers(
        pa.large_string(), len(found), [validity, pa.py_buffer(piece_offsets), pa.py_buffer(pieces)], missing
    ).cast(lowered.type)


def domains_of_reference(urls: pa.Array) -> pa.Array:
    """domains_of as the regex defines it (RE2 over the lowercased URLs)."""
    return pc.struct_field(pc.extract_regex(pc.utf8_lower(urls), pattern=HOST_PATTERN), "host")


def domain_rates(rows: dict[str, int], matched: dict[str, int]) -> tuple[tuple[str, Rate], ...]:
    """Rows carrying posts by domain, the domains with most such rows first."""
    ranked = sorted(rows, key=lambda d: (-matched.get(d, 0), d))[:TOP_DOMAINS]
    return tuple((domain, Rate(matched.get(domain, 0), rows[domain])) for domain in ranked)


def _months(created: list[str | None]) -> list[str | None]:
    return [c[:7] if c and _DAY.fullmatch(c[:10]) else None for c in created]


def assess_reference(
    evidence: pa.Table,
    post_ids: pa.Array,
    created_at: pa.Array,
    authors: pa.Array,
    cutoff: str | None = None,
    templated: npt.NDArray[np.bool_] | None = None,
    texts: pa.Array | None = None,
) -> Claims:
    """`assess` one post at a time in Python: the definition the vectorized `assess` is tested against."""
    # Evidence holds one row per (post, corpus row): a post's evidence rows are the distinct rows carrying it.
    counts = pc.value_counts(evidence.column("post_id")).to_pylist() if evidence.num_rows else []
    rows_per_post: dict[str, int] = {item["values"]: item["counts"] for item in counts}
    ids = post_ids.to_pylist()
    is_templated = [False] * len(ids) if templated is None else [bool(t) for t in templated]
    if len(is_templated) != len(ids):
        raise ValueError(f"{len(is_templated)} template flags for {len(ids)} posts")
    matched = [post in rows_per_post for post in ids]
    counted = [not t for t in is_templated]
    found = [m and c for m, c in zip(matched, counted, strict=True)]
    headline = Rate(sum(found), sum(counted))
    templated_found = [m and t for m, t in zip(matched, is_templated, strict=True)]
    templated_ids = [post for post, t in zip(ids, is_templated, strict=True) if t]
    found_first = sorted(templated_ids, key=lambda post: post not in rows_per_post)[:TEMPLATED_EXAMPLES]
    example_text = None
    if found_first and texts is not None:
        example_text = texts[ids.index(found_first[0])].as_py()
    copies = sorted(((post, rows) for post, rows in rows_per_post.items() if rows >= 2), key=lambda i: (-i[1], i[0]))
    dates = [c[:10] if c and _DAY.fullmatch(c[:10]) else None for c in created_at.to_pylist()]
    undated = sum(d is None for d in dates)
    control = None
    if cutoff is not None:
        groups = [(d <= cutoff) if d else None for d in dates]
        a = sum(1 for g, f in zip(groups, found, strict=True) if g is True and f)
        n1 = sum(1 for g, c in zip(groups, counted, strict=True) if g is True and c)
        c2 = sum(1 for g, f in zip(groups, found, strict=True) if g is False and f)
        n2 = sum(1 for g, c in zip(groups, counted, strict=True) if g is False and c)
        left_out = sum(1 for d, c in zip(dates, counted, strict=True) if d is None and c)
        control = compare(
            Rate(a, n1), Rate(c2, n2), f"posts published up to {cutoff}", "posts published after it", cutoff, left_out
        )
    by_author = sorted(_breakdown(authors.to_pylist(), found, counted), key=lambda i: (-i[1].numerator, i[0]))
    return Claims(
        headline=headline,
        templated=TemplatedPosts(Rate(sum(templated_found), len(templated_ids)), tuple(found_first), example_text),
        copies=tuple(copies[:TOP_COPIED]),
        posts_in_several_rows=len(copies),
        control=control,
        undated_posts=undated,
        by_month=_breakdown(_months(created_at.to_pylist()), found, counted),
        by_author=tuple(by_author[:TOP_AUTHORS]),
    )


def assess(
    evidence: pa.Table,
    post_ids: pa.Array,
    created_at: pa.Array,
    authors: pa.Array,
    cutoff: str | None = None,
    templated: npt.NDArray[np.bool_] | None = None,
    texts: pa.Array | None = None,
) -> Claims:
    """Claims from the evidence and the testable posts' metadata (arrays parallel to post_ids).

    `templated` marks the posts written from a template (`templated_posts`); they are left out of the
    headline, the control and the breakdowns, and counted apart. `created_at` holds ISO 8601 dates
    (UTC) or nulls. Vectorized over the posts (a set may hold millions); `assess_reference` defines it.
    """
    # Evidence holds one row per (post, corpus row): a post's evidence rows are the distinct rows carrying it.
    counts = pc.value_counts(evidence.column("post_id")).to_pylist() if evidence.num_rows else []
    rows_per_post: dict[str, int] = {item["values"]: item["counts"] for item in counts}
    posts = len(post_ids)
    is_templated = np.zeros(posts, dtype=np.bool_) if templated is None else np.asarray(templated, dtype=np.bool_)
    if len(is_templated) != posts:
        raise ValueError(f"{len(is_templated)} template flags for {posts} posts")
    matched = _flags(pc.is_in(post_ids, value_set=pa.array(list(rows_per_post), post_ids.type)))
    counted = ~is_templated
    found = matched & counted
    headline = Rate(int(found.sum()), int(counted.sum()))
    templated_at = np.flatnonzero(is_templated)
    examples = np.concatenate([templated_at[matched[templated_at]], templated_at[~matched[templated_at]]])
    examples = examples[:TEMPLATED_EXAMPLES]
    found_first = tuple(post_ids.take(pa.array(examples, pa.int64())).to_pylist())
    example_text = texts[int(examples[0])].as_py() if len(examples) and texts is not None else None
    copies = sorted(((post, rows) for post, rows in rows_per_post.items() if rows >= 2), key=lambda i: (-i[1], i[0]))
    days = leading_days(created_at)
    dated = days >= 0
    control = None
    if cutoff is not None:
        before = dated & (days <= int(parse_cutoff(cutoff).replace("-", "")))
        after = dated & ~before
        control = compare(
            Rate(int((before & found).sum()), int((before & counted).sum())),
            Rate(int((after & found).sum()), int((after & counted).sum())),
            f"posts published up to {cutoff}",
            "posts published after it",
            cutoff,
            int((~dated & counted).sum()),
        )
    in_months = dated & counted
    month_of = days[in_months] // 100  # YYYYMM
    present = np.bincount(month_of, minlength=1)
    months = np.flatnonzero(present)  # the months present, in order
    code_of = np.cumsum(present > 0) - 1  # a month's place among them
    month_codes = code_of[month_of]
    month_names = pa.array([f"{month // 100:04d}-{month % 100:02d}" for month in months.tolist()], pa.string())
    by_author = _grouped(authors.cast(pa.string()), found, counted)
    ranked = by_author.sort_by([("hits", "descending"), ("key", "ascending")]).slice(0, TOP_AUTHORS)
    return Claims(
        headline=headline,
        templated=TemplatedPosts(
            Rate(int((matched & is_templated).sum()), len(templated_at)), found_first, example_text
        ),
        copies=tuple(copies[:TOP_COPIED]),
        posts_in_several_rows=len(copies),
        control=control,
        undated_posts=int((~dated).sum()),
        by_month=_rates(_by_code(month_names, month_codes, found[in_months])),
        by_author=_rates(ranked),
    )


def _flags(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """A boolean Arrow array as numpy, null as False."""
    flags: npt.NDArray[np.bool_] = np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), np.bool_)
    return flags


def _grouped(keys: pa.Array, found: npt.NDArray[np.bool_], counted: npt.NDArray[np.bool_]) -> pa.Table:
    """Per key (nulls and posts not counted left out): hits (posts found) and total (posts counted).

    Counted over the keys' dictionary codes: Arrow's group_by would import its query engine (acero), a
    noticeable part of every audit's start for two small tables."""
    keys = single_array(keys)
    keep = counted & _flags(pc.is_valid(keys))
    encoded = pc.dictionary_encode(keys.filter(pa.array(keep)))
    return _by_code(
        encoded.dictionary, np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64), found[keep]
    )


def _by_code(keys: pa.Array, codes: npt.NDArray[np.int64], found: npt.NDArray[np.bool_]) -> pa.Table:
    """Per key (`codes` index `keys`, one per post counted): hits (posts found) and total (posts counted)."""
    hits = np.bincount(codes[found], minlength=len(keys)).astype(np.int64)
    total = np.bincount(codes, minlength=len(keys)).astype(np.int64)
    return pa.table({"key": keys, "hits": hits, "total": total})


def leading_days(created_at: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Per post, the day its `created_at` starts with, as YYYY-MM-DD, as the number YYYYMMDD (which orders as
    the text does); -1 when it starts with none (null included). One compiled pass over the strings' bytes:
    slicing and matching each string with Arrow took seconds for millions of posts."""
    data, offsets = utf8_view(string_array(created_at))
    days = np.empty(len(offsets) - 1, dtype=np.int64)
    compiled_dates.leading_days(data, offsets, days)
    return days


def leading_days_reference(created_at: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """`leading_days` one Python string at a time: its definition (as `assess_reference` reads a day)."""
    days = [c[:10] if c and _DAY.fullmatch(c[:10]) else None for c in created_at.cast(pa.string()).to_pylist()]
    return np.array([int(d.replace("-", "")) if d else -1 for d in days], dtype=np.int64)


def _rates(grouped: pa.Table) -> tuple[tuple[str, Rate], ...]:
    keys, hits, totals = (grouped.column(name).to_pylist() for name in ("key", "hits", "total"))
    return tuple((key, Rate(hit, total)) for key, hit, total in zip(keys, hits, totals, strict=True))


def _breakdown(keys: list[str | None], found: list[bool], counted: list[bool]) -> tuple[tuple[str, Rate], ...]:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for key, hit, count in zip(keys, found, counted, strict=True):
        if key is None or not count:
            continue
        totals[key] += 1
        hits[key] += hit
    return tuple((key, Rate(hits[key], totals[key])) for key in sorted(totals))
