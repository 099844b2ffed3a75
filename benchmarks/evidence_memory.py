"""Evidence memory benchmark: peak RSS of an audit whose corpus is the platform's own dump.

    python -m benchmarks.evidence_memory --posts 2000000

Builds (once, cached in benchmarks/data/) N posts of 20 random words, a public fingerprint set of them
and a corpus in which every row is one of the posts (so every row is a match), then runs, each in a
fresh process through the CLI as a user would (`python -m auditor audit ... --workers 1`):

- the audit of a one-row corpus: loading the set and building its index, the cost that does not
  depend on the corpus;
- the audit of a tenth of the dump, and of the whole dump.

It prints the peak RSS of each and the part beyond the index. Finished parts are kept on disk and the
evidence is read back memory-mapped, so the peak should not grow with the number of matches.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from faker.providers.lorem.en_US import Provider

DATA = Path(__file__).resolve().parent / "data"


def build(posts: int) -> tuple[Path, Path, Path, Path]:
    """The set, the one-row corpus, a tenth of the dump and the whole dump (cached)."""
    folder = DATA / f"evidence-{posts}"
    fingerprints = folder / "posts.fp.parquet"
    tiny, tenth, whole = folder / "tiny.parquet", folder / "tenth.parquet", folder / "whole.parquet"
    if all(p.exists() for p in (fingerprints, tiny, tenth, whole)):
        return fingerprints, tiny, tenth, whole
    folder.mkdir(parents=True, exist_ok=True)
    words = np.array([w.lower() for w in Provider.word_list])
    rng = np.random.default_rng(7)
    source = folder / "posts.parquet"
    posts_writer = whole_writer = tenth_writer = None
    step = 250_000
    for start in range(0, posts, step):
        count = min(step, posts - start)
        texts = [" ".join(row) for row in words[rng.integers(0, len(words), size=(count, 20))]]
        ids = [f"p{start + i}" for i in range(count)]
        table = pa.table({"id": ids, "text": texts})
        posts_writer = posts_writer or pq.ParquetWriter(source, table.schema)
        posts_writer.write_table(table)
        rows = pa.table({"id": [f"row{start + i}" for i in range(count)], "text": texts})
        whole_writer = whole_writer or pq.ParquetWriter(whole, rows.schema)
        whole_writer.write_table(rows, row_group_size=50_000)
        if start < posts // 10:
            part = rows.slice(0, min(count, posts // 10 - start))
            tenth_writer = tenth_writer or pq.ParquetWriter(tenth, rows.schema)
            tenth_writer.write_table(part, row_group_size=50_000)
    for writer in (posts_writer, whole_writer, tenth_writer):
        assert writer is not None
        writer.close()
    pq.write_table(pa.table({"id": ["r0"], "text": ["a corpus row that carries none of the posts at all"]}), tiny)
    _cli("fingerprint", str(source), "-o", str(fingerprints), "--public", "-q")
    return fingerprints, tiny, tenth, whole


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "auditor", *args], check=True, stdout=subprocess.DEVNULL)


def measure(fingerprints: Path, corpus: Path, out: Path) -> tuple[float, float, int]:
    """One audit in a fresh process: wall time, peak RSS (MiB) and matches."""
    evidence, report = out / f"{corpus.stem}.evidence.parquet", out / f"{corpus.stem}.report.json"
    code = (
        "import resource, sys; from auditor.cli import main; sys.argv = ['auditor', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    args = [str(fingerprints), str(corpus), "--evidence", str(evidence), "--json", str(report)]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "audit", *args, "--workers", "1", "-q", "--restart", "--no-hash-corpus"],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    peak_mib = int(done.stdout.strip().splitlines()[-1]) / 1024
    return elapsed, peak_mib, pq.ParquetFile(evidence).metadata.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2_000_000)
    args = parser.parse_args()
    fingerprints, tiny, tenth, whole = build(args.posts)
    out = DATA / f"evidence-{args.posts}" / "out"
    out.mkdir(exist_ok=True)
    base_time, base, _ = measure(fingerprints, tiny, out)
    print(f"{args.posts:,} posts; every corpus row a post; one worker; peak RSS of each audit, in a fresh process:")
    print(f"  one-row corpus (set loaded and indexed): {base:,.0f} MiB in {base_time:.1f} s")
    for corpus in (tenth, whole):
        elapsed, peak, matches = measure(fingerprints, corpus, out)
        print(
            f"  {matches:,} matching rows: {peak:,.0f} MiB in {elapsed:.1f} s, "
            f"{peak - base:,.0f} MiB beyond the loaded and indexed set"
        )


if __name__ == "__main__":
    main()
