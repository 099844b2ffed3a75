"""Rates with confidence intervals, so a share found can be tested, not just quoted."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    """numerator / denominator with a 95% Wilson score interval (sound near 0 and 1, unlike Wald)."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float:
        return self.numerator / self.denominator if self.denominator else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        n, k = self.denominator, self.numerator
        if n == 0:
            return (0.0, 1.0)
        p = k / n
        centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
        # Exact at the ends: floating-point leaves 1e-18 where the bound is 0 by construction.
        low = 0.0 if k == 0 else max(0.0, centre - half)
        high = 1.0 if k == n else min(1.0, centre + half)
        return (low, high)

    @property
    def defined(self) -> bool:
        """A rate needs something to count: with a denominator of 0 there is none (and no interval)."""
        return self.denominator > 0

    def to_dict(self) -> dict[str, Any]:
        """value and ci95 are null when the denominator is 0: no rate is stated from an empty denominator."""
        low, high = self.interval
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value if self.defined else None,
            "ci95": [low, high] if self.defined else None,
            "method": "wilson",
        }


@dataclass(frozen=True)
class TextShare:
    """Share of the corpus's text covered by posts: a ratio of sums over rows, sum(y) / sum(x), with y a
    row's characters shared with posts and x its characters. Rows are the sampling units, so the interval
    is the ratio estimator's (Cochran, Sampling Techniques, 6.3), not a binomial one over characters."""

    rows: int = 0
    text: int = 0  # sum x
    covered: int = 0  # sum y
    text_squared: int = 0  # sum x^2
    covered_squared: int = 0  # sum y^2
    cross: int = 0  # sum xy

    def __add__(self, other: TextShare) -> TextShare:
        return TextShare(*(a + b for a, b in zip(self._fields(), other._fields(), strict=True)))

    def _fields(self) -> tuple[int, ...]:
        return (self.rows, self.text, self.covered, self.text_squared, self.covered_squared, self.cross)

    @property
    def value(self) -> float:
        return self.covered / self.text if self.text else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """The ratio estimator's 95% interval; where no row, or every row, shares text with posts, the
        rows' spread is 0 and that interval would be the single point 0 (or 1): then the Wilson bound of 0
        (or n) rows of n carrying it, the interval the share of rows carrying posts gets."""
        n, r = self.rows, self.value
        if n < 2 or self.text == 0:
            return (0.0, 1.0)
        if self.covered == 0:
            return (0.0, Rate(0, n).interval[1])
        if self.covered == self.text:
            return (Rate(n, n).interval[0], 1.0)
        spread = (self.covered_squared - 2 * r * self.cross + r * r * self.text_squared) / (n - 1)
        half = Z95 * math.sqrt(max(spread, 0.0) / n) / (self.text / n)
        return (max(0.0, r - half), min(1.0, r + half))

    @property
    def defined(self) -> bool:
        """A share needs characters to share: none when the scanned rows hold no normalized text."""
        return self.text > 0

    def to_dict(self) -> dict[str, Any]:
        """value and ci95 are null when no character was scanned."""
        low, high = self.interval
        return {
            "covered_characters": self.covered,
            "characters": self.text,
            "rows": self.rows,
            "value": self.value if self.defined else None,
            "ci95": [low, high] if self.defined else None,
            "method": "ratio-estimator",
            "sums": {"x2": self.text_squared, "y2": self.covered_squared, "xy": self.cross},
        }
