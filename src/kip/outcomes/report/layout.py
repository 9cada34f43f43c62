"""A table laid out as the paper prints it: section headings, the denominator named once.

`OutcomeTable` rows carry self-contained labels ("Location of tumor compression: Plexus") so
that CSV and XLSX lines read on their own. People reading a table want what the paper does: a
heading ("Location of tumor compression") over short row labels ("Plexus"), the group sizes in
the column header ("n = 13"), and the denominator of the percents said once, for the table, and
again only where a section or a row has another one. The terminal, Markdown, HTML, PDF and XLSX
renderers share this layout; the cells themselves are unchanged (cell_text). CSV alone keeps the
self-contained labels, one line per cell.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kip.outcomes.cells import GroupSize, OutcomeTable, PValue, TableRow
from kip.outcomes.report.cell_text import row_unit
from kip.outcomes.stats import StatTest

__all__ = [
    "TEST_LEGEND",
    "TEST_SHORT",
    "LaidOutRow",
    "Section",
    "TableLayout",
    "column_sizes",
    "lay_out",
]

# Row-key prefixes whose labels carry no "Section: " prefix of their own.
_KEY_SECTIONS = {"sex": "Sex", "cancer": "Primary cancer"}

TEST_SHORT = {
    StatTest.GOODNESS_OF_FIT: "χ² GoF",
    StatTest.PEARSON: "Pearson χ²",
    StatTest.YATES: "Yates χ²",
    StatTest.FISHER: "Fisher",
}
"""A test's name short enough for an etiology column; TEST_LEGEND spells it out."""

TEST_LEGEND = {
    StatTest.GOODNESS_OF_FIT: "χ² GoF = chi-squared goodness-of-fit against equal counts",
    StatTest.PEARSON: "Pearson χ² = Pearson's chi-squared test",
    StatTest.YATES: "Yates χ² = chi-squared test with Yates' continuity correction",
    StatTest.FISHER: "Fisher = Fisher's exact test",
}


@dataclass(frozen=True, slots=True)
class LaidOutRow:
    label: str
    """The row's label under its section heading, with its denominator if it differs."""
    row: TableRow


@dataclass(frozen=True, slots=True)
class Section:
    heading: str | None
    """None for rows that stand on their own (e.g. "Responders")."""
    rows: tuple[LaidOutRow, ...]


@dataclass(frozen=True, slots=True)
class TableLayout:
    table: OutcomeTable
    unit: str | None
    """The denominator most of the table's percents are of ("patients"), said once."""
    sizes: TableRow | None
    """The first row when it is the group sizes ("Total", n = 13 ...): shown in the header."""
    sections: tuple[Section, ...]
    tests: tuple[StatTest, ...]
    """The tests the table's P values ran, in the order of TEST_SHORT."""

    @property
    def caption(self) -> str:
        """How to read the cells: "n/N (%) of patients, unless ..." (empty without percents)."""
        if self.unit is None:
            return ""
        return f"n/N (%) of {self.unit}, unless a heading or row says otherwise"

    @property
    def legend(self) -> str:
        return "; ".join(TEST_LEGEND[t] for t in self.tests)


def _split(row: TableRow) -> tuple[str | None, str]:
    head, sep, item = row.label.rpartition(": ")
    if sep:
        return head, item[:1].upper() + item[1:]
    prefix = row.key.partition(".")[0]
    if prefix in _KEY_SECTIONS and "." in row.key:
        return _KEY_SECTIONS[prefix], row.label
    return None, row.label


def _with_unit(label: str, unit: str | None, table_unit: str | None) -> str:
    """`label`, naming `unit` when it is not the table's and the label does not say it."""
    if unit is None or unit == table_unit or "% of" in label:
        return label
    if label.lower().endswith(unit.lower()):  # "Responders among users" is over the users
        return label
    return f"{label} (% of {unit})"


def lay_out(table: OutcomeTable) -> TableLayout:
    units = [u for u in (row_unit(r) for r in table.rows) if u is not None]
    unit = Counter(units).most_common(1)[0][0] if units else None
    rows = list(table.rows)
    sizes = None
    if rows and all(isinstance(c, GroupSize) for _, c in rows[0].cells):
        sizes = rows.pop(0)
    groups: list[tuple[str | None, list[tuple[str, TableRow]]]] = []
    for row in rows:
        heading, item = _split(row)
        if heading is not None and groups and groups[-1][0] == heading:
            groups[-1][1].append((item, row))
        else:
            groups.append((heading, [(item if heading else row.label, row)]))
    sections = []
    for heading, members in groups:
        section_units = {row_unit(r) for _, r in members} - {None}
        shared = next(iter(section_units)) if len(section_units) == 1 else None
        if heading is not None and shared is not None:
            sections.append(
                Section(
                    heading=_with_unit(heading, shared, unit),
                    rows=tuple(LaidOutRow(label, r) for label, r in members),
                )
            )
        else:
            sections.append(
                Section(
                    heading=heading,
                    rows=tuple(
                        LaidOutRow(_with_unit(label, row_unit(r), unit), r) for label, r in members
                    ),
                )
            )
    used = {
        cell.result.test
        for row in table.rows
        for _, cell in row.cells
        if isinstance(cell, PValue) and cell.result is not None
    }
    return TableLayout(
        table=table,
        unit=unit,
        sizes=sizes,
        sections=tuple(sections),
        tests=tuple(t for t in TEST_SHORT if t in used),
    )


def column_sizes(layout: TableLayout, column: str) -> str | None:
    """The header's "n = 13" ("N = 57" for the total, as the paper prints it)."""
    if layout.sizes is None:
        return None
    cell = layout.sizes.cell(column)
    if not isinstance(cell, GroupSize):
        return None
    return f"{'N' if column == 'total' else 'n'} = {cell.n}"
