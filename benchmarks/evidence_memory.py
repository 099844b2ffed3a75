"""Evidence memory benchmark: peak RSS of an audit whose corpus is the platform's own dump.

    python -m benchmarks.evidence_memory --posts 2000000

Builds (once, cached in benchmarks/data/) N posts of 20 random words, a public fingerprint set of them
and a corpus in which every row is one of the posts (so every row is a match), then runs, each in a
fresh process through the CLI as a user would (`python -m auditor audit ... --workers 1`):

- the audit of a one-row corpus: loading the set and building its index, the cost that does not
  depend on the corpus;
- the audit of a tenth of the dump, and of the whole dump.

It prints, for each, the peak private (anonymous) memory, sampled from /proc: the heap and what the
process allocated, not the stored index or the evidence files it maps (file pages the kernel shares and
can drop); and the peak RSS, which counts those mapped pages too. A first audit stores the set's
index; the measured ones open it. Finished parts are kept on disk and the
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

from auditor import fingerprint_set
from auditor.errors import InputError

DATA = Path(__file__).resolve().parent / "data"


def build(posts: int) -> tuple[Path, Path, Path, Path]:
    """The set, the one-row corpus, a tenth of the dump and the whole dump (cached)."""
    folder = DATA / f"evidence-{posts}"
    source, fingerprints = folder / "posts.parquet", folder / "posts.fp.parquet"
    tiny, tenth, whole = folder / "tiny.parquet", folder / "tenth.parquet", folder / "whole.parquet"
    if not all(p.exists() for p in (source, tiny, tenth, whole)):
        _write_data(posts, folder)
        fingerprints.unlink(missing_ok=True)
    if fingerprints.exists():
        try:
            fingerprint_set.load(fingerprints)
        except InputError:  # cached by an older version of the set format: build it again
            fingerprints.unlink()
    if not fingerprints.exists():
        _cli("fingerprint", str(source), "-o", str(fingerprints), "--public", "-q")
    return fingerprints, tiny, tenth, whole


def _write_data(posts: int, folder: Path) -> None:
    """N posts of 20 random words, and corpora in which every row is one of them."""
    tiny, tenth, whole = folder / "tiny.parquet", folder / "tenth.parquet", folder / "whole.parquet"
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


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "auditor", *args], check=True, stdout=subprocess.DEVNULL)


def measure(fingerprints: Path, corpus: Path, out: Path) -> tuple[float, float, float, int]:
    """One audit in a fresh process: wall time, peak RSS and peak private (anonymous) memory in MiB, matches."""
    evidence, report = out / f"{corpus.stem}.evidence.parquet", out / f"{corpus.stem}.report.json"
    code = """
import resource, sys, threading, time
from auditor.cli import main

peak = [0]

def anonymous() -> int:  # heap and other private memory, in KiB: not the mapped index or evidence files
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0

def sample() -> None:
    while True:
        peak[0] = max(peak[0], anonymous())
        time.sleep(0.02)

threading.Thread(target=sample, daemon=True).start()
sys.argv = ["auditor", *sys.argv[1:]]
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
peak[0] = max(peak[0], anonymous())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, peak[0])
sys.exit(code)
"""
    args = [str(fingerprints), str(corpus), "--evidence", str(evidence), "--json", str(report)]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "audit", *args, "--workers", "1", "-q", "--restart", "--no-hash-corpus"],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    total, anonymous = (int(value) / 1024 for value in done.stdout.strip().splitlines()[-1].split())
    return elapsed, total, anonymous, pq.ParquetFile(evidence).metadata.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2_000_000)
    args = parser.parse_args()
    fingerprints, tiny, tenth, whole = build(args.posts)
    out = DATA / f"evidence-{args.posts}" / "out"
    out.mkdir(exist_ok=True)
    measure(fingerprints, tiny, out)  # the first audit stores the set's index; the measures open it
    base_time, base_total, base, _ = measure(fingerprints, tiny, out)
    print(f"{args.posts:,} posts; every corpus row a post; one worker; each audit in a fresh process:")
    print(
        f"  one-row corpus (set loaded, stored index opened): peak private memory {base:,.0f} MiB, peak RSS "
        f"{base_total:,.0f} MiB, {base_time:.1f} s"
    )
    for corpus in (tenth, whole):
        elapsed, total, private, matches = measure(fingerprints, corpus, out)
        print(
            f"  {matches:,} matching rows: peak private memory {private:,.0f} MiB ({private - base:+,.0f} MiB), "
            f"peak RSS {total:,.0f} MiB (mapped index and evidence pages included), {elapsed:.1f} s"
        )


if __name__ == "__main__":
    main()
