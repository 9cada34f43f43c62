"""The report as Rich tables in the paper's layout (rows as printed, one column per etiology).

Each table reads as the paper prints it: the group sizes in the column header ("n = 13"), section
headings over short row labels, the denominator of the percents named once under the title (and
again only where a heading or a row has another), and P values with a short test name explained
under the table (kip.outcomes.report.layout). Column widths come from the cells, so a header never
breaks inside a word and the numbers keep their columns at 100 characters and at any wider width.
"""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from kip.outcomes.cells import Cell, OutcomeTable, PValue
from kip.outcomes.report.cell_text import COLUMN_LABELS, cell_text, p_text
from kip.outcomes.report.layout import TEST_LEGEND, TEST_SHORT, TableLayout, column_sizes, lay_out
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text

__all__ = ["render_terminal", "table_renderable"]

_INDENT = "  "
_GAP = 2  # between two columns: the (blank) divider and one space of padding
_MIN_LABEL = 16


def _cell(cell: Cell | None) -> Text:
    if isinstance(cell, PValue):
        value, _ = p_text(cell)
        # The test on its own line, by its short name (the legend under the table spells it out).
        test = "not tested" if cell.result is None else TEST_SHORT[cell.result.test]
        return Text.assemble((value, "bold"), "\n", (test, "dim"))
    return Text(cell_text(cell))


def _width(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.splitlines()), default=0)


class PaperTable:
    """One of Tables 1-6: a header, then each section under its heading, columns aligned."""

    def __init__(self, table: OutcomeTable) -> None:
        self.layout: TableLayout = lay_out(table)
        self.table = table
        self.heads = {c: self._head(c) for c in table.columns}
        self.cells = {
            id(r.row): [_cell(r.row.cell(c)) for c in table.columns]
            for s in self.layout.sections
            for r in s.rows
        }
        cell_widths = [
            max((_width(cells[i]) for cells in self.cells.values()), default=0)
            for i in range(len(table.columns))
        ]
        # Narrow: a header wraps between its words, never inside one. Wide: on one line.
        self.narrow = [
            max(w, *(len(word) for word in self.heads[c].plain.split()))
            for w, c in zip(cell_widths, table.columns, strict=True)
        ]
        self.wide = [
            max(w, _width(self.heads[c])) for w, c in zip(cell_widths, table.columns, strict=True)
        ]
        self.labels = [
            _INDENT * (s.heading is not None) + r.label
            for s in self.layout.sections
            for r in s.rows
        ]

    def _head(self, column: str) -> Text:
        sizes = column_sizes(self.layout, column)
        name = COLUMN_LABELS[column]
        return Text(name if sizes is None else f"{name}\n{sizes}", style="bold")

    def _grid(self, label_width: int, widths: list[int], *, header: bool) -> Table:
        out = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            show_header=header,
            pad_edge=False,
            padding=(0, 0, 0, 1),
            expand=False,
        )
        out.add_column("", width=label_width, overflow="fold", vertical="top")
        for column, width in zip(self.table.columns, widths, strict=True):
            out.add_column(
                self.heads[column],
                width=width,
                justify="right",
                overflow="fold",
                vertical="bottom",
            )
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        longest = max((cell_len(label) for label in self.labels), default=0)
        widths = self.wide
        if longest + sum(widths) + _GAP * len(widths) > options.max_width:
            widths = self.narrow
        fixed = sum(widths) + _GAP * len(widths)
        label_width = max(_MIN_LABEL, min(longest, options.max_width - fixed))
        yield Text(self.table.title, style="bold")
        if self.layout.caption:
            yield Text(self.layout.caption, style="dim")
        yield self._grid(label_width, widths, header=True)
        for section in self.layout.sections:
            if section.heading is not None:
                yield Text(section.heading, style="bold")
            grid = self._grid(label_width, widths, header=False)
            for row in section.rows:
                label: RenderableType = Text(row.label)
                if section.heading is not None:  # wrapped lines keep the indent
                    label = Padding(label, (0, 0, 0, len(_INDENT)))
                grid.add_row(label, *self.cells[id(row.row)])
            yield grid
        for test in self.layout.tests:
            yield Text(f"P value test: {TEST_LEGEND[test]}", style="dim")
        yield Text("")


def table_renderable(table: OutcomeTable) -> PaperTable:
    return PaperTable(table)


def header(report: Report) -> Text:
    return Text.assemble(
        ("Oh et al. 2021, Tables 1–6 recomputed\n", "bold"),
        f"Data: {report.source}\nEngine: {report.engine}\nFilters: {report.filters.describe()}\n",
        (
            "Cells are n/N (%), N the denominator each table names; each P value names its test.\n",
            "dim",
        ),
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
