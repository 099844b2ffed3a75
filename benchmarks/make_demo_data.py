"""Regenerate the embedded demo (auditor/demo/data): `python -m benchmarks.make_demo_data`.

Generated text only (see synthetic.py), so the demo carries nobody's posts. The corpus is laid out as
hive partitions (kind=.../part-0.parquet) to show that layout working.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from auditor.demo import DEMO_CUTOFF
from benchmarks.synthetic import generate

DATA = Path(__file__).resolve().parent.parent / "auditor" / "demo" / "data"
CUTOFF = DEMO_CUTOFF


def main() -> None:
    dataset = generate(posts=300, background_pages=12, page_chars=(2_000, 8_000), seed=2026, planted_before=CUTOFF)
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    with (DATA / "posts.jsonl").open("w", encoding="utf-8") as stream:
        for post in dataset.posts:
            stream.write(json.dumps(post, ensure_ascii=False) + "\n")
    for name, rows in dataset.files.items():
        folder = DATA / "corpus" / f"kind={name.removesuffix('.parquet')}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet", compression="zstd")
    print(f"wrote {DATA}: {len(dataset.posts)} posts, {sum(len(r) for r in dataset.files.values())} corpus rows")


if __name__ == "__main__":
    main()
