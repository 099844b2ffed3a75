"""X / Twitter account archives: the `.zip` as downloaded, its extracted folder, or `data/tweets.js`.

Read: `tweets.js` and every `tweets-partN.js` (large archives are split; missing a part loses posts),
or the older `tweet.js`; each is JavaScript, `window.YTD.<name>.partN = [...]`, holding objects
`{"tweet": {...}}` whose numbers are strings. `full_text` has its HTML entities unescaped and its
`t.co` links replaced by `entities.urls[].expanded_url`; long posts take their whole text from
`note-tweet.js` (matched by time and opening text). The owner's username (from `account.js`) makes
the permalink. Left out: retweets (`RT @user: ...`, truncated and not the owner's text) as `repost`.

Each part is decoded whole by msgspec into small structs of the wanted fields (X writes large archives
as several parts, so memory holds one part's bytes).
"""

from __future__ import annotations

import html
import re
import struct
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TypeVar, cast

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from auditor.dates import parse_dates
from auditor.errors import InputError
from auditor.files import FileIdentity
from auditor.kernels.codepoints import utf8_view
from auditor.sources.exports.base import ZIP_MAGIC, ByteStream, HashingReader, Reader, post_batch, sniff_bytes

T = TypeVar("T")
PART_BLOCK = 1 << 21  # bytes of a tweets.js part decoded at a time
_BETWEEN_ITEMS = b"\n  },\n  {"
_PREFIX = re.compile(rb"^\s*window\.YTD\.(\w+)\.part\d+\s*=\s*")
_TWEET_FILES = re.compile(r"(^|/)data/(tweets?|tweets-part\d+)\.js$|^(tweets?|tweets-part\d+)\.js$")


class Url(msgspec.Struct, gc=False):
    url: str | None = None
    expanded_url: str | None = None


class Entities(msgspec.Struct, gc=False):
    """The links of a post, kept undecoded: most posts have none, and decoding an empty list into a
    struct for every post costs more than decoding the few real lists later (`links`)."""

    urls: msgspec.Raw = msgspec.Raw()

    def links(self, where: str) -> list[Url]:
        if len(self.urls) <= _NO_LINKS:
            return []
        try:
            return _URLS.decode(self.urls)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise InputError(
                f"{where}: a post's entities.urls has an unexpected shape ({error}); the file is not an X archive part."
            ) from None


class Tweet(msgspec.Struct, gc=False):
    id_str: str | None = None
    id: str | int | None = None
    full_text: str | None = None
    text: str | None = None
    created_at: str | None = None
    in_reply_to_status_id_str: str | None = None
    entities: Entities | None = None


class TweetItem(msgspec.Struct, gc=False):
    tweet: Tweet | None = None


class NoteCore(msgspec.Struct, gc=False):
    text: str | None = None


class Note(msgspec.Struct, rename="camel", gc=False):
    note_tweet_id: str | None = None
    created_at: str | None = None
    core: NoteCore | None = None


class NoteItem(msgspec.Struct, rename="camel", gc=False):
    note_tweet: Note | None = None


class Account(msgspec.Struct, gc=False):
    username: str | None = None


class AccountItem(msgspec.Struct, gc=False):
    account: Account | None = None


_TWEETS = msgspec.json.Decoder(list[TweetItem])
_URLS = msgspec.json.Decoder(list[Url])
_NO_LINKS = len("[ ]")  # an entities.urls this short holds no link: `[]`, or `[ ]` as X writes it
_NOTES = msgspec.json.Decoder(list[NoteItem])
_ACCOUNTS = msgspec.json.Decoder(list[AccountItem])


INFLATE_READ = 1 << 16  # compressed bytes inflated at a time
_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)  # typed as an instance in its stubs
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, then the name's and the extra field's lengths


class InflatedMember:
    """A deflated member of a zip file, inflated by ISA-L (`isal`, about three times zlib's speed) as it
    is read. As zipfile does, the member's data starts after its local header, its length and CRC-32 come
    from the central directory, and a member that inflates short, long or to another CRC-32 is an error
    (zipfile.BadZipFile), never silently wrong posts."""

    def __init__(self, path: Path, info: zipfile.ZipInfo) -> None:
        self.info = info
        self.file = path.open("rb")
        self.file.seek(info.header_offset)
        header = self.file.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size or not header.startswith(ZIP_MAGIC):
            self.file.close()
            raise zipfile.BadZipFile(f"bad local header of {info.filename}")
        _, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        self.file.seek(name_length + extra_length, 1)
        self.left = info.compress_size
        self.inflater = isal_zlib.decompressobj(-15)
        self.crc = 0
        self.size = 0
        self.done = False

    def read(self, size: int = -1, /) -> bytes:
        """About `size` inflated bytes (all with -1) (more or fewer); b"" once the member is read and checked."""
        pieces: list[bytes] = []
        have = 0
        while (size < 0 or have < size) and not self.done:
            compressed = self.file.read(min(INFLATE_READ, self.left))
            self.left -= len(compressed)
            try:
                piece = self.inflater.decompress(compressed) if compressed else self.inflater.flush()
            except _INFLATE_ERROR as error:
                raise zipfile.BadZipFile(f"{self.info.filename}: {error}") from None
            if not compressed:
                self._check()
            self.crc = isal_zlib.crc32(piece, self.crc)
            self.size += len(piece)
            pieces.append(piece)
            have += len(piece)
        return b"".join(pieces)

    def _check(self) -> None:
        self.done = True
        if self.left or not self.inflater.eof or self.inflater.unused_data:
            raise zipfile.BadZipFile(f"{self.info.filename} is cut short or overlong")
        if self.size != self.info.file_size or self.crc != self.info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.info.filename!r}")

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> InflatedMember:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# After `&`, what makes html.unescape look for a character reference (its own pattern: `#`, or a
# character other than these); an `&` followed by one of these, or ending the text, stays as it is.
_REFERENCE_START = r"&[^\t\n\f <&;]"
_SIMPLE_REFERENCES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # `&amp;` last: `&amp;lt;` is `&lt;`


def unescape_html(texts: pa.Array) -> pa.Array:
    """html.unescape of every text, by Arrow where that gives the same: the texts whose every `&` starts
    `&lt;`, `&gt;` or `&amp;` (what X writes) or none of html.unescape's references have those three
    replaced in one vectorized pass; html.unescape itself takes the rest, one by one. The references
    cannot overlap (each holds one `&`), and replacing `&amp;` last keeps `&amp;lt;` as `&lt;`, as
    html.unescape's single left-to-right pass does."""
    data, offsets = utf8_view(texts)  # one scan of the bytes: Arrow's match_substring is far slower
    rows = np.unique(np.searchsorted(offsets, np.flatnonzero(data == ord("&")), side="right") - 1)
    if len(rows) == 0:
        return texts
    has_amp = np.zeros(len(texts), dtype=np.bool_)
    has_amp[rows] = True
    found = texts.take(rows)
    rest = found
    for reference, _ in _SIMPLE_REFERENCES:
        rest = pc.replace_substring(rest, reference, "")
    other = pc.fill_null(pc.match_substring_regex(rest, _REFERENCE_START), False)
    unescaped = found
    for reference, character in _SIMPLE_REFERENCES:
        unescaped = pc.replace_substring(unescaped, reference, character)
    if pc.any(other).as_py():
        others = found.filter(other).to_pylist()
        unescaped = pc.replace_with_mask(unescaped, other, pa.array([html.unescape(t) for t in others], pa.string()))
    return pc.replace_with_mask(texts, pa.array(has_amp), unescaped)


def _part_order(name: str) -> tuple[int, str]:
    match = re.search(r"part(\d+)\.js$", name)
    return (int(match.group(1)) if match else 0, name)


class XArchiveReader(Reader):
    format = "x-archive"
    platform = "twitter"

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.is_stdin:
            raise InputError("an X archive cannot be read from standard input; give the .zip, folder or tweets.js.")
        if self.path.is_dir() or not sniff_bytes(self.path).startswith(ZIP_MAGIC):
            yield from self._from_folder()
        else:
            yield from self._from_zip()

    def _from_folder(self) -> Iterator[pa.RecordBatch]:
        if self.path.is_dir():
            data = self.path / "data" if (self.path / "data").is_dir() else self.path
            tweet_files = sorted(
                (p for p in data.glob("tweet*.js") if _TWEET_FILES.search(p.name)), key=lambda p: _part_order(p.name)
            )
        else:
            data = self.path.parent
            tweet_files = [self.path]
            if self.path.name == "tweets.js":  # its parts are the same posts' continuation
                tweet_files += sorted(data.glob("tweets-part*.js"), key=lambda p: _part_order(p.name))
        if not tweet_files:
            raise InputError(f"{self.path}: holds no tweets.js; give the archive's data folder or the .zip.")
        username = None
        if (data / "account.js").is_file():
            username = self._username(self._read_file(data / "account.js"), str(data / "account.js"))
        notes = {}
        if (data / "note-tweet.js").is_file():
            notes = self._notes(self._read_file(data / "note-tweet.js"), str(data / "note-tweet.js"))
        for path in tweet_files:
            try:
                raw = path.open("rb")
            except OSError as error:
                raise InputError(f"{path}: cannot be read ({error.strerror}); check its permissions.") from None
            with raw:
                hashing = HashingReader(raw)
                yield from self._tweets(self._items(hashing, str(path)), str(path), username, notes)
            self.files.append(FileIdentity(str(path), hashing.size, hashing.digest.hexdigest()))

    def _read_file(self, path: Path) -> bytes:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InputError(f"{path}: cannot be read ({error.strerror}); check its permissions.") from None
        self.identify(path)
        return data

    def _from_zip(self) -> Iterator[pa.RecordBatch]:
        try:
            with zipfile.ZipFile(self.path) as archive:
                names = archive.namelist()
                tweet_names = sorted((n for n in names if _TWEET_FILES.search(n)), key=_part_order)
                if not tweet_names:
                    raise InputError(f"{self.path}: a zip file without data/tweets.js; is it an X archive?")
                base = str(PurePosixPath(tweet_names[0]).parent)
                prefix = "" if base == "." else base + "/"
                username = None
                if prefix + "account.js" in names:
                    username = self._username(archive.read(prefix + "account.js"), f"{self.path}:account.js")
                notes = {}
                if prefix + "note-tweet.js" in names:
                    notes = self._notes(archive.read(prefix + "note-tweet.js"), f"{self.path}:note-tweet.js")
                for name in tweet_names:
                    info = archive.getinfo(name)
                    plain = info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1  # stored, encrypted
                    with archive.open(name) if plain else InflatedMember(self.path, info) as member:
                        where = f"{self.path}:{name}"
                        yield from self._tweets(self._items(member, where), where, username, notes)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
            raise InputError(f"{self.path}: a damaged zip file ({error}); download the archive again.") from None
        self.identify(self.path)

    @staticmethod
    def _body(data: bytes, where: str) -> memoryview:
        match = _PREFIX.match(data)
        if match is None:
            stripped = data.lstrip()
            if stripped.startswith(b"["):
                return memoryview(stripped)
            raise InputError(
                f"{where}: does not start with window.YTD.<name>.partN = [...]; the archive file is damaged or "
                "not from an X archive."
            )
        return memoryview(data)[match.end() :]  # no copy of a part of hundreds of megabytes

    def _decode(self, decoder: msgspec.json.Decoder[T], data: bytes, where: str) -> T:
        try:
            return decoder.decode(self._body(data, where))
        except (msgspec.DecodeError, RecursionError) as error:
            raise InputError(
                f"{where}: not valid JSON after its window.YTD prefix ({error}); the archive is damaged or cut "
                "short: download it again."
            ) from None
        except msgspec.ValidationError as error:
            raise InputError(
                f"{where}: a record has an unexpected shape ({error}); the file is not an X archive part."
            ) from None

    def _username(self, data: bytes, where: str) -> str | None:
        items = self._decode(_ACCOUNTS, data, where)
        for item in items:
            if isinstance(item, AccountItem) and item.account is not None and item.account.username:
                return item.account.username
        return None

    def _notes(self, data: bytes, where: str) -> dict[str, list[str]]:
        """Long posts' whole texts by creation time, written as tweets.js writes it."""
        notes: dict[str, list[str]] = {}
        items = [i.note_tweet for i in self._decode(_NOTES, data, where) if isinstance(i, NoteItem)]
        found = [n for n in items if n is not None and n.core is not None and n.core.text and n.created_at]
        stamps = parse_dates(pa.array([n.created_at for n in found], pa.string())).formatted.to_pylist()
        for note, stamp in zip(found, stamps, strict=True):
            if stamp is not None and note.core is not None and note.core.text:
                moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
                notes.setdefault(moment.strftime("%a %b %d %H:%M:%S +0000 %Y"), []).append(note.core.text)
        return notes

    def _items(self, stream: ByteStream, where: str) -> Iterator[list[TweetItem]]:
        """The part's items, decoded a block of about PART_BLOCK bytes at a time: X writes each item of
        the top-level array at an indentation of two spaces, so the array can be cut between items where
        a line reads `  },` followed by `  {` (a JSON string holds no raw newline, so this never falls
        inside one). A part written otherwise is decoded whole."""
        head = stream.read(PART_BLOCK)
        body = self._body(head, where)
        start = bytes(body).lstrip()
        if not start.startswith(b"["):
            raise InputError(f"{where}: no JSON array after its window.YTD prefix; the archive file is damaged.")
        # One growing buffer: each block is copied into it once, and the items before the last cut are
        # decoded from it in place, closed with `]`; only the short rest after the cut moves.
        buffer = bytearray(start)
        items_before = 0
        while True:
            block = stream.read(PART_BLOCK)
            if block:
                buffer += block
                cut = buffer.rfind(_BETWEEN_ITEMS)
                if cut < 0:
                    continue
                rest = buffer[cut + 5 :]
                del buffer[cut + 4 :]
                buffer += b"]"
            else:
                del buffer[len(buffer.rstrip()) :]
                if not buffer.endswith(b"]"):
                    raise InputError(
                        f"{where}: the array of posts is cut short after item {items_before}; the archive is damaged "
                        "or cut short: download it again."
                    )
            items = self._decode_items(buffer, where, items_before)
            items_before += len(items)
            yield items
            if not block:
                return
            buffer = bytearray(b"[") + rest

    @staticmethod
    def _decode_items(data: bytearray, where: str, items_before: int) -> list[TweetItem]:
        try:
            return _TWEETS.decode(data)
        except (msgspec.DecodeError, RecursionError) as error:
            raise InputError(
                f"{where}: not valid JSON after its window.YTD prefix (from item {items_before}: {error}); the "
                "archive is damaged or cut short: download it again."
            ) from None
        except msgspec.ValidationError as error:
            raise InputError(
                f"{where}: a record from item {items_before} on has an unexpected shape ({error}); the file is not "
                "an X archive part."
            ) from None

    def _tweets(
        self, parts: Iterator[list[TweetItem]], where: str, username: str | None, notes: dict[str, list[str]]
    ) -> Iterator[pa.RecordBatch]:
        base = f"https://x.com/{username}/status/" if username else "https://x.com/i/web/status/"
        pending: list[Tweet] = []
        number = 0
        for items in parts:
            tweets = [item.tweet for item in items]
            if None in tweets:
                for offset, tweet in enumerate(tweets):
                    if tweet is None:
                        self.bad_record(f"{where} item {number + offset}", 'not a {"tweet": ...} object')
                self.records_read += tweets.count(None)
                tweets = [t for t in tweets if t is not None]
            number += len(items)
            pending.extend(tweets)  # type: ignore[arg-type]
            if len(pending) >= self.options.batch_rows:
                yield self._batch(pending, username, base, notes, where)
                pending = []
        if pending:
            yield self._batch(pending, username, base, notes, where)

    def _batch(
        self, tweets: list[Tweet], username: str | None, base: str, notes: dict[str, list[str]], where: str
    ) -> pa.RecordBatch:
        """The batch's posts: columns gathered by comprehensions and filtered by Arrow; Python touches one
        by one only the posts with links to expand, entities to unescape, or a long text in a note."""
        self.records_read += len(tweets)
        texts = [t.full_text if t.full_text is not None else t.text for t in tweets]
        for i in [i for i, t in enumerate(tweets) if t.entities is not None and len(t.entities.urls) > _NO_LINKS]:
            text = texts[i]
            entities = tweets[i].entities
            if text is not None and entities is not None:
                for link in entities.links(where):
                    if link.url and link.expanded_url:
                        text = text.replace(link.url, link.expanded_url)
                texts[i] = text
        text_array = pa.array(texts, pa.string())
        unescaped = unescape_html(text_array)
        if notes:
            texts = [
                self._whole_text(x, t.created_at, notes) if x is not None and t.created_at else x
                for x, t in zip(unescaped.to_pylist(), tweets, strict=True)
            ]
            unescaped = pa.array(texts, pa.string())
        ids = [t.id_str if t.id_str is not None else (None if t.id is None else str(t.id)) for t in tweets]
        id_array = pa.array(ids, pa.string())
        batch = post_batch(
            id_array,
            unescaped,
            [t.created_at for t in tweets],
            username,
            pc.binary_join_element_wise(base, id_array, ""),
            self.platform,
            pa.array(["reply" if t.in_reply_to_status_id_str else "post" for t in tweets], pa.string()),
        )
        reposts = pc.fill_null(pc.starts_with(text_array, "RT @"), False)
        dropped = pc.sum(reposts).as_py() or 0
        if dropped:
            self.left_out["repost"] += dropped
            batch = batch.filter(pc.invert(reposts))
        return batch

    @staticmethod
    def _whole_text(text: str, created_at: str, notes: dict[str, list[str]]) -> str:
        """The note's whole text when a note was written in the same second and opens like the post."""
        candidates = notes.get(created_at)
        if not candidates:
            return text
        opening = re.sub(r"\s+", " ", text.split("…")[0].split("https://")[0]).strip()[:80]
        for note in candidates:
            if re.sub(r"\s+", " ", note).strip().startswith(opening):
                return note
        return text
