"""The result model of an audit: frozen, complete, and all that formats read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from auditor.claims import Claims
from auditor.files import FileIdentity
from auditor.fingerprint_set import FingerprintSetInfo
from auditor.stats import Rate, TextShare


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
