"""The HTML report in a real headless browser: it renders, its script runs, its charts are there, and it
can fetch nothing. CI installs Debian's chromium (.ci/run); elsewhere the test needs it on the PATH."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app

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
