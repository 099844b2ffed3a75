"""Engines benchmark: the local engine against Spark on the same corpus and the same stored index.

    python -m benchmarks.engines [--mb 40] [--posts 20000] [--spark-master local[2]]

Uses the throughput benchmark's data (built once, cached in benchmarks/data/): posts fingerprinted into a
set, and a corpus of Parquet shards of pages and post rows. The set's index is stored first, so every
engine opens the same one. Each engine then scans the whole corpus in a fresh process: the local engine
with one worker and with two, and Spark (a new session on --spark-master): its start, a first audit (the
index shipped to the executors, Python workers started, the kernels loaded) and a second audit on the
same session (workers and scanners reused). Prints rows/s and MB of text/s of each scan, and whether
the evidence is identical (a SHA-256 of the evidence table). Two layouts of the same rows: the shards as
built (about 3.5 MB of text each, one Spark task each) and the same rows repacked into two files (one
task each, so the per-task cost of Spark weighs less, as with the 64 MB parts of a large corpus).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from auditor.audit import NoProgress, audit_files, index_set, load_scanner
from auditor.build import build_fingerprint_set
from auditor.engine import Engine
from auditor.engine.processes import ProcessEngine
from auditor.fingerprint import Fingerprinter
from auditor.sources.corpus import open_corpus
from auditor.sources.posts import PostSource
from benchmarks.throughput import DATA, build_data


def _evidence_digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _scan(engine: Engine, fingerprints: Path, corpus: Path) -> dict[str, Any]:
    scanner = load_scanner(fingerprints, b"", 0.6, NoProgress())
    scanner.scan(pa.array(["warm up the compiled kernels"]))
    files = open_corpus([str(corpus)])
    started = time.perf_counter()
    result = audit_files([scanner], files, engine, hash_corpus=False)[0]
    seconds = time.perf_counter() - started
    rows = sum(f.rows for f in result.files)
    return {"seconds": seconds, "rows": rows, "evidence": _evidence_digest(result.evidence)}


def child(kind: str, fingerprints: Path, corpus: Path, master: str) -> None:
    figures: dict[str, Any] = {}
    if kind == "spark":
        from auditor.engine.spark import SparkEngine, spark_session

        started = time.perf_counter()
        spark_session(master)
        figures["session_seconds"] = time.perf_counter() - started
        figures["first"] = _scan(SparkEngine(master), fingerprints, corpus)
        figures["second"] = _scan(SparkEngine(master), fingerprints, corpus)
    else:
        figures["first"] = _scan(ProcessEngine(int(kind)), fingerprints, corpus)
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=40, help="MB of corpus text (as benchmarks.throughput)")
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]), args.spark_master)
        return
    folder = DATA / f"throughput-{args.mb:g}mb-{args.posts}p-s{args.seed}"
    posts, corpus, text_bytes = build_data(folder, args.mb, args.posts, args.seed)
    fingerprints = folder / "engines" / "posts.fp.parquet"
    if not fingerprints.exists():
        build_fingerprint_set([PostSource(posts)], fingerprints, Fingerprinter())
    index_set(fingerprints)
    repacked = folder / "engines" / "two-files"
    if not repacked.exists():
        table = pq.read_table(corpus)
        half = table.num_rows // 2
        (folder / "engines" / "partial").mkdir(parents=True, exist_ok=True)
        for number, piece in enumerate([table.slice(0, half), table.slice(half)]):
            pq.write_table(piece, folder / "engines" / "partial" / f"part-{number}.parquet", row_group_size=50)
        (folder / "engines" / "partial").rename(repacked)
    for layout, where in (("shards as built", corpus), ("two files", repacked)):
        results: dict[str, dict[str, Any]] = {}
        for kind in ("1", "2", "spark"):
            command = [sys.executable, "-m", "benchmarks.engines", "--spark-master", args.spark_master]
            command += ["--child", kind, str(fingerprints), str(where)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[kind] = json.loads(output.strip().splitlines()[-1])
        rows, files = results["1"]["first"]["rows"], len(list(where.glob("*.parquet")))
        print(f"\n{layout}: {files} files, {rows:,} rows, {text_bytes / 1e6:,.1f} MB of text; {args.posts:,} posts")
        print("| engine | scan, s | rows/s | MB of text/s | same evidence |")
        print("|---|---:|---:|---:|---|")
        reference = results["1"]["first"]["evidence"]
        lines = [
            ("local, 1 worker", results["1"]["first"]),
            ("local, 2 workers", results["2"]["first"]),
            (f"Spark {args.spark_master}, first audit of the session", results["spark"]["first"]),
            (f"Spark {args.spark_master}, second audit of the session", results["spark"]["second"]),
        ]
        for name, figures in lines:
            seconds = figures["seconds"]
            same = "yes" if figures["evidence"] == reference else "NO"
            print(f"| {name} | {seconds:.1f} | {rows / seconds:,.0f} | {text_bytes / 1e6 / seconds:.1f} | {same} |")
        print(f"Spark session start: {results['spark']['session_seconds']:.1f} s (not in the scan times)")


if __name__ == "__main__":
    main()
