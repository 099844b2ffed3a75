"""Reddit dumps: .zst with a 2 GiB window, comments and submissions, deleted bodies, split characters."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import zstandard

from auditor.errors import InputError
from auditor.sources.exports import base
from auditor.sources.posts import PostSource
from tests.exports_fixtures import read_all, reddit_comment, zst_2gib_window

BODY = "The harbour master finally put up the new tide board, and it is gorgeous — ünïcödé and 日本語 included"


def comments() -> list[bytes]:
    return [
        reddit_comment("e1", BODY, 1539202764, permalink="/r/sailing/comments/9n2x1a/tide/e1/"),
        reddit_comment("e2", "[deleted]", 1539202765),
        reddit_comment("e3", "[removed]", "1539202766"),
        reddit_comment("e4", BODY + " (again, without a permalink)", "1539202767", author="[deleted]"),
    ]


def test_zst_dump_with_a_2gib_window(tmp_path: Path) -> None:
    path = tmp_path / "RC_2018-10.zst"
    path.write_bytes(zst_2gib_window(comments()))
    with pytest.raises(zstandard.ZstdError):  # what a decoder without the large window does
        zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    source = PostSource(path)
    assert source.format == "pushshift"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == ["e1", "e4"]
    assert source.skipped.as_dict() == {"deleted": 2}
    assert table.column("created_at").to_pylist() == ["2018-10-10T20:19:24Z", "2018-10-10T20:19:27Z"]
    assert table.column("url").to_pylist() == [
        "https://www.reddit.com/r/sailing/comments/9n2x1a/tide/e1/",
        "https://www.reddit.com/r/sailing/comments/9n2x1a/_/e4/",
    ]
    assert table.column("author").to_pylist() == ["harbour_watcher", None]
    assert set(table.column("kind").to_pylist()) == {"comment"}
    assert table.column("text").to_pylist()[0] == BODY


def test_characters_split_across_decompression_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    alphabet = "潮汐表と灯台の話、ünïcödé — 😀🌊"
    bodies = [f"{n} " + "".join(rng.choice(alphabet) for _ in range(400)) for n in range(400)]  # several zstd blocks
    path = tmp_path / "RC_2018-10.zst"
    path.write_bytes(zst_2gib_window([reddit_comment(f"c{n}", body, 1539202764) for n, body in enumerate(bodies)]))
    monkeypatch.setattr(base, "COMPRESSED_READ", 997)
    monkeypatch.setattr(base, "BLOCK_BYTES", 1009)
    pieces: list[bytes] = []
    read_pieces = base.ZstdStream.read_pieces

    def recording(self: base.ZstdStream, size: int) -> list[bytes]:
        got = read_pieces(self, size)
        pieces.extend(got)
        return got

    monkeypatch.setattr(base.ZstdStream, "read_pieces", recording)
    assert read_all(PostSource(path)).column("text").to_pylist() == bodies
    split = [p for p in pieces[1:] if p and 0x80 <= p[0] < 0xC0]  # a piece starting inside a character
    assert split, "the fixture should split some character across decompressed pieces"


def test_submissions_uncompressed(tmp_path: Path) -> None:
    records = [
        {
            "id": "9n2x1a",
            "title": "Tide board",
            "selftext": "Photos of the new board inside",
            "subreddit": "sailing",
            "created_utc": 1539202764.0,
            "author": "harbour_watcher",
            "num_comments": 3,
        },
        {"id": "9n2x1b", "title": "Gone", "selftext": "[removed]", "subreddit": "sailing", "created_utc": 1539202764},
        {
            "id": "9n2x1c",
            "title": "A link post has only a title",
            "selftext": "",
            "subreddit": "sailing",
            "created_utc": "1539202764",
            "url": "https://example.org",
        },
    ]
    path = tmp_path / "RS_2018-10"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    source = PostSource(path)
    assert source.format == "pushshift"
    table = read_all(source)
    assert table.column("text").to_pylist() == [
        "Tide board\n\nPhotos of the new board inside",
        "A link post has only a title",
    ]
    assert table.column("kind").to_pylist() == ["submission", "submission"]
    assert table.column("url").to_pylist()[0] == "https://www.reddit.com/r/sailing/comments/9n2x1a/"
    assert source.skipped.as_dict() == {"deleted": 1}


def test_damaged_dump_is_named(tmp_path: Path) -> None:
    path = tmp_path / "RC_2018-10.zst"
    path.write_bytes(zst_2gib_window(comments())[:-20])
    with pytest.raises(InputError, match=r"RC_2018-10\.zst: the zstd stream is damaged or cut short"):
        read_all(PostSource(path, input_format="pushshift"))
    bad_line = tmp_path / "RC_2018-11.jsonl"
    bad_line.write_bytes(b"".join(comments()[:1]) + b'{"id": "x", "body": \n' + comments()[0])
    with pytest.raises(InputError, match=r"RC_2018-11\.jsonl line 2: not valid JSON.*--skip-bad-lines"):
        read_all(PostSource(bad_line))
    skipping = PostSource(bad_line, skip_bad_lines=True)
    assert read_all(skipping).num_rows == 2 and skipping.skipped.as_dict() == {"bad_line": 1}


@pytest.mark.parametrize("bad", [1, 2, 57, 300, 599])
def test_bad_line_deep_in_a_dump_is_named_by_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: int
) -> None:
    """Lines are numbered across decompressed pieces, lines split between pieces and blank lines."""
    rng = random.Random(bad)
    lines = [reddit_comment(f"c{n}", f"comment {n} " + "x" * rng.randrange(300), 1539202764) for n in range(600)]
    for blank in sorted(rng.sample(range(bad), min(bad, 5)), reverse=True):
        lines.insert(blank, b"  \n" if blank % 2 else b"\n")
    lines = lines[:bad]
    lines[bad - 1 :] = [b'{"id": "x", "body": \n', *(reddit_comment(f"d{n}", "after", 1539202764) for n in range(9))]
    data = b"".join(lines)
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, write_content_size=False)
    compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
    cuts = sorted(rng.sample(range(1, len(data)), len(data) // 200))  # a zstd block ends at each cut
    blocks = [
        compressor.compress(data[start:end]) + compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True)
    ]
    path = tmp_path / "RC_2018-10.zst"
    path.write_bytes(b"".join(blocks) + compressor.flush())
    monkeypatch.setattr(base, "COMPRESSED_READ", 211)
    monkeypatch.setattr(base, "BLOCK_BYTES", 1009)
    with pytest.raises(InputError, match=rf"RC_2018-10\.zst line {bad}: not valid JSON"):
        read_all(PostSource(path))
    skipping = PostSource(path, skip_bad_lines=True)
    assert read_all(skipping).num_rows == sum(1 for line in lines if line.strip()) - 1
    assert skipping.skipped.as_dict() == {"bad_line": 1}


def test_permalinks_rebuilt_when_a_dump_stops_having_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records are decoded without subreddit and link id while all have permalinks; a later run with a
    record without one is decoded again with them."""
    lines = [
        reddit_comment(f"e{n}", f"comment {n}", 1539202764, permalink=f"/r/sailing/comments/9n2x1a/t/e{n}/")
        for n in range(40)
    ]
    lines += [reddit_comment(f"f{n}", f"comment {n}", 1539202764) for n in range(5)]
    lines += [reddit_comment("g1", "last", 1539202764, permalink="/r/sailing/comments/9n2x1a/t/g1/")]
    path = tmp_path / "RC_2018-10.jsonl"
    path.write_bytes(b"".join(lines))
    monkeypatch.setattr(base, "BLOCK_BYTES", 1009)
    urls = dict(zip(*read_all(PostSource(path)).select(["post_id", "url"]).to_pydict().values(), strict=True))
    assert len(urls) == 46
    assert urls["e39"] == "https://www.reddit.com/r/sailing/comments/9n2x1a/t/e39/"
    assert [urls[f"f{n}"] for n in range(5)] == [
        f"https://www.reddit.com/r/sailing/comments/9n2x1a/_/f{n}/" for n in range(5)
    ]
    assert urls["g1"] == "https://www.reddit.com/r/sailing/comments/9n2x1a/t/g1/"
