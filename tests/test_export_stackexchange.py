"""StackExchange dumps: Posts.xml streamed, HTML bodies to text, trap posts, entity attacks, .7z."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import py7zr
import pytest

from auditor.errors import InputError
from auditor.sources.posts import PostSource
from tests.exports_fixtures import read_all

QUESTION_BODY = (
    "<p>How do I read a tide table &amp; trust it?</p>\n<pre><code>tide = read(&quot;harbour&quot;)\n</code></pre>\n"
)
ANSWER_BODY = "<p>Compare it with the <strong>harbour board</strong>; they &lt;usually&gt; agree.</p>\n"


def row(**attributes: str) -> str:
    return "  <row " + " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items()) + " />\n"


def posts_xml() -> str:
    rows = [
        row(
            Id="1",
            PostTypeId="1",
            CreationDate="2018-10-10T20:19:24.667",
            Score="5",
            Body=QUESTION_BODY,
            OwnerUserId="8",
            Title="Reading tide tables",
            Tags="<tides>",
            AnswerCount="1",
        ),
        row(
            Id="2",
            PostTypeId="2",
            ParentId="1",
            CreationDate="2018-10-10T21:00:00.000",
            Score="3",
            Body=ANSWER_BODY,
            OwnerUserId="9",
        ),
        row(
            Id="3",
            PostTypeId="4",
            CreationDate="2018-10-10T21:00:00.000",
            Body="<p>tag wiki excerpt</p>",
            OwnerUserId="-1",
        ),
        row(
            Id="1000000001",
            PostTypeId="1",
            CreationDate="2024-01-01T00:00:00.000",
            Body="<p>a trap</p>",
            OwnerUserId="-1",
            Title="Fabricated",
        ),
        row(
            Id="1000000010",
            PostTypeId="2",
            CreationDate="2024-01-01T00:00:00.000",
            Body="<p>a trap</p>",
            OwnerUserId="-1",
        ),
    ]
    return '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n' + "".join(rows) + "</posts>\n"


def test_posts_xml_questions_answers_and_traps(tmp_path: Path) -> None:
    folder = tmp_path / "cooking.stackexchange.com"
    folder.mkdir()
    (folder / "Posts.xml").write_text(posts_xml(), encoding="utf-8")
    source = PostSource(folder / "Posts.xml")
    assert source.format == "stackexchange"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == ["1", "2"]
    assert table.column("kind").to_pylist() == ["question", "answer"]
    texts = table.column("text").to_pylist()
    assert texts[0] == 'Reading tide tables\n\nHow do I read a tide table & trust it?\n\ntide = read("harbour")'
    assert texts[1] == "Compare it with the harbour board; they <usually> agree."
    assert table.column("created_at").to_pylist() == ["2018-10-10T20:19:24Z", "2018-10-10T21:00:00Z"]
    assert table.column("url").to_pylist() == [
        "https://cooking.stackexchange.com/q/1",
        "https://cooking.stackexchange.com/a/2",
    ]
    assert source.skipped.as_dict() == {"not_a_post": 1, "synthetic": 2}
    assert PostSource(folder).format == "stackexchange"


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE posts [\n <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
        '<posts><row Id="1" PostTypeId="2" Body="&lol2;" /></posts>\n'
    )
    path = tmp_path / "Posts.xml"
    path.write_text(laughs, encoding="utf-8")
    with pytest.raises(InputError, match=r"Posts\.xml line \d+: declares an XML entity"):
        read_all(PostSource(path))


def test_damaged_xml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "Posts.xml"
    path.write_text(posts_xml()[:-40], encoding="utf-8")
    with pytest.raises(InputError, match=r"Posts\.xml line \d+: not well-formed XML.*download it again"):
        read_all(PostSource(path))


def test_site_7z_archive_streamed(tmp_path: Path) -> None:
    (tmp_path / "Posts.xml").write_text(posts_xml(), encoding="utf-8")
    archive = tmp_path / "cooking.stackexchange.com.7z"
    with py7zr.SevenZipFile(archive, "w") as packed:
        packed.write(tmp_path / "Posts.xml", "Posts.xml")
    (tmp_path / "Posts.xml").unlink()
    source = PostSource(archive)
    assert source.format == "stackexchange"
    table = read_all(source)
    assert table.column("post_id").to_pylist() == ["1", "2"]
    assert table.column("url").to_pylist()[0] == "https://cooking.stackexchange.com/q/1"
    broken = tmp_path / "broken.7z"
    broken.write_bytes(archive.read_bytes()[:60])
    with pytest.raises(InputError, match=r"broken\.7z: a damaged 7z archive"):
        read_all(PostSource(broken))
