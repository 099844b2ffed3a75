"""Counts in sentences: the singular for one ("1 post has"), the plural otherwise ("2 posts have").

Here, apart from formats.wording, so that the result model's own statements (claims) and the library's
errors (audit) agree with their counts as the reports do, without importing the formats.
"""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, singular for one: "1 post", "2 posts", "1,000 rows"; `plural` where adding an
    s is wrong ("2 new matches")."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {plural or noun + 's'}"


def for_count(number: int, one: str, many: str) -> str:
    """The word that agrees with a count: `one` for 1 ("is", "was", "it"), `many` otherwise."""
    return one if number == 1 else many
