"""Fingerprinting straight from platform exports, end to end through the CLI, on one core.

    python -m benchmarks.exports                  # 500,000 posts in each export
    python -m benchmarks.exports --posts 1000000

Builds (once, cached in benchmarks/data/) a Reddit comments dump `RC_2018-10.zst` as Pushshift writes
it (one JSON object of about 1 KB a line, every field a real dump has, zstd with a 2 GiB window) and an
X archive `.zip` as downloaded (`data/tweets.js` and `data/tweets-part1.js`, pretty-printed, every
field a real archive has, `account.js`), then times `python -m auditor fingerprint EXPORT` in a fresh
process pinned to core 0 (decompression, parsing, dates, fingerprinting and writing the set, interpreter
start included) and prints posts per second, in wall time and in CPU time (user + system, which a
shared core inflates less). `--breakdown` also times reading, fingerprinting and writing apart, in this
process (CPU time, least of three runs).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import zstandard

from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import FingerprintSetWriter
from auditor.sources.posts import PostSource
from benchmarks.synthetic import Writer

DATA = Path(__file__).resolve().parent / "data"
START = datetime(2018, 10, 1, tzinfo=timezone.utc)
TARGET = 100_000  # posts a second, the exports issue's target


def reddit_line(number: int, text: str, rng: random.Random) -> dict[str, object]:
    created = int(START.timestamp()) + number
    return {
        "all_awardings": [],
        "associated_award": None,
        "author": f"user_{rng.randrange(50_000)}",
        "author_created_utc": 1400000000 + rng.randrange(10**8),
        "author_flair_background_color": None,
        "author_flair_css_class": None,
        "author_flair_richtext": [],
        "author_flair_template_id": None,
        "author_flair_text": None,
        "author_flair_text_color": None,
        "author_flair_type": "text",
        "author_fullname": f"t2_{rng.randrange(36**6):x}",
        "author_patreon_flair": False,
        "author_premium": False,
        "awarders": [],
        "body": text,
        "can_gild": True,
        "collapsed": False,
        "collapsed_reason": None,
        "controversiality": 0,
        "created_utc": created,
        "distinguished": None,
        "edited": False,
        "gilded": 0,
        "gildings": {},
        "id": f"e{number:x}",
        "is_submitter": False,
        "link_id": f"t3_9n{number // 100:x}",
        "locked": False,
        "no_follow": True,
        "parent_id": f"t3_9n{number // 100:x}",
        "permalink": f"/r/AskReddit/comments/9n{number // 100:x}/a_title/e{number:x}/",
        "retrieved_on": created + 86400,
        "score": rng.randrange(-5, 500),
        "send_replies": True,
        "stickied": False,
        "subreddit": "AskReddit",
        "subreddit_id": "t5_2qh1i",
        "subreddit_name_prefixed": "r/AskReddit",
        "subreddit_type": "public",
        "total_awards_received": 0,
        "treatment_tags": [],
    }


def x_tweet(number: int, text: str, rng: random.Random) -> dict[str, object]:
    moment = START + timedelta(seconds=number)
    urls = []
    if rng.random() < 0.25:
        short = f"https://t.co/{rng.randrange(36**10):x}"
        urls.append(
            {
                "url": short,
                "expanded_url": f"https://example.org/{number}",
                "display_url": "example.org/…",
                "indices": ["0", "23"],
            }
        )
        text = f"{text} {short}"
    return {
        "tweet": {
            "edit_info": {
                "initial": {
                    "editTweetIds": [str(10**18 + number)],
                    "editableUntil": moment.isoformat(),
                    "editsRemaining": "5",
                    "isEditEligible": True,
                }
            },
            "retweeted": False,
            "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
            "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": urls},
            "display_text_range": ["0", str(len(text))],
            "favorite_count": str(rng.randrange(100)),
            "id_str": str(10**18 + number),
            "truncated": False,
            "retweet_count": str(rng.randrange(10)),
            "id": str(10**18 + number),
            "created_at": moment.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "favorited": False,
            "full_text": text,
            "lang": "en",
        }
    }


def build(posts: int, seed: int) -> tuple[Path, Path]:
    folder = DATA / f"exports-{posts}-{seed}"
    dump, archive = folder / "RC_2018-10.zst", folder / "twitter-archive.zip"
    if (folder / "done").exists():
        return dump, archive
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    writer, rng = Writer(seed), random.Random(seed)
    texts = [writer.post().removeprefix("RT ") for _ in range(posts)]
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, write_content_size=False)
    with dump.open("wb") as raw, zstandard.ZstdCompressor(compression_params=params).stream_writer(raw) as out:
        for number, text in enumerate(texts):
            out.write(json.dumps(reddit_line(number, text, rng)).encode() + b"\n")
    half = posts // 2
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        account = [{"account": {"username": "benchmark_account", "accountId": "42"}}]
        packed.writestr("data/account.js", "window.YTD.account.part0 = " + json.dumps(account, indent=2))
        for part, (name, chunk) in enumerate((("tweets.js", texts[:half]), ("tweets-part1.js", texts[half:]))):
            offset = 0 if part == 0 else half
            items = [x_tweet(offset + i, text, rng) for i, text in enumerate(chunk)]
            body = io.StringIO()
            body.write(f"window.YTD.tweets.part{part} = ")
            json.dump(items, body, indent=2, ensure_ascii=False)
            packed.writestr(f"data/{name}", body.getvalue())
    (folder / "done").write_text("")
    return dump, archive


def run(export: Path, out: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds (user + system) of one fingerprint run, and the posts in the set."""
    command = ["taskset", "-c", "0", sys.executable, "-m", "auditor", "fingerprint", str(export), "-o", str(out), "-q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, pq.ParquetFile(out).metadata.num_rows


def breakdown(export: Path, repeats: int = 3) -> tuple[float, float, float]:
    """CPU microseconds a post, least of `repeats` runs, of reading the export into post batches,
    fingerprinting them, and writing the set: where the end-to-end time goes."""
    fingerprinter = Fingerprinter()
    read = fingerprint = write = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        batches = list(PostSource(export).batches())
        posts = sum(batch.num_rows for batch in batches)
        read = min(read, (time.process_time() - started) / posts * 1e6)
        started = time.process_time()
        fingerprinted = [fingerprinter.fingerprint(batch) for batch in batches]
        fingerprint = min(fingerprint, (time.process_time() - started) / posts * 1e6)
        started = time.process_time()
        with tempfile.TemporaryDirectory() as scratch:
            writer = FingerprintSetWriter(Path(scratch) / "set.fp.parquet", fingerprinter.schema)
            for batch in fingerprinted:
                writer.write(batch)
            writer.abort()
        write = min(write, (time.process_time() - started) / posts * 1e6)
    return read, fingerprint, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--breakdown", action="store_true", help="also time each stage in this process")
    args = parser.parse_args()
    dump, archive = build(args.posts, args.seed)
    subprocess.run([sys.executable, "-m", "auditor", "--version"], check=True, capture_output=True)  # compiled
    print("| export | size | posts | wall s | posts/s (wall) | CPU s | posts/s (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    with tempfile.TemporaryDirectory() as scratch:
        for label, export in (("Reddit RC_2018-10.zst", dump), ("X archive .zip", archive)):
            elapsed, cpu, rows = run(export, Path(scratch) / "set.fp.parquet")
            size = export.stat().st_size / 1e6
            print(
                f"| {label} | {size:,.0f} MB | {rows:,} | {elapsed:.1f} | {rows / elapsed:,.0f} | {cpu:.1f} | "
                f"{rows / cpu:,.0f} |"
            )
            verdicts.append(f"{label} {'met' if rows / cpu >= TARGET else 'not met'}")
    print(f"\ntarget {TARGET:,} posts/s (CPU, one core, end to end): {'; '.join(verdicts)}")
    if args.breakdown:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {0})
        print("\n| export | read µs/post | fingerprint µs/post | write µs/post | sum | posts/s |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, export in (("Reddit RC_2018-10.zst", dump), ("X archive .zip", archive)):
            read, fingerprint, write = breakdown(export)
            total = read + fingerprint + write
            print(f"| {label} | {read:.2f} | {fingerprint:.2f} | {write:.2f} | {total:.2f} | {1e6 / total:,.0f} |")
    print(
        "\nend to end through `python -m auditor fingerprint EXPORT -q`, one process pinned to core 0, interpreter "
        "start included; CPU is the process's user + system time (the wall rate suffers when the core is shared)"
    )


if __name__ == "__main__":
    main()
