"""HTML: one self-contained file (no network: inline CSS, inline SVG charts, a few lines of inline script
under a Content-Security-Policy that forbids every fetch), with searchable evidence."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import numpy as np

from auditor.claims import upper_first
from auditor.formats.wording import (
    MATCH_RULE,
    NORMALIZED_CHARACTERS,
    NOT_FOUND_LISTED,
    counted,
    describe_copies,
    describe_dates,
    describe_figure,
    describe_rate,
    describe_reasons,
    describe_sampling,
    describe_sources,
    describe_templated,
    describe_verdict,
    explain_containment,
    rows_carrying,
    split_left_out,
)
from auditor.plural import for_count
from auditor.result import AuditResult, FigureReading
from auditor.stats import Rate, TextShare

EVIDENCE_ROWS = 2_000
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;overflow-wrap:anywhere}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f4f4f4}#summary th{width:16rem}
#evidence{table-layout:fixed;font-size:13px}#evidence th{overflow-wrap:normal;hyphens:auto}
#evidence col.id{width:7rem}#evidence col.file{width:11rem}#evidence col.n{width:4.5rem}#evidence col.kind{width:6.5rem}
#evidence col.post{width:22%}#evidence col.excerpt{width:auto}
.meta{display:block;color:#555;font-size:12px}
.verdict{font-size:1.2rem;font-weight:600}.found{color:#b00020}.clean{color:#1b6e20}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr));gap:1.5rem}
figure{margin:0;min-width:0}figcaption{font-weight:600;margin-bottom:.3rem}
svg.chart{display:block;max-width:100%;height:auto;font:12px system-ui,sans-serif}
input{width:100%;box-sizing:border-box;padding:.4rem;margin:.5rem 0}
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


_CHAR_WIDTH = 7.2  # px of an average character at the charts' 12 px font (digits and lower case are narrower)
_LABEL_CHARS = 36
_BAR_WIDTH = 200
_ROW = 20


def _short(label: str, limit: int = _LABEL_CHARS) -> str:
    """A label of at most `limit` characters: the middle of a long one (a path, a domain) left out, so both
    its start and its distinctive end stay readable; the whole label is in the bar's tooltip."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 3
    return label[:head] + "\u2026" + label[-(limit - 1 - head) :]


def _bars(title: str, items: list[tuple[str, float, str]], chart_id: str) -> str:
    """A horizontal bar chart as inline SVG: (label, value between 0 and the max, shown text).

    Laid out in pixels from its longest label and value text, drawn at its natural size and only ever
    scaled down (max-width: 100%), so labels keep the 12 px font and nothing falls outside the chart.
    """
    if not items:
        empty = '<p class="note">nothing to show</p>'
        return f'<figure id="{chart_id}"><figcaption>{escape(title)}</figcaption>{empty}</figure>'
    top = max(value for _, value, _ in items) or 1.0
    labels = [_short(label) for label, _, _ in items]
    label_width = round(max(len(label) for label in labels) * _CHAR_WIDTH) + 8
    text_width = round(max(len(text) for _, _, text in items) * _CHAR_WIDTH) + 8
    width = label_width + _BAR_WIDTH + text_width
    height = _ROW * len(items) + 4
    bars = []
    for i, ((label, value, text), short) in enumerate(zip(items, labels, strict=True)):
        bar = _BAR_WIDTH * value / top
        y = _ROW * i + 2
        bars.append(
            f"<g><title>{escape(label)}: {escape(text)}</title>"
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end">{escape(short)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{bar:.1f}" height="15" fill="#3a6ea5"></rect>'
            f'<text x="{label_width + bar + 4:.1f}" y="{y + 12}">{escape(text)}</text></g>'
        )
    return (
        f'<figure id="{chart_id}"><figcaption>{escape(title)}</figcaption>'
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">' + "".join(bars) + "</svg></figure>"
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


def _figure_row(label: str, figure: Rate | TextShare, reading: FigureReading) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape(describe_figure(figure, reading))}</td></tr>"


NOT_FOUND_SHOWN = 500


def render_html(result: AuditResult) -> str:
    found = result.posts_matched > 0
    claims = result.claims
    summary = [
        _figure_row("Posts found", result.post_rate, result.reading("posts_found")),
    ]
    templated = describe_templated(claims)
    if templated is not None:
        summary.append(_figure_row("Headline (distinctive posts)", claims.headline, result.reading("posts_found")))
        summary.append(f"<tr><th>Templated posts</th><td>{escape(templated)}</td></tr>")
    copies = describe_copies(claims)
    if copies is not None:
        summary.append(f"<tr><th>Copies</th><td>{escape(copies)}</td></tr>")
    untestable, left_out = split_left_out(result.posts_skipped)
    summary += [
        _figure_row("Rows carrying posts", result.row_rate, result.reading("rows_carrying_posts")),
        _figure_row("Corpus text from posts", result.text_share, result.reading("corpus_text_from_posts")),
        f"<tr><th>Matches</th><td>{result.matches:,} ({escape(MATCH_RULE)})</td></tr>",
        f"<tr><th>Posts read from</th><td>{escape(describe_sources(result.fingerprint_info))}</td></tr>",
        f"<tr><th>Posts not testable</th><td>{escape(describe_reasons(untestable))}</td></tr>",
        *([f"<tr><th>Left out of the set</th><td>{escape(describe_reasons(left_out))}</td></tr>"] if left_out else []),
        f"<tr><th>Corpus rows skipped</th><td>{escape(describe_reasons(result.rows_skipped))}</td></tr>",
        f"<tr><th>Dates</th><td>{escape(describe_dates(claims, result.posts_testable))}</td></tr>",
    ]
    conclusion = ""
    if claims.control is not None:
        summary.append(_rate_row(upper_first(claims.control.tested), claims.control.before))
        summary.append(_rate_row(f"{upper_first(claims.control.control)} (control)", claims.control.after))
        conclusion = f'<p class="verdict">{escape(claims.control.statement)}</p>'
    months = [(m, r.value, f"{r.value:.0%} of {r.denominator:,}") for m, r in claims.by_month if r.defined]
    histogram = []
    if result.evidence.num_rows:
        values = result.evidence.column("containment").to_numpy()
        counts, edges = np.histogram(values, bins=8, range=(result.settings.threshold, 1.0))
        bins = zip(counts, edges[:-1], edges[1:], strict=True)
        histogram = [(f"{lo:.2f} to {hi:.2f}", float(n), f"{n:,}") for n, lo, hi in bins]
    domains = [(d, r.value, f"{r.numerator:,} of {r.denominator:,}") for d, r in claims.by_domain if r.defined]
    ranked = sorted(result.files, key=lambda f: (-f.matches, f.path))[:12]
    files = [(f.path, float(f.matches), f"{f.matches:,}") for f in ranked if f.matches]
    shown = result.evidence.slice(0, EVIDENCE_ROWS).to_pylist()
    copied = rows_carrying(result, sorted({m["post_id"] for m in shown}))
    for match in shown:
        match["rows_carrying"] = copied.get(match["post_id"], 1)
    evidence_table = _evidence_table(shown)
    more = result.matches - min(result.matches, EVIDENCE_ROWS)
    not_found = [str(post) for post in result.posts_not_found.slice(0, NOT_FOUND_SHOWN).to_pylist()]
    hidden = result.not_found_count - len(not_found)
    where = " in the sampled rows" if result.rows_sampled else ""
    missed = result.not_found_count
    not_found_note = f"{counted(missed, 'testable post')} {for_count(missed, 'was', 'were')} not found{where}."
    if hidden:
        not_found_note += f" The first {len(not_found):,} are listed; {NOT_FOUND_LISTED}."
    containment = explain_containment(result.fingerprint_info.params.shingle_size, result.settings.threshold)
    explanations = f'<p class="note">{escape(containment)}<br>{escape(NORMALIZED_CHARACTERS)}</p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>Provenance audit: {escape(result.fingerprint_file.name)}</title><style>{_STYLE}</style></head>
<body data-ready="0">
<h1>Provenance audit of {escape(result.fingerprint_file.name)}</h1>
<p class="verdict {"found" if found else "clean"}">{escape(describe_verdict(result))}</p>{conclusion}
<p id="sampling">{escape(describe_sampling(result))}</p>
<table id="summary">{"".join(summary)}</table>
{explanations}
<h2>Charts</h2><div class="charts">
{_bars("Posts found by month of publication", months, "chart-months")}
{_bars("Containment of matches", histogram, "chart-containment")}
{_bars("Matches by corpus file", files, "chart-files")}
{_bars("Rows carrying posts by source domain", domains, "chart-domains")}
</div>
<h2>Evidence</h2>
<input id="filter" type="search" placeholder="Filter by post id, author, corpus id, file or kind">
<p class="note"><span id="shown">0</span> rows shown{f"; {more:,} more in the evidence file" if more else ""}.</p>
{_missing_evidence(result)}{evidence_table}
<h2>Posts not found</h2>
<p class="note" id="not-found-note">{escape(not_found_note)}</p>
<p id="not-found">{", ".join(escape(post) for post in not_found)}</p>
<p class="note">provenance-auditor {escape(result.tool_version)}; threshold {result.settings.threshold:.2f};
fingerprint set SHA-256 {escape(result.fingerprint_file.sha256 or "unknown")}.</p>
<script>{_SCRIPT}</script>
</body></html>
"""


# Evidence columns: (header, class of its <col>, cell). A column every shown row leaves empty is left out.
_Cell = Callable[[dict[str, Any]], str]


def _post_cell(match: dict[str, Any]) -> str:
    """The post: its id, then its date, author and URL when the set has them (as text: the report links
    to nothing), then its text when the set keeps texts."""
    cell = f"<strong>{escape(match['post_id'])}</strong>"
    facts = [match.get(name) for name in ("post_created_at", "post_author", "post_url")]
    shown = [escape(str(fact)) for fact in facts if fact]
    if shown:
        cell += f'<span class="meta">{" &middot; ".join(shown)}</span>'
    if match.get("post_text"):
        cell += f"<br>{escape(match['post_text'])}"
    return cell


def _optional(value: object, form: str = "") -> str:
    return "" if value is None else escape(format(value, form) if form else str(value))


_COLUMNS: list[tuple[str, str, _Cell]] = [
    ("post", "post", _post_cell),
    ("rows carrying it", "n", lambda m: f"{m['rows_carrying']:,}"),
    ("corpus id", "id", lambda m: _optional(m["corpus_id"])),
    ("corpus file", "file", lambda m: escape(m["corpus_file"]).replace("/", "/<wbr>")),  # breaks after a slash
    ("row", "n", lambda m: f"{m['corpus_row']:,}"),
    ("kind", "kind", lambda m: escape(m["match_kind"].replace("_", " "))),
    ("contain&shy;ment", "n", lambda m: f"{m['containment']:.2f}"),
    ("exact", "n", lambda m: _optional(m["exact_containment"], ".2f")),
    ("corpus excerpt (shared text marked)", "excerpt", lambda m: _marked(m["corpus_excerpt"])),
]


def _evidence_table(matches: list[dict[str, Any]]) -> str:
    cells = [[cell(match) for _, _, cell in _COLUMNS] for match in matches]
    kept = [i for i in range(len(_COLUMNS)) if not cells or any(row[i] for row in cells)]
    columns = "".join(f'<col class="{_COLUMNS[i][1]}">' for i in kept)
    head = "".join(f"<th>{_COLUMNS[i][0]}</th>" for i in kept)
    numeric = {i for i in kept if _COLUMNS[i][1] == "n"}
    body = "".join(
        "<tr>"
        + "".join(f"<td class='num'>{row[i]}</td>" if i in numeric else f"<td>{row[i]}</td>" for i in kept)
        + "</tr>"
        for row in cells
    )
    return (
        f'<table id="evidence"><colgroup>{columns}</colgroup><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _missing_evidence(result: AuditResult) -> str:
    """A report re-rendered from its JSON file has the counts but not the evidence rows: say so."""
    if result.matches and not result.evidence.num_rows:
        return (
            '<p class="note" id="no-evidence">The evidence rows are not in this report: it was rendered from a '
            "JSON report, which holds counts and rates only. Render it from the evidence file "
            "(<code>auditor report EVIDENCE.parquet --format html</code>) to see each match.</p>"
        )
    return ""
