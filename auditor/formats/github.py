"""GitHub Actions workflow commands: an error annotation per violated limit."""

from __future__ import annotations

from auditor.formats.safe import printable
from auditor.gate import GateOutcome


def _escape(text: str) -> str:
    """One workflow-command value: no control characters, `%` and line breaks encoded."""
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def render_annotations(outcome: GateOutcome) -> str:
    lines = [
        f"::error title=provenance-auditor::{_escape(verdict.set_name)}: {_escape(violation)}"
        for verdict in outcome.verdicts
        for violation in verdict.violations
    ]
    return "".join(line + "\n" for line in lines)
