"""The report as Rich tables in the paper's layout (rows as printed, one column per etiology)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kip.outcomes.cells import Cell, OutcomeTable, PValue
from kip.outcomes.report.cell_text import COLUMN_LABELS, cell_text, p_text, row_label
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text

__all__ = ["render_terminal"]


def _cell(cell: Cell | None) -> Text:
    if isinstance(cell, PValue):
        value, test = p_text(cell)
        # The test on its own line keeps the narrow etiology columns readable.
        return Text.assemble((value, "bold"), "\n", (test, "dim"))
    return Text(cell_text(cell))


def table_renderable(table: OutcomeTable) -> Table:
    out = Table(title=table.title, title_justify="left", title_style="bold", expand=True)
    out.add_column("", ratio=3, overflow="fold")
    for column in table.columns:
        out.add_column(COLUMN_LABELS[column], ratio=2, justify="right", overflow="fold")
    for row in table.rows:
        out.add_row(row_label(row), *(_cell(row.cell(c)) for c in table.columns))
    return out


def header(report: Report) -> Text:
    return Text.assemble(
        ("Oh et al. 2021, Tables 1–6 recomputed\n", "bold"),
        f"Data: {report.source}\nEngine: {report.engine}\nFilters: {report.filters.describe()}\n",
        ("Percents are n/denominator (%); P values name their test.", "dim"),
    )


def odds_ratio_table(report: Report) -> Table:
    out = Table(
        title="Adjuvants: odds ratio of response, users vs non-users (total column)",
        title_justify="left",
        title_style="bold",
        caption="Conditional maximum-likelihood estimate, exact 95% interval (SciPy).",
        caption_justify="left",
    )
    out.add_column("Class")
    out.add_column("Odds ratio (95% CI)")
    out.add_column("Responders: users", justify="right")
    out.add_column("non-users", justify="right")
    for ratio in adjuvant_odds_ratios(report.table("T4")):
        out.add_row(
            ratio.label,
            odds_ratio_text(ratio),
            f"{ratio.users[0]}/{sum(ratio.users)}",
            f"{ratio.nonusers[0]}/{sum(ratio.nonusers)}",
        )
    return out


def render_terminal(report: Report) -> Group:
    parts: list[RenderableType] = [header(report)]
    parts += [table_renderable(t) for t in report.tables]
    parts.append(odds_ratio_table(report))
    return Group(*parts)
