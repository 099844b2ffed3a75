"""The result model of an audit: frozen, complete, and all that formats read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from auditor.claims import Claims
from auditor.files import FileIdentity
from auditor.fingerprint_set import FingerprintSetInfo
from auditor.stats import Rate, TextShare

# Ids of posts not found an evidence file's manifest lists at the most (formats.evidence_parquet: a few
# megabytes of footer); the JSON report lists them all.
MANIFEST_NOT_FOUND_IDS = 100_000


@dataclass(frozen=True)
class CorpusFileSummary:
    path: str
    size: int
    rows: int
    rows_skipped: dict[str, int]
    rows_matched: int
    matches: int
    posts_matched: int
    sha256: str | None = None  # None when the audit was told not to hash the corpus
    # A remote object's identity as its store gave it when the corpus was opened (None for local files)
    etag: str | None = None
    version: str | None = None
    last_modified: str | None = None  # ISO 8601, UTC

    @property
    def rows_scanned(self) -> int:
        return self.rows - sum(self.rows_skipped.values())


@dataclass(frozen=True)
class AuditSettings:
    threshold: float
    min_slots: int
    text_column: str
    id_column: str | None
    post_sample: float | None = None  # a number of posts, or a fraction below 1
    row_sample: float | None = None  # a fraction of corpus rows
    sample_seed: int = 0
    max_row_chars: int | None = None  # longer rows are skipped as too_large; None in reports from before


EXACT = "exact"  # the whole set against the whole corpus: a count, not an estimate
ESTIMATE = "estimate"  # an unbiased estimate of the full run's figure, with its 95% interval
LOWER_BOUND = "lower_bound"  # the full run's figure is at least this (see FigureReading.bound)


@dataclass(frozen=True)
class FigureReading:
    """What a reported figure says about the full run (the whole set against the whole corpus)."""

    reading: str  # EXACT, ESTIMATE or LOWER_BOUND
    bound: float | None = None  # LOWER_BOUND only: the full run's value is at least this

    def to_dict(self) -> dict[str, object]:
        item: dict[str, object] = {"reading": self.reading}
        if self.reading == LOWER_BOUND:
            item["at_least"] = self.bound
        return item


def _bound(rate: Rate | TextShare, both: bool) -> float | None:
    """The lower bound a sampled figure gives: its own value when one side (posts or rows) was sampled,
    since every match of the sample is a match of the full run over the same denominator; the low end of
    its interval when both were (the sample's figure then estimates a lower bound)."""
    if not rate.defined:
        return None
    return rate.interval[0] if both else rate.value


@dataclass(frozen=True)
class AuditResult:
    tool_version: str
    fingerprint_file: FileIdentity
    fingerprint_info: FingerprintSetInfo
    settings: AuditSettings
    files: tuple[CorpusFileSummary, ...]
    posts_testable: int
    posts_matched: int
    evidence: pa.Table  # EVIDENCE_SCHEMA, sorted by (file order, corpus_row, post); empty when re-rendered from JSON
    claims: Claims
    matches_by_kind: dict[str, int]
    text_share: TextShare  # share of the scanned corpus text (normalized characters) shared with posts
    untestable_examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first ids, by reason
    # Ids of the testable posts (of the sample, when posts were sampled) found in no scanned row, in set order
    posts_not_found: pa.Array = field(default_factory=lambda: pa.array([], type=pa.string()))
    # How many there are when posts_not_found lists only the first of them (a report re-rendered from the
    # evidence file of a large set, whose manifest keeps the first MANIFEST_NOT_FOUND_IDS); None: all listed
    posts_not_found_count: int | None = None

    @property
    def not_found_count(self) -> int:
        """Testable posts found in no scanned row, listed or not."""
        return len(self.posts_not_found) if self.posts_not_found_count is None else self.posts_not_found_count

    @property
    def posts_sampled(self) -> bool:
        """A sample of posts was audited, smaller than the set (a sample of them all is the set)."""
        return self.settings.post_sample is not None and self.posts_testable < self.posts_testable_in_set

    @property
    def rows_sampled(self) -> bool:
        return self.settings.row_sample is not None and self.settings.row_sample < 1.0

    def reading(self, figure: str) -> FigureReading:
        """What `figure` ("posts_found", "rows_carrying_posts", "corpus_text_from_posts") says about the full run.

        A sample of posts estimates the share of posts found without bias, but finds only the rows
        carrying sampled posts; a sample of rows estimates the share of rows carrying posts and of the
        corpus text without bias, but misses the posts whose only copies were not sampled: the count of
        posts that are in some row cannot be extrapolated from a row sample (a post in one row and a post
        in a hundred look the same in it), so it is a lower bound.
        """
        posts, rows = self.posts_sampled, self.rows_sampled
        if figure == "posts_found":
            rate: Rate | TextShare = self.post_rate
            unbiased, biased = posts, rows
        elif figure == "rows_carrying_posts":
            rate, unbiased, biased = self.row_rate, rows, posts
        elif figure == "corpus_text_from_posts":
            rate, unbiased, biased = self.text_share, rows, posts
        else:
            raise ValueError(f"no figure {figure!r}")
        if biased:
            return FigureReading(LOWER_BOUND, _bound(rate, posts and rows))
        return FigureReading(ESTIMATE if unbiased else EXACT)

    @property
    def posts_testable_in_set(self) -> int:
        """Testable posts of the whole set (the sample's are `posts_testable`)."""
        return self.fingerprint_info.counts.get("posts_fingerprinted", self.posts_testable)

    @property
    def matches(self) -> int:
        return sum(f.matches for f in self.files)

    @property
    def rows_read(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def rows_scanned(self) -> int:
        return sum(f.rows_scanned for f in self.files)

    @property
    def rows_matched(self) -> int:
        return sum(f.rows_matched for f in self.files)

    @property
    def rows_skipped(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for summary in self.files:
            for reason, count in summary.rows_skipped.items():
                total[reason] = total.get(reason, 0) + count
        return dict(sorted(total.items()))

    @property
    def posts_in_set(self) -> int:
        return self.fingerprint_info.counts.get("posts_in_set", 0)

    @property
    def posts_skipped(self) -> dict[str, int]:
        return self.fingerprint_info.skipped

    @property
    def post_rate(self) -> Rate:
        """Share of testable posts found in the corpus."""
        return Rate(self.posts_matched, self.posts_testable)

    @property
    def row_rate(self) -> Rate:
        """Share of scanned corpus rows that carry at least one post."""
        return Rate(self.rows_matched, self.rows_scanned)
