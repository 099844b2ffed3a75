"""Phrases every human-readable format shares, so a rate reads the same in a terminal and in Markdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from auditor.stats import Rate, TextShare

DUPLICATE_IDS = "corpus ids naming more than one matched row (told apart by the digest of their text)"


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


def describe_some(items: Sequence[str], limit: int, show: Callable[[str], str] = str) -> str:
    """The first `limit` items and how many more there are."""
    shown = ", ".join(show(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")
