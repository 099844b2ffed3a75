"""The embedded demo: generated posts and a small Parquet corpus that carries some of them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# The demo corpus was "collected" on this date: only posts published by then were planted in it, so the
# demo can show a negative control.
DEMO_CUTOFF = "2025-06-30"


def _data() -> Path:
    return Path(str(resources.files("auditor.demo") / "data"))


def demo_posts() -> Path:
    return _data() / "posts.jsonl"


def demo_corpus() -> Path:
    return _data() / "corpus"
