"""Scale benchmark: time and peak memory of an audit against a large fingerprint set.

    python -m benchmarks.scale --posts 2000000

Builds (once, cached in benchmarks/data/) N posts of 20 random words, fingerprints them, then audits a
small corpus in a fresh process and prints the wall time and peak RSS of that audit: what loading the
set and building its index cost, per post.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from faker.providers.lorem.en_US import Provider

from auditor import fingerprint_set
from auditor.audit import audit
from auditor.build import build_fingerprint_set
from auditor.errors import InputError
from auditor.fingerprint import Fingerprinter
from auditor.scan import CorpusScanner
from auditor.sources.corpus import open_corpus
from auditor.sources.posts import PostSource

DATA = Path(__file__).resolve().parent / "data"


def build(posts: int) -> tuple[Path, Path]:
    folder = DATA / f"scale-{posts}"
    fingerprints, corpus = folder / "posts.fp.parquet", folder / "corpus.parquet"
    if fingerprints.exists() and corpus.exists():
        try:
            fingerprint_set.read_info(fingerprints)
            return fingerprints, corpus
        except InputError:  # cached by an older version of the set format: build it again
            pass
    folder.mkdir(parents=True, exist_ok=True)
    words = np.array([w.lower() for w in Provider.word_list])
    rng = np.random.default_rng(0)
    source = folder / "posts.parquet"
    writer = None
    for start in range(0, posts, 500_000):
        count = min(500_000, posts - start)
        texts = [" ".join(row) for row in words[rng.integers(0, len(words), size=(count, 20))]]
        table = pa.table({"id": [f"p{start + i}" for i in range(count)], "text": texts})
        writer = writer or pq.ParquetWriter(source, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    build_fingerprint_set([PostSource(source)], fingerprints, Fingerprinter())
    pq.write_table(pa.table({"text": ["a small corpus row that carries none of the posts"] * 1_000}), corpus)
    return fingerprints, corpus


def child(fingerprints: Path, corpus: Path) -> None:
    started = time.perf_counter()
    result = audit(CorpusScanner(fingerprint_set.load(fingerprints)), open_corpus([str(corpus)]))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "posts": result.posts_testable}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1])
        return
    fingerprints, corpus = build(args.posts)
    command = [sys.executable, "-m", "benchmarks.scale", "--child", str(fingerprints), str(corpus)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    figures = json.loads(output)
    per_post = figures["peak_rss_mb"] * 1024 * 1024 / figures["posts"]
    print(
        f"{figures['posts']:,} posts: audit of a small corpus in {figures['seconds']:.1f} s, peak RSS "
        f"{figures['peak_rss_mb']:,.0f} MiB ({per_post:,.0f} bytes per post, interpreter and libraries included)"
    )


if __name__ == "__main__":
    main()
