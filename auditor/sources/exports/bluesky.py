"""TODO"""

from __future__ import annotations

from auditor.sources.exports.base import Reader


class BlueskyReader(Reader):
    format = "bluesky"


def looks_like_car(head: bytes) -> bool:
    return False
