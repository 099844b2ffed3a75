"""StackExchange data dumps: `Posts.xml`, a site's folder, or the site's `.7z` archive.

`Posts.xml` is parsed by expat as a stream of `<row .../>` elements, each turned into a post as it is
parsed and never kept in a tree, so a dump of 100 GB runs in bounded memory. The parser refuses any
entity declaration (the billion-laughs and external-entity attacks need one; the dumps have none). A
`.7z` archive is decompressed by py7zr in a worker thread that feeds expat and hands batches over a
queue of two, so nothing is extracted to disk or held whole in memory.

Read: questions (`PostTypeId` 1: `Title`, a blank line, then the body) and answers (2). `Body` is HTML:
converted to text by lexbor (tags dropped, entities decoded, code kept as text). `CreationDate` has no
zone: UTC. The permalink uses the site's domain when the file or folder name gives it. Left out: other
post types (tag wikis, moderator nominations) as `not_a_post`, and the dump's two fabricated trap posts
(Ids 1000000001 and 1000000010) as `synthetic`.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.parsers import expat

import pyarrow as pa

from auditor.errors import InputError
from auditor.sources.exports.base import (
    BLOCK_BYTES,
    SEVEN_ZIP_MAGIC,
    STREAM_ERRORS,
    Reader,
    html_text,
    post_batch,
    sniff_bytes,
    stream_errors,
)

SYNTHETIC_IDS = frozenset(("1000000001", "1000000010"))
KINDS = {"1": "question", "2": "answer"}
_SITE = re.compile(
    r"((?:[a-z0-9-]+\.)*(?:stackexchange\.com|stackoverflow\.com|serverfault\.com|superuser\.com|"
    r"askubuntu\.com|mathoverflow\.net|stackapps\.com))"
)


def site_of(path: Path) -> str | None:
    """The site's domain from the dump's file or folder names (`cooking.stackexchange.com.7z`)."""
    for part in reversed(path.resolve().parts):
        match = _SITE.search(part.lower())
        if match:
            return match.group(1)
    return None


class _Refused(Exception):
    pass


class PostsXml:
    """An expat push parser of Posts.xml that turns each row into a post record as it is parsed."""

    def __init__(self, reader: StackExchangeReader, where: str) -> None:
        self.reader, self.where = reader, where
        self.columns: list[list[Any]] = [[] for _ in range(6)]
        self.parser = expat.ParserCreate()
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.EntityDeclHandler = self._refuse
        self.parser.StartElementHandler = self._start
        self.parser.buffer_text = True
        self.base = f"https://{reader.site}" if reader.site else None

    def _refuse(self, *_: Any) -> None:
        raise _Refused

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        if name != "row":
            return
        reader = self.reader
        reader.records_read += 1
        post_id = attributes.get("Id")
        kind = KINDS.get(attributes.get("PostTypeId", ""))
        if post_id in SYNTHETIC_IDS:
            reader.left_out["synthetic"] += 1
            return
        if kind is None:
            reader.left_out["not_a_post"] += 1
            return
        text = html_text(attributes.get("Body"))
        title = attributes.get("Title")
        if kind == "question" and title:
            text = f"{title}\n\n{text}" if text else title
        ids, texts, created, authors, urls, kinds = self.columns
        ids.append(post_id)
        texts.append(text)
        created.append(attributes.get("CreationDate"))
        authors.append(attributes.get("OwnerDisplayName") or attributes.get("OwnerUserId"))
        urls.append(f"{self.base}/{'q' if kind == 'question' else 'a'}/{post_id}" if self.base and post_id else None)
        kinds.append(kind)

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(data, final)
        except _Refused:
            raise InputError(
                f"{self.where} line {self.parser.CurrentLineNumber}: declares an XML entity, which a StackExchange "
                "dump never does (entity expansion can exhaust memory); the file is not a genuine dump."
            ) from None
        except expat.ExpatError as error:
            raise InputError(
                f"{self.where} line {error.lineno}: not well-formed XML ({expat.ErrorString(error.code)}); the dump "
                "is damaged or cut short: download it again."
            ) from None

    def take(self) -> pa.RecordBatch | None:
        if not self.columns[0]:
            return None
        ids, texts, created, authors, urls, kinds = self.columns
        self.columns = [[] for _ in range(6)]
        return post_batch(ids, texts, created, authors, urls, "stackexchange", kinds)


class StackExchangeReader(Reader):
    format = "stackexchange"
    platform = "stackexchange"

    @property
    def site(self) -> str | None:
        return None if self.is_stdin else site_of(self.path)

    def batches(self) -> Iterator[pa.RecordBatch]:
        if not self.is_stdin and self.path.is_dir():
            posts = self.path / "Posts.xml"
            if not posts.is_file():
                raise InputError(f"{self.path}: no Posts.xml in this folder; give the site's dump folder or .7z.")
            self.path = posts
        if not self.is_stdin and sniff_bytes(self.path).startswith(SEVEN_ZIP_MAGIC):
            yield from self._from_7z()
            return
        stream, hashing = self.open_stream()
        parser = PostsXml(self, str(self.path))
        try:
            while block := stream.read(BLOCK_BYTES // 8):
                parser.feed(block)
                if len(parser.columns[0]) >= self.options.batch_rows and (batch := parser.take()) is not None:
                    yield batch
        except STREAM_ERRORS as error:
            raise stream_errors(self.path)(error) from None
        parser.feed(b"", final=True)
        if (batch := parser.take()) is not None:
            yield batch
        self.record_stream(hashing)

    def _from_7z(self) -> Iterator[pa.RecordBatch]:
        import py7zr
        from py7zr.io import Py7zIO, WriterFactory

        handoff: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=2)
        reader = self
        where = f"{self.path}:Posts.xml"

        feeds: list[Feed] = []

        class Feed(Py7zIO):
            def __init__(self) -> None:
                self.parser = PostsXml(reader, where)
                self.written = 0
                self.finished = False
                feeds.append(self)

            def write(self, s: bytes | bytearray) -> int:
                self.parser.feed(bytes(s))
                self.written += len(s)
                if len(self.parser.columns[0]) >= reader.options.batch_rows and (batch := self.parser.take()):
                    handoff.put(batch)
                return len(s)

            def read(self, size: int | None = None) -> bytes:
                return b""

            def seek(self, offset: int, whence: int = 0) -> int:
                return 0

            def flush(self) -> None:
                pass

            def size(self) -> int:
                return self.written

            def close(self) -> None:
                """The end of the member (py7zr calls this; `extract` below makes sure it runs once)."""
                if self.finished:
                    return
                self.finished = True
                self.parser.feed(b"", final=True)
                if (batch := self.parser.take()) is not None:
                    handoff.put(batch)

        class Factory(WriterFactory):
            def create(self, filename: str) -> Py7zIO:
                return Feed()

        def extract() -> None:
            try:
                with py7zr.SevenZipFile(self.path, mode="r") as archive:
                    names = [n for n in archive.getnames() if n.rsplit("/", 1)[-1] == "Posts.xml"]
                    if not names:
                        raise InputError(f"{self.path}: a 7z archive without Posts.xml; is it a StackExchange dump?")
                    archive.extract(targets=names[:1], factory=Factory())
                for feed in feeds:
                    feed.close()
                handoff.put(None)
            except BaseException as error:  # handed to the reading thread, which raises it
                handoff.put(error)

        worker = threading.Thread(target=extract, name="7z-posts", daemon=True)
        worker.start()
        while True:
            item = handoff.get()
            if item is None:
                break
            if isinstance(item, InputError):
                raise item
            if isinstance(item, BaseException):
                raise InputError(
                    f"{self.path}: a damaged 7z archive ({item}); download the site's dump again."
                ) from None
            yield item
        worker.join()
        self.identify(self.path)
