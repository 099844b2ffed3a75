"""Scale benchmark: time and peak memory of an audit against a large fingerprint set.

    python -m benchmarks.scale --posts 2000000
    python -m benchmarks.scale --posts 10000000 --stored-index [--workers 2]

Builds (once, cached in benchmarks/data/) N posts of 20 random words, fingerprints them, then audits a
small corpus in a fresh process and prints the wall time and peak RSS of that audit: what loading the
set and building its index cost, per post.

With --stored-index it measures the stored index instead, each step in a fresh process: `auditor index`
(the build: load the set, index it, write the index), then an audit that opens it (the time from the
start of the audit until the corpus scan starts), then N processes that open the stored index and read
every page of it, as N workers of an audit or N Python workers of a Spark executor would, with their
memory from /proc/<pid>/smaps_rollup: the resident size of each, and the sum of their proportional set
sizes (PSS: a shared page counts 1/N in each of the N processes), against N times one process's.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from faker.providers.lorem.en_US import Provider

from auditor import fingerprint_set
from auditor.audit import AuditOutputs, AuditRequest, CorpusSpec, NoProgress, audit, index_set, run_audit
from auditor.build import build_fingerprint_set
from auditor.errors import InputError
from auditor.fingerprint import Fingerprinter
from auditor.index_store import index_root, open_index
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


class _Clock(NoProgress):
    """Progress that remembers when each stage began."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stages: list[tuple[str, float]] = []

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        self.stages.append((description, time.perf_counter() - self.started))


def child_index(fingerprints: Path) -> None:
    """Build and store the set's index (as `auditor index`), from scratch."""
    shutil.rmtree(index_root(fingerprints), ignore_errors=True)
    started = time.perf_counter()
    stored = index_set(fingerprints)
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in stored.directory.iterdir())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "bytes": size, "directory": str(stored.directory)}))


def child_stored_audit(fingerprints: Path, corpus: Path) -> None:
    """An audit that opens the stored index: when the scan started, and the whole audit."""
    clock = _Clock()
    outputs = AuditOutputs(corpus.parent / "out" / "evidence.parquet", corpus.parent / "out" / "report.json")
    request = AuditRequest(fingerprints, CorpusSpec((str(corpus),)), outputs, workers=1, hash_corpus=False)
    run_audit(request, clock)
    seconds = time.perf_counter() - clock.started
    scanning = next(at for name, at in clock.stages if name.startswith("scanning the corpus"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "scan_started": scanning,
                "scan_started_at": time.time() - (time.perf_counter() - clock.started - scanning),
                "stages": clock.stages,
                "peak_rss_mb": peak,
            }
        )
    )


def child_touch(directory: Path) -> None:
    """Open a stored index and read every page of it, then wait (stdin) while the parent measures us."""
    stored = open_index(directory, None, 0.6)
    total = 0
    index = stored.prebuilt.index
    arrays: list[npt.NDArray[Any]] = [stored.fingerprints.slot_hashes, index.prefix_entries, index.radix]
    arrays += [index.filter_words, index.specific_bits, index.distinct, index.required, index.required_prefix_slots]
    arrays += [index.heavy_hashes, index.heavy_offsets, index.heavy_ids]
    arrays += [stored.fingerprints.shingle_counts, stored.fingerprints.normalized_lengths]
    for array in arrays:
        flat = array.reshape(-1)
        for start in range(0, len(flat), 1 << 24):
            total += int(flat[start : start + (1 << 24)].sum(dtype="uint64") & 1)
    print(json.dumps({"ready": total >= 0}), flush=True)
    sys.stdin.readline()


def _rollup(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) * 1024
    return fields


def _children_memory(directory: Path, count: int) -> list[dict[str, int]]:
    command = [sys.executable, "-m", "benchmarks.scale", "--child-touch", str(directory)]
    children = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(count)
    ]
    try:
        for process in children:
            assert process.stdout is not None
            process.stdout.readline()
        return [_rollup(process.pid) for process in children]
    finally:
        for process in children:
            assert process.stdin is not None
            process.stdin.write("\n")
            process.stdin.flush()
            process.wait()


def _run(*arguments: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.scale", *arguments]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def stored_index_figures(posts: int, workers: int) -> None:
    fingerprints, corpus = build(posts)
    built = _run("--child-index", str(fingerprints))
    print(
        f"{posts:,} posts: index built and stored in {built['seconds']:.1f} s (peak RSS {built['peak_rss_mb']:,.0f} "
        f"MiB), {built['bytes'] / 2**20:,.0f} MiB on disk ({built['bytes'] / posts:,.0f} bytes per post)"
    )
    for attempt in ("first", "second"):
        launched = time.time()
        audited = _run("--child-stored-audit", str(fingerprints), str(corpus))
        print(
            f"audit with the stored index ({attempt} run): scan started {audited['scan_started']:.2f} s after the "
            f"audit began ({audited['scan_started_at'] - launched:.2f} s after the process was launched, imports "
            f"included), audit done in {audited['seconds']:.2f} s, peak RSS {audited['peak_rss_mb']:,.0f} MiB"
        )
    one = _children_memory(Path(built["directory"]), 1)[0]
    several = _children_memory(Path(built["directory"]), workers)
    mib = 2**20
    print(
        f"one process reading every page of the index: RSS {one['Rss'] / mib:,.0f} MiB, PSS {one['Pss'] / mib:,.0f} "
        f"MiB, private {(one['Private_Clean'] + one['Private_Dirty']) / mib:,.0f} MiB"
    )
    each = " + ".join(f"{m['Rss'] / mib:,.0f}" for m in several)
    print(
        f"{workers} such processes at once: RSS {each} MiB, sum of "
        f"PSS {sum(m['Pss'] for m in several) / mib:,.0f} MiB ({sum(m['Pss'] for m in several) / one['Pss']:.2f} "
        f"times one process), sum of private "
        f"{sum(m['Private_Clean'] + m['Private_Dirty'] for m in several) / mib:,.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--stored-index", action="store_true", help="measure the stored index (see above)")
    parser.add_argument("--workers", type=int, default=2, help="processes sharing the stored index")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-stored-audit", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-touch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1])
        return
    if args.child_index:
        child_index(args.child_index)
        return
    if args.child_stored_audit:
        child_stored_audit(args.child_stored_audit[0], args.child_stored_audit[1])
        return
    if args.child_touch:
        child_touch(args.child_touch)
        return
    if args.stored_index:
        stored_index_figures(args.posts, args.workers)
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
