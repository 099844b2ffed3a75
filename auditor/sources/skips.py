"""Counts of rows skipped by reason: nothing is dropped without being counted."""

from __future__ import annotations

from collections import Counter


class SkipCounter(Counter[str]):
    """Skipped rows by reason, e.g. {"missing_id": 3}; keys sort for stable reports."""

    def as_dict(self) -> dict[str, int]:
        return {reason: self[reason] for reason in sorted(self) if self[reason]}
