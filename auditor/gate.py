"""The CI gate: an audit's new matches (those not in the baseline) against limits. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor.baseline import Baseline, MatchKey, duplicate_corpus_ids, match_keys
from auditor.errors import UsageError
from auditor.plural import counted
from auditor.result import AuditResult
from auditor.stats import Rate


@dataclass(frozen=True)
class Limits:
    """What a release may carry. With no limit given, any new match fails."""

    max_post_rate: float | None = None
    max_row_rate: float | None = None
    max_matches: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_post_rate", "max_row_rate"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise UsageError(f"--{name.replace('_', '-')} is a share between 0 and 1, got {value}.")
        if self.max_matches is not None and self.max_matches < 0:
            raise UsageError(f"--max-matches must be 0 or more, got {self.max_matches}.")

    @property
    def effective_max_matches(self) -> int | None:
        unset = self.max_post_rate is None and self.max_row_rate is None and self.max_matches is None
        return 0 if unset else self.max_matches


@dataclass(frozen=True)
class SetVerdict:
    """The gate's verdict on one fingerprint set."""

    set_name: str
    result: AuditResult
    new_evidence: pa.Table  # matches not in the baseline
    accepted_matches: int  # matches the baseline accepts (still counted)
    post_rate: Rate  # of new matches
    row_rate: Rate  # of new matches
    violations: tuple[str, ...]
    keys: tuple[MatchKey, ...]  # baseline keys of all matches
    duplicate_corpus_ids: tuple[str, ...] = ()  # ids naming more than one matched row

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class GateOutcome:
    verdicts: tuple[SetVerdict, ...]
    limits: Limits
    # Sets the baseline accepts matches of that this check did not judge, with their accepted matches: a
    # set renamed since the baseline was written has all its accepted matches counted as new.
    baseline_sets_not_checked: tuple[tuple[str, int], ...] = ()
    # Their accepted matches, which an updated baseline keeps.
    baseline_kept: frozenset[MatchKey] = frozenset()

    @property
    def baseline_note(self) -> str | None:
        """The sentence naming `baseline_sets_not_checked`, if any."""
        if not self.baseline_sets_not_checked:
            return None
        named = ", ".join(
            f"{name} ({counted(count, 'match', 'matches')})" for name, count in self.baseline_sets_not_checked
        )
        return (
            f"The baseline accepts matches of sets this check did not judge: {named}; they are kept when the "
            "baseline is updated, and if a set was renamed, its accepted matches count as new under its new name."
        )

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def baseline_of_all(self) -> Baseline:
        """A baseline accepting every current match, and keeping the accepted matches of sets not judged
        (what --update-baseline writes)."""
        return Baseline(frozenset(key for v in self.verdicts for key in v.keys) | self.baseline_kept)


def judge(set_name: str, result: AuditResult, limits: Limits, baseline: Baseline) -> SetVerdict:
    keys = match_keys(set_name, result.evidence)
    new = np.array([key not in baseline for key in keys], dtype=np.bool_)
    new_evidence = result.evidence.filter(pa.array(new)) if len(keys) else result.evidence
    posts = len(pc.unique(new_evidence.column("post_id"))) if new_evidence.num_rows else 0
    rows = len(pc.unique(pc.binary_join_element_wise(
        new_evidence.column("corpus_file"), pc.cast(new_evidence.column("corpus_row"), pa.string()), "#"
    ))) if new_evidence.num_rows else 0  # fmt: skip
    post_rate, row_rate = Rate(posts, result.posts_testable), Rate(rows, result.rows_scanned)
    violations = []
    if limits.max_post_rate is not None and post_rate.value > limits.max_post_rate:
        violations.append(f"{post_rate.value:.2%} of posts found, above --max-post-rate {limits.max_post_rate:.2%}")
    if limits.max_row_rate is not None and row_rate.value > limits.max_row_rate:
        violations.append(f"{row_rate.value:.2%} of rows carry posts, above --max-row-rate {limits.max_row_rate:.2%}")
    cap = limits.effective_max_matches
    if cap is not None and new_evidence.num_rows > cap:
        found = new_evidence.num_rows
        matches = counted(found, "new match", "new matches")
        limit = f"--max-matches {cap:,}" if limits.max_matches is not None else "the default limit of 0 (--max-matches)"
        violations.append(f"{matches}, above {limit}")
    return SetVerdict(
        set_name=set_name,
        result=result,
        new_evidence=new_evidence,
        accepted_matches=len(keys) - int(new.sum()),
        post_rate=post_rate,
        row_rate=row_rate,
        violations=tuple(violations),
        keys=tuple(keys),
        duplicate_corpus_ids=duplicate_corpus_ids(result.evidence),
    )
