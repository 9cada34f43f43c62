"""The report as one self-contained HTML file: inline CSS, figures as inline SVG, no external
asset (no font, script or stylesheet from a network), so it can be mailed or archived as is and
opens the same offline. A print stylesheet keeps each table together and readable on A4."""

from __future__ import annotations

from html import escape

from kip.outcomes.cells import Cell, Count, OutcomeTable, PValue
from kip.outcomes.report.cell_text import (
    COLUMN_LABELS,
    cell_text,
    p_text,
    row_label,
)
from kip.outcomes.report.figures import ReportFigure, report_figures, svg_text
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text

__all__ = ["render_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 2rem auto; max-width: 62rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .3rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
.meta { color: #444; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .4rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .5rem; vertical-align: top; }
th { background: #f3f5f7; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td:first-child { white-space: normal; }
td.p strong { font-weight: 600; }
.test { display: block; color: #555; font-size: .75rem; }
figure { margin: 1.5rem 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: .85rem; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { margin: 0; max-width: none; font-size: 9pt; }
  table { font-size: 7.5pt; page-break-inside: auto; }
  tr { page-break-inside: avoid; break-inside: avoid; }
  thead { display: table-header-group; }
  h2 { page-break-after: avoid; break-after: avoid; }
  th { background: none; border-bottom: 1.5px solid #000; }
}
"""


def _td(cell: Cell | None) -> str:
    if isinstance(cell, PValue):
        value, test = p_text(cell)
        reason = escape(cell.reason, quote=True)
        return (
            f'<td class="p" title="{reason}"><strong>P = {escape(value)}</strong>'
            f'<span class="test">{escape(test)}</span></td>'
        )
    if isinstance(cell, Count) and cell.interval is not None:
        low, high = cell.interval
        title = f"95% CI {100 * low:.1f}–{100 * high:.1f}% (Clopper–Pearson)"
        return f'<td title="{title}">{escape(cell_text(cell))}</td>'
    return f"<td>{escape(cell_text(cell))}</td>"


def _table(table: OutcomeTable) -> str:
    heads = "".join(f"<th>{escape(COLUMN_LABELS[c])}</th>" for c in table.columns)
    body = "\n".join(
        f"<tr><td>{escape(row_label(row))}</td>"
        + "".join(_td(row.cell(c)) for c in table.columns)
        + "</tr>"
        for row in table.rows
    )
    return (
        f'<section id="{table.key}"><table><caption>{escape(table.title)}</caption>\n'
        f"<thead><tr><th></th>{heads}</tr></thead>\n<tbody>\n{body}\n</tbody></table></section>"
    )


def _odds(report: Report) -> str:
    rows = "\n".join(
        f"<tr><td>{escape(r.label)}</td><td>{escape(odds_ratio_text(r))}</td>"
        f"<td>{r.users[0]}/{sum(r.users)}</td><td>{r.nonusers[0]}/{sum(r.nonusers)}</td></tr>"
        for r in adjuvant_odds_ratios(report.table("T4"))
    )
    return (
        "<table><caption>Adjuvants: odds ratio of response, users vs non-users (total column)"
        "</caption><thead><tr><th>Class</th><th>Odds ratio (95% CI)</th>"
        "<th>Responders among users</th><th>among non-users</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _figure(figure: ReportFigure) -> str:
    return (
        f'<figure id="figure-{figure.key}">{svg_text(figure.figure)}'
        f"<figcaption><strong>{escape(figure.title)}.</strong> "
        f"{escape(figure.caption)}</figcaption></figure>"
    )


def render_html(report: Report, figures: tuple[ReportFigure, ...] | None = None) -> str:
    drawn = report_figures(report) if figures is None else figures
    meta = (
        f'<p class="meta">Data: {escape(report.source)}<br>Engine: {escape(report.engine)}'
        f"<br>Filters: {escape(report.filters.describe())}<br>Cells read n/denominator (%); "
        "hover a percent for its exact 95% interval. Each P value names its test "
        "(χ² is chi-squared).</p>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Oh et al. 2021, Tables 1–6 recomputed</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Oh et al. 2021, Tables 1–6 recomputed</h1>",
        meta,
        *(_table(t) for t in report.tables),
        _odds(report),
        "<h2>Figures</h2>",
        *(_figure(f) for f in drawn),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
