"""Twitter API v2 JSON and twarc2 output.

Read: response pages `{"data": [...], "includes": {"users": [...]}, "meta": ...}`, one a line (as twarc2
writes raw output) or one pretty-printed document, and flattened files of one tweet a line (`twarc2
flatten`, with `author` embedded). `note_tweet.text` (a long post's whole text) is preferred over the
truncated `text`; the author is `author.username`, else the page's `includes.users` entry for
`author_id`, else the id. Left out: retweets (a `referenced_tweets` entry of type `retweeted`, or text
starting `RT @`) as `repost`.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pyarrow as pa

from auditor.errors import InputError
from auditor.sources.exports.base import Prepended, Reader, json_lines, post_batch


class User(msgspec.Struct, gc=False):
    id: str | None = None
    username: str | None = None


class NoteTweet(msgspec.Struct, gc=False):
    text: str | None = None


class Reference(msgspec.Struct, gc=False):
    type: str | None = None
    id: str | None = None


class Tweet(msgspec.Struct, gc=False):
    id: str | int | None = None
    text: str | None = None
    created_at: str | None = None
    author_id: str | None = None
    author: User | None = None
    note_tweet: NoteTweet | None = None
    referenced_tweets: list[Reference] | None = None
    in_reply_to_user_id: str | None = None


class Includes(msgspec.Struct, gc=False):
    users: list[User] = []


class Record(Tweet, gc=False):
    """A line: a response page (data, includes) or a flattened tweet (the Tweet fields)."""

    data: list[Tweet] | Tweet | None = None
    includes: Includes | None = None


_LINES = msgspec.json.Decoder(Record)
_DOCUMENT = msgspec.json.Decoder(list[Record] | Record)


class TwitterApiReader(Reader):
    format = "twitter-api"
    platform = "twitter"

    def batches(self) -> Iterator[pa.RecordBatch]:
        stream, hashing = self.open_stream()
        head = stream.read(1 << 16)
        records: Iterator[list[Record]]
        if self._one_document(head):
            data = head + stream.read()
            try:
                decoded = _DOCUMENT.decode(data)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
                raise InputError(
                    f"{self.path}: not a valid Twitter API response ({error}); check that the file is whole."
                ) from None
            records = iter([decoded if isinstance(decoded, list) else [decoded]])
        else:
            records = json_lines(self, Prepended(head, stream), _LINES, str(self.path))
        rows: list[tuple[Tweet, dict[str, str]]] = []
        for items in records:
            for record in items:
                users = (
                    {u.id: u.username for u in record.includes.users if u.id and u.username} if record.includes else {}
                )
                if record.data is None:
                    rows.append((record, users))
                else:
                    for tweet in record.data if isinstance(record.data, list) else [record.data]:
                        rows.append((tweet, users))
            if len(rows) >= self.options.batch_rows:
                yield self._batch(rows)
                rows = []
        if rows:
            yield self._batch(rows)
        self.record_stream(hashing)

    @staticmethod
    def _one_document(head: bytes) -> bool:
        """A document over several lines (pretty-printed), not one JSON value a line."""
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if text.startswith(b"["):
            return True
        first = text.split(b"\n", 1)[0]
        try:
            msgspec.json.decode(first)
        except (msgspec.DecodeError, RecursionError):
            return True
        return False

    def _batch(self, rows: list[tuple[Tweet, dict[str, str]]]) -> pa.RecordBatch:
        self.records_read += len(rows)
        ids, texts, created, authors, urls, kinds = [], [], [], [], [], []
        for tweet, users in rows:
            text = tweet.note_tweet.text if tweet.note_tweet is not None and tweet.note_tweet.text else tweet.text
            references = tweet.referenced_tweets or []
            if any(r.type == "retweeted" for r in references) or (text or "").startswith("RT @"):
                self.left_out["repost"] += 1
                continue
            username = tweet.author.username if tweet.author is not None else None
            username = username or users.get(tweet.author_id or "")
            ids.append(tweet.id)
            texts.append(text)
            created.append(tweet.created_at)
            authors.append(username or tweet.author_id)
            urls.append(
                None
                if tweet.id is None
                else f"https://x.com/{username}/status/{tweet.id}"
                if username
                else f"https://x.com/i/web/status/{tweet.id}"
            )
            replied = any(r.type == "replied_to" for r in references) or tweet.in_reply_to_user_id
            kinds.append("reply" if replied else "post")
        return post_batch(ids, texts, created, authors, urls, self.platform, kinds)
