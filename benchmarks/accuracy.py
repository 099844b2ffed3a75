"""Accuracy benchmark: pair recall, post recall and pair precision of the audit on a realistic case.

    python -m benchmarks.accuracy            # default scale, about a minute
    python -m benchmarks.accuracy --posts 25000 --pages 600

Builds posts and a Parquet corpus with synthetic.generate (posts planted as rows, quoted in pages and in
scraped timelines, after each cleaning; near misses that must not match), runs `auditor` with default
settings, and compares the evidence with the ground truth. A reported pair that is not planted counts as
a false positive: chance matches in long pages and near misses included. With --baseline (on by
default) it also runs plain datasketch (whole-row MinHash of character 5-grams into MinHashLSH).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
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
from benchmarks.synthetic import CLEANINGS, PLACEMENTS, Dataset, Plant, generate

Pair = tuple[str, str, int]


def write_dataset(dataset: Dataset, folder: Path) -> tuple[Path, Path]:
    posts = folder / "posts.jsonl"
    with posts.open("w", encoding="utf-8") as stream:
        for post in dataset.posts:
            stream.write(json.dumps(post) + "\n")
    corpus = folder / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, rows in dataset.files.items():
        pq.write_table(pa.Table.from_pylist(rows), corpus / name, row_group_size=2_000)
    return posts, corpus


def run_auditor(posts: Path, corpus: Path, folder: Path) -> tuple[set[Pair], float, int]:
    output = folder / "posts.fp.parquet"
    build_fingerprint_set([PostSource(posts)], output, Fingerprinter())
    files = open_corpus([str(corpus)])
    started = time.perf_counter()
    result = audit(CorpusScanner(fingerprint_set.load(output)), files)
    elapsed = time.perf_counter() - started
    evidence = result.evidence.to_pydict()
    reported = {
        (post, Path(file).name, row)
        for post, file, row in zip(evidence["post_id"], evidence["corpus_file"], evidence["corpus_row"], strict=True)
    }
    return reported, elapsed, sum(f.stat().st_size for f in corpus.iterdir())


def _shingles(text: str, size: int = 5) -> list[bytes]:
    text = " ".join(text.lower().split())
    return [text[i : i + size].encode() for i in range(max(len(text) - size + 1, 1))]


def run_baseline(dataset: Dataset, threshold: float = 0.5) -> set[Pair]:
    """Plain datasketch: whole-row MinHash (character 5-grams) of posts into MinHashLSH, rows queried."""
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    sketches: dict[str, MinHash] = {}
    for post in dataset.posts:
        sketch = MinHash(num_perm=128)
        sketch.update_batch(_shingles(post["text"]))
        lsh.insert(post["id"], sketch)
        sketches[post["id"]] = sketch
    reported: set[Pair] = set()
    for name, rows in dataset.files.items():
        for number, row in enumerate(rows):
            sketch = MinHash(num_perm=128)
            sketch.update_batch(_shingles(row["text"]))
            # LSH gives candidates; verify each on its estimated Jaccard, as a careful user would.
            verified = (p for p in lsh.query(sketch) if sketches[p].jaccard(sketch) >= threshold)
            reported.update((post_id, name, number) for post_id in verified)
    return reported


def score(reported: set[Pair], plants: list[Plant]) -> dict[str, dict[str, float]]:
    truth = {(p.post_id, p.file, p.row): p for p in plants if not p.near_miss}
    near = {(p.post_id, p.file, p.row) for p in plants if p.near_miss}
    found = reported & truth.keys()
    table: dict[str, dict[str, float]] = {}

    def recall(label: str, keep: list[Plant]) -> None:
        pairs = [(p.post_id, p.file, p.row) for p in keep]
        posts = {p.post_id for p in keep}
        posts_found = {pair[0] for pair in pairs if pair in found}
        table[label] = {
            "pairs": len(pairs),
            "pair_recall": sum(pair in found for pair in pairs) / len(pairs) if pairs else float("nan"),
            "post_recall": len(posts_found) / len(posts) if posts else float("nan"),
        }

    planted = list(truth.values())
    recall("all", planted)
    table["all"]["pair_precision"] = len(found) / len(reported) if reported else 1.0
    table["all"]["reported"] = len(reported)
    table["all"]["false_positives"] = len(reported - truth.keys())
    table["all"]["near_misses_reported"] = len(reported & near)
    by_placement: dict[str, list[Plant]] = defaultdict(list)
    by_cleaning: dict[str, list[Plant]] = defaultdict(list)
    for plant in planted:
        by_placement[plant.placement].append(plant)
        by_cleaning[plant.cleaning].append(plant)
    file_of = {"row": "posts_dataset.parquet", "quote": "pages.parquet", "timeline": "timelines.parquet"}
    for placement in PLACEMENTS:
        recall(f"placement: {placement}", by_placement[placement])
        in_file = {pair for pair in reported if pair[1] == file_of[placement]}
        table[f"placement: {placement}"]["pair_precision"] = len(in_file & found) / len(in_file) if in_file else 1.0
    for cleaning in CLEANINGS:
        recall(f"cleaning: {cleaning}", by_cleaning[cleaning])
    return table


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n### {title}\n")
    print("| slice | planted pairs | pair recall | post recall | pair precision |")
    print("|---|---:|---:|---:|---:|")
    for label, row in table.items():
        precision = f"{row['pair_precision']:.3f}" if "pair_precision" in row else ""
        print(
            f"| {label} | {int(row['pairs']):,} | {row['pair_recall']:.3f} | {row['post_recall']:.3f} | {precision} |"
        )
    overall = table["all"]
    print(
        f"\nreported pairs {int(overall['reported']):,}; false positives {int(overall['false_positives']):,}, "
        f"of which near misses {int(overall['near_misses_reported']):,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=10_000, help="posts in the platform set")
    parser.add_argument("--pages", type=int, default=300, help="background pages of 5,000 to 60,000 characters")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true", help="skip plain datasketch")
    args = parser.parse_args()
    dataset = generate(posts=args.posts, background_pages=args.pages, seed=args.seed, progress=print)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        posts, corpus = write_dataset(dataset, folder)
        reported, elapsed, size = run_auditor(posts, corpus, folder)
        chars = sum(len(row["text"]) for rows in dataset.files.values() for row in rows)
        print(f"corpus: {chars / 1e6:.1f} M characters in {size / 1e6:.1f} MB of Parquet; audit scan {elapsed:.1f} s")
        table = score(reported, dataset.plants)
        print_table("provenance-auditor (default settings)", table)
        targets = table["all"]["pair_recall"] >= 0.97 and table["all"]["post_recall"] >= 0.98
        targets = targets and table["all"]["pair_precision"] >= 0.99
        verdict = "met" if targets else "NOT met"
        print(f"\ntargets (pair recall >= 0.97, post recall >= 0.98, pair precision >= 0.99): {verdict}")
        if not args.no_baseline:
            print_table(
                "plain datasketch (whole-row MinHash, char 5-grams, MinHashLSH and Jaccard >= 0.5)",
                score(run_baseline(dataset), dataset.plants),
            )


if __name__ == "__main__":
    main()
