"""Bluesky repository exports (.car): posts found through the search tree, replies, reposts, damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.sources.posts import PostSource
from tests.exports_fixtures import bluesky_car, read_all

DID = "did:plc:abc123harbour"


def records() -> dict[str, dict[str, object]]:
    return {
        "app.bsky.feed.post/3k2aaaaaaaa2a": {
            "$type": "app.bsky.feed.post",
            "text": "The lighthouse keeper waved at the ferry again this morning",
            "createdAt": "2018-10-10T20:19:24.000Z",
            "langs": ["en"],
        },
        "app.bsky.feed.post/3k2aaaaaaaa2b": {
            "$type": "app.bsky.feed.post",
            "text": "Replying about the ferry timetable changes for the winter",
            "createdAt": "2018-10-10T20:19:25.000Z",
            "reply": {
                "root": {"uri": "at://x/app.bsky.feed.post/1", "cid": "b"},
                "parent": {"uri": "at://x", "cid": "b"},
            },
        },
        "app.bsky.feed.like/3k2aaaaaaaa2c": {"$type": "app.bsky.feed.like", "createdAt": "2018-10-10T20:19:26.000Z"},
        "app.bsky.feed.repost/3k2aaaaaaaa2d": {
            "$type": "app.bsky.feed.repost",
            "createdAt": "2018-10-10T20:19:27.000Z",
        },
        "app.bsky.actor.profile/self": {"$type": "app.bsky.actor.profile", "displayName": "Harbour"},
    }


def test_car_posts_through_the_tree(tmp_path: Path) -> None:
    path = tmp_path / "repo.car"
    path.write_bytes(bluesky_car(DID, records()))
    source = PostSource(path)
    assert source.format == "bluesky"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == [
        f"at://{DID}/app.bsky.feed.post/3k2aaaaaaaa2a",
        f"at://{DID}/app.bsky.feed.post/3k2aaaaaaaa2b",
    ]
    assert table.column("url").to_pylist()[0] == f"https://bsky.app/profile/{DID}/post/3k2aaaaaaaa2a"
    assert table.column("kind").to_pylist() == ["post", "reply"]
    assert table.column("author").to_pylist() == [DID, DID]
    assert table.column("created_at").to_pylist() == ["2018-10-10T20:19:24Z", "2018-10-10T20:19:25Z"]
    assert source.skipped.as_dict() == {"repost": 1}


def test_damaged_car_is_named(tmp_path: Path) -> None:
    path = tmp_path / "repo.car"
    path.write_bytes(bluesky_car(DID, records())[:-10])
    with pytest.raises(InputError, match=r"repo\.car: a damaged repository export \(the file ends inside a block\)"):
        read_all(PostSource(path))
