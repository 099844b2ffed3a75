"""Bluesky repository exports: the `.car` file `com.atproto.sync.getRepo` returns (Settings, "Export my
data").

A CAR v1 file is a DAG-CBOR header and then blocks, each a varint length, a CID and DAG-CBOR bytes,
decoded by libipld (the DAG-CBOR codec behind the AT Protocol Python SDK). Which block is a post, and
its record key, is known only from the repository's Merkle search tree, so the file is read twice:
first the tree nodes, keeping each `app.bsky.feed.post` record's CID and key (tens of bytes a post),
then the records themselves; memory never holds the posts. Read: `text`, `createdAt`; the post's
at:// URI is its id, the repository's DID its author, and the URL `https://bsky.app/profile/<did>/post/
<key>`. Counted: records of `app.bsky.feed.repost` as `repost` (they hold no text of the owner).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import libipld
import pyarrow as pa

from auditor.errors import InputError
from auditor.sources.exports.base import Reader, post_batch

POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"


def looks_like_car(head: bytes) -> bool:
    """A CAR v1 header: a one- or two-byte varint length, then a DAG-CBOR map of `roots` and `version`."""
    for start in (1, 2):
        if len(head) > start and head[start] == 0xA2 and b"roots" in head[start : start + 12]:
            return b"version" in head[start : start + 64]
    return False


class CarDamaged(Exception):
    pass


def _varint(stream: IO[bytes]) -> int | None:
    """An unsigned LEB128 varint, or None at a clean end of the stream."""
    value = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift:
                raise CarDamaged("the file ends inside a length")
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
        if shift > 63:
            raise CarDamaged("a length is longer than 64 bits")


def _cid_length(section: bytes) -> int:
    """The byte length of the CID that starts a block section."""
    if section[:2] == b"\x12\x20":  # CIDv0: a bare sha2-256 multihash
        return 34
    at = 0
    for _ in range(3):  # version, codec, multihash code
        while section[at] & 0x80:
            at += 1
        at += 1
    size = shift = 0
    while True:
        byte = section[at]
        size |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            break
        shift += 7
    return at + size


def car_blocks(stream: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """(CID bytes, block bytes) of each block of a CAR v1 stream, after its header."""
    header_length = _varint(stream)
    if header_length is None:
        raise CarDamaged("the file is empty")
    header = libipld.decode_dag_cbor(stream.read(header_length))
    if not isinstance(header, dict) or header.get("version") != 1:
        raise CarDamaged("the header is not a CAR version 1 header")
    while (length := _varint(stream)) is not None:
        section = stream.read(length)
        if len(section) != length:
            raise CarDamaged("the file ends inside a block")
        cut = _cid_length(section)
        yield section[:cut], section[cut:]


def _link(value: Any) -> bytes | None:
    """A DAG-CBOR link as libipld decodes it (CID bytes), without the multibase prefix byte if any."""
    if isinstance(value, bytes):
        return value[1:] if value[:1] == b"\x00" else value
    return None


class BlueskyReader(Reader):
    format = "bluesky"
    platform = "bluesky"

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.is_stdin:
            raise InputError("a Bluesky .car file is read twice; give its path instead of standard input.")
        did, keys = self._tree()
        base = f"https://bsky.app/profile/{did}/post/" if did else None
        columns: list[list[Any]] = [[] for _ in range(6)]
        found = 0
        for number, (cid, data, record) in enumerate(self._records(set(keys))):
            found += 1
            self.records_read += 1
            if not isinstance(record, dict):
                self.bad_record(f"{self.path} block {number}", "a post record that is not a map")
                continue
            key = keys[cid]
            text = record.get("text")
            columns[0].append(f"at://{did}/{POST}/{key}" if did else f"{POST}/{key}")
            columns[1].append(text if isinstance(text, str) else None)
            columns[2].append(record.get("createdAt"))
            columns[3].append(did)
            columns[4].append(base + key if base else None)
            columns[5].append("reply" if record.get("reply") else "post")
            del data
            if len(columns[0]) >= self.options.batch_rows:
                yield self._batch(columns)
                columns = [[] for _ in range(6)]
        if columns[0]:
            yield self._batch(columns)
        if found < len(keys):  # a partial export: the tree names posts whose blocks are not in the file
            self.left_out["missing_block"] += len(keys) - found
        self.identify(self.path)

    def _batch(self, columns: list[list[Any]]) -> pa.RecordBatch:
        ids, texts, created, authors, urls, kinds = columns
        return post_batch(ids, texts, created, authors, urls, self.platform, kinds)

    def _open(self) -> IO[bytes]:
        try:
            return self.path.open("rb")
        except OSError as error:
            raise InputError(f"{self.path}: cannot be read ({error.strerror}); check its permissions.") from None

    def _damaged(self, why: str) -> InputError:
        return InputError(
            f"{self.path}: a damaged repository export ({why}); export the repository again (com.atproto.sync.getRepo)."
        )

    def _tree(self) -> tuple[str | None, dict[bytes, str]]:
        """The repository's DID and, for each post record's CID, its record key."""
        did: str | None = None
        keys: dict[bytes, str] = {}
        reposts = 0
        with self._open() as stream:
            try:
                for _, data in car_blocks(stream):
                    node = libipld.decode_dag_cbor(data)
                    if not isinstance(node, dict):
                        continue
                    if "did" in node and "data" in node and isinstance(node.get("did"), str):
                        did = node["did"]
                    entries = node.get("e")
                    if "l" not in node or not isinstance(entries, list):
                        continue
                    previous = b""
                    for entry in entries:
                        suffix = entry.get("k") if isinstance(entry, dict) else None
                        if not isinstance(suffix, bytes):
                            continue
                        name = previous[: int(entry.get("p", 0))] + suffix
                        previous = name
                        collection, _, key = name.decode("utf-8", "replace").partition("/")
                        target = _link(entry.get("v"))
                        if collection == POST and target is not None:
                            keys[target] = key
                        elif collection == REPOST:
                            reposts += 1
            except CarDamaged as error:
                raise self._damaged(str(error)) from None
            except (ValueError, TypeError, OSError) as error:
                raise self._damaged(f"a block does not decode: {error}") from None
        if reposts:
            self.left_out["repost"] += reposts
        return did, keys

    def _records(self, wanted: set[bytes]) -> Iterator[tuple[bytes, bytes, Any]]:
        with self._open() as stream:
            try:
                for cid, data in car_blocks(stream):
                    if cid in wanted:
                        yield cid, data, libipld.decode_dag_cbor(data)
            except CarDamaged as error:
                raise self._damaged(str(error)) from None
            except (ValueError, TypeError) as error:
                raise self._damaged(f"a record does not decode: {error}") from None
