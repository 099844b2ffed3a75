"""Report formats: each takes an AuditResult and returns text (or a renderable); none scans or reads input.

`render_report(result, name)` is the one place a format name becomes text, so the CLI's `report` command
and its `--json -` style options, and the library's output files, cannot disagree about what a format is.
Format modules are imported only when asked for (the HTML and terminal ones pull in templates and rich).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.result import AuditResult

# Name -> (module, function); "md" is short for "markdown"; "terminal" is the terminal summary as plain text.
REPORT_FORMATS: dict[str, tuple[str, str]] = {
    "json": ("auditor.formats.json_report", "render_json"),
    "markdown": ("auditor.formats.markdown", "render_markdown"),
    "md": ("auditor.formats.markdown", "render_markdown"),
    "html": ("auditor.formats.html", "render_html"),
    "terminal": ("auditor.formats.terminal", "render_terminal_text"),
}


def render_report(result: AuditResult, name: str) -> str:
    """The report of `result` in the format named `name` (a key of REPORT_FORMATS)."""
    if name not in REPORT_FORMATS:
        raise ValueError(f"no report format {name!r}; the formats are {', '.join(REPORT_FORMATS)}")
    module, function = REPORT_FORMATS[name]
    renderer: Any = getattr(import_module(module), function)
    text: str = renderer(result)
    return text
