"""TODO"""

from __future__ import annotations

from auditor.sources.exports.base import Reader


class XArchiveReader(Reader):
    format = "x-archive"


def looks_like_car(head: bytes) -> bool:
    return False
