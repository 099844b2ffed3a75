"""Twitter API v2 pages and twarc2 flattened lines: long posts, retweets, authors from includes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.sources.posts import PostSource
from tests.exports_fixtures import LONG, read_all


def page(tweets: list[dict[str, object]]) -> dict[str, object]:
    return {
        "data": tweets,
        "includes": {"users": [{"id": "42", "username": "lighthouse_fan", "name": "Lighthouse Fan"}]},
        "meta": {"result_count": len(tweets), "newest_id": "3", "oldest_id": "1", "next_token": "b26v89c19zqg8o3f"},
        "__twarc": {
            "url": "https://api.twitter.com/2/tweets/search/all",
            "version": "2.14.0",
            "retrieved_at": "2024-01-01T00:00:00+00:00",
        },
    }


TWEETS = [
    {
        "id": "1",
        "text": LONG[:140] + "…",
        "note_tweet": {"text": LONG},
        "author_id": "42",
        "created_at": "2018-10-10T20:19:24.000Z",
        "edit_history_tweet_ids": ["1"],
        "conversation_id": "1",
    },
    {
        "id": "2",
        "text": "RT @someone: not mine",
        "author_id": "42",
        "created_at": "2018-10-10T20:19:25.000Z",
        "referenced_tweets": [{"type": "retweeted", "id": "99"}],
        "edit_history_tweet_ids": ["2"],
    },
    {
        "id": "3",
        "text": "A reply about the harbour lights and the fog horn that kept everyone awake",
        "author_id": "42",
        "created_at": "2018-10-10T20:19:26.000Z",
        "referenced_tweets": [{"type": "replied_to", "id": "1"}],
        "edit_history_tweet_ids": ["3"],
    },
]


def test_pages_one_a_line_as_twarc2_writes(tmp_path: Path) -> None:
    path = tmp_path / "search.jsonl"
    path.write_text(json.dumps(page(TWEETS[:2])) + "\n" + json.dumps(page(TWEETS[2:])) + "\n", encoding="utf-8")
    source = PostSource(path)
    assert source.format == "twitter-api"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == ["1", "3"]
    assert table.column("text").to_pylist()[0] == LONG  # note_tweet preferred over the truncated text
    assert table.column("author").to_pylist() == ["lighthouse_fan", "lighthouse_fan"]
    assert table.column("url").to_pylist()[0] == "https://x.com/lighthouse_fan/status/1"
    assert table.column("kind").to_pylist() == ["post", "reply"]
    assert table.column("created_at").to_pylist() == ["2018-10-10T20:19:24Z", "2018-10-10T20:19:26Z"]
    assert source.skipped.as_dict() == {"repost": 1}


def test_one_pretty_document_and_flattened_lines(tmp_path: Path) -> None:
    document = tmp_path / "response.json"
    document.write_text(json.dumps(page(TWEETS), indent=2), encoding="utf-8")
    assert PostSource(document).format == "twitter-api"
    assert read_all(PostSource(document)).num_rows == 2
    flat = tmp_path / "flat.jsonl"
    lines = [dict(t, author={"id": "42", "username": "lighthouse_fan"}, __twarc={"version": "2.14.0"}) for t in TWEETS]
    flat.write_text("".join(json.dumps(t) + "\n" for t in lines), encoding="utf-8")
    source = PostSource(flat)
    assert source.format == "twitter-api"
    assert read_all(source).column("author").to_pylist() == ["lighthouse_fan", "lighthouse_fan"]


def test_damaged_response_is_named(tmp_path: Path) -> None:
    path = tmp_path / "response.json"
    path.write_text(json.dumps(page(TWEETS), indent=2)[:-30], encoding="utf-8")
    with pytest.raises(InputError, match=r"response\.json: not a valid Twitter API response"):
        read_all(PostSource(path, input_format="twitter-api"))
