"""What every export reader shares: the post record, batching, byte streams and newline-delimited JSON.

A reader turns one input (a file, a folder, an archive or standard input) into Arrow batches of the post
record, POST_COLUMNS, all strings except `created_at`, which a reader passes on as written (string or
number); `PostSource` parses it to UTC and drops rows without an id, counting both. Readers count what
they leave out by reason (`left_out`) and name the files they read (`files`), with size and SHA-256.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import hashlib
import json
import lzma
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol, cast

import msgspec
import numpy as np
import pyarrow as pa
import zstandard
from selectolax.lexbor import LexborHTMLParser

from auditor.errors import InputError
from auditor.files import FileIdentity, identify
from auditor.sources.skips import SkipCounter

POST_COLUMNS = ("post_id", "text", "created_at", "author", "url", "platform", "kind")
DEFAULT_BATCH_ROWS = 50_000
BLOCK_BYTES = 1 << 21  # bytes decoded at a time: small enough to be still in cache when parsed
COMPRESSED_READ = 1 << 17  # compressed bytes decompressed at a time (a dump inflates about tenfold)
ZSTD_MAX_WINDOW = 1 << 31  # Pushshift and Arctic Shift dumps are compressed with a 2 GiB window
STDIN = "-"
NEWLINE = 10

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZ2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZIP_MAGIC = b"PK\x03\x04"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class ReadOptions:
    """How to read posts: the generic formats' field names (dotted paths reach into nested objects), and
    what to do with bad lines and non-public posts."""

    id_field: str = "id"
    text_field: str = "text"
    skip_bad_lines: bool = False
    include_private: bool = False
    batch_rows: int = DEFAULT_BATCH_ROWS

    def __post_init__(self) -> None:
        if self.batch_rows < 1:
            raise ValueError("batch_rows must be positive")


def as_text(value: Any) -> str | None:
    """A field value as the post record holds it: strings as they are, numbers written out, objects as
    sorted JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def string_array(values: Sequence[Any]) -> pa.Array:
    """Values as an Arrow string array (the common case, all strings or nulls, without a Python loop)."""
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([as_text(v) for v in values], type=pa.string())


def raw_array(values: Sequence[Any]) -> pa.Array:
    """Dates as written: numbers stay numbers (epoch), anything else becomes a string."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([as_text(v) for v in values], type=pa.string())
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_string(array.type):
        return array
    if pa.types.is_null(array.type):
        return array.cast(pa.string())
    return pa.array([as_text(v) for v in values], type=pa.string())


def post_batch(
    ids: Sequence[Any] | pa.Array,
    texts: Sequence[Any] | pa.Array,
    created: Sequence[Any],
    authors: Sequence[Any] | pa.Array | None,
    urls: Sequence[Any] | pa.Array | None,
    platform: str | None,
    kinds: Sequence[Any] | pa.Array | str | None,
) -> pa.RecordBatch:
    """One batch of the post record from columns (a str or None for `authors`, `urls`, `platform` or `kinds`
    fills the column)."""
    n = len(ids)

    def column(values: Sequence[Any] | pa.Array | str | None) -> pa.Array:
        if values is None:
            return pa.nulls(n, pa.string())
        if isinstance(values, str):
            return pa.repeat(pa.scalar(values, pa.string()), n)  # one value for the batch: no Python list
        if isinstance(values, pa.Array):
            return values.cast(pa.string())
        return string_array(values)

    arrays = [
        ids.cast(pa.string()) if isinstance(ids, pa.Array) else string_array(ids),
        texts.cast(pa.string()) if isinstance(texts, pa.Array) else string_array(texts),
        raw_array(created),
        column(authors),
        column(urls),
        column(platform),
        column(kinds),
    ]
    return pa.RecordBatch.from_arrays(arrays, names=list(POST_COLUMNS))


class LinesDecoder(Protocol):
    """What `json_lines` decodes with: a msgspec JSON decoder, or a reader's own choice among several."""

    def decode_lines(self, run: bytes | memoryview, /) -> list[Any]: ...

    def decode(self, line: bytes, /) -> Any: ...


class ByteStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Prepended:
    """A stream whose first bytes were already read (to sniff them), handed out again first."""

    def __init__(self, head: bytes, stream: ByteStream) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int = -1, /) -> bytes:
        if self.head:
            if size < 0 or size >= len(self.head):
                data, self.head = self.head, b""
                return data
            data, self.head = self.head[:size], self.head[size:]
            return data
        return self.stream.read(size)

    def as_io(self) -> IO[bytes]:
        return cast(IO[bytes], self)


class ReadStream:
    """A binary stream defined by its `read`: the rest of what file-like consumers (zipfile, gzip, zstd,
    csv) ask of one."""

    def read(self, size: int = -1) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


class HashingReader(ReadStream):
    """A binary stream that hashes what passes through it, so an input read once (standard input, a dump
    of tens of gigabytes) is identified without a second pass."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    @property
    def closed(self) -> bool:
        return False

    def close(self) -> None:
        self.raw.close()


def sniff_bytes(path: Path, count: int = 8) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(count)
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror}); check the path and its permissions.") from None


def decompressed(raw: IO[bytes], magic: bytes) -> IO[bytes]:
    """The stream decompressed by what its first bytes say (gzip, zstd with a 2 GiB window, bz2, xz)."""
    if magic.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic.startswith(ZSTD_MAGIC):
        return ZstdStream(raw)  # type: ignore[return-value]
    if magic.startswith(BZ2_MAGIC):
        return bz2.BZ2File(raw, mode="rb")
    if magic.startswith(XZ_MAGIC):
        return XzStream(raw)  # type: ignore[return-value]
    return raw


class Members(ReadStream):
    """Compressed members (zstd frames, xz streams), one or several back to back, decoded in pieces. A
    stream that ends inside a member is an error, never a silent end of the posts; so is anything after a
    member but another member (or, where the format allows it, zero bytes of padding)."""

    padded = False  # zero bytes allowed between members (xz's stream padding)

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.member = self.new_member()
        self.in_member = False

    def new_member(self) -> Any:
        raise NotImplementedError

    def cut_short(self) -> Exception:
        raise NotImplementedError

    def read_pieces(self, size: int) -> list[bytes]:
        """At least `size` decompressed bytes (less only at the end) as the decoder produced them, so
        the caller decodes each in place, without copying them into blocks first."""
        pieces: list[bytes] = []
        have = 0
        while have < size:
            compressed = self.raw.read(COMPRESSED_READ)
            if not compressed:
                if self.in_member:
                    raise self.cut_short()
                break
            while compressed:
                if self.padded and not self.in_member:
                    compressed = compressed.lstrip(b"\0")
                    if not compressed:
                        break
                self.in_member = True
                piece = self.member.decompress(compressed)
                if piece:
                    pieces.append(piece)
                    have += len(piece)
                if not self.member.eof:
                    break
                compressed = self.member.unused_data
                self.member, self.in_member = self.new_member(), False
        return pieces

    def read(self, size: int = -1) -> bytes:
        """At least `size` bytes, possibly more (every caller here takes whole blocks), or all with -1."""
        return b"".join(self.read_pieces(size if size >= 0 else 1 << 62))

    def close(self) -> None:
        self.raw.close()


class ZstdStream(Members):
    """zstd frames decoded with a 2 GiB window allowed (Pushshift's dumps need it)."""

    decompressor: zstandard.ZstdDecompressor | None = None  # one for the frames of the stream

    def new_member(self) -> Any:
        if self.decompressor is None:
            self.decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        return self.decompressor.decompressobj(write_size=1 << 20)

    def cut_short(self) -> Exception:
        return zstandard.ZstdError("the stream ends inside a frame")


class XzStream(Members):
    """xz streams, with the zero bytes of stream padding the format allows between them (`xz -dc` reads
    them all; lzma.LZMAFile stopped at the padding, without a word, and lost the streams after it)."""

    padded = True

    def new_member(self) -> Any:
        return lzma.LZMADecompressor()

    def cut_short(self) -> Exception:
        return EOFError("Compressed file ended before the end-of-stream marker was reached")


class PeekableStdin(ReadStream):
    """Standard input with its first bytes kept, so the format can be sniffed before reading begins. The
    kept bytes are pieces, replayed in order then dropped: peeking tens of megabytes (a compressed stream
    whose text comes late) costs no copy of what was kept before."""

    def __init__(self) -> None:
        self.raw = sys.stdin.buffer
        self._kept: collections.deque[bytes] = collections.deque()
        first = self.raw.read(1 << 16)
        if first:
            self._kept.append(first)

    @property
    def head(self) -> bytes:
        """The bytes kept and not yet read (the first read, and what `peek_more` added)."""
        return b"".join(self._kept)

    def peek_more(self, size: int) -> bytes:
        """Read `size` more bytes into the kept head (sniffing a compressed stream may need them); the
        bytes read."""
        more = self.raw.read(size)
        if more:
            self._kept.append(more)
        return more

    def read(self, size: int = -1) -> bytes:
        if not self._kept:
            return self.raw.read(size)
        if size < 0:
            data = b"".join(self._kept) + self.raw.read()
            self._kept.clear()
            return data
        piece = self._kept.popleft()
        if len(piece) > size:
            self._kept.appendleft(piece[size:])
            piece = piece[:size]
        return piece

    def close(self) -> None:
        pass


_stdin: PeekableStdin | None = None


def stdin() -> PeekableStdin:
    """Standard input, peekable; one wrapper per stream (sniffing and reading must share the peeked bytes)."""
    global _stdin
    if _stdin is None or _stdin.raw is not sys.stdin.buffer:
        _stdin = PeekableStdin()
    return _stdin


@dataclass
class Reader:
    """Base of the export readers: one input, its options, what it left out and which files it read."""

    format: ClassVar[str] = ""
    platform: ClassVar[str | None] = None

    path: Path
    options: ReadOptions = field(default_factory=ReadOptions)
    left_out: SkipCounter = field(default_factory=SkipCounter)
    kept: SkipCounter = field(default_factory=SkipCounter)  # posts kept that a default run leaves out, by reason
    records_read: int = 0
    files: list[FileIdentity] = field(default_factory=list)

    @property
    def is_stdin(self) -> bool:
        return str(self.path) == STDIN

    def batches(self) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def bad_record(self, where: str, why: str, fix: str = "fix or remove it") -> None:
        """Stop at a damaged record, naming it, or count it with --skip-bad-lines (its reader counts it among
        the records read, as every reader counts the records it left out)."""
        if not self.options.skip_bad_lines:
            raise InputError(f"{where}: {why}; {fix}, or pass --skip-bad-lines to count and skip such records.")
        self.left_out["bad_line"] += 1

    def identify(self, path: Path) -> None:
        self.files.append(identify(path))

    def open_stream(self) -> tuple[IO[bytes], HashingReader]:
        """The input as one decompressed byte stream, hashed as it is read (so read it to the end)."""
        if self.is_stdin:
            raw: Any = stdin()
        else:
            try:
                raw = self.path.open("rb")
            except OSError as error:
                raise InputError(f"{self.path}: cannot be read ({error.strerror}); check its permissions.") from None
        hashing = HashingReader(raw)
        magic = raw.head[:8] if self.is_stdin else sniff_bytes(self.path)
        return decompressed(hashing, magic), hashing  # type: ignore[arg-type]

    def newlines_before(self, size: int) -> int:
        """The newlines in the first `size` bytes of the input's (decompressed) stream, read again."""
        stream, _ = self.open_stream()
        count = 0
        try:
            while size > 0:
                block = stream.read(min(size, BLOCK_BYTES))[:size]
                if not block:
                    break
                count += newlines(block)
                size -= len(block)
        finally:
            stream.close()
        return count

    def record_stream(self, hashing: HashingReader) -> None:
        self.files.append(FileIdentity(str(self.path), hashing.size, hashing.digest.hexdigest()))


def stream_errors(path: object) -> Callable[[BaseException], InputError]:
    """The one sentence for an error met while reading a stream of `path`."""

    def convert(error: BaseException) -> InputError:
        if isinstance(error, zstandard.ZstdError):
            return InputError(
                f"{path}: the zstd stream is damaged or cut short ({error}); download or copy the dump again."
            )
        if isinstance(error, (EOFError, gzip.BadGzipFile, lzma.LZMAError, zlib.error)) or "compressed" in str(error):
            return InputError(f"{path}: the compressed stream is damaged or cut short ({error}); copy it again.")
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return InputError(f"{path}: cannot be read ({reason}); check the file and its permissions.")

    return convert


STREAM_ERRORS = (zstandard.ZstdError, EOFError, lzma.LZMAError, zlib.error, OSError)


def _decode_error(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "JSON nested too deeply to be a post (arrays or objects inside each other thousands of times)"
    message = str(error)
    if "UTF-8" in message:
        return "not UTF-8 text (re-encode the file as UTF-8)"
    if isinstance(error, msgspec.ValidationError):
        if message.startswith("Expected `object`") and "at `$." not in message:
            return "not a JSON object"
        return f"a field has an unexpected type ({message})"
    return f"not valid JSON ({message})"


def newlines(data: bytes | memoryview) -> int:
    """The number of newline bytes in `data`, by numpy's vectorized compare (`bytes.count` of one byte is
    a plain loop)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == NEWLINE))


def json_lines(
    reader: Reader, stream: ByteStream, decoder: LinesDecoder | msgspec.json.Decoder[Any], where: str
) -> Iterator[list[Any]]:
    """Decode newline-delimited JSON piece by piece as the stream hands the bytes out, each run of whole
    lines in one call of msgspec, in place (no character is ever split: a piece is decoded up to its last
    newline, and the line it leaves unfinished is joined with the start of the next piece, alone); a run
    that fails is decoded line by line, so a bad line is named by its number, or counted and skipped with
    --skip-bad-lines. Lines are not counted as they pass: the number of a bad line is found when one is
    named, by counting the newlines before it in the input read again (standard input, which cannot be
    read again, is counted as it passes)."""
    read_pieces = getattr(stream, "read_pieces", None)
    rest: list[bytes] = []  # the unfinished line: the pieces after the last newline seen
    counted = reader.is_stdin
    lines_before = 0  # lines before the next run decoded, when counted
    offset = 0  # bytes of the stream before the next run decoded
    first = True

    def first_line_number() -> int:
        """The number of the first line of the next run decoded."""
        if counted:
            return lines_before + 1
        try:
            return reader.newlines_before(offset) + 1
        except STREAM_ERRORS as error:
            raise stream_errors(where)(error) from None

    def decode(run: bytes | memoryview) -> list[Any]:
        nonlocal lines_before, offset
        try:
            items: list[Any] = decoder.decode_lines(run)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            items = []
            number = 0  # of the run's first line, found when a line is named (--skip-bad-lines names none)
            for index, line in enumerate(bytes(run).split(b"\n")):
                if not line.strip():
                    continue
                try:
                    items.append(decoder.decode(line))
                except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
                    if not number and not reader.options.skip_bad_lines:
                        number = first_line_number()
                    reader.bad_record(f"{where} line {number + index}", _decode_error(error), "fix or remove that line")
                    reader.records_read += 1  # a record read, left out as a bad line
        if counted:
            lines_before += newlines(run)
        offset += len(run)
        return items

    while True:
        try:
            if read_pieces is not None:  # the decoder's own pieces: no copy to join them into blocks
                pieces = [piece for piece in read_pieces(BLOCK_BYTES) if piece]
            else:
                block = stream.read(BLOCK_BYTES)
                pieces = [block] if block else []
        except STREAM_ERRORS as error:
            raise stream_errors(where)(error) from None
        if not pieces:
            break
        if first:  # the byte order mark, if any, is in the first block read (never split from it)
            joined = b"".join(pieces)
            pieces = [joined.removeprefix(b"\xef\xbb\xbf")]
            offset = len(joined) - len(pieces[0])
            first = False
        for piece in pieces:
            cut = piece.rfind(b"\n") + 1
            if cut == 0:
                rest.append(piece)
                continue
            start = 0
            if rest:
                start = piece.find(b"\n") + 1
                rest.append(piece[:start])
                line, rest = b"".join(rest), []
                yield decode(line)
            if start < cut:
                yield decode(memoryview(piece)[start:cut])
            if cut < len(piece):
                rest = [piece[cut:]]
    tail = b"".join(rest)
    if tail.strip():
        yield decode(tail)


def field_path(name: str) -> tuple[str, ...]:
    """A field option as a path: `tweet.full_text` reaches into nested objects."""
    parts = tuple(name.split("."))
    if any(not part for part in parts):
        raise InputError(f"field name {name!r} has an empty part; write nested fields as outer.inner.")
    return parts


def lookup(obj: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` in nested dicts, or None."""
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


_BLOCKS = "p, br, li, pre, div, blockquote, h1, h2, h3, h4, h5, h6, tr, hr"


def html_text(markup: str | None) -> str | None:
    """HTML as plain text by a real HTML5 parser (lexbor, through selectolax): tags dropped, entities
    decoded, code kept as text, a line break after each block so paragraphs do not run together."""
    if markup is None:
        return None
    if "<" not in markup and "&" not in markup:
        return markup
    tree = LexborHTMLParser(markup)
    root = tree.body
    if root is None:
        return ""
    for node in root.css(_BLOCKS):
        node.insert_after("\n")
    return str(root.text(deep=True, separator="", strip=False)).strip()
