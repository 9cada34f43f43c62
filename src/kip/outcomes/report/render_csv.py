"""The report as one long CSV table, a row per cell, for statistics software and spreadsheets.

Columns: table, row, column, value, denominator, percent, ci_low, ci_high, test, unit, label.
`value` is the count (a group size, a count, the mean of a mean ± SD, or the P value); a Count
has its denominator, percent (as the paper rounds it, half up) and exact 95% Clopper-Pearson
interval in percent; a P value names its test. A mean ± SD gives two rows, `ROW.mean` and
`ROW.sd`. Empty fields are not applicable (or, for a P value, no test: `test` says why).

This is the one format not in the paper's layout (kip.outcomes.report.layout): a line has to read
on its own when sorted or filtered, so `label` is the row's self-contained label, section heading
included ("Location of tumor compression: Plexus"), and `row` its stable key.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from kip.outcomes.cells import Cell, Count, GroupSize, MeanSD, OutcomeTable, PValue, TableRow
from kip.outcomes.report.cell_text import DENOMINATOR_LABELS
from kip.outcomes.report.model import Report

__all__ = ["FIELDS", "long_rows", "render_csv"]

FIELDS: tuple[str, ...] = (
    "table",
    "row",
    "column",
    "value",
    "denominator",
    "percent",
    "ci_low",
    "ci_high",
    "test",
    "unit",
    "label",
)

Record = dict[str, str]


def _records(key: str, column: str, cell: Cell) -> Iterator[tuple[str, Record]]:
    if isinstance(cell, GroupSize):
        yield key, {"value": str(cell.n)}
    elif isinstance(cell, Count):
        record = {
            "value": str(cell.count),
            "denominator": str(cell.denominator_n),
            "unit": DENOMINATOR_LABELS.get(cell.denominator, cell.denominator),
        }
        if cell.percent is not None:
            record["percent"] = cell.percent_text
        if cell.interval is not None:
            record["ci_low"] = f"{100 * cell.interval[0]:.1f}"
            record["ci_high"] = f"{100 * cell.interval[1]:.1f}"
        yield key, record
    elif isinstance(cell, MeanSD):
        yield f"{key}.mean", {"value": cell.text("mean"), "denominator": str(cell.n)}
        yield f"{key}.sd", {"value": cell.text("sd"), "denominator": str(cell.n)}
    elif isinstance(cell, PValue):
        if cell.result is None:
            yield key, {"test": f"not tested: {cell.reason}"}
        else:
            yield key, {"value": f"{cell.result.p_value:.6g}", "test": str(cell.result.test)}


def _row_records(table: OutcomeTable, row: TableRow) -> Iterator[Record]:
    for column in table.columns:
        cell = row.cell(column)
        if cell is None:
            continue
        for key, record in _records(row.key, column, cell):
            yield {"table": table.key, "row": key, "column": column, "label": row.label, **record}


def long_rows(report: Report) -> list[Record]:
    return [r for table in report.tables for row in table.rows for r in _row_records(table, row)]


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(long_rows(report))
    return buffer.getvalue()
