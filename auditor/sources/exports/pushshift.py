"""Reddit dumps (Pushshift, Arctic Shift): `RC_YYYY-MM.zst` comments and `RS_YYYY-MM.zst` submissions.

Newline-delimited JSON, zstd-compressed with a 2 GiB window (decoded with that window allowed; without
it decoding fails), or uncompressed. Comments give `body`; submissions `title`, a blank line and
`selftext`. `created_utc` is a number or a numeric string; `permalink` is optional (built from the
subreddit and ids when missing). Left out: bodies `[deleted]` or `[removed]`, as `deleted`. Authors
`[deleted]` become null. Lines are decoded by msgspec into a struct of the wanted fields only
(`ThingDecoder`).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from auditor.sources.exports.base import Reader, json_lines, post_batch

REDDIT = "https://www.reddit.com"
GONE = frozenset(("[deleted]", "[removed]"))
_GONE = pa.array(sorted(GONE), pa.string())
_ID, _BODY, _AUTHOR, _CREATED, _PERMALINK = (
    operator.attrgetter(name) for name in ("id", "body", "author", "created_utc", "permalink")
)


class Thing(msgspec.Struct, gc=False):
    """The fields of a record that the post record needs (in the order the dumps write their keys, the
    order msgspec looks for them in first)."""

    author: str | None = None
    body: str | None = None
    created_utc: int | float | str | None = None
    id: str | int | None = None
    permalink: str | None = None
    selftext: str | None = None
    title: str | None = None


class Located(Thing, gc=False):
    """A record with what rebuilds a permalink it lacks."""

    link_id: str | None = None
    subreddit: str | None = None


_THINGS = msgspec.json.Decoder(Thing)
_LOCATED = msgspec.json.Decoder(Located)


class ThingDecoder:
    """Decodes a run of lines into `Thing`s while every record has its permalink, and into `Located`
    records from the first run with a record without one on (older dumps have none): every string
    decoded is a Python object made and freed, and the two fields only a missing permalink needs would
    be made for every record of a dump that has them all. A record without a permalink is always
    `Located`."""

    def __init__(self) -> None:
        self.located = False

    def decode_lines(self, run: bytes | memoryview) -> list[Any]:
        if not self.located:
            things = _THINGS.decode_lines(run)
            if None not in map(_PERMALINK, things):
                return things
            self.located = True
        return _LOCATED.decode_lines(run)

    def decode(self, line: bytes) -> Thing:
        return _LOCATED.decode(line)


class PushshiftReader(Reader):
    format = "pushshift"
    platform = "reddit"

    def batches(self) -> Iterator[pa.RecordBatch]:
        stream, hashing = self.open_stream()
        pending: list[Thing] = []
        for items in json_lines(self, stream, ThingDecoder(), str(self.path)):
            pending.extend(items)
            size = self.options.batch_rows
            while len(pending) >= size:
                yield self._batch(pending[:size])
                pending = pending[size:]
        if pending:
            yield self._batch(pending)
        self.record_stream(hashing)

    def _batch(self, things: list[Thing]) -> pa.RecordBatch:
        """Columns gathered with one comprehension each and filtered by Arrow: a dump holds millions of
        records, and per-record Python branches would cost more than fingerprinting them."""
        self.records_read += len(things)
        bodies = pa.array(list(map(_BODY, things)), pa.string())
        if bodies.null_count == 0:  # a comments dump
            texts, kinds, gone = bodies, "comment", pc.is_in(bodies, value_set=_GONE)
        else:
            titles = pa.array([t.title for t in things], pa.string())
            selftexts = pa.array([t.selftext for t in things], pa.string())
            joined = pc.binary_join_element_wise(
                titles, selftexts, "\n\n", null_handling="replace", null_replacement=""
            )
            submission = pc.and_(pc.is_null(bodies), pc.is_valid(titles))
            plain_title = pc.or_(pc.is_null(selftexts), pc.equal(selftexts, ""))
            texts = pc.if_else(submission, pc.if_else(plain_title, titles, joined), bodies)
            kinds = pc.if_else(submission, "submission", "comment")
            gone = pc.if_else(submission, pc.is_in(selftexts, value_set=_GONE), pc.is_in(bodies, value_set=_GONE))
        gone = pc.fill_null(gone, False)
        keep = pc.invert(gone)
        deleted = len(things) - pc.sum(keep.cast(pa.int64())).as_py() if len(things) else 0
        if deleted:
            self.left_out["deleted"] += deleted
        authors = pa.array(list(map(_AUTHOR, things)), pa.string())
        authors = pc.if_else(pc.fill_null(pc.is_in(authors, value_set=_GONE), False), None, authors)
        permalinks = pa.array(list(map(_PERMALINK, things)), pa.string())
        urls = pc.binary_join_element_wise(REDDIT, permalinks, "")
        if urls.null_count:
            kind_list = [kinds] * len(things) if isinstance(kinds, str) else kinds.to_pylist()
            urls = pa.array(
                [
                    u if u is not None else self._permalink(t, k)
                    for u, t, k in zip(urls.to_pylist(), things, kind_list, strict=True)
                ],
                pa.string(),
            )
        batch = post_batch(
            list(map(_ID, things)),
            texts,
            list(map(_CREATED, things)),
            authors,
            urls,
            self.platform,
            kinds,
        )
        return batch.filter(keep) if deleted else batch

    @staticmethod
    def _permalink(thing: Thing, kind: str) -> str | None:
        if thing.permalink:
            return REDDIT + thing.permalink if thing.permalink.startswith("/") else thing.permalink
        if not isinstance(thing, Located) or thing.subreddit is None or thing.id is None:
            return None
        if kind == "submission":
            return f"{REDDIT}/r/{thing.subreddit}/comments/{thing.id}/"
        if thing.link_id:
            return f"{REDDIT}/r/{thing.subreddit}/comments/{thing.link_id.removeprefix('t3_')}/_/{thing.id}/"
        return None
