"""Each platform export, end to end: fingerprint it with the format sniffed, plant some of its posts in a
Parquet corpus, audit with --cutoff, and find exactly the planted posts with the control working."""

from __future__ import annotations

import io
import json
import random
import re
import tarfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from tests.conftest import write_parquet
from tests.exports_fixtures import (
    bluesky_car,
    classic,
    reddit_comment,
    tweet,
    write_x_archive,
    zip_folder,
    zst_2gib_window,
)
from tests.test_export_mastodon import PUBLIC, create
from tests.test_export_stackexchange import row

CUTOFF = "2024-06-30"
EARLY = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
LATE = datetime(2024, 9, 1, 12, 0, 0, tzinfo=timezone.utc)
WORDS = (
    "harbour",
    "ferry",
    "lighthouse",
    "tide",
    "keeper",
    "gull",
    "fog",
    "bell",
    "buoy",
    "anchor",
    "rope",
    "sail",
    "mast",
    "deck",
    "chart",
    "compass",
    "storm",
    "pier",
    "dock",
    "wave",
    "salt",
    "crab",
    "net",
    "boat",
    "oar",
    "keel",
    "hull",
    "reef",
    "cove",
    "bay",
    "cliff",
    "shore",
    "sand",
    "dune",
    "kelp",
    "shell",
)


def texts(count: int) -> list[str]:
    rng = random.Random(5)
    return [f"Note {i}: " + " ".join(rng.choice(WORDS) for _ in range(24)) for i in range(count)]


POSTS = texts(16)
DATES = [EARLY + timedelta(days=i) for i in range(10)] + [LATE + timedelta(days=i) for i in range(6)]
PLANTED = [0, 1, 2, 3, 4, 5, 12]  # six posts from before the cutoff, one after it (a chance match)


def x_archive(folder: Path) -> Path:
    items = [tweet(100 + i, text, when) for i, (text, when) in enumerate(zip(POSTS, DATES, strict=True))]
    root = write_x_archive(folder / "x", [items[:9], items[9:]])
    return zip_folder(root, folder / "twitter-archive.zip")


def reddit(folder: Path) -> Path:
    lines = [
        reddit_comment(f"c{i}", text, str(int(when.timestamp())))
        for i, (text, when) in enumerate(zip(POSTS, DATES, strict=True))
    ]
    path = folder / "RC_2024-03.zst"
    path.write_bytes(zst_2gib_window(lines))
    return path


def twitter_api(folder: Path) -> Path:
    data = [
        {"id": str(i), "text": text, "author_id": "42", "created_at": when.isoformat().replace("+00:00", "Z")}
        for i, (text, when) in enumerate(zip(POSTS, DATES, strict=True))
    ]
    page = {"data": data, "includes": {"users": [{"id": "42", "username": "harbour"}]}, "meta": {"result_count": 16}}
    path = folder / "search.jsonl"
    path.write_text(json.dumps(page) + "\n", encoding="utf-8")
    return path


def mastodon(folder: Path) -> Path:
    items = []
    for i, (text, when) in enumerate(zip(POSTS, DATES, strict=True)):
        item = create(i, f"<p>{text}</p>", [PUBLIC], [])
        item["object"]["published"] = when.isoformat()
        items.append(item)
    outbox = {"@context": "https://www.w3.org/ns/activitystreams", "type": "OrderedCollection", "orderedItems": items}
    body = json.dumps(outbox).encode()
    path = folder / "archive-20241001.tar.gz"
    with tarfile.open(path, "w:gz") as packed:
        info = tarfile.TarInfo("outbox.json")
        info.size = len(body)
        packed.addfile(info, io.BytesIO(body))
    return path


def stackexchange(folder: Path) -> Path:
    rows = [
        row(Id=str(i), PostTypeId="2", CreationDate=when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3], Body=f"<p>{text}</p>")
        for i, (text, when) in enumerate(zip(POSTS, DATES, strict=True))
    ]
    path = folder / "sailing.stackexchange.com" / "Posts.xml"
    path.parent.mkdir()
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n' + "".join(rows) + "</posts>\n")
    return path


def bluesky(folder: Path) -> Path:
    records = {
        f"app.bsky.feed.post/3k{i:011d}": {"$type": "app.bsky.feed.post", "text": text, "createdAt": when.isoformat()}
        for i, (text, when) in enumerate(zip(POSTS, DATES, strict=True))
    }
    path = folder / "repo.car"
    path.write_bytes(bluesky_car("did:plc:harbour", records))
    return path


def x_classic_in_jsonl(folder: Path) -> Path:
    path = folder / "posts.jsonl"
    lines = [
        json.dumps({"id": i, "text": t, "created_at": classic(w)})
        for i, (t, w) in enumerate(zip(POSTS, DATES, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "expected_format"),
    [
        (x_archive, "x-archive"),
        (reddit, "pushshift"),
        (twitter_api, "twitter-api"),
        (mastodon, "mastodon"),
        (stackexchange, "stackexchange"),
        (bluesky, "bluesky"),
        (x_classic_in_jsonl, "jsonl"),
    ],
)
def test_export_fingerprinted_and_found_with_the_control(
    tmp_path: Path, make: Callable[[Path], Path], expected_format: str
) -> None:
    export = make(tmp_path)
    fingerprints = tmp_path / "set.fp.parquet"
    runner = CliRunner()
    result = runner.invoke(app, ["fingerprint", str(export), "-o", str(fingerprints)])
    assert result.exit_code == 0, result.output
    assert f"({expected_format}): 16 records, 16 posts" in result.output
    assert "undated" not in result.output
    filler = "An unrelated page about something else entirely, long enough to be a document of the corpus. " * 5
    rows = [{"id": f"r{n}", "text": f"{filler} Someone quoted: {POSTS[n]} and went on."} for n in PLANTED]
    corpus = write_parquet(tmp_path / "corpus" / "part-0.parquet", [*rows, {"id": "r-none", "text": filler}])
    report = tmp_path / "report.json"
    arguments = ["audit", str(fingerprints), str(corpus), "--cutoff", CUTOFF, "--json", str(report), "-q"]
    result = runner.invoke(app, [*arguments, "--evidence", str(tmp_path / "e.parquet"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["counts"]["posts_matched"] == len(PLANTED)
    control = data["claims"]["control"]
    assert (control["before"]["numerator"], control["before"]["denominator"]) == (6, 10)
    assert (control["after"]["numerator"], control["after"]["denominator"]) == (1, 6)
    assert data["claims"]["undated_posts"] == 0
    assert data["inputs"]["fingerprint_set"]["sources"][0]["format"] == expected_format
    markdown = runner.invoke(app, ["report", str(report), "--format", "markdown"])
    shown = markdown.output.replace("\\", "")  # Markdown escapes the format's punctuation
    assert markdown.exit_code == 0 and f"({expected_format}): 16 posts of 16 records" in shown


def damaged(make: Callable[[Path], Path], cut: int) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = make(folder)
        path.write_bytes(path.read_bytes()[:cut])
        return path

    return build


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (damaged(x_archive, 200), r"twitter-archive\.zip: a damaged zip file"),
        (damaged(reddit, -40), r"RC_2024-03\.zst: the zstd stream is damaged or cut short"),
        (
            damaged(mastodon, 300),
            r"archive-20241001\.tar\.gz:outbox\.json: the compressed stream is damaged or cut short",
        ),
        (damaged(stackexchange, -60), r"Posts\.xml line \d+: not well-formed XML"),
        (damaged(bluesky, -30), r"repo\.car: a damaged repository export"),
        (damaged(twitter_api, -30), r"search\.jsonl: not a valid Twitter API response"),
    ],
)
def test_damaged_export_exits_2_with_one_sentence(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    export = make(tmp_path)
    result = CliRunner().invoke(app, ["fingerprint", str(export), "-o", str(tmp_path / "s.fp.parquet")])
    assert result.exit_code == 2, result.output
    text = " ".join(line.strip() for line in result.output.strip().splitlines())
    assert text.startswith("error:") and "Traceback" not in text, result.output
    assert re.search(message, text), text
    assert not (tmp_path / "s.fp.parquet").exists()


def test_cutoff_off_the_calendar_exits_2(tmp_path: Path) -> None:
    export = reddit(tmp_path)
    fingerprints = tmp_path / "set.fp.parquet"
    runner = CliRunner()
    assert runner.invoke(app, ["fingerprint", str(export), "-o", str(fingerprints), "-q"]).exit_code == 0
    corpus = write_parquet(tmp_path / "corpus.parquet", [{"text": POSTS[0]}])
    result = runner.invoke(app, ["audit", str(fingerprints), str(corpus), "--cutoff", "2025-13-01", "-q"])
    assert result.exit_code == 2
    assert "--cutoff 2025-13-01 is no calendar date" in " ".join(result.output.split())
