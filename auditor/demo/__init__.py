"""The embedded demo: generated posts and a small Parquet corpus that carries some of them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _data() -> Path:
    return Path(str(resources.files("auditor.demo") / "data"))


def demo_posts() -> Path:
    return _data() / "posts.jsonl"


def demo_corpus() -> Path:
    return _data() / "corpus"
