"""The report as Markdown: a header, then each table as a pipe table in the paper's layout.

Markdown has no way to carry a figure without a second file, so the figures are left to the HTML
and PDF formats; the odds ratios they plot are listed as a table instead.
"""

from __future__ import annotations

from kip.outcomes.cells import OutcomeTable
from kip.outcomes.report.cell_text import COLUMN_LABELS, cell_text
from kip.outcomes.report.layout import TableLayout, column_sizes, lay_out
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text

__all__ = ["render_markdown"]


def _escape(text: str) -> str:
    # A pipe would end the cell; everything else in kip's labels is plain text.
    return text.replace("|", "\\|")


def _head(layout: TableLayout, column: str) -> str:
    sizes = column_sizes(layout, column)
    return COLUMN_LABELS[column] if sizes is None else f"{COLUMN_LABELS[column]} ({sizes})"


def _table(table: OutcomeTable) -> list[str]:
    layout = lay_out(table)
    heads = ["", *(_head(layout, c) for c in table.columns)]
    lines = [f"## {table.title}", ""]
    if layout.caption:
        lines += [f"_{layout.caption}._", ""]
    lines += [
        "| " + " | ".join(heads) + " |",
        "|" + "---|" + "---:|" * len(table.columns),
    ]
    blanks = [""] * len(table.columns)
    for section in layout.sections:
        if section.heading is not None:
            lines.append("| " + " | ".join([f"**{_escape(section.heading)}**", *blanks]) + " |")
        for row in section.rows:
            cells = [row.label, *(cell_text(row.row.cell(c)) for c in table.columns)]
            lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return [*lines, ""]


def _odds(report: Report) -> list[str]:
    lines = [
        "## Adjuvants: odds ratio of response, users vs non-users (total column)",
        "",
        "| Class | Odds ratio (95% CI) | Responders among users | among non-users |",
        "|---|---|---:|---:|",
    ]
    for r in adjuvant_odds_ratios(report.table("T4")):
        lines.append(
            f"| {r.label} | {odds_ratio_text(r)} | {r.users[0]}/{sum(r.users)} "
            f"| {r.nonusers[0]}/{sum(r.nonusers)} |"
        )
    return [
        *lines,
        "",
        "Conditional maximum-likelihood odds ratio with its exact 95% interval "
        "(scipy.stats.contingency.odds_ratio).",
        "",
    ]


def render_markdown(report: Report) -> str:
    lines = [
        "# Oh et al. 2021, Tables 1–6 recomputed",
        "",
        f"- Data: {report.source}",
        f"- Engine: {report.engine}",
        f"- Filters: {report.filters.describe()}",
        "- Cells read n/N (%), N the denominator each table names (the column's n unless a "
        "heading or row says otherwise); each P value names its test "
        "(χ² is chi-squared); intervals are exact 95% Clopper–Pearson (CSV, XLSX, HTML).",
        "",
    ]
    for table in report.tables:
        lines += _table(table)
    return "\n".join(lines + _odds(report))
