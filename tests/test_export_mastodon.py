"""Mastodon exports: outbox.json streamed, the tar.gz archive, boosts, visibility, HTML content."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputError
from auditor.sources.posts import PostSource
from tests.exports_fixtures import read_all

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTOR = "https://mastodon.example/users/harbour"


def create(number: int, content: str, to: list[str], cc: list[str], summary: str | None = None) -> dict[str, Any]:
    note_id = f"{ACTOR}/statuses/{number}"
    return {
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": ACTOR,
        "published": "2018-10-10T20:19:24Z",
        "to": to,
        "cc": cc,
        "object": {
            "id": note_id,
            "type": "Note",
            "summary": summary,
            "inReplyTo": None,
            "published": "2018-10-10T20:19:24Z",
            "url": f"https://mastodon.example/@harbour/{number}",
            "attributedTo": ACTOR,
            "to": to,
            "cc": cc,
            "sensitive": summary is not None,
            "content": content,
            "attachment": [],
            "tag": [],
        },
    }


def outbox() -> dict[str, Any]:
    items = [
        create(
            1,
            "<p>The fog horn &amp; the bell buoy</p><p>sang all night long, <code>again</code></p>",
            [PUBLIC],
            [f"{ACTOR}/followers"],
            summary="noise",
        ),
        {
            "id": f"{ACTOR}/statuses/2/activity",
            "type": "Announce",
            "actor": ACTOR,
            "object": "https://x.example/1",
            "to": [PUBLIC],
            "cc": [],
            "published": "2018-10-10T20:19:25Z",
        },
        create(3, "<p>unlisted but public all the same</p>", [f"{ACTOR}/followers"], [PUBLIC]),
        create(4, "<p>followers only</p>", [f"{ACTOR}/followers"], []),
        create(5, "<p>a direct message</p>", ["https://mastodon.example/users/friend"], []),
    ]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json",
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }


def test_outbox_posts_boosts_and_visibility(tmp_path: Path) -> None:
    path = tmp_path / "outbox.json"
    path.write_text(json.dumps(outbox(), indent=2), encoding="utf-8")
    source = PostSource(path)
    assert source.format == "mastodon"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == [f"{ACTOR}/statuses/1", f"{ACTOR}/statuses/3"]
    assert table.column("text").to_pylist()[0] == "The fog horn & the bell buoy\nsang all night long, again"
    assert "noise" not in table.column("text").to_pylist()[0]  # the content warning is kept apart
    assert table.column("url").to_pylist()[0] == "https://mastodon.example/@harbour/1"
    assert table.column("created_at").to_pylist() == ["2018-10-10T20:19:24Z"] * 2
    assert source.skipped.as_dict() == {"private": 2, "repost": 1}
    private = PostSource(path, include_private=True)
    assert read_all(private).num_rows == 4
    assert private.summary().kept == {"private_included": 2} and private.skipped.as_dict() == {"repost": 1}


def test_archive_tar_gz_and_folder(tmp_path: Path) -> None:
    data = json.dumps(outbox()).encode()
    archive = tmp_path / "archive-20240101-abc.tar.gz"
    with tarfile.open(archive, "w:gz") as packed:
        for name, body in (("actor.json", b"{}"), ("outbox.json", data)):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            packed.addfile(info, io.BytesIO(body))
    source = PostSource(archive)
    assert source.format == "mastodon"
    assert read_all(source).num_rows == 2
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "outbox.json").write_bytes(data)
    assert PostSource(folder).format == "mastodon" and read_all(PostSource(folder)).num_rows == 2


def test_damaged_outbox_is_named(tmp_path: Path) -> None:
    path = tmp_path / "outbox.json"
    path.write_text(json.dumps(outbox(), indent=2)[:-400], encoding="utf-8")
    with pytest.raises(InputError, match=r"outbox\.json: not valid JSON after item \d.*download it again"):
        read_all(PostSource(path))
