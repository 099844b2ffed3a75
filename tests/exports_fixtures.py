"""Small exports written in the platforms' real formats, for the reader tests."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from auditor.sources.posts import PostSource

LONG = (
    "Spent the whole afternoon repairing the old lighthouse radio with my grandfather, and it finally "
    "crackled back to life right as the storm rolled in over the harbour"
)


def read_all(source: PostSource) -> pa.Table:
    return pa.Table.from_batches(list(source.batches()))


def classic(moment: datetime) -> str:
    """Twitter's classic created_at."""
    return moment.astimezone(timezone.utc).strftime("%a %b %d %H:%M:%S +0000 %Y")


def ytd(name: str, part: int, items: list[dict[str, Any]]) -> str:
    """A file of an X archive: JavaScript assigning a pretty-printed JSON array, as X writes it."""
    return f"window.YTD.{name}.part{part} = " + json.dumps(items, indent=2, ensure_ascii=False)


def tweet(
    post_id: int,
    text: str,
    moment: datetime,
    urls: list[tuple[str, str]] | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "edit_info": {"initial": {"editTweetIds": [str(post_id)], "editableUntil": "2018-10-10T21:19:24.000Z"}},
        "retweeted": False,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "entities": {
            "hashtags": [],
            "symbols": [],
            "user_mentions": [],
            "urls": [
                {"url": short, "expanded_url": full, "display_url": full[8:30], "indices": ["0", "23"]}
                for short, full in urls or []
            ],
        },
        "display_text_range": ["0", str(len(text))],
        "favorite_count": "3",
        "id_str": str(post_id),
        "truncated": False,
        "retweet_count": "0",
        "id": str(post_id),
        "created_at": classic(moment),
        "favorited": False,
        "full_text": text,
        "lang": "en",
    }
    if reply_to is not None:
        body["in_reply_to_status_id_str"] = str(reply_to)
        body["in_reply_to_status_id"] = str(reply_to)
    return {"tweet": body}


def write_x_archive(
    root: Path, parts: list[list[dict[str, Any]]], notes: list[dict[str, Any]] | None = None, old: bool = False
) -> Path:
    """An extracted X archive under root/data: tweets.js and tweets-partN.js (or the older tweet.js)."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "account.js").write_text(
        ytd("account", 0, [{"account": {"username": "lighthouse_fan", "accountId": "42"}}]), encoding="utf-8"
    )
    for number, items in enumerate(parts):
        if old:
            name, var = "tweet.js", "tweet"
        else:
            name, var = ("tweets.js" if number == 0 else f"tweets-part{number}.js"), "tweets"
        (data / name).write_text(ytd(var, number, items), encoding="utf-8")
    if notes is not None:
        (data / "note-tweet.js").write_text(ytd("note_tweet", 0, notes), encoding="utf-8")
    return root


def zip_folder(root: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return target


def zst_2gib_window(lines: list[bytes]) -> bytes:
    """zstd as Pushshift writes its dumps: a 2 GiB window, no content size (decoders need the window)."""
    import io

    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, write_content_size=False)
    buffer = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(buffer, closefd=False) as writer:
        writer.write(b"".join(lines))
    return buffer.getvalue()


def reddit_comment(post_id: str, body: str, created: object, **extra: Any) -> bytes:
    record: dict[str, Any] = {
        "all_awardings": [],
        "author": "harbour_watcher",
        "author_flair_text": None,
        "body": body,
        "controversiality": 0,
        "created_utc": created,
        "gilded": 0,
        "id": post_id,
        "link_id": "t3_9n2x1a",
        "parent_id": "t3_9n2x1a",
        "retrieved_on": 1539300000,
        "score": 4,
        "stickied": False,
        "subreddit": "sailing",
        "subreddit_id": "t5_2qh1q",
    }
    record.update(extra)
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
