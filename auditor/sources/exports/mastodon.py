"""Mastodon account exports: the `archive-*.tar.gz` as downloaded, its folder, or its `outbox.json`.

`outbox.json` is an ActivityStreams collection streamed item by item with ijson (a large account's
outbox does not have to fit in memory; a tar archive is read as a stream too). Read: `Create`
activities of a `Note`, its `content` HTML converted to text (the `summary`, a content warning, is not
part of the text), `published`, `url` (else `id`) and the actor. Left out: `Announce` boosts as
`repost`, other activities as `not_a_post`, and posts that were not public (neither `to` nor `cc` names
the public collection: followers-only and direct messages) as `private`, unless `--include-private`,
which keeps them and counts them as `private_included`.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import IO, Any

import ijson
import pyarrow as pa

from auditor.errors import InputError
from auditor.sources.exports.base import STREAM_ERRORS, Prepended, Reader, html_text, post_batch, stream_errors

PUBLIC = frozenset(("https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"))


def _addresses(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class MastodonReader(Reader):
    format = "mastodon"
    platform = "mastodon"

    def batches(self) -> Iterator[pa.RecordBatch]:
        if not self.is_stdin and self.path.is_dir():
            outbox = self.path / "outbox.json"
            if not outbox.is_file():
                raise InputError(
                    f"{self.path}: no outbox.json in this folder; give the Mastodon archive or its outbox."
                )
            self.path = outbox
        stream, hashing = self.open_stream()
        head = stream.read(512)
        rest = Prepended(head, stream)
        if len(head) > 262 and head[257:262] == b"ustar":
            yield from self._from_tar(rest.as_io())
        else:
            yield from self._items(rest.as_io(), str(self.path))
        while stream.read(1 << 20):  # hash the whole input
            pass
        self.record_stream(hashing)

    def _from_tar(self, stream: IO[bytes]) -> Iterator[pa.RecordBatch]:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    if member.isfile() and member.name.rsplit("/", 1)[-1] == "outbox.json":
                        extracted = archive.extractfile(member)
                        if extracted is not None:
                            yield from self._items(extracted, f"{self.path}:{member.name}")
                            return
        except tarfile.TarError as error:
            raise InputError(f"{self.path}: a damaged tar archive ({error}); download the export again.") from None
        raise InputError(f"{self.path}: a tar archive without outbox.json; is it a Mastodon export?")

    def _items(self, stream: IO[bytes], where: str) -> Iterator[pa.RecordBatch]:
        columns: list[list[Any]] = [[] for _ in range(6)]
        index = -1
        try:
            for index, activity in enumerate(ijson.items(stream, "orderedItems.item", use_float=True)):
                self.records_read += 1
                self._activity(activity, columns, f"{where} item {index}")
                if len(columns[0]) >= self.options.batch_rows:
                    yield self._batch(columns)
                    columns = [[] for _ in range(6)]
        except ijson.JSONError as error:
            raise InputError(
                f"{where}: not valid JSON after item {index} ({str(error).splitlines()[0]}); the export is "
                "damaged or cut short: download it again."
            ) from None
        except STREAM_ERRORS as error:
            raise stream_errors(where)(error) from None
        if columns[0]:
            yield self._batch(columns)

    def _activity(self, activity: Any, columns: list[list[Any]], where: str) -> None:
        if not isinstance(activity, dict):
            self.bad_record(where, "not an ActivityStreams object")
            return
        kind = activity.get("type")
        if kind == "Announce":
            self.left_out["repost"] += 1
            return
        note = activity.get("object")
        if kind != "Create" or not isinstance(note, dict) or note.get("type") not in ("Note", "Question", "Article"):
            self.left_out["not_a_post"] += 1
            return
        audience = _addresses(note.get("to", activity.get("to"))) + _addresses(note.get("cc", activity.get("cc")))
        if not PUBLIC.intersection(audience):
            if not self.options.include_private:
                self.left_out["private"] += 1
                return
            self.kept["private_included"] += 1
        identifier = note.get("id") or activity.get("id")
        columns[0].append(identifier)
        columns[1].append(html_text(note.get("content")))
        columns[2].append(note.get("published") or activity.get("published"))
        columns[3].append(note.get("attributedTo") or activity.get("actor"))
        columns[4].append(note.get("url") or identifier)
        columns[5].append("reply" if note.get("inReplyTo") else "post")

    def _batch(self, columns: list[list[Any]]) -> pa.RecordBatch:
        ids, texts, created, authors, urls, kinds = columns
        return post_batch(ids, texts, created, authors, urls, self.platform, kinds)
