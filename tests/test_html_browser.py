"""The HTML report in a real headless browser: it renders, its script runs, its charts are there, and it
can fetch nothing. CI installs Debian's chromium (.ci/run); elsewhere the test needs it on the PATH."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.formats.html import render_html
from auditor.result import AuditResult

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]  # fmt: skip


@pytest.fixture(scope="module")
def html_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    result = CliRunner().invoke(app, ["demo", "--output-dir", str(folder), "-q"])
    assert result.exit_code == 0, result.output
    target = folder / "demo.html"
    result = CliRunner().invoke(
        app, ["report", str(folder / "reports" / "demo.evidence.parquet"), "--format", "html", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    return target


def test_html_is_self_contained(html_report: Path) -> None:
    html = html_report.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the report must not load anything"
    assert html.count('class="chart"') == 4
    assert html.count("<mark>") > 50  # side-by-side evidence with the shared text marked


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="needs chromium (CI installs it)")
def test_html_renders_in_a_browser(html_report: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None, "CI must install chromium: see .ci/run"
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", html_report.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert 'data-ready="1"' in dom, "the report's script did not run"
    matches = json.loads((html_report.parent / "reports" / "demo.report.json").read_text())["counts"]["matches"]
    assert re.search(r'<span id="shown">(\d+)</span>', dom).group(1) == str(matches)  # type: ignore[union-attr]
    assert dom.count("<svg") == 4 and dom.count("<rect") > 10
    shot = tmp_path / "report.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,900", html_report.as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


# Measured in the page itself: the document's width against the window's, and each chart label's box
# against its chart's box and the chart's against its figure's (a label outside is clipped or overlaps).
_LAYOUT_PROBE = """<script>
const out = {pageWidth: document.documentElement.scrollWidth, windowWidth: window.innerWidth, outside: [],
  small: [], texts: 0, evidenceRight: document.getElementById('evidence').getBoundingClientRect().right};
for (const svg of document.querySelectorAll('svg.chart')) {
  const box = svg.getBoundingClientRect(), figure = svg.closest('figure').getBoundingClientRect();
  if (box.right > figure.right + 0.5 || box.left < figure.left - 0.5) out.outside.push(svg.closest('figure').id);
  for (const text of svg.querySelectorAll('text')) {
    out.texts++;
    const t = text.getBoundingClientRect();
    if (t.left < box.left - 0.5 || t.right > box.right + 0.5 || t.top < box.top - 0.5 || t.bottom > box.bottom + 0.5)
      out.outside.push(text.textContent);
    const shown = parseFloat(getComputedStyle(text).fontSize) * box.width / svg.viewBox.baseVal.width;
    if (shown < 9) out.small.push(text.textContent);
  }
}
document.body.dataset.layout = JSON.stringify(out);
</script></body>"""


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="needs chromium (CI installs it)")
def test_html_layout_fits_1280_pixels_with_labels_inside_their_charts(html_report: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None, "CI must install chromium: see .ci/run"
    probed = tmp_path / "probed.html"
    # The probe is the page's own kind of inline script, so the report's Content-Security-Policy allows it.
    probed.write_text(html_report.read_text(encoding="utf-8").replace("</body>", _LAYOUT_PROBE), encoding="utf-8")
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"]
    dom = subprocess.run(
        [*common, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    found = re.search(r'data-layout="([^"]*)"', dom)
    assert found is not None, "the layout probe did not run"
    layout = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert layout["windowWidth"] == 1280
    assert layout["pageWidth"] <= layout["windowWidth"], "the page scrolls sideways at 1280 px"
    assert layout["evidenceRight"] <= layout["windowWidth"], "the evidence table is wider than the page"
    assert layout["texts"] > 40 and layout["outside"] == [], layout["outside"]
    assert layout["small"] == [], "chart labels shrunk below 9 px"


def _demo_result(html_report: Path) -> AuditResult:
    from auditor.report_loader import load_finished_audit

    return load_finished_audit(html_report.parent / "reports" / "demo.evidence.parquet")


def test_html_hides_empty_columns_and_shows_each_posts_date_author_and_url(html_report: Path) -> None:
    result = _demo_result(html_report)
    header = render_html(result).split('<table id="evidence">')[1].split("</thead>")[0]
    assert "<th>corpus id</th>" in header  # the demo corpus has ids
    no_ids = result.evidence.set_column(
        result.evidence.column_names.index("corpus_id"), "corpus_id", pa.nulls(result.evidence.num_rows, pa.string())
    )
    header = render_html(replace(result, evidence=no_ids)).split('<table id="evidence">')[1].split("</thead>")[0]
    assert "corpus id" not in header and "<th>corpus file</th>" in header
    evidence = result.evidence.slice(0, 1)
    for name, value in (("post_created_at", "2024-05-01T10:00:00Z"), ("post_author", "<b>al</b>"),
                        ("post_url", "https://example.org/p/1")):  # fmt: skip
        if name in evidence.column_names:
            evidence = evidence.drop_columns([name])
        evidence = evidence.append_column(name, pa.array([value]))
    page = render_html(replace(result, evidence=evidence))
    assert (
        '<span class="meta">2024-05-01T10:00:00Z &middot; &lt;b&gt;al&lt;/b&gt; &middot; https://example.org/p/1</span>'
        in page
    )


def test_html_from_a_json_report_says_the_evidence_is_not_there(html_report: Path) -> None:
    from auditor.report_loader import load_finished_audit

    from_json = render_html(load_finished_audit(html_report.parent / "reports" / "demo.report.json"))
    assert 'id="no-evidence"' in from_json and "rendered from a JSON report" in from_json
    assert 'id="no-evidence"' not in render_html(_demo_result(html_report))
