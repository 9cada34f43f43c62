"""The report as an XLSX workbook: one sheet per table (T1..T6), numbers stored as numbers.

Each etiology column becomes two spreadsheet columns, "n" and "%", so counts and percents can be
summed, charted or re-tested without parsing "21/25 (84.0%)". Percents are exact values with a
one-decimal display format; a P value cell holds the number and the cell beside it the test. The
header rows say what was counted, on what, with which filters.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kip.outcomes.cells import BLANK, Cell, Count, GroupSize, MeanSD, OutcomeTable, PValue
from kip.outcomes.report.cell_text import COLUMN_LABELS, TEST_LABELS, row_unit
from kip.outcomes.report.model import Report

__all__ = ["render_xlsx"]

XlsxValue = int | float | str | None
_HEADER_ROWS = 5  # title, data source, filters, column group, n / %


def _pair(cell: Cell | None) -> tuple[XlsxValue, XlsxValue]:
    """The two spreadsheet cells of one table cell."""
    if isinstance(cell, GroupSize):
        return cell.n, None
    if isinstance(cell, Count):
        percent = cell.percent
        return cell.count, None if percent is None else float(percent)
    if isinstance(cell, MeanSD):
        mean, variance = cell.mean, cell.variance
        sd = None if variance is None else float(variance) ** 0.5
        return (None if mean is None else float(mean)), sd
    if isinstance(cell, PValue):
        if cell.result is None:
            return BLANK, "not tested"
        return cell.result.p_value, TEST_LABELS[cell.result.test]
    return None, None


def _number_format(cell: Cell | None, second: bool) -> str:
    if isinstance(cell, PValue):
        return "0.0000"
    if isinstance(cell, MeanSD):
        return "0.00"
    return "0.0" if second else "0"


def _sheet(sheet: Worksheet, table: OutcomeTable, report: Report) -> None:
    sheet.title = table.key
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append([f"Data: {report.source}; engine: {report.engine}"])
    sheet.append([f"Filters: {report.filters.describe()}"])
    groups: list[XlsxValue] = [""]
    subheads: list[XlsxValue] = ["", "% of"]
    for column in table.columns:
        groups += [COLUMN_LABELS[column], None]
        subheads += ["n", "%"]
    sheet.append(["", None, *groups[1:]])
    sheet.append(subheads)
    for index in range(len(table.columns)):
        first = 3 + 2 * index
        sheet.merge_cells(start_row=4, start_column=first, end_row=4, end_column=first + 1)
    for row in table.rows:
        values: list[XlsxValue] = [row.label, row_unit(row)]
        for column in table.columns:
            values += list(_pair(row.cell(column)))
        sheet.append(values)
        line = sheet.max_row
        for index, column in enumerate(table.columns):
            cell = row.cell(column)
            for offset in (0, 1):
                target = sheet.cell(row=line, column=3 + 2 * index + offset)
                if isinstance(target.value, int | float):
                    target.number_format = _number_format(cell, offset == 1)
    for row_cells in sheet.iter_rows(min_row=4, max_row=_HEADER_ROWS):
        for header in row_cells:
            header.font = Font(bold=True)
            header.alignment = Alignment(horizontal="center")
    sheet.column_dimensions["A"].width = 48
    sheet.column_dimensions["B"].width = 22
    for index in range(2 * len(table.columns)):
        sheet.column_dimensions[get_column_letter(3 + index)].width = 11
    sheet.freeze_panes = f"C{_HEADER_ROWS + 1}"


def render_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    first = workbook.active
    assert first is not None  # a new Workbook always has one sheet
    workbook.remove(first)
    for table in report.tables:
        _sheet(workbook.create_sheet(), table, report)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
