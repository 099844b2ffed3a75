"""Reddit dumps (Pushshift, Arctic Shift): `RC_YYYY-MM.zst` comments and `RS_YYYY-MM.zst` submissions.

Newline-delimited JSON, zstd-compressed with a 2 GiB window (decoded with that window allowed; without
it decoding fails), or uncompressed. Comments give `body`; submissions `title`, a blank line and
`selftext`. `created_utc` is a number or a numeric string; `permalink` is optional (built from the
subreddit and ids when missing). Left out: bodies `[deleted]` or `[removed]`, as `deleted`. Authors
`[deleted]` become null. Lines are decoded by msgspec into a struct of the wanted fields only.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pyarrow as pa

from auditor.sources.exports.base import Reader, json_lines, post_batch

REDDIT = "https://www.reddit.com"
GONE = frozenset(("[deleted]", "[removed]"))


class Thing(msgspec.Struct):
    id: str | int | None = None
    body: str | None = None
    title: str | None = None
    selftext: str | None = None
    author: str | None = None
    created_utc: int | float | str | None = None
    permalink: str | None = None
    subreddit: str | None = None
    link_id: str | None = None


_DECODER = msgspec.json.Decoder(Thing)


class PushshiftReader(Reader):
    format = "pushshift"
    platform = "reddit"

    def batches(self) -> Iterator[pa.RecordBatch]:
        stream, hashing = self.open_stream()
        pending: list[Thing] = []
        for items in json_lines(self, stream, _DECODER, str(self.path)):
            pending.extend(items)
            size = self.options.batch_rows
            while len(pending) >= size:
                yield self._batch(pending[:size])
                pending = pending[size:]
        if pending:
            yield self._batch(pending)
        self.record_stream(hashing)

    def _batch(self, things: list[Thing]) -> pa.RecordBatch:
        self.records_read += len(things)
        ids: list[str | int | None] = []
        texts: list[str | None] = []
        created: list[int | float | str | None] = []
        authors: list[str | None] = []
        urls: list[str | None] = []
        kinds: list[str] = []
        deleted = 0
        for thing in things:
            if thing.body is not None:
                if thing.body in GONE:
                    deleted += 1
                    continue
                text: str | None = thing.body
                kind = "comment"
            elif thing.title is not None:
                if thing.selftext in GONE:
                    deleted += 1
                    continue
                text = f"{thing.title}\n\n{thing.selftext}" if thing.selftext else thing.title
                kind = "submission"
            else:
                text, kind = None, "comment"
            ids.append(thing.id)
            texts.append(text)
            created.append(thing.created_utc)
            authors.append(None if thing.author in GONE else thing.author)
            urls.append(self._permalink(thing, kind))
            kinds.append(kind)
        if deleted:
            self.left_out["deleted"] += deleted
        return post_batch(ids, texts, created, authors, urls, self.platform, kinds)

    @staticmethod
    def _permalink(thing: Thing, kind: str) -> str | None:
        if thing.permalink:
            return REDDIT + thing.permalink if thing.permalink.startswith("/") else thing.permalink
        if thing.subreddit is None or thing.id is None:
            return None
        if kind == "submission":
            return f"{REDDIT}/r/{thing.subreddit}/comments/{thing.id}/"
        if thing.link_id:
            return f"{REDDIT}/r/{thing.subreddit}/comments/{thing.link_id.removeprefix('t3_')}/_/{thing.id}/"
        return None
