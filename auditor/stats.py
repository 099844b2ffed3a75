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

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "ci95": [low, high],
            "method": "wilson",
        }
