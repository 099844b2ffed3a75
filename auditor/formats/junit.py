"""JUnit XML for CI systems other than GitHub: one test case per fingerprint set (names made printable:
XML 1.0 has no place for control characters)."""

from __future__ import annotations

from xml.etree import ElementTree

from auditor.formats.safe import printable
from auditor.gate import GateOutcome


def render_junit(outcome: GateOutcome) -> str:
    failures = sum(not v.passed for v in outcome.verdicts)
    suite = ElementTree.Element(
        "testsuite",
        name="provenance-auditor check",
        tests=str(len(outcome.verdicts)),
        failures=str(failures),
        errors="0",
    )
    for verdict in outcome.verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname="provenance", name=printable(verdict.set_name))
        if not verdict.passed:
            failure = ElementTree.SubElement(case, "failure", message="; ".join(verdict.violations))
            failure.text = "\n".join(verdict.violations)
        output = ElementTree.SubElement(case, "system-out")
        output.text = (
            f"new matches {verdict.new_evidence.num_rows}, accepted {verdict.accepted_matches}, "
            f"posts found {verdict.post_rate.value:.4f}, rows carrying posts {verdict.row_rate.value:.4f}"
        )
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
