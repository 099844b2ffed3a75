"""Phrases every human-readable format shares, so a rate reads the same in a terminal and in Markdown."""

from __future__ import annotations

from auditor.fingerprint_set import FingerprintSetInfo
from auditor.stats import Rate, TextShare


def describe_rate(rate: Rate) -> str:
    low, high = rate.interval
    return f"{rate.value:.2%}  (95% CI {low:.2%} to {high:.2%}; {rate.numerator:,} of {rate.denominator:,})"


def describe_reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in counts.items()) or "none"


def describe_sources(info: FingerprintSetInfo) -> str:
    """Where the set's posts came from: each input's format, posts kept and left out; undated posts."""
    parts = []
    for source in info.sources:
        part = f"{source.name} ({source.format}): {source.posts:,} posts of {source.records:,} records"
        if source.left_out:
            part += f", left out: {describe_reasons(source.left_out)}"
        if source.kept:
            part += f", kept on request: {describe_reasons(source.kept)}"
        parts.append(part)
    text = "; ".join(parts) or "not recorded (a set made before formats were recorded)"
    undated = info.counts.get("posts_undated")
    if undated:
        text += f". Undated: {undated:,} ({describe_reasons(info.undated)}), outside the --cutoff control"
    return text


def describe_share(share: TextShare) -> str:
    low, high = share.interval
    return (
        f"{share.value:.3%}  (95% CI {low:.3%} to {high:.3%}; {share.covered:,} of {share.text:,} normalized "
        "characters)"
    )
