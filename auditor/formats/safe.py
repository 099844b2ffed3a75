"""Hostile text made inert: what a terminal prints and what Markdown renders must not obey the data.

Post texts, corpus excerpts, ids and file names come from whoever wrote the posts or the corpus. In a
terminal, escape sequences in them could set the window title, clear the screen or hide a link (OSC 8),
and bidi overrides could reorder what is shown; in Markdown, HTML and Markdown syntax could inject
markup (`"><svg onload=...>`) or links. Every human-readable format passes data through these first.
"""

from __future__ import annotations

import html
import re

# Whole escape sequences first (so their parameters do not stay behind as visible noise): CSI, OSC and
# the string commands (DCS, SOS, PM, APC) in their 7-bit and 8-bit forms, then any other ESC pair.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# C0 and C1 controls, DEL, and the marks, embeddings, overrides and isolates of the bidi algorithm.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n|[\n\r\t\v\f\u0085\u2028\u2029]")
# Characters that open Markdown inline syntax anywhere in a line (GFM); HTML's are escaped as entities.
_MARKDOWN = re.compile(r"([\\`*_\[\]|~!(){}])")


def printable(value: object) -> str:
    """`value` as one line a terminal shows as text: escape sequences and control characters removed,
    line breaks and tabs turned into spaces."""
    text = _SEQUENCES.sub("", str(value))
    return _CONTROLS.sub("", _LINE_BREAKS.sub(" ", text))


def markdown_text(value: object) -> str:
    """`value` as inert Markdown inline text (a table cell, a heading): printable, Markdown syntax
    backslash-escaped, then HTML special characters as entities."""
    return html.escape(_MARKDOWN.sub(r"\\\1", printable(value)), quote=True)
