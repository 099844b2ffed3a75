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


class Link(bytes):
    """A CID to encode as a DAG-CBOR link (tag 42)."""


def cbor(value: Any) -> bytes:
    """Canonical DAG-CBOR of maps, arrays, text, bytes, integers, null, booleans and links."""

    def head(major: int, number: int) -> bytes:
        if number < 24:
            return bytes([major << 5 | number])
        for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if number < 1 << (8 * size):
                return bytes([major << 5 | extra]) + number.to_bytes(size, "big")
        raise ValueError(number)

    if value is None:
        return b"\xf6"
    if value is True or value is False:
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, Link):
        return b"\xd8\x2a" + head(2, len(value) + 1) + b"\x00" + bytes(value)
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        data = value.encode("utf-8")
        return head(3, len(data)) + data
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return head(5, len(value)) + b"".join(cbor(k) + cbor(value[k]) for k in keys)
    raise TypeError(type(value))


def cid_of(block: bytes) -> Link:
    import hashlib

    return Link(bytes([1, 0x71, 0x12, 0x20]) + hashlib.sha256(block).digest())


def varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def bluesky_car(did: str, records: dict[str, dict[str, Any]]) -> bytes:
    """A repository export: commit, one Merkle search tree node with prefix-compressed keys, records."""
    blocks: list[tuple[Link, bytes]] = []
    entries = []
    previous = b""
    for key in sorted(records):
        data = cbor(records[key])
        cid = cid_of(data)
        blocks.append((cid, data))
        name = key.encode()
        shared = 0
        while shared < min(len(name), len(previous)) and name[shared] == previous[shared]:
            shared += 1
        entries.append({"p": shared, "k": name[shared:], "v": cid, "t": None})
        previous = name
    node = cbor({"l": None, "e": entries})
    node_cid = cid_of(node)
    commit = cbor({"did": did, "version": 3, "data": node_cid, "rev": "3l2abc", "prev": None, "sig": b"\x00" * 64})
    commit_cid = cid_of(commit)
    header = cbor({"roots": [commit_cid], "version": 1})
    out = varint(len(header)) + header
    for cid, data in [(commit_cid, commit), (node_cid, node), *blocks]:
        out += varint(len(cid) + len(data)) + bytes(cid) + data
    return out
