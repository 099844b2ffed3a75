"""HTML: one self-contained file (no network: inline CSS, inline SVG charts, a few lines of inline script
under a Content-Security-Policy that forbids every fetch), with searchable evidence."""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from auditor.claims import upper_first
from auditor.formats.wording import describe_rate, describe_reasons, describe_share, describe_sources
from auditor.result import AuditResult
from auditor.stats import Rate

EVIDENCE_ROWS = 2_000
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}th{background:#f4f4f4}
.verdict{font-size:1.2rem;font-weight:600}.found{color:#b00020}.clean{color:#1b6e20}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1.5rem}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}input{width:100%;padding:.4rem;margin:.5rem 0}
.num{text-align:right;font-variant-numeric:tabular-nums}mark{background:#ffe066}.note{color:#666}
"""
_SCRIPT = """
const box=document.getElementById('filter');const rows=[...document.querySelectorAll('#evidence tbody tr')];
const count=document.getElementById('shown');
function apply(){const q=box.value.toLowerCase();let n=0;
 for(const r of rows){const hit=r.textContent.toLowerCase().includes(q);r.hidden=!hit;n+=hit}
 count.textContent=n;}
box.addEventListener('input',apply);apply();document.body.dataset.ready='1';
"""


def _bars(title: str, items: list[tuple[str, float, str]], chart_id: str) -> str:
    """A horizontal bar chart as inline SVG: (label, value between 0 and the max, shown text)."""
    if not items:
        empty = '<p class="note">nothing to show</p>'
        return f'<figure id="{chart_id}"><figcaption>{escape(title)}</figcaption>{empty}</figure>'
    top = max(value for _, value, _ in items) or 1.0
    height = 18 * len(items) + 4
    bars = []
    for i, (label, value, text) in enumerate(items):
        width = 190 * value / top
        y = 18 * i + 2
        bars.append(
            f'<text x="0" y="{y + 12}" font-size="11">{escape(label[-28:])}</text>'
            f'<rect x="170" y="{y}" width="{width:.1f}" height="14" fill="#3a6ea5"><title>{escape(text)}</title></rect>'
            f'<text x="{175 + width:.1f}" y="{y + 12}" font-size="11">{escape(text)}</text>'
        )
    return (
        f'<figure id="{chart_id}"><figcaption>{escape(title)}</figcaption>'
        f'<svg class="chart" viewBox="0 0 440 {height}" width="100%" role="img" aria-label="{escape(title)}">'
        + "".join(bars)
        + "</svg></figure>"
    )


def _marked(excerpt: dict[str, Any] | None) -> str:
    """An excerpt as HTML with the spans shared with the post in <mark>."""
    if not excerpt:
        return ""
    text, out, cursor = excerpt["text"], [], 0
    for start, end in excerpt["marks"]:
        out += [escape(text[cursor:start]), "<mark>", escape(text[start:end]), "</mark>"]
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


def _rate_row(label: str, rate: Rate) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape(describe_rate(rate))}</td></tr>"


def render_html(result: AuditResult) -> str:
    found = result.posts_matched > 0
    claims = result.claims
    verdict = (
        f"{result.posts_matched:,} of {result.posts_testable:,} testable posts found in "
        f"{result.rows_matched:,} corpus rows"
        if found
        else "No post of the set was found in the corpus"
    )
    summary = [
        _rate_row("Posts found", result.post_rate),
        _rate_row("Rows carrying posts", result.row_rate),
        f"<tr><th>Corpus text from posts</th><td>{escape(describe_share(result.text_share))}</td></tr>",
        f"<tr><th>Matches</th><td>{result.matches:,} (containment &ge; {result.settings.threshold:.2f})</td></tr>",
        f"<tr><th>Posts read from</th><td>{escape(describe_sources(result.fingerprint_info))}</td></tr>",
        f"<tr><th>Posts not testable</th><td>{escape(describe_reasons(result.posts_skipped))}</td></tr>",
        f"<tr><th>Corpus rows skipped</th><td>{escape(describe_reasons(result.rows_skipped))}</td></tr>",
    ]
    if claims.nonspecific_posts:
        summary.append(_rate_row("Headline (without non-specific posts)", claims.headline))
    conclusion = ""
    if claims.control is not None:
        summary.append(_rate_row(upper_first(claims.control.tested), claims.control.before))
        summary.append(_rate_row(f"{upper_first(claims.control.control)} (control)", claims.control.after))
        conclusion = f'<p class="verdict">{escape(claims.control.statement)}</p>'
    months = [(m, r.value, f"{r.value:.0%} of {r.denominator:,}") for m, r in claims.by_month]
    histogram = []
    if result.evidence.num_rows:
        values = result.evidence.column("containment").to_numpy()
        counts, edges = np.histogram(values, bins=8, range=(result.settings.threshold, 1.0))
        bins = zip(counts, edges[:-1], edges[1:], strict=True)
        histogram = [(f"{lo:.2f} to {hi:.2f}", float(n), f"{n:,}") for n, lo, hi in bins]
    domains = [(d, r.value, f"{r.numerator:,} of {r.denominator:,}") for d, r in claims.by_domain]
    ranked = sorted(result.files, key=lambda f: (-f.matches, f.path))[:12]
    files = [(f.path, float(f.matches), f"{f.matches:,}") for f in ranked if f.matches]
    evidence_rows = "".join(
        "<tr>"
        f"<td>{escape(m['post_id'])}</td><td>{escape(m['corpus_id'] or '')}</td>"
        f"<td>{escape(m['corpus_file'])}</td><td class='num'>{m['corpus_row']:,}</td><td>{m['match_kind']}</td>"
        f"<td class='num'>{m['containment']:.2f}</td>"
        f"<td class='num'>{'' if m['exact_containment'] is None else format(m['exact_containment'], '.2f')}</td>"
        f"<td>{escape(m['post_text'] or '')}</td><td>{_marked(m['corpus_excerpt'])}</td>"
        "</tr>"
        for m in result.evidence.slice(0, EVIDENCE_ROWS).to_pylist()
    )
    more = result.matches - min(result.matches, EVIDENCE_ROWS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>Provenance audit: {escape(result.fingerprint_file.name)}</title><style>{_STYLE}</style></head>
<body data-ready="0">
<h1>Provenance audit of {escape(result.fingerprint_file.name)}</h1>
<p class="verdict {"found" if found else "clean"}">{escape(verdict)}</p>{conclusion}
<table id="summary">{"".join(summary)}</table>
<h2>Charts</h2><div class="charts">
{_bars("Posts found by month of publication", months, "chart-months")}
{_bars("Containment of matches", histogram, "chart-containment")}
{_bars("Matches by corpus file", files, "chart-files")}
{_bars("Rows carrying posts by source domain", domains, "chart-domains")}
</div>
<h2>Evidence</h2>
<input id="filter" type="search" placeholder="Filter by post id, corpus id, file or kind">
<p class="note"><span id="shown">0</span> rows shown{f"; {more:,} more in the evidence file" if more else ""}.</p>
<table id="evidence"><thead><tr><th>post</th><th>corpus id</th><th>corpus file</th><th>row</th><th>kind</th>
<th>containment</th><th>exact</th><th>post text</th>
<th>corpus excerpt (shared text marked)</th></tr></thead><tbody>{evidence_rows}</tbody></table>
<p class="note">provenance-auditor {escape(result.tool_version)}; threshold {result.settings.threshold:.2f};
fingerprint set SHA-256 {escape(result.fingerprint_file.sha256 or "unknown")}.</p>
<script>{_SCRIPT}</script>
</body></html>
"""
