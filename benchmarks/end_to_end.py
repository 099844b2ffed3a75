"""End-to-end benchmark: the CLI as a user runs it, on real text, against plain datasketch in the same run.

    python -m benchmarks.end_to_end                  # real-text corpus 4 times over, 1,000,000-post JSONL
    python -m benchmarks.end_to_end --scale 8 --posts 1000000 --repeat 3

Every auditor figure is a fresh `python -m auditor ...` process pinned to one core (core 0): interpreter
start, imports, reading, writing and, for audits, loading the set and its index are all included. The
package's modules are compiled to bytecode first, as `pip install` does and as Python does on a first
import (unless PYTHONDONTWRITEBYTECODE is set, as it is in some sandboxes: then every run would compile
the package's source again, which no installed copy does).

- Fingerprinting: a JSONL of N tweet-length posts with `id`, `text`, `created_at` (ISO 8601) and
  `author`, fingerprinted by `auditor fingerprint`; plain datasketch fingerprints a sample of the same
  posts (`MinHash.update_batch` of character 5-grams, as throughput.py does), in this process.
- Scanning: the real-text corpus of the accuracy benchmark (benchmarks/realtext.py: manual pages,
  docstrings, timelines and post rows, about 4% of rows carrying posts), repeated `--scale` times as
  shards, audited by `auditor audit --workers 1` twice: the first audit also builds and stores the set's
  index, the second opens it. Plain datasketch (whole-row MinHash and MinHashLSH queries) runs on a sample
  of the same corpus; its rate is per MB all the same.

Fingerprinting and the later audit run `--repeat` times (3 by default) and the least time counts, as in
benchmarks/set_size.py: a shared machine's noise only ever adds time (single runs of one audit here
varied by a third). Plain datasketch's rates are the best of as many runs, on the same core. The first
audit runs once (it builds the index).

Data is built once and cached in benchmarks/data/.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq

import auditor
from benchmarks.accuracy import write_dataset
from benchmarks.realtext import generate_real
from benchmarks.synthetic import Writer
from benchmarks.throughput import datasketch_fingerprint_rate, datasketch_scan_rate

DATA = Path(__file__).resolve().parent / "data"


def real_corpus(scale: int) -> tuple[Path, Path, int]:
    """The real-text posts (JSONL) and corpus, its shards repeated `scale` times; text bytes."""
    folder = DATA / "e2e-real"
    marker = folder / "done.json"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        write_dataset(generate_real().dataset, folder)
        marker.write_text("{}")
    scaled = DATA / f"e2e-real-x{scale}"
    if not (scaled / "done.json").exists():
        shutil.rmtree(scaled, ignore_errors=True)
        (scaled / "corpus").mkdir(parents=True)
        for copy in range(scale):
            for shard in sorted((folder / "corpus").glob("*.parquet")):
                shutil.copyfile(shard, scaled / "corpus" / f"copy{copy}-{shard.name}")
        (scaled / "done.json").write_text("{}")
    corpus = scaled / "corpus"
    text_bytes = sum(
        sum(len(t.encode()) for t in pq.read_table(p, columns=["text"]).column("text").to_pylist() if t)
        for p in sorted(corpus.glob("*.parquet"))
    )
    return folder / "posts.jsonl", corpus, text_bytes


def tweets(posts: int) -> Path:
    """N tweet-length posts as JSONL with ISO 8601 dates, as an export converted by a user would be."""
    path = DATA / f"e2e-posts-{posts}.jsonl"
    if path.exists():
        return path
    writer, rng = Writer(seed=3), random.Random(3)
    start = datetime(2019, 1, 1, tzinfo=timezone.utc)
    with path.open("w", encoding="utf-8") as stream:
        for number in range(posts):
            created = start + timedelta(seconds=rng.randrange(6 * 365 * 86_400))
            record = {"id": f"t{number}", "text": writer.post(), "created_at": created.isoformat(), "author": "u"}
            stream.write(json.dumps(record) + "\n")
    return path


def cli(*args: str) -> tuple[float, float]:
    """`python -m auditor ARGS` in a fresh process on core 0: wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "auditor", *args], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=4, help="times the real-text corpus is repeated")
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts in the fingerprinting JSONL")
    parser.add_argument("--repeat", type=int, default=3, help="runs of fingerprinting and later audit")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # plain datasketch on the core the CLI runs on
    compileall.compile_dir(Path(auditor.__file__).parent, quiet=1)
    work = DATA / "e2e-out"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    posts_file = tweets(args.posts)
    texts = [json.loads(line)["text"] for _, line in zip(range(20_000), posts_file.open(), strict=False)]
    plain_fingerprint = max(datasketch_fingerprint_rate(texts) for _ in range(max(args.repeat, 1)))
    command = ("fingerprint", str(posts_file), "-o", str(work / "tweets.fp.parquet"), "--public", "-q")
    runs = [cli(*command) for _ in range(max(args.repeat, 1))]
    wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
    auditor_fingerprint = args.posts / wall

    real_posts, corpus, text_bytes = real_corpus(args.scale)
    fingerprints = work / "real.fp.parquet"
    cli("fingerprint", str(real_posts), "-o", str(fingerprints), "--public", "-q")
    post_texts = [json.loads(line)["text"] for line in real_posts.open()]
    plain_scan = max(datasketch_scan_rate(post_texts, corpus, budget_bytes=3e6) for _ in range(max(args.repeat, 1)))
    outputs = ["--evidence", str(work / "e.parquet"), "--json", str(work / "r.json"), "--workers", "1", "-q"]
    first = cli("audit", str(fingerprints), str(corpus), *outputs)
    later = [cli("audit", str(fingerprints), str(corpus), *outputs) for _ in range(max(args.repeat, 1))]
    second = min(w for w, _ in later), min(c for _, c in later)
    matches = json.loads((work / "r.json").read_text())["counts"]["matches"]
    mb = text_bytes / 1e6

    print(f"fingerprinting: {args.posts:,} posts from JSONL with ISO dates; scanning: {mb:,.0f} MB of real text")
    print(f"({args.scale} copies of the real-text corpus), {len(post_texts):,} posts, {matches:,} matches")
    print()
    print("| measure (end to end, one core) | plain datasketch | provenance-auditor | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| fingerprinting, posts/s | {plain_fingerprint:,.0f} | {auditor_fingerprint:,.0f} "
        f"(CPU {args.posts / cpu:,.0f}) | {auditor_fingerprint / plain_fingerprint:.1f}x |"
    )
    audits = (("first audit (index built and stored)", first), ("later audit (index opened)", second))
    for label, (seconds, cpu) in audits:
        rate = mb / seconds
        print(
            f"| corpus scan, MB/s, {label} | {plain_scan:.2f} | {rate:.1f} (CPU {mb / cpu:.1f}) "
            f"| {rate / plain_scan:.1f}x |"
        )
    print()
    print("Each auditor figure is a fresh `python -m auditor` process pinned to core 0, everything included;")
    print(f"fingerprinting and the later audit: the least of {max(args.repeat, 1)} runs.")


if __name__ == "__main__":
    main()
