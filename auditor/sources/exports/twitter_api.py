"""TODO"""

from __future__ import annotations

from auditor.sources.exports.base import Reader


class TwitterApiReader(Reader):
    format = "twitter-api"


def looks_like_car(head: bytes) -> bool:
    return False
