"""Phrases every human-readable format shares, so a rate reads the same in a terminal and in Markdown."""

from __future__ import annotations

from auditor.stats import Rate, TextShare


def describe_rate(rate: Rate) -> str:
    low, high = rate.interval
    return f"{rate.value:.2%}  (95% CI {low:.2%} to {high:.2%}; {rate.numerator:,} of {rate.denominator:,})"


def describe_reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in counts.items()) or "none"


def describe_share(share: TextShare) -> str:
    low, high = share.interval
    return (
        f"{share.value:.3%}  (95% CI {low:.3%} to {high:.3%}; {share.covered:,} of {share.text:,} normalized "
        "characters)"
    )
