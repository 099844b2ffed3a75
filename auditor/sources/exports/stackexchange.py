"""TODO"""

from __future__ import annotations

from auditor.sources.exports.base import Reader


class StackExchangeReader(Reader):
    format = "stackexchange"


def looks_like_car(head: bytes) -> bool:
    return False
