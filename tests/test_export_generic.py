"""Generic inputs: a JSON array, nested field paths, standard input, the format named or sniffed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.errors import InputError
from auditor.sources.posts import PostSource
from tests.conftest import POSTS
from tests.exports_fixtures import read_all

NESTED = [
    {"tweet": {"id_str": "10", "full_text": POSTS[0], "created_at": "x"}, "created_at": "2018-10-10"},
    {"tweet": {"id_str": "11", "full_text": POSTS[1]}},
    {"tweet": "not an object"},
]


def test_json_array_with_nested_paths(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(NESTED, indent=2), encoding="utf-8")
    source = PostSource(path, id_field="tweet.id_str", text_field="tweet.full_text")
    assert source.format == "json"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == ["10", "11"]
    assert table.column("text").to_pylist() == POSTS[:2]
    assert table.column("created_at").to_pylist() == ["2018-10-10T00:00:00Z", None]
    assert source.skipped.as_dict() == {"missing_id": 1}


def test_jsonl_nested_paths(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write("".join(json.dumps(r) + "\n" for r in NESTED[:2]))
    table = read_all(PostSource(path, id_field="tweet.id_str", text_field="tweet.full_text"))
    assert table.column("post_id").to_pylist() == ["10", "11"]
    line_three = tmp_path / "three.jsonl"
    line_three.write_text("".join(json.dumps(r) + "\n" for r in NESTED), encoding="utf-8")
    with pytest.raises(InputError, match=r"three\.jsonl line 3: a field has an unexpected type"):
        read_all(PostSource(line_three, id_field="tweet.id_str", text_field="tweet.full_text"))


def test_parquet_struct_paths(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.Table.from_pylist([{"tweet": r["tweet"]} for r in NESTED[:2]]), path)
    table = read_all(PostSource(path, id_field="tweet.id_str", text_field="tweet.full_text"))
    assert table.column("text").to_pylist() == POSTS[:2]
    with pytest.raises(InputError, match=r"has no column 'tweet\.text'"):
        read_all(PostSource(path, id_field="tweet.id_str", text_field="tweet.text"))


def test_input_format_overrides_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "comments.data"
    path.write_text(json.dumps({"id": "c1", "body": POSTS[0], "subreddit": "x", "created_utc": 1}) + "\n")
    assert PostSource(path).format == "pushshift"
    generic = PostSource(path, text_field="body", input_format="jsonl")
    assert generic.format == "jsonl" and read_all(generic).column("text").to_pylist() == [POSTS[0]]
    with pytest.raises(InputError, match="unknown --input-format"):
        PostSource(path, input_format="myspace")


def test_standard_input(tmp_path: Path) -> None:
    lines = "".join(json.dumps({"id": i, "text": t, "created_at": 1539202764}) + "\n" for i, t in enumerate(POSTS))
    output = tmp_path / "stdin.fp.parquet"
    result = CliRunner().invoke(app, ["fingerprint", "-", "-o", str(output)], input=lines.encode())
    assert result.exit_code == 0, result.output
    assert pq.read_metadata(output).num_rows == len(POSTS)
    info = json.loads(pq.read_metadata(output).metadata[b"provenance_auditor"])
    assert info["inputs"][0]["name"] == "-" and info["inputs"][0]["size"] == len(lines.encode())
    assert info["sources"][0]["format"] == "jsonl"


def test_csv_from_standard_input(tmp_path: Path) -> None:
    lines = "id,text,created_at\n" + "".join(f'{i},"{t}",2018-10-10\n' for i, t in enumerate(POSTS))
    output = tmp_path / "csv.fp.parquet"
    result = CliRunner().invoke(
        app, ["fingerprint", "-", "-o", str(output), "--input-format", "csv"], input=lines.encode()
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(output, columns=["created_at"]).column(0).to_pylist() == ["2018-10-10T00:00:00Z"] * len(POSTS)


@pytest.mark.parametrize("compress", ["bz2", "lzma"])
def test_bz2_and_xz_are_sniffed_by_content(tmp_path: Path, compress: str) -> None:
    import bz2
    import lzma

    packer = bz2.compress if compress == "bz2" else lzma.compress
    path = tmp_path / "posts.data"
    path.write_bytes(packer(json.dumps({"id": 1, "text": POSTS[0]}).encode() + b"\n"))
    source = PostSource(path)
    assert source.format == "jsonl" and read_all(source).column("text").to_pylist() == [POSTS[0]]


@pytest.mark.parametrize("compress", ["bz2", "gzip", "lzma", "zstd"])
def test_a_compressed_input_whose_first_block_is_past_the_first_read_is_sniffed(
    tmp_path: Path, compress: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bzip2 block holds up to 900 kB of text: its first text comes out only when the whole block is in,
    long after the first 64 kB read (such a file was refused as empty); from standard input too. A stream
    cut before its first text is damaged, not empty."""
    import bz2
    import gzip
    import io
    import lzma
    import random

    import zstandard

    rng = random.Random(3)
    lines = b"".join(
        json.dumps({"id": i, "text": f"post {i} " + " ".join(f"{rng.getrandbits(40):x}" for _ in range(12))}).encode()
        + b"\n"
        for i in range(15_000)
    )
    packer = {"bz2": bz2.compress, "gzip": gzip.compress, "lzma": lzma.compress, "zstd": zstandard.compress}[compress]
    packed = packer(lines)
    path = tmp_path / "posts.data"
    path.write_bytes(packed)
    assert PostSource(path).format == "jsonl"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(packed)))
    piped = PostSource(Path("-"))
    assert piped.format == "jsonl" and read_all(piped).num_rows == 15_000  # the peeked bytes read once, in order
    if compress == "bz2":
        assert len(packed) > 3 * (1 << 16)  # the first block ends past the first read
        path.write_bytes(packed[: 2 * (1 << 16)])
        with pytest.raises(InputError, match="damaged or cut short"):
            PostSource(path)
    header = {"bz2": 4, "gzip": 10, "lzma": 12, "zstd": 4}[compress]  # the format's magic, then garbage
    path.write_bytes(packed[:header] + b"not a stream at all" * 10)
    with pytest.raises(InputError, match="damaged or cut short"):
        PostSource(path)


@pytest.mark.parametrize("compress", ["bz2", "gzip", "lzma", "zstd"])
def test_sniffing_follows_members_of_no_text_and_reads_a_bounded_head(tmp_path: Path, compress: str) -> None:
    """An empty member or frame before the posts (`cat empty.gz posts.gz`) is followed into the next, as
    the readers do (such a file was called empty); a run of zeros that decompresses to gigabytes gives the
    sniffer its head only; an input of empty members is empty, one cut inside its first member damaged."""
    import bz2
    import gzip
    import lzma
    import tracemalloc

    import zstandard

    from auditor.sources.exports import HEAD_BYTES, _decompressed_head

    packer = {"bz2": bz2.compress, "gzip": gzip.compress, "lzma": lzma.compress, "zstd": zstandard.compress}[compress]
    kind = {"bz2": "bzip2", "gzip": "gzip", "lzma": "xz", "zstd": "zstd"}[compress]
    lines = b"".join(json.dumps({"id": i, "text": POSTS[i % len(POSTS)]}).encode() + b"\n" for i in range(20))
    path = tmp_path / "posts.data"
    path.write_bytes(packer(b"") + packer(b"") + packer(lines))
    source = PostSource(path)
    assert source.format == "jsonl" and read_all(source).num_rows == 20
    if compress == "gzip":  # zeros after the last member, as some writers pad: the reader's business
        path.write_bytes(packer(lines) + bytes(100))
        assert PostSource(path).format == "jsonl"
    assert _decompressed_head(packer(b"") + packer(b""), lambda size: b"", kind) == b""
    assert _decompressed_head(packer(lines)[:10], lambda size: b"", kind) is None
    zeros = packer(bytes(1 << 25))  # 32 MB of text in a few kilobytes at most
    tracemalloc.start()
    try:
        assert len(zeros) < HEAD_BYTES and _decompressed_head(zeros, lambda size: b"", kind) == bytes(HEAD_BYTES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak  # decompressed whole, the 32 MB would be held (xz: an 8 MB dictionary)


def test_xz_streams_with_padding_between_them_are_all_read(tmp_path: Path) -> None:
    """xz allows zero bytes of stream padding between streams (`xz -dc` reads on): lzma.LZMAFile stopped
    at them and lost the rest without a word. Anything else after a stream is damage, named."""
    import lzma

    def lines(first: int, count: int) -> bytes:
        return b"".join(
            json.dumps({"id": i, "text": POSTS[i % len(POSTS)]}).encode() + b"\n" for i in range(first, first + count)
        )

    path = tmp_path / "posts.jsonl.xz"
    path.write_bytes(lzma.compress(lines(0, 50)) + bytes(4) + lzma.compress(lines(50, 30)) + bytes(8))
    assert read_all(PostSource(path)).num_rows == 80
    path.write_bytes(lzma.compress(b"") + bytes(4) + lzma.compress(lines(0, 30)))
    assert read_all(PostSource(path)).num_rows == 30
    path.write_bytes(lzma.compress(lines(0, 50)) + b"junk after the stream")
    with pytest.raises(InputError, match="damaged or cut short"):
        read_all(PostSource(path))
