"""TODO"""

from __future__ import annotations

from auditor.sources.exports.base import Reader


class MastodonReader(Reader):
    format = "mastodon"


def looks_like_car(head: bytes) -> bool:
    return False
