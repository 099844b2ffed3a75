"""X archives: zip, folder or tweets.js; parts, the older tweet.js, long posts, retweets, expanded links."""

from __future__ import annotations

import html
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.errors import InputError
from auditor.sources.exports import x_archive
from auditor.sources.posts import PostSource
from tests.exports_fixtures import LONG, read_all, tweet, write_x_archive, ytd, zip_folder

WHEN = datetime(2018, 10, 10, 20, 19, 24, tzinfo=timezone.utc)


def archive(tmp_path: Path) -> Path:
    first = [
        tweet(1, "Tea &amp; toast on the porch, watching the fog lift off the bay this morning &lt;3", WHEN),
        tweet(2, "RT @someone: a post that is not mine, cut short by the retweet prefix and trunca…", WHEN),
        tweet(
            3,
            "Read the whole report here https://t.co/abc123 it is worth it",
            WHEN,
            [
                ("https://t.co/abc123", "https://example.org/reports/harbour-2018"),
            ],
        ),
    ]
    second = [tweet(4, "A reply from the second part of the archive, which must not be lost", WHEN, reply_to=1)]
    return write_x_archive(tmp_path / "archive", [first, second])


def test_folder_reads_every_part_and_leaves_retweets_out(tmp_path: Path) -> None:
    source = PostSource(archive(tmp_path))
    assert source.format == "x-archive"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == ["1", "3", "4"]
    assert source.skipped.as_dict() == {"repost": 1}
    assert table.column("kind").to_pylist() == ["post", "post", "reply"]
    assert set(table.column("platform").to_pylist()) == {"twitter"}
    assert table.column("created_at").to_pylist() == ["2018-10-10T20:19:24Z"] * 3
    assert table.column("url").to_pylist()[0] == "https://x.com/lighthouse_fan/status/1"
    assert table.column("author").to_pylist()[0] == "lighthouse_fan"


def test_entities_unescaped_and_links_expanded(tmp_path: Path) -> None:
    texts = read_all(PostSource(archive(tmp_path))).column("text").to_pylist()
    assert texts[0].startswith("Tea & toast") and texts[0].endswith("<3")
    assert "https://example.org/reports/harbour-2018" in texts[1] and "t.co" not in texts[1]


def test_zip_as_downloaded_and_tweets_js_itself(tmp_path: Path) -> None:
    folder = archive(tmp_path)
    packed = zip_folder(folder, tmp_path / "twitter-2024.zip")
    from_zip = PostSource(packed)
    assert from_zip.format == "x-archive"
    assert read_all(from_zip).column("post_id").to_pylist() == ["1", "3", "4"]
    given_js = PostSource(folder / "data" / "tweets.js")
    assert given_js.format == "x-archive"
    assert read_all(given_js).column("post_id").to_pylist() == ["1", "3", "4"]  # its parts are read too
    assert {Path(item.name).name for item in given_js.inputs} >= {"tweets.js", "tweets-part1.js"}


def test_older_tweet_js(tmp_path: Path) -> None:
    folder = write_x_archive(
        tmp_path / "old", [[tweet(9, "An archive from before the rename of tweet.js", WHEN)]], old=True
    )
    assert read_all(PostSource(folder)).column("post_id").to_pylist() == ["9"]


def test_long_posts_take_the_whole_text_from_note_tweet_js(tmp_path: Path) -> None:
    shown = LONG[:120] + "… https://t.co/long1"
    note = {
        "noteTweet": {
            "noteTweetId": "777",
            "updatedAt": "2018-10-10T20:19:24.000Z",
            "lifecycle": {"value": "live", "name": "Live", "originalName": "live", "annotations": {}},
            "createdAt": "2018-10-10T20:19:24.000Z",
            "core": {"styletags": [], "urls": [], "text": LONG, "mentions": [], "cashtags": [], "hashtags": []},
        }
    }
    folder = write_x_archive(tmp_path / "notes", [[tweet(5, shown, WHEN)]], notes=[note])
    assert read_all(PostSource(folder)).column("text").to_pylist() == [LONG]


def test_damaged_archive_is_named(tmp_path: Path) -> None:
    folder = archive(tmp_path)
    tweets = folder / "data" / "tweets.js"
    tweets.write_text(tweets.read_text(encoding="utf-8")[:-200], encoding="utf-8")
    with pytest.raises(InputError, match=r"tweets\.js: the array of posts is cut short.*download it again"):
        read_all(PostSource(folder))
    broken_zip = tmp_path / "broken.zip"
    broken_zip.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(InputError, match=r"broken\.zip: a damaged zip file"):
        read_all(PostSource(broken_zip, input_format="x-archive"))
    (tmp_path / "other.js").write_text(ytd("like", 0, []).replace("window.YTD", "var x"), encoding="utf-8")
    with pytest.raises(InputError, match=r"does not start with window\.YTD"):
        read_all(PostSource(tmp_path / "other.js", input_format="x-archive"))


@pytest.mark.parametrize("pretty", [True, False])
def test_parts_decoded_a_block_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pretty: bool) -> None:
    items = [
        tweet(100 + n, f"Post number {n} about the harbour, the tides and the lighthouse keeper", WHEN)
        for n in range(40)
    ]
    folder = write_x_archive(tmp_path / "many", [items])
    if not pretty:  # written on one line: no place to cut, decoded whole
        (folder / "data" / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(items), encoding="utf-8")
    monkeypatch.setattr(x_archive, "PART_BLOCK", 700)  # a few items a block
    table = read_all(PostSource(folder))
    assert table.column("post_id").to_pylist() == [str(100 + n) for n in range(40)]


def test_links_decoded_only_where_present_and_a_bad_shape_named(tmp_path: Path) -> None:
    """entities.urls is decoded late, only for posts with links: empty lists as X writes them (`[ ]`,
    or spread over lines) expand nothing, and a list of the wrong shape still stops with a sentence."""
    linked = tweet(1, "See https://t.co/abc123 now", WHEN, [("https://t.co/abc123", "https://example.org/full")])
    plain = tweet(2, "Nothing linked here, just the harbour at dawn and the gulls", WHEN)
    spread = tweet(3, "Another plain post about the lighthouse and its keeper", WHEN)
    folder = write_x_archive(tmp_path / "links", [[linked, plain, spread]])
    tweets = folder / "data" / "tweets.js"
    text = tweets.read_text(encoding="utf-8").replace('"urls": []', '"urls" : [ ]', 1)
    tweets.write_text(text.replace('"urls": []', '"urls": [\n          ]', 1), encoding="utf-8")
    assert '"urls" : [ ]' in tweets.read_text(encoding="utf-8")
    texts = read_all(PostSource(folder)).column("text").to_pylist()
    assert texts[0] == "See https://example.org/full now"
    assert texts[1:] == [plain["tweet"]["full_text"], spread["tweet"]["full_text"]]
    plain["tweet"]["entities"]["urls"] = [{"url": 5, "expanded_url": "https://example.org/"}]
    broken = write_x_archive(tmp_path / "broken", [[plain]])
    with pytest.raises(InputError, match=r"tweets\.js: a post's entities\.urls has an unexpected shape"):
        read_all(PostSource(broken))


def test_zip_members_inflated_and_checked(tmp_path: Path) -> None:
    """Deflated members are inflated by ISA-L with zipfile's checks: a stored zip reads the same, and a
    member of another CRC-32 or with garbled bytes is named as a damaged zip, not read wrong."""
    folder = archive(tmp_path)
    packed = zip_folder(folder, tmp_path / "deflated.zip")
    with zipfile.ZipFile(packed) as deflated, zipfile.ZipFile(tmp_path / "stored.zip", "w") as stored:
        for info in deflated.infolist():
            stored.writestr(info.filename, deflated.read(info.filename))
    expected = ["1", "3", "4"]
    assert read_all(PostSource(packed)).column("post_id").to_pylist() == expected
    assert read_all(PostSource(tmp_path / "stored.zip")).column("post_id").to_pylist() == expected
    with zipfile.ZipFile(packed) as deflated:
        info = deflated.getinfo("data/tweets.js")
    data = bytearray(packed.read_bytes())
    # The central directory's CRC-32 of tweets.js changed: the member inflates whole but to another CRC-32.
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(info.filename)] != info.filename.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    changed = bytearray(data)
    changed[entry + 16 : entry + 20] = ((info.CRC + 1) % 2**32).to_bytes(4, "little")
    (tmp_path / "changed.zip").write_bytes(bytes(changed))
    with pytest.raises(InputError, match=r"changed\.zip: a damaged zip file \(Bad CRC-32"):
        read_all(PostSource(tmp_path / "changed.zip"))
    # Its deflated bytes garbled after the first ten: the inflater stops at an invalid block.
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 10 : start + info.compress_size] = bytes(info.compress_size - 10)
    (tmp_path / "garbled.zip").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"garbled\.zip: a damaged zip file"):
        read_all(PostSource(tmp_path / "garbled.zip"))


_PIECES = ["&", "amp;", "lt;", "gt;", "&amp;", "&lt;", "&gt;", "#", "#x41;", "39;", ";", " ", "\t", "\n", "<"]
_PIECES += ["a", "copy", "nbsp", "é", "\r"]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)), max_size=8))
def test_unescape_html_is_html_unescape(texts: list[str | None]) -> None:
    """The vectorized unescape gives exactly html.unescape, texts of `&amp;`, `&lt;`, `&gt;` and bare `&`
    (by Arrow) and texts with any other reference (by html.unescape) alike."""
    got = x_archive.unescape_html(pa.array(texts, pa.string())).to_pylist()
    assert got == [None if text is None else html.unescape(text) for text in texts]
