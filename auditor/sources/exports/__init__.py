"""Readers of the platforms' own exports, and the sniffing that tells them apart by content.

`detect_format` looks at what an input holds (magic bytes, archive members, the first record's keys),
not only at its name; `READERS` maps each format name of `--input-format` to its reader.
"""

from __future__ import annotations

import bz2
import contextlib
import lzma
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import zstandard

from auditor.errors import InputError
from auditor.sources.exports import bluesky, mastodon, pushshift, stackexchange, twitter_api, x_archive
from auditor.sources.exports.base import (
    BZ2_MAGIC,
    GZIP_MAGIC,
    PARQUET_MAGIC,
    SEVEN_ZIP_MAGIC,
    STDIN,
    XZ_MAGIC,
    ZIP_MAGIC,
    ZSTD_MAGIC,
    ZSTD_MAX_WINDOW,
    Reader,
    ReadOptions,
    stdin,
)
from auditor.sources.exports.generic import CsvReader, JsonArrayReader, JsonLinesReader, ParquetReader

READERS: dict[str, type[Reader]] = {
    reader.format: reader
    for reader in (
        JsonLinesReader,
        JsonArrayReader,
        CsvReader,
        ParquetReader,
        x_archive.XArchiveReader,
        twitter_api.TwitterApiReader,
        pushshift.PushshiftReader,
        stackexchange.StackExchangeReader,
        mastodon.MastodonReader,
        bluesky.BlueskyReader,
    )
}
FORMATS = ("auto", *READERS)

HEAD_BYTES = 1 << 16


def _head_of(path: Path) -> bytes:
    """The first bytes of the input, decompressed when it is compressed."""
    if str(path) == STDIN:
        raw = stdin().head
    else:
        try:
            with path.open("rb") as stream:
                raw = stream.read(HEAD_BYTES)
        except OSError as error:
            raise InputError(f"{path}: cannot be read ({error.strerror}); check the path.") from None
    kind = next((name for magic, name in _COMPRESSED if raw.startswith(magic)), None)
    if kind is None:
        return raw
    where = "standard input" if str(path) == STDIN else str(path)
    try:
        with contextlib.ExitStack() as closing:
            more: Callable[[int], bytes]
            if str(path) == STDIN:
                more = stdin().peek_more
            else:
                stream = closing.enter_context(path.open("rb"))
                stream.seek(len(raw))
                more = stream.read
            head = _decompressed_head(raw, more, kind)
    except InputError as error:
        raise InputError(f"{where}: {error}; give the posts, or name the format with --input-format.") from None
    except (OSError, EOFError, zlib.error, zstandard.ZstdError, lzma.LZMAError) as error:
        raise InputError(f"{where}: the compressed stream is damaged or cut short ({error}); copy it again.") from None
    if head is None:
        raise InputError(
            f"{where}: the {kind} stream is damaged or cut short (it ends before any text); download or copy it again."
        )
    return head


_COMPRESSED = ((GZIP_MAGIC, "gzip"), (ZSTD_MAGIC, "zstd"), (BZ2_MAGIC, "bzip2"), (XZ_MAGIC, "xz"))
# Input read without text coming out before the sniffing gives up (a stream of only empty or skippable
# frames, or padding): more than any first block of text needs.
_SNIFF_INPUT_LIMIT = 64 << 20
# Formats whose members may be separated by zero bytes (xz's stream padding; gzip readers skip them).
_PADDED = ("gzip", "xz")
# Bytes of zstd input given at a time when sniffing: each 3-byte block header may stand for 128 kB of output.
_ZSTD_PIECE = 64


def _decompressor(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "zstd":
        return zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).decompressobj()
    return bz2.BZ2Decompressor() if kind == "bzip2" else lzma.LZMADecompressor()


def _decompressed_head(raw: bytes, more: Callable[[int], bytes], kind: str) -> bytes | None:
    """The first decompressed bytes of a compressed input that begins with `raw` and goes on with what
    `more` reads: the text of `raw` (at most HEAD_BYTES of it), or of more input when `raw` holds none; None
    when the input ends, cut short, before any text; InputError when none comes out of _SNIFF_INPUT_LIMIT.

    A first block may need more than the first read (a bzip2 block holds up to 900 kB of text), so input is
    read on until text comes out. A member or frame that ends with no text (an empty one, concatenated
    before the rest, as `cat` makes) is followed into the next, as the readers do. Output is bounded (a
    few bytes of a compressed run of zeros decompress to gigabytes): zlib, bz2 and lzma are asked for at
    most HEAD_BYTES, and zstd, which takes no limit, is fed _ZSTD_PIECE bytes at a time."""
    decompressor, pending, read, fed = _decompressor(kind), raw, len(raw), False
    head = bytearray()
    while True:
        if not fed and kind in _PADDED:  # zero bytes between members (xz's stream padding, a padded gzip)
            pending = pending.lstrip(b"\0")
        if pending:
            if kind == "zstd":  # no output limit: fed in pieces, whose blocks hold a few megabytes at most
                piece, pending = pending[:_ZSTD_PIECE], pending[_ZSTD_PIECE:]
                head += decompressor.decompress(piece)
            else:
                piece, pending = pending, b""
                head += decompressor.decompress(piece, HEAD_BYTES - len(head))
            fed = True
            if len(head) >= HEAD_BYTES:
                return bytes(head[:HEAD_BYTES])
            if decompressor.eof:
                if head:  # its text is the head; what follows (more members, padding) is the reader's
                    return bytes(head)
                # a member or frame of no text: on to the next, if any
                pending, decompressor, fed = decompressor.unused_data + pending, _decompressor(kind), False
            continue
        if head:  # the text of the input read so far
            return bytes(head)
        pending = more(HEAD_BYTES)
        read += len(pending)
        if not pending:
            return None if fed else b""  # inside a member: cut short; between members: whole, and empty
        if read > _SNIFF_INPUT_LIMIT:
            raise InputError(f"no text in the first {_SNIFF_INPUT_LIMIT >> 20} MB of its {kind} stream")


_FIRST_KEYS = re.compile(rb'"([A-Za-z_@$][A-Za-z0-9_@$]*)"\s*:')


def _json_format(head: bytes, name: str) -> str | None:
    """The format of JSON text from its first record's keys (and, for a bare array, the name)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"window.YTD."):
        return "x-archive"
    if text.startswith(b"["):
        body = text[1:].lstrip()
        if name.endswith(".js") and re.match(rb'\{\s*"tweet"\s*:', body):
            return "x-archive"  # an archive part whose window.YTD prefix was removed
        return "json"
    if not text.startswith(b"{"):
        return None
    first_line = text.split(b"\n", 1)[0]
    try:
        first = msgspec.json.decode(first_line)
        keys = set(first) if isinstance(first, dict) else set()
        whole_line = True
    except (msgspec.DecodeError, RecursionError):
        keys = {match.group(1).decode() for match in _FIRST_KEYS.finditer(text[:4096])}
        whole_line = False
    if "orderedItems" in keys or "@context" in keys:
        return "mastodon"
    if "data" in keys and ("meta" in keys or "includes" in keys or "errors" in keys or not whole_line):
        return "twitter-api"
    if {"subreddit", "subreddit_id"} & keys or {"link_id", "body"} <= keys or {"selftext", "title"} <= keys:
        return "pushshift"
    if "author_id" in keys and ("edit_history_tweet_ids" in keys or "conversation_id" in keys or "__twarc" in keys):
        return "twitter-api"
    if whole_line or first_line.rstrip().endswith(b"}") or re.match(rb'\{\s*"', first_line):
        return "jsonl"  # a line that does not decode is the reader's to name
    return None


def _directory_format(path: Path) -> str:
    for candidate in ("data/tweets.js", "tweets.js", "data/tweet.js", "tweet.js", "data/tweets-part1.js"):
        if (path / candidate).is_file():
            return "x-archive"
    if (path / "outbox.json").is_file():
        return "mastodon"
    if (path / "Posts.xml").is_file():
        return "stackexchange"
    raise InputError(
        f"{path} is a folder but neither an X archive (data/tweets.js), a Mastodon export (outbox.json) nor a "
        "StackExchange dump (Posts.xml); give the posts files themselves."
    )


def _is_text(head: bytes) -> bool:
    try:
        head[: len(head) - 4].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def detect_format(path: Path) -> str:
    """The input format of a file, folder or standard input, from its content (then its name)."""
    if str(path) != STDIN and path.is_dir():
        return _directory_format(path)
    name = path.name.lower()
    head = _head_of(path)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if str(path) == STDIN and head.startswith((ZIP_MAGIC, SEVEN_ZIP_MAGIC)):
        raise InputError("an archive (zip or 7z) cannot be read from standard input; give its path.")
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as error:
            raise InputError(f"{path}: a damaged zip file ({error}); download the archive again.") from None
        if any(re.search(r"(^|/)data/(tweets?|tweets-part\d+)\.js$", n) for n in names):
            return "x-archive"
        raise InputError(f"{path}: a zip file but not an X archive (no data/tweets.js); give the posts files inside.")
    if head.startswith(SEVEN_ZIP_MAGIC):
        return "stackexchange"
    if len(head) > 262 and head[257:262] == b"ustar":  # a tar file (a Mastodon export is archive-*.tar.gz)
        return "mastodon"
    if bluesky.looks_like_car(head):
        return "bluesky"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        where = "standard input" if str(path) == STDIN else f"{path}: the file"
        raise InputError(f"{where} is empty (no posts in it); check that it is the export you meant.")
    if stripped.startswith(b"<") and (b"<posts" in head[:4096] or stripped.startswith(b"<?xml")):
        return "stackexchange"
    found = _json_format(head, name)
    if found is not None:
        return found
    if name.endswith((".csv", ".csv.gz")) or (_is_text(head) and b"," in head.split(b"\n", 1)[0]):
        return "csv"
    raise InputError(
        f"{path}: cannot tell the format of this posts file from its content; name it with --input-format "
        f"({', '.join(READERS)})."
    )


def open_reader(path: Path, input_format: str, reader_options: ReadOptions) -> Reader:
    if input_format == "auto":
        input_format = detect_format(path)
    if input_format not in READERS:
        raise InputError(f"unknown input format {input_format!r}; use one of {', '.join(FORMATS)}.")
    return READERS[input_format](path, reader_options)


__all__ = ["FORMATS", "READERS", "detect_format", "open_reader"]
