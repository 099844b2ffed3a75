"""Posts and corpus sources: every format reads, every skipped row is counted, bad input names the fix."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditor.errors import InputError
from auditor.sources.corpus import DICTIONARY_BATCH_ROWS, CorpusFile, expand_corpus_paths, open_corpus
from auditor.sources.exports.base import as_text
from auditor.sources.posts import POST_METADATA, PostSource
from tests.conftest import write_jsonl, write_parquet

RECORDS = [
    {"id": 1, "text": "first post", "author": "ann"},
    {"id": "b", "text": None},
    {"text": "no id"},
    {"id": 3, "text": "third", "created_at": "2024-01-01"},
]


def read_all(source: PostSource) -> pa.Table:
    return pa.Table.from_batches(list(source.batches()))


def test_jsonl_posts(tmp_path: Path) -> None:
    source = PostSource(write_jsonl(tmp_path / "p.jsonl", RECORDS))
    table = read_all(source)
    assert table.column_names == ["post_id", "text", *POST_METADATA]
    assert table.column("post_id").to_pylist() == ["1", "b", "3"]
    assert table.column("author").to_pylist() == ["ann", None, None]
    assert source.skipped.as_dict() == {"missing_id": 1}


def test_gzipped_jsonl_and_custom_fields(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl.gz"
    with gzip.open(path, "wt") as stream:
        stream.write(json.dumps({"tweet_id": 7, "full_text": "hello"}) + "\n")
    table = read_all(PostSource(path, id_field="tweet_id", text_field="full_text"))
    assert table.column("text").to_pylist() == ["hello"]


def test_csv_and_parquet_posts_read_like_jsonl(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text('id,text,author\n1,"first, with comma",ann\n,orphan,x\n2,second,bob\n', encoding="utf-8")
    parquet = write_parquet(tmp_path / "p.parquet", [{"id": 1, "text": "first"}, {"id": None, "text": "x"}])
    csv_source, parquet_source = PostSource(csv), PostSource(parquet)
    assert read_all(csv_source).column("text").to_pylist() == ["first, with comma", "second"]
    assert csv_source.skipped.as_dict() == {"missing_id": 1}
    assert read_all(parquet_source).column("post_id").to_pylist() == ["1"]
    assert parquet_source.skipped.as_dict() == {"missing_id": 1}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "p.jsonl",
            '{"id": 1, "text": "ok"}\n{"id": 2, "text": \n',
            r"p\.jsonl line 2: not valid JSON.*--skip-bad-lines",
        ),
        (  # Arrow numbers lines in some reads only; else the row is quoted
            "p.csv",
            "id,text\n1,ok\n2,too,many\n",
            r"p\.csv (line 3|row '2,too,many'): has 3 fields where the header has 2",
        ),
    ],
)
def test_bad_line_names_file_and_place_or_is_counted(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_all(PostSource(path))
    source = PostSource(path, skip_bad_lines=True)
    assert read_all(source).num_rows == 1
    assert source.skipped.as_dict() == {"bad_line": 1}


@pytest.mark.parametrize("name", ["p.csv", "p.parquet"])
def test_missing_column_names_the_option(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("id,body\n1,x\n", encoding="utf-8")
    else:
        write_parquet(path, [{"id": 1, "body": "x"}])
    with pytest.raises(InputError, match=r"has no column 'text' \(it has id, body\).*--text-field"):
        read_all(PostSource(path))


def test_unknown_format_missing_file_and_not_utf8(tmp_path: Path) -> None:
    assert PostSource(write_jsonl(tmp_path / "p.txt", RECORDS)).format == "jsonl"  # told by content
    (tmp_path / "p.bin").write_bytes(bytes(range(256)))
    with pytest.raises(InputError, match=r"cannot tell the format.*--input-format"):
        PostSource(tmp_path / "p.bin")
    for empty in (b"", b"\n \r\n\t\n", b"\xef\xbb\xbf\n"):  # nothing, blank lines, a BOM alone
        for name in ("e.jsonl", "e.csv"):
            (tmp_path / name).write_bytes(empty)
            with pytest.raises(InputError, match=rf"{name.replace('.', '[.]')}: the file is empty \(no posts in it\)"):
                PostSource(tmp_path / name)
    with pytest.raises(InputError, match="no such posts file"):
        PostSource(tmp_path / "absent.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"id": 1, "text": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_all(PostSource(latin))


def test_corpus_paths_expand_dirs_hive_partitions_and_globs(tmp_path: Path) -> None:
    rows = [{"text": "x"}]
    a = write_parquet(tmp_path / "c" / "lang=en" / "part-1.parquet", rows)
    b = write_parquet(tmp_path / "c" / "lang=fr" / "part-0.parquet", rows)
    (tmp_path / "c" / "_SUCCESS").write_text("")
    (tmp_path / "c" / "lang=en" / ".part-1.parquet.crc").write_text("")
    write_parquet(tmp_path / "c" / "_temporary" / "0" / "part-2.parquet", rows)  # a write that did not finish
    write_parquet(tmp_path / "c" / ".cache" / "part-3.parquet", rows)
    assert expand_corpus_paths([str(tmp_path / "c")]) == [a, b]
    # Hive names its shards 000000_0: a file with no suffix is a shard when it is Parquet, else not data.
    hive = tmp_path / "c" / "lang=fr" / "000000_0"
    hive.write_bytes(a.read_bytes())
    (tmp_path / "c" / "lang=fr" / "README").write_text("notes on the corpus")
    (tmp_path / "c" / "lang=fr" / "_000001_0").write_bytes(a.read_bytes())
    assert expand_corpus_paths([str(tmp_path / "c")]) == [a, hive, b]
    hive.unlink()
    assert expand_corpus_paths([str(tmp_path / "c" / "*" / "*.parquet"), str(a)]) == [a, b]
    with pytest.raises(InputError, match=r"matches no \.parquet files"):
        expand_corpus_paths([str(tmp_path / "nothing*.parquet")])
    with pytest.raises(InputError, match="no such corpus file"):
        expand_corpus_paths([str(tmp_path / "absent")])


def test_corpus_file_checks_columns_and_types(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "c.parquet", [{"doc": "x", "n": 1}])
    with pytest.raises(InputError, match=r"has no column 'text' \(it has doc, n\).*--text-column"):
        open_corpus([str(path)])
    with pytest.raises(InputError, match="holds int64, not text"):
        open_corpus([str(path)], text_column="n")
    with pytest.raises(InputError, match=r"no column 'uid'.*--id-column"):
        open_corpus([str(path)], text_column="doc", id_column="uid", id_required=True)
    assert open_corpus([str(path)], text_column="doc")[0].id_column is None


def test_corrupt_parquet_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(InputError, match=r"broken\.parquet: not a readable Parquet file"):
        open_corpus([str(path)])


def test_corpus_batches_carry_ids_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": ["a", None, "c"], "id": [10, 11, 12]}), path, row_group_size=1)
    corpus_file = CorpusFile.open(path, "text", "id", id_required=False)
    batches = list(corpus_file.batches())
    assert pa.Table.from_batches(batches).column("id").to_pylist() == ["10", "11", "12"]
    assert corpus_file.rows == 3


@pytest.mark.parametrize(
    "records",
    [
        [{"id": 1, "text": "a", "author": "x"}, {"id": 2, "text": None}, {"text": "no id"}],
        [{"id": 1, "text": "a"}, {"id": "b", "text": "mixed id types"}, {"id": 3, "text": {"nested": 1}}],
        [{"id": 1.5, "text": "x", "created_at": 1539202764, "url": True}, {"id": 2, "text": "y", "created_at": "z"}],
    ],
)
def test_jsonl_reads_as_json_loads_would(tmp_path: Path, records: list[dict[str, object]]) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", records)
    source = PostSource(path, batch_rows=2)
    expected = [
        {
            "post_id": as_text(r["id"]),
            "text": as_text(r.get("text")),
            "author": as_text(r.get("author")),
            "url": as_text(r.get("url")),
        }
        for r in records
        if r.get("id") is not None
    ]
    got = read_all(source).select(["post_id", "text", "author", "url"]).to_pylist()
    assert got == expected
    assert source.skipped.as_dict() == ({"missing_id": 1} if len(expected) < len(records) else {})


def test_a_text_field_no_record_has_is_named(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "body": "the text is under another name"}])
    with pytest.raises(InputError, match=r"no record has the text field 'text'.*--text-field"):
        read_all(PostSource(path))
    assert read_all(PostSource(path, text_field="body")).num_rows == 1


@pytest.mark.parametrize("encoding", ["dictionary", "binary", "large_binary", "large_string"])
def test_text_stored_as_a_dictionary_or_as_bytes_is_text_for_the_corpus_and_the_posts(
    tmp_path: Path, encoding: str
) -> None:
    """Writers store text as strings, dictionary-encoded strings (pandas categoricals) or UTF-8 bytes
    without the string annotation: all are read as the same text; bytes that are not UTF-8 are refused,
    naming the row."""
    texts = ["first post text here", "second post text here", "first post text here"]
    array = pa.array(texts)
    stored = {
        "dictionary": array.dictionary_encode(),
        "binary": array.cast(pa.binary()),
        "large_binary": array.cast(pa.large_binary()),
        "large_string": array.cast(pa.large_string()),
    }[encoding]
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["1", "2", "3"], "text": stored}), path)
    assert pq.read_schema(path).field("text").type != pa.string()
    (corpus,) = open_corpus([str(path)])
    assert [t for b in corpus.batches() for t in b.column("text").to_pylist()] == texts
    # A dictionary's stored size says little of its texts': its batches are bounded in rows.
    assert (corpus.batch_rows <= DICTIONARY_BATCH_ROWS) or encoding != "dictionary"
    posts = read_all(PostSource(path))
    assert posts.column("text").to_pylist() == texts and posts.column("text").type == pa.string()
    if encoding in ("binary", "large_binary"):
        bad = pa.array([t.encode() for t in texts[:1]] + [b"caf\xe9 latin-1 bytes"] + [texts[2].encode()])
        pq.write_table(pa.table({"id": ["1", "2", "3"], "text": bad.cast(stored.type)}), path)
        (corpus,) = open_corpus([str(path)])
        with pytest.raises(InputError, match=r"c\.parquet: row 1 of column 'text' is not valid UTF-8"):
            list(corpus.batches())
        with pytest.raises(InputError, match=r"c\.parquet: row 1 of column 'text' is not valid UTF-8"):
            read_all(PostSource(path))


def test_bytes_that_are_not_utf8_in_ids_and_dates_are_named_with_the_fix_that_fits(tmp_path: Path) -> None:
    """A digest as a posts id or a corpus id cannot be re-encoded: the sentence asks for another id column;
    a date column of bytes that are not UTF-8 is named (it raised from the date parser)."""
    texts = ["first post text here for the test", "second post text here for the test"]
    digests = pa.array([b"\xff\xfe\x00\x01", b"\x8f\x00"], pa.binary())
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": digests, "text": texts}), path)
    with pytest.raises(
        InputError, match=r"p\.parquet: column 'id' holds bytes that are not UTF-8 text \(row 0\), not ids"
    ):
        read_all(PostSource(path))
    pq.write_table(pa.table({"id": ["1", "2"], "text": texts, "created_at": pa.array([b"2024-01-01", b"\xff"])}), path)
    with pytest.raises(InputError, match=r"p\.parquet: row 1 of column 'created_at' is not valid UTF-8"):
        read_all(PostSource(path))
    corpus = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": digests, "text": texts}), corpus)
    (opened,) = open_corpus([str(corpus)])
    with pytest.raises(InputError, match=r"c\.parquet: column 'id' holds bytes .* name a text column with --id-column"):
        list(opened.batches())
