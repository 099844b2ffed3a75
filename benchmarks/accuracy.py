"""Accuracy benchmark: pair recall, post recall and pair precision of the audit, on real text.

    python -m benchmarks.accuracy                     # real text, default scale: a few minutes, one core
    python -m benchmarks.accuracy --synthetic         # also the generated benchmark (synthetic.py)
    python -m benchmarks.accuracy --baseline          # also plain datasketch on the same data
    python -m benchmarks.accuracy --explain 20        # list missed and false pairs with their true containment

Builds posts and a Parquet corpus from real human-written text found on this machine (realtext.py:
Debian changelog entries, docstrings, manual pages), runs the audit the way the CLI
does (`build_fingerprint_set`, then the library `audit` over the corpus files), at default settings,
and compares the evidence with the ground truth. Every pair reported that was not planted is a false
positive: chance matches in long pages and near misses included. Posts the set counts as untestable
(too short) count as not found.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasketch import MinHash, MinHashLSH

from auditor import fingerprint_set
from auditor.audit import audit
from auditor.build import build_fingerprint_set
from auditor.fingerprint import Fingerprinter, shingle_texts
from auditor.kernels.shingle_hash import ShingleHasher
from auditor.scan import CorpusScanner
from auditor.sources.corpus import open_corpus
from auditor.sources.posts import PostSource
from benchmarks.realtext import generate_real
from benchmarks.synthetic import CLEANINGS, PLACEMENTS, Dataset, Plant, generate

Pair = tuple[str, str, int]
LENGTHS = ((0, 40), (40, 60), (60, 100), (100, 10**9))  # normalized characters of a post


@dataclass(frozen=True)
class Run:
    reported: set[Pair]
    seconds: float
    corpus_bytes: int
    normalized_lengths: dict[str, int]  # post id -> normalized characters
    untestable: set[str]


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


def run_auditor(posts: Path, corpus: Path, folder: Path) -> Run:
    """The library path of `auditor fingerprint` and `auditor audit`, at default settings."""
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
    table = pq.read_table(output, columns=["post_id", "normalized_length", "skip_reason"]).to_pydict()
    lengths = dict(zip(table["post_id"], table["normalized_length"], strict=True))
    untestable = {p for p, r in zip(table["post_id"], table["skip_reason"], strict=True) if r is not None}
    return Run(reported, elapsed, sum(f.stat().st_size for f in corpus.iterdir()), lengths, untestable)


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


def _length_label(low: int, high: int) -> str:
    return f"post length: {low} to {high - 1}" if high < 10**9 else f"post length: {low} or more"


def score(
    reported: set[Pair], plants: list[Plant], lengths: dict[str, int], sources: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    """Recall by slice (placement, cleaning, normalized length, source), precision overall and by file."""
    truth = {(p.post_id, p.file, p.row): p for p in plants if not p.near_miss}
    near = {(p.post_id, p.file, p.row): p for p in plants if p.near_miss}
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
    overall = table["all"]
    overall["pair_precision"] = len(found) / len(reported) if reported else float("nan")
    overall["reported"] = len(reported)
    overall["false_positives"] = len(reported - truth.keys())
    overall["near_misses"] = len(near)
    overall["near_misses_reported"] = len(reported & near.keys())
    slices: dict[str, list[Plant]] = defaultdict(list)
    for plant in planted:
        slices[f"placement: {plant.placement}"].append(plant)
        slices[f"cleaning: {plant.cleaning}"].append(plant)
        length = lengths.get(plant.post_id, 0)
        slices[next(_length_label(lo, hi) for lo, hi in LENGTHS if lo <= length < hi)].append(plant)
        if sources is not None:
            slices[f"source: {sources[plant.post_id]}"].append(plant)
    file_of = {"row": "posts_dataset.parquet", "quote": "pages.parquet", "timeline": "timelines.parquet"}
    for placement in PLACEMENTS:
        label = f"placement: {placement}"
        recall(label, slices[label])
        in_file = {pair for pair in reported if pair[1] == file_of[placement]}
        table[label]["pair_precision"] = len(in_file & found) / len(in_file) if in_file else float("nan")
    for cleaning in CLEANINGS:
        recall(f"cleaning: {cleaning}", slices[f"cleaning: {cleaning}"])
    for low, high in LENGTHS:
        recall(_length_label(low, high), slices[_length_label(low, high)])
    for label in sorted(k for k in slices if k.startswith("source: ")):
        recall(label, slices[label])
    kinds: dict[str, list[Pair]] = defaultdict(list)
    for pair, plant in near.items():
        kinds[plant.cleaning].append(pair)
    for kind, pairs in sorted(kinds.items()):
        table[f"near miss: {kind}"] = {"pairs": len(pairs), "reported": sum(p in reported for p in pairs)}
    return table


def _rate(value: float) -> str:
    """A rate to four places; "n/a" where its denominator was empty (no pair planted, none reported)."""
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n#### {title}\n")
    print("| slice | planted pairs | pair recall | post recall | pair precision |")
    print("|---|---:|---:|---:|---:|")
    for label, row in table.items():
        if label.startswith("near miss: "):
            continue
        precision = _rate(row["pair_precision"]) if "pair_precision" in row else ""
        recalls = f"{_rate(row['pair_recall'])} | {_rate(row['post_recall'])}"
        print(f"| {label} | {int(row['pairs']):,} | {recalls} | {precision} |")
    overall = table["all"]
    near = ", ".join(
        f"{label[len('near miss: ') :]} {int(row['reported'])} of {int(row['pairs']):,}"
        for label, row in table.items()
        if label.startswith("near miss: ")
    )
    print(
        f"\nreported pairs {int(overall['reported']):,}; false positives {int(overall['false_positives']):,}; "
        f"near-miss pairs reported: {near or 'none planted'}"
    )


def targets_met(table: dict[str, dict[str, float]]) -> bool:
    overall = table["all"]
    return (
        overall["pair_recall"] >= 0.99
        and overall["post_recall"] >= 0.99
        and overall["pair_precision"] >= 0.995
        and overall["near_misses_reported"] == 0
    )


def true_containment(post: str, row: str, hasher: ShingleHasher) -> float:
    """Share of the post's distinct normalized shingles that occur in the row."""
    shingled = shingle_texts(pa.array([post, row]), hasher)
    offsets = shingled.window_offsets
    mine = np.unique(shingled.mixed[offsets[0] : offsets[1]])
    theirs = shingled.mixed[offsets[1] : offsets[2]]
    return float(np.isin(mine, theirs).mean()) if len(mine) else 0.0


def explain(dataset: Dataset, run: Run, limit: int) -> None:
    """The first missed pairs and false pairs, with the post's true containment in the row."""
    hasher = ShingleHasher(12)
    posts = {p["id"]: p["text"] for p in dataset.posts}
    truth = {(p.post_id, p.file, p.row): p for p in dataset.plants if not p.near_miss}
    missed = sorted(set(truth) - run.reported)
    false = sorted(run.reported - set(truth))
    for title, pairs in (("missed", missed), ("false", false)):
        print(f"\n{title} pairs: {len(pairs):,}")
        for pair in pairs[:limit]:
            post, file, row = pair
            text = dataset.files[file][row]["text"]
            plant = truth.get(pair)
            label = f"{plant.placement}/{plant.cleaning}" if plant else "not planted"
            untestable = " untestable" if post in run.untestable else ""
            print(
                f"  {post} {file}:{row} {label} length {run.normalized_lengths.get(post)}{untestable} "
                f"true containment {true_containment(posts[post], text, hasher):.2f}: {posts[post][:90]!r}"
            )


def benchmark(
    title: str, dataset: Dataset, sources: dict[str, str] | None, baseline: bool, explained: int
) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        posts, corpus = write_dataset(dataset, folder)
        run = run_auditor(posts, corpus, folder)
    chars = sum(len(row["text"]) for rows in dataset.files.values() for row in rows)
    rows = sum(len(rows) for rows in dataset.files.values())
    print(
        f"{title}: {len(dataset.posts):,} posts ({len(run.untestable):,} untestable); corpus {rows:,} rows, "
        f"{chars / 1e6:.1f} M characters in {run.corpus_bytes / 1e6:.1f} MB of Parquet; audit {run.seconds:.1f} s"
    )
    table = score(run.reported, dataset.plants, run.normalized_lengths, sources)
    print_table(f"provenance-auditor, default settings: {title}", table)
    if explained:
        explain(dataset, run, explained)
    if baseline:
        print_table(
            f"plain datasketch (whole-row MinHash, char 5-grams, MinHashLSH and Jaccard >= 0.5): {title}",
            score(run_baseline(dataset), dataset.plants, run.normalized_lengths, sources),
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=10_000, help="posts in the platform set")
    parser.add_argument("--pages", type=int, default=700, help="background pages (real documents)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--synthetic", action="store_true", help="also run the generated benchmark")
    parser.add_argument("--baseline", action="store_true", help="also run plain datasketch")
    parser.add_argument("--explain", type=int, default=0, metavar="N", help="list N missed and N false pairs")
    args = parser.parse_args()
    say: Callable[[str], None] = print
    real = generate_real(posts=args.posts, pages=args.pages, seed=args.seed, progress=say)
    left = ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in real.left_out.items())
    print(f"real texts left out: {left}")
    table = benchmark("real text", real.dataset, real.sources, args.baseline, args.explain)
    verdict = "met" if targets_met(table) else "NOT met"
    print(
        "\ntargets (pair recall >= 0.99, post recall >= 0.99, pair precision >= 0.995, "
        f"no near-miss pair reported): {verdict}"
    )
    if args.synthetic:
        dataset = generate(posts=args.posts, background_pages=300, seed=args.seed, progress=say)
        benchmark("generated text", dataset, None, args.baseline, args.explain)


if __name__ == "__main__":
    main()
