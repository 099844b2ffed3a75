"""Scan rate against set size: the same real-text corpus audited with sets of 20,000 to 1,000,000 posts.

    python -m benchmarks.set_size                       # 20k, 100k and 1M posts; the corpus 4 times over
    python -m benchmarks.set_size --sizes 20000 100000 1000000 10000000 --scale 4
    python -m benchmarks.set_size --sizes 20000 10000000 --reuse-sets   # sets and indexes of an earlier run

Each set holds the 10,000 real-text posts of the accuracy benchmark (so the corpus carries the same
matches whatever the size) and generated tweet-length posts to fill it (benchmarks/synthetic.py, as
the end-to-end fingerprinting benchmark writes them): what grows is the index the scan probes. For each
size, in fresh `python -m auditor` processes pinned to core 0: `auditor fingerprint`, `auditor index`
(the stored index), then `auditor audit --workers 1` of the corpus and of a one-row corpus with the
same set and index. The audit of the one-row corpus is what start, loading the set and opening its
index and writing the outputs cost; the scan rate is the corpus's text over the difference of the two.
Both wall-clock and CPU rates are printed: on a shared machine the CPU figure is the steadier one. Each
audit runs `--repeat` times (3 by default) and the least time counts: the scan rate is a difference of
two process times, and single runs of the one-row audit alone varied by half a second. The runs go round
by round (every size's audits once, then again), so that a slow phase of the machine falls on all sizes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.end_to_end import DATA, cli, real_corpus, tweets


def posts_file(size: int, real_posts: Path) -> Path:
    """The real posts, then generated ones up to `size` posts in all."""
    path = DATA / f"set-size-{size}.jsonl"
    if path.exists():
        return path
    real = real_posts.read_text(encoding="utf-8").splitlines()
    if size < len(real):
        raise SystemExit(f"--sizes must be at least {len(real):,} (the real-text posts)")
    with path.open("w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in real)
        with tweets(max(size, 1_000_000)).open(encoding="utf-8") as generated:  # one file serves every size
            out.writelines(itertools.islice(generated, size - len(real)))
    return path


def least(runs: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """The least wall-clock and the least CPU time of some runs of one command."""
    walls, cpus = zip(*runs, strict=True)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    parser.add_argument("--scale", type=int, default=4, help="times the real-text corpus is repeated")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each audit; the least time counts")
    parser.add_argument(
        "--reuse-sets",
        action="store_true",
        help="keep the sets (and stored indexes) of an earlier run instead of fingerprinting again: a 10M-post "
        "set takes minutes to write and its index longer to build",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    real_posts, corpus, text_bytes = real_corpus(args.scale)
    work = DATA / "set-size-out"
    if not args.reuse_sets:
        shutil.rmtree(work, ignore_errors=True)
    (work / "one-row").mkdir(parents=True, exist_ok=True)
    first = pq.read_table(sorted(corpus.glob("*.parquet"))[0]).slice(0, 1)
    pq.write_table(pa.table({"id": first.column("id"), "text": first.column("text")}), work / "one-row" / "r.parquet")
    mb = text_bytes / 1e6

    sets = []
    for size in args.sizes:
        fingerprints = work / f"s{size}.fp.parquet"
        if not (args.reuse_sets and fingerprints.exists()):
            cli("fingerprint", str(posts_file(size, real_posts)), "-o", str(fingerprints), "--public", "-q")
        cli("index", str(fingerprints), "-q")
        sets.append((size, fingerprints))
    # Round by round, each size's audit and one-row audit in turn: a slow phase of the machine then slows
    # every size alike instead of the runs of one size (the ratio compares the sizes).
    outputs = ["--workers", "1", "-q", "--evidence", str(work / "e.parquet"), "--json", str(work / "r.json")]
    runs: dict[int, tuple[list[tuple[float, float]], list[tuple[float, float]]]] = {s: ([], []) for s in args.sizes}
    found: dict[int, int] = {}
    for _ in range(args.repeat):
        for size, fingerprints in sets:
            runs[size][0].append(cli("audit", str(fingerprints), str(corpus), *outputs))
            found[size] = json.loads((work / "r.json").read_text())["counts"]["matches"]
            runs[size][1].append(cli("audit", str(fingerprints), str(work / "one-row"), *outputs))
    rows = [(size, least(runs[size][0]), least(runs[size][1]), found[size]) for size, _ in sets]

    print(f"scan of {mb:,.0f} MB of real text ({args.scale} copies of the real-text corpus), stored index opened")
    print()
    print("| posts in the set | matches | audit s (wall / CPU) | start, load, write s | scan MB/s (wall / CPU) |")
    print("|---:|---:|---:|---:|---:|")
    for size, whole, start, matches in rows:
        wall, cpu = mb / max(whole[0] - start[0], 1e-9), mb / max(whole[1] - start[1], 1e-9)
        print(
            f"| {size:,} | {matches:,} | {whole[0]:.1f} / {whole[1]:.1f} | {start[0]:.1f} / {start[1]:.1f} "
            f"| {wall:.1f} / {cpu:.1f} |"
        )
    base = mb / max(rows[0][1][1] - rows[0][2][1], 1e-9)
    for size, whole, start, _ in rows[1:]:
        ratio = mb / max(whole[1] - start[1], 1e-9) / base
        print(f"\nscan rate (CPU) at {size:,} posts: {ratio:.1%} of the rate at {rows[0][0]:,} posts", end="")
    print()


if __name__ == "__main__":
    main()
