"""Throughput benchmark: the product against plain datasketch, side by side in one run.

    python -m benchmarks.throughput                 # about 40 MB of corpus text, 20,000 posts
    python -m benchmarks.throughput --mb 100 --posts 100000
    python -m benchmarks.throughput --end-to-end     # the CLI end to end on real text: benchmarks/end_to_end.py

Prints, for the same data: fingerprinting posts/s (plain datasketch `MinHash.update_batch` per post
against `auditor fingerprint`'s library path), corpus scan MB/s of text (plain datasketch whole-row MinHash
and MinHashLSH queries against a full audit from Parquet: read, normalize, shingle, probe, verify,
evidence), the ratios, index memory per post, and peak RSS of an audit of the corpus and of four times
the corpus (each in a fresh process). Plain datasketch runs on a sample, since it is slow; its rate is
per MB all the same. Pinned to one core unless --any-core.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasketch import MinHash, MinHashLSH

from auditor import fingerprint_set
from auditor.audit import audit
from auditor.build import build_fingerprint_set
from auditor.fingerprint import Fingerprinter
from auditor.scan import CorpusScanner
from auditor.sources.corpus import open_corpus
from auditor.sources.posts import PostSource
from benchmarks.synthetic import Writer

DATA = Path(__file__).resolve().parent / "data"


def build_data(folder: Path, mb: float, posts: int, seed: int) -> tuple[Path, Path, int]:
    """Posts (JSONL) and a corpus of pages and post rows, about `mb` MB of text; cached by parameters."""
    marker = folder / "done.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        return folder / "posts.jsonl", folder / "corpus", int(info["text_bytes"])
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "corpus").mkdir(parents=True)
    writer, rng = Writer(seed), random.Random(seed)
    texts = [writer.post() for _ in range(posts)]
    with (folder / "posts.jsonl").open("w", encoding="utf-8") as stream:
        for number, text in enumerate(texts):
            stream.write(json.dumps({"id": f"p{number}", "text": text}) + "\n")
    target, written, shard = mb * 1e6, 0, 0
    while written < target:
        rows = []
        for _ in range(200):
            if rng.random() < 0.5:
                quoted = [rng.choice(texts)] if rng.random() < 0.1 else []
                rows.append(writer.page(5_000, 60_000, quoted=quoted))
            else:
                rows.append(rng.choice(texts) if rng.random() < 0.05 else writer.post())
        table = pa.table({"id": [f"s{shard}-{i}" for i in range(len(rows))], "text": rows})
        pq.write_table(table, folder / "corpus" / f"part-{shard:04d}.parquet")
        written += sum(len(r.encode()) for r in rows)
        shard += 1
    marker.write_text(json.dumps({"text_bytes": written}))
    return folder / "posts.jsonl", folder / "corpus", written


def _shingles(text: str, size: int = 5) -> list[bytes]:
    return [text[i : i + size].encode() for i in range(max(len(text) - size + 1, 1))]


def datasketch_fingerprint_rate(texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        MinHash(num_perm=128).update_batch(_shingles(text.lower()))
    return len(texts) / (time.perf_counter() - started)


def datasketch_scan_rate(post_texts: list[str], corpus: Path, budget_bytes: float) -> float:
    """Whole-row MinHash + MinHashLSH queries over the first rows of the corpus, in text MB/s."""
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    for number, text in enumerate(post_texts):
        sketch = MinHash(num_perm=128)
        sketch.update_batch(_shingles(text.lower()))
        lsh.insert(str(number), sketch)
    done, started = 0, time.perf_counter()
    for path in sorted(corpus.glob("*.parquet")):
        for text in pq.read_table(path, columns=["text"]).column("text").to_pylist():
            sketch = MinHash(num_perm=128)
            sketch.update_batch(_shingles(text.lower()))
            lsh.query(sketch)
            done += len(text.encode())
            if done >= budget_bytes:
                return done / 1e6 / (time.perf_counter() - started)
    return done / 1e6 / (time.perf_counter() - started)


def child_audit(fingerprints: Path, corpus: Path, workers: int) -> None:
    """Run one audit and print its scan time and peak RSS (a fresh process, so nothing else counts)."""
    scanner = CorpusScanner(fingerprint_set.load(fingerprints))
    scanner.scan(pa.array(["warm up the compiled kernels"]))
    started = time.perf_counter()
    result = audit(scanner, open_corpus([str(corpus)]), workers=workers)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": peak_kib / 1024, "seconds": elapsed, "matches": result.evidence.num_rows}))


def run_child(fingerprints: Path, corpus: Path, cores: str, workers: int = 1) -> dict[str, float]:
    """An audit in a fresh process on the given cores (a taskset list such as "0" or "0-1")."""
    command = [sys.executable, "-m", "benchmarks.throughput", "--child-audit", str(fingerprints), str(corpus)]
    command = ["taskset", "-c", cores, *command, "--child-workers", str(workers)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def main() -> None:
    if "--end-to-end" in sys.argv:  # the CLI as a user runs it, on real text: benchmarks/end_to_end.py
        from benchmarks import end_to_end

        sys.argv.remove("--end-to-end")
        end_to_end.main()
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=40, help="corpus text to generate, in MB")
    parser.add_argument("--posts", type=int, default=20_000, help="posts in the fingerprint set")
    parser.add_argument("--baseline-mb", type=float, default=3, help="corpus text plain datasketch scans")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--any-core", action="store_true", help="do not pin to core 0")
    parser.add_argument("--child-audit", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_audit:
        fingerprints_path, corpus_path = args.child_audit
        child_audit(fingerprints_path, corpus_path, args.child_workers)
        return
    pin = not args.any_core and hasattr(os, "sched_setaffinity")
    all_cores = ",".join(str(core) for core in sorted(os.sched_getaffinity(0)))
    if pin:
        os.sched_setaffinity(0, {0})
    folder = DATA / f"throughput-{args.mb:g}mb-{args.posts}p-s{args.seed}"
    posts, corpus, text_bytes = build_data(folder, args.mb, args.posts, args.seed)
    post_texts = [json.loads(line)["text"] for line in posts.open(encoding="utf-8")]
    print(f"data: {len(post_texts):,} posts; corpus {text_bytes / 1e6:.1f} MB of text in {corpus}")

    sample = post_texts[:2_000]
    plain_fp = datasketch_fingerprint_rate(sample)
    fingerprints = folder / "posts.fp.parquet"
    build_fingerprint_set([PostSource(posts)], folder / "warm.fp.parquet", Fingerprinter())  # warm-up
    started = time.perf_counter()
    build_fingerprint_set([PostSource(posts)], fingerprints, Fingerprinter())
    ours_fp = len(post_texts) / (time.perf_counter() - started)

    plain_scan = datasketch_scan_rate(post_texts, corpus, args.baseline_mb * 1e6)
    scanner = CorpusScanner(fingerprint_set.load(fingerprints))
    scanner.scan(pa.array(post_texts[:100]))  # compiled kernels load before timing
    index = scanner.index
    arrays = (index.prefix_entries, index.filter_words, index.specific_bits, index.radix, index.heavy_offsets)
    index_bytes = sum(a.nbytes for a in (*arrays, index.heavy_ids, index.heavy_hashes))
    started = time.perf_counter()
    result = audit(scanner, open_corpus([str(corpus)]))
    ours_scan = text_bytes / 1e6 / (time.perf_counter() - started)

    quadruple = folder / "corpus4x"
    if not quadruple.exists():
        quadruple.mkdir()
        for copy in range(4):
            for shard in sorted(corpus.glob("*.parquet")):
                os.link(shard, quadruple / f"copy{copy}-{shard.name}")
    one_core = "0" if pin else all_cores
    single, four = run_child(fingerprints, corpus, one_core), run_child(fingerprints, quadruple, one_core)
    both = run_child(fingerprints, quadruple, all_cores, workers=2)

    print("\n| measure | plain datasketch | provenance-auditor | ratio |\n|---|---:|---:|---:|")
    print(f"| fingerprinting, posts/s | {plain_fp:,.0f} | {ours_fp:,.0f} | {ours_fp / plain_fp:.0f}x |")
    print(f"| corpus scan, MB of text/s | {plain_scan:.2f} | {ours_scan:.1f} | {ours_scan / plain_scan:.0f}x |")
    print(
        f"\nmatches found: {result.evidence.num_rows:,}; index memory beyond signatures: "
        f"{index_bytes / len(post_texts):,.0f} bytes per post"
    )
    print(
        f"peak RSS of an audit: corpus {single['peak_rss_mb']:,.0f} MB, four times the corpus "
        f"{four['peak_rss_mb']:,.0f} MB ({four['peak_rss_mb'] / single['peak_rss_mb'] - 1:+.1%}); "
        f"scan {single['seconds']:.1f} s and {four['seconds']:.1f} s"
    )
    print(
        f"--workers 2 on four times the corpus: {both['seconds']:.1f} s against {four['seconds']:.1f} s with one "
        f"worker ({four['seconds'] / both['seconds']:.2f}x; same matches: {both['matches'] == four['matches']})"
    )
    print(f"cores: one-worker figures {'pinned to core 0' if pin else 'on any core'}; two workers on {all_cores}")


if __name__ == "__main__":
    main()
