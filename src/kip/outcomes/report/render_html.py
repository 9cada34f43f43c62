"""The report as one self-contained HTML file: inline CSS, figures as inline SVG, no external
asset (no font, script or stylesheet from a network), so it can be mailed or archived as is and
opens the same offline. A print stylesheet keeps each section of a table together and readable on
A4.

Tables are laid out as the paper prints them (kip.outcomes.report.layout), with the structure
marked up for screen readers: column heads (`scope="col"`) carry the group sizes, each section is a
`<tbody>` under its heading (`scope="rowgroup"`), each row label is a row header, and the legend of
the P value tests is linked to its table (`aria-describedby`)."""

from __future__ import annotations

from html import escape

from kip.outcomes.cells import Cell, Count, OutcomeTable, PValue
from kip.outcomes.report.cell_text import COLUMN_LABELS, cell_text, p_text
from kip.outcomes.report.figures import ReportFigure, report_figures, svg_text
from kip.outcomes.report.layout import (
    TEST_LEGEND,
    TEST_SHORT,
    Section,
    TableLayout,
    column_sizes,
    lay_out,
)
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text
from kip.outcomes.stats import StatTest

__all__ = ["render_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 2rem auto; max-width: 62rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .3rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
.meta { color: #444; font-size: .9rem; }
section { margin: 1.5rem 0 2rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .5rem 0 .3rem; }
caption { text-align: left; padding: .4rem 0; }
caption .title { display: block; font-weight: 600; font-size: 1rem; }
caption .unit { display: block; color: #444; font-style: italic; }
th, td { padding: .2rem .5rem; vertical-align: top; }
thead th { text-align: right; vertical-align: bottom; font-weight: 600;
  border-top: 2px solid #1a1a1a; border-bottom: 1px solid #1a1a1a; }
thead td { border-top: 2px solid #1a1a1a; border-bottom: 1px solid #1a1a1a; }
thead .n { display: block; font-weight: normal; }
tbody th { text-align: left; font-weight: normal; }
tbody th.item { padding-left: 1.6rem; }
tr.heading th { font-weight: 600; padding-top: .5rem; }
tbody tr:not(.heading) { border-bottom: 1px solid #e3e3e3; }
table > tbody:last-of-type tr:last-child { border-bottom: 2px solid #1a1a1a; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.p strong { font-weight: 600; }
.test { display: block; color: #555; font-size: .75rem; text-decoration: none; }
.notes { color: #444; font-size: .8rem; }
.notes p { margin: .1rem 0; }
figure { margin: 1.5rem 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: .85rem; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { margin: 0; max-width: none; font-size: 9pt; }
  table { font-size: 7.5pt; page-break-inside: auto; }
  .notes, caption .unit { font-size: 7.5pt; }
  tr, tbody { page-break-inside: avoid; break-inside: avoid; }
  thead { display: table-header-group; }
  caption, h2 { page-break-after: avoid; break-after: avoid; }
}
"""


def _spelled_out(test: StatTest) -> str:
    return TEST_LEGEND[test].partition(" = ")[2]


def _td(cell: Cell | None) -> str:
    if isinstance(cell, PValue):
        value, _ = p_text(cell)
        reason = escape(cell.reason, quote=True)
        if cell.result is None:
            return (
                f'<td class="p" title="{reason}">{escape(value)}'
                '<span class="test">not tested</span></td>'
            )
        test = cell.result.test
        return (
            f'<td class="p" title="{reason}"><strong>P = {escape(value)}</strong>'
            f'<abbr class="test" title="{escape(_spelled_out(test), quote=True)}">'
            f"{escape(TEST_SHORT[test])}</abbr></td>"
        )
    if isinstance(cell, Count) and cell.interval is not None:
        low, high = cell.interval
        title = f"95% CI {100 * low:.1f}–{100 * high:.1f}% (Clopper–Pearson)"
        return f'<td title="{title}">{escape(cell_text(cell))}</td>'
    return f"<td>{escape(cell_text(cell))}</td>"


def _th_col(layout: TableLayout, column: str) -> str:
    sizes = column_sizes(layout, column)
    n = "" if sizes is None else f'<span class="n">{escape(sizes)}</span>'
    return f'<th scope="col">{escape(COLUMN_LABELS[column])}{n}</th>'


def _tbody(sections: list[Section], columns: tuple[str, ...]) -> str:
    """One `<tbody>`: a section under its heading, or a run of rows that have none."""
    lines = ["<tbody>"]
    for section in sections:
        if section.heading is not None:
            lines.append(
                f'<tr class="heading"><th scope="rowgroup" colspan="{1 + len(columns)}">'
                f"{escape(section.heading)}</th></tr>"
            )
        item = ' class="item"' if section.heading is not None else ""
        for row in section.rows:
            cells = "".join(_td(row.row.cell(c)) for c in columns)
            lines.append(f'<tr><th scope="row"{item}>{escape(row.label)}</th>{cells}</tr>')
    lines.append("</tbody>")
    return "\n".join(lines)


def _groups(layout: TableLayout) -> list[list[Section]]:
    # Rows without a heading come as one-row sections; a run of them shares one <tbody>.
    groups: list[list[Section]] = []
    for section in layout.sections:
        if section.heading is None and groups and groups[-1][-1].heading is None:
            groups[-1].append(section)
        else:
            groups.append([section])
    return groups


def _table(table: OutcomeTable) -> str:
    layout = lay_out(table)
    heads = "".join(_th_col(layout, c) for c in table.columns)
    unit = f'<span class="unit">{escape(layout.caption)}.</span>' if layout.caption else ""
    notes = "".join(
        f'<p class="legend">P value test: {escape(TEST_LEGEND[t])}</p>' for t in layout.tests
    )
    described = f' aria-describedby="{table.key}-legend"' if notes else ""
    legend = f'<div class="notes" id="{table.key}-legend">{notes}</div>' if notes else ""
    bodies = "\n".join(_tbody(g, table.columns) for g in _groups(layout))
    return (
        f'<section id="{table.key}"><table{described}>'
        f'<caption><span class="title">{escape(table.title)}</span>{unit}</caption>\n'
        f"<thead><tr><td></td>{heads}</tr></thead>\n{bodies}\n</table>{legend}</section>"
    )


def _odds(report: Report) -> str:
    rows = "\n".join(
        f'<tr><th scope="row">{escape(r.label)}</th><td>{escape(odds_ratio_text(r))}</td>'
        f"<td>{r.users[0]}/{sum(r.users)}</td><td>{r.nonusers[0]}/{sum(r.nonusers)}</td></tr>"
        for r in adjuvant_odds_ratios(report.table("T4"))
    )
    return (
        '<section id="odds-ratios"><table><caption><span class="title">Adjuvants: odds ratio of '
        "response, users vs non-users (total column)</span></caption>"
        '<thead><tr><th scope="col">Class</th><th scope="col">Odds ratio (95% CI)</th>'
        '<th scope="col">Responders among users</th><th scope="col">among non-users</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
        '<div class="notes"><p class="legend">Conditional maximum-likelihood odds ratio with its '
        "exact 95% interval (scipy.stats.contingency.odds_ratio).</p></div></section>"
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
        f"<br>Filters: {escape(report.filters.describe())}<br>Cells read n/N (%), N the "
        "denominator each table names (the column's n unless a heading or row says otherwise); "
        "hover a percent for its exact 95% interval. Each P value names its test, spelled out "
        "under its table (χ² is chi-squared).</p>"
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
