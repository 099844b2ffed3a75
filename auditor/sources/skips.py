"""Counts of rows skipped by reason: nothing is dropped without being counted."""

from __future__ import annotations

from collections import Counter

# Why a post of a set cannot be tested (the set holds it, flagged: fingerprint.Fingerprinter): no text, or
# too few distinct shingles. Here, not in fingerprint, so that reports name them without loading the kernels.
SKIP_NO_TEXT = "no_text"
SKIP_TOO_SHORT = "too_short"


class SkipCounter(Counter[str]):
    """Skipped rows by reason, e.g. {"missing_id": 3}; keys sort for stable reports."""

    def as_dict(self) -> dict[str, int]:
        return {reason: self[reason] for reason in sorted(self) if self[reason]}
