"""Hostile text in posts, corpus rows, ids and paths comes out inert: no escape sequence reaches the
terminal, no markup is parsed from data, and Markdown renders data as text."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from auditor.cli import app
from auditor.formats.safe import markdown_text, printable
from auditor.formats.terminal import render_terminal
from auditor.report_loader import load_finished_audit
from tests.conftest import POSTS, write_jsonl, write_parquet

runner = CliRunner()

TITLE = "\x1b]0;pwned\x07"  # sets the window title
CLEAR = "\x1b[2J"  # clears the screen
LINK = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"  # a hidden OSC 8 link
OVERRIDE = "\u202e"  # right-to-left override
C1_CSI = "\x9b31m"  # 8-bit CSI
HTML = '"><svg onload=alert(1)>'
HOSTILE = (TITLE, CLEAR, "\x1b]8;;", OVERRIDE, "\x9b", "\x07", "\x00", "\x7f")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (f"a{TITLE}b", "ab"),
        (f"a{CLEAR}b", "ab"),
        (f"see {LINK} now", "see click now"),
        (f"left{OVERRIDE}right\u2066x\u2069", "leftrightx"),
        (f"red{C1_CSI}text", "redtext"),
        ("a\x00b\x7fc\x85d", "abc d"),
        ("two\nlines\tand\r\nmore", "two lines and more"),
        ("plain text, Ünïcödé 😂 and עברית", "plain text, Ünïcödé 😂 and עברית"),
    ],
)
def test_printable_strips_sequences_and_controls(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_markdown_text_is_inert() -> None:
    escaped = markdown_text(f"{HTML} [x](javascript:alert(1)) | *b* _i_ `c` <img src=x>\nnext")
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped and "\n" not in escaped
    assert escaped.startswith("&quot;&gt;&lt;svg onload=alert\\(1\\)&gt;")
    assert "\\[x\\]\\(javascript:alert\\(1\\)\\)" in escaped and "\\|" in escaped and "\\*b\\*" in escaped
    assert "\\`c\\`" in escaped and "\\_i\\_" in escaped


@pytest.fixture
def hostile_audit(tmp_path: Path) -> tuple[Path, list[str]]:
    posts = write_jsonl(
        tmp_path / "posts.jsonl",
        [
            {
                "id": f"p{HTML}{TITLE}",
                "text": f"{POSTS[0]} {TITLE}{CLEAR}{OVERRIDE}",
                "author": f"a{HTML}{CLEAR}",
                "url": f"https://x.example/{LINK}{HTML}",
            }
        ]
        + [{"id": f"q{i}{HTML}{TITLE}", "text": text} for i, text in enumerate(POSTS[1:])],  # posts not found
    )
    corpus = write_parquet(
        tmp_path / "corpus" / "part-0.parquet",
        [{"id": f"r{HTML}{LINK}", "text": f"Look{TITLE}: {POSTS[0]} {CLEAR}{OVERRIDE}evil {C1_CSI}{LINK}"}],
    )
    fp = tmp_path / "s.fp.parquet"
    result = runner.invoke(app, ["fingerprint", str(posts), "-o", str(fp), "--keep-text", "-q"])
    assert result.exit_code == 0, result.output
    return tmp_path, [str(fp), str(corpus)]


def test_the_terminal_never_receives_escape_sequences_from_the_data(hostile_audit: tuple[Path, list[str]]) -> None:
    tmp_path, (fp, corpus) = hostile_audit
    outputs = ["--evidence", str(tmp_path / "e.parquet"), "--json", str(tmp_path / "r.json")]
    result = runner.invoke(app, ["audit", fp, corpus, *outputs, "--markdown", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    assert "1 of 5 testable posts found" in result.output and "q0" in result.output
    for sequence in HOSTILE:
        assert sequence not in result.output
    # Rendered for a real terminal: only rich's own styling sequences, none of the data's.
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    console.print(render_terminal(load_finished_audit(tmp_path / "e.parquet")))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Examples (shared text highlighted)" in shown and "Look" in shown and "evil" in shown
    for sequence in (TITLE, CLEAR, "\x1b]8;;", OVERRIDE, "\x9b", "\x07"):
        assert sequence not in shown


def test_markdown_renders_data_as_text(hostile_audit: tuple[Path, list[str]]) -> None:
    tmp_path, (fp, corpus) = hostile_audit
    outputs = ["--evidence", str(tmp_path / "e.parquet"), "--json", str(tmp_path / "r.json"), "-q"]
    assert runner.invoke(app, ["audit", fp, corpus, *outputs, "--markdown", str(tmp_path / "r.md")]).exit_code == 0
    result = runner.invoke(app, ["check", corpus, "--fingerprints", fp, "--format", "markdown", "--workers", "1"])
    assert result.exit_code == 1
    for markdown in ((tmp_path / "r.md").read_text(encoding="utf-8"), result.output):
        assert "<svg" not in markdown and "\x1b" not in markdown and OVERRIDE not in markdown
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "q0&quot;&gt;&lt;svg onload=alert\\(1\\)&gt;" in report  # a post not found, listed as text
    assert "a&quot;&gt;&lt;svg onload=alert\\(1\\)&gt; · https://x.example/click&quot;" in report  # its author, URL
    html = runner.invoke(app, ["report", str(tmp_path / "e.parquet"), "--format", "html"]).output
    assert "<svg onload" not in html and "a&quot;&gt;&lt;svg onload=alert(1)&gt;" in html
    assert "| p&quot;&gt;&lt;svg onload=alert\\(1\\)&gt; | r&quot;&gt;&lt;svg onload=alert\\(1\\)&gt;click |" in (
        result.output
    )


def test_paths_with_markup_are_printed_as_they_are(tmp_path: Path, posts_file: Path) -> None:
    odd = tmp_path / "odd[/]dir[bold]"
    result = runner.invoke(app, ["audit", str(odd / "s.fp.parquet"), str(tmp_path)])
    assert (result.exit_code == 2 and result.exception is None) or isinstance(result.exception, SystemExit)
    assert f"error: {odd}/s.fp.parquet: no such fingerprint set" in " ".join(result.output.split())
    fp = odd / "s.fp.parquet"
    result = runner.invoke(app, ["fingerprint", str(posts_file), "-o", str(fp), "--public"])
    assert result.exit_code == 0, result.output
    assert f"Wrote {fp}: 5 posts fingerprinted" in " ".join(result.output.split())
    corpus = write_parquet(odd / "c[/].parquet", [{"text": POSTS[0]}])
    outputs = ["--evidence", str(odd / "e[/].parquet"), "--json", str(odd / "r[/].json")]
    result = runner.invoke(app, ["audit", str(fp), str(corpus), *outputs])
    assert result.exit_code == 0, result.output
    assert f"Evidence: {odd}/e[/].parquet" in " ".join(result.output.split())
    assert json.loads((odd / "r[/].json").read_text())
