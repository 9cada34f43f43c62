"""The report as Markdown: a header, then each table as a pipe table in the paper's layout.

Markdown has no way to carry a figure without a second file, so the figures are left to the HTML
and PDF formats; the odds ratios they plot are listed as a table instead.
"""

from __future__ import annotations

from kip.outcomes.cells import OutcomeTable
from kip.outcomes.report.cell_text import COLUMN_LABELS, cell_text, row_label
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text

__all__ = ["render_markdown"]


def _escape(text: str) -> str:
    # A pipe would end the cell; everything else in kip's labels is plain text.
    return text.replace("|", "\\|")


def _table(table: OutcomeTable) -> list[str]:
    heads = ["", *(COLUMN_LABELS[c] for c in table.columns)]
    lines = [
        f"## {table.title}",
        "",
        "| " + " | ".join(heads) + " |",
        "|" + "---|" + "---:|" * len(table.columns),
    ]
    for row in table.rows:
        cells = [row_label(row), *(cell_text(row.cell(c)) for c in table.columns)]
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
        "- Cells read n/denominator (%); each P value names its test "
        "(χ² is chi-squared); intervals are exact 95% Clopper–Pearson (CSV, XLSX, HTML).",
        "",
    ]
    for table in report.tables:
        lines += _table(table)
    return "\n".join(lines + _odds(report))
