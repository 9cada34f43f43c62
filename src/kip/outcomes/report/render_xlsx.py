"""The report as an XLSX workbook: one sheet per table (T1..T6), in the paper's layout, numbers
stored as numbers.

A sheet reads as the table does in the terminal (kip.outcomes.report.layout): the title, how the
cells read ("n/N (%) of patients, unless ..."), the column heads with their group sizes, bold
section headings over indented row labels, and the P value tests spelled out under the table. Each
etiology column becomes two spreadsheet columns, "n" and "%", so counts and percents can be summed,
charted or re-tested without parsing "21/25 (84.0%)". Percents are exact values with a one-decimal
display format; a mean ± SD gives the mean and the SD; a P value cell holds the number and the cell
beside it the test. The header is frozen, so the column heads stay in view.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kip.outcomes.cells import BLANK, Cell, Count, MeanSD, OutcomeTable, PValue
from kip.outcomes.report.cell_text import COLUMN_LABELS
from kip.outcomes.report.layout import TEST_LEGEND, TEST_SHORT, TableLayout, column_sizes, lay_out
from kip.outcomes.report.model import Report

__all__ = ["render_xlsx"]

XlsxValue = int | float | str | None

_BOLD = Font(bold=True)
_NOTE = Font(italic=True, color="444444")
_RULE = Border(bottom=Side(style="thin"))
_LABEL_MIN_WIDTH = 24
_NUMBER_WIDTH = 11


def _pair(cell: Cell | None) -> tuple[XlsxValue, XlsxValue]:
    """The two spreadsheet cells of one table cell."""
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
        return cell.result.p_value, TEST_SHORT[cell.result.test]
    return None, None


def _number_format(cell: Cell | None, second: bool) -> str:
    if isinstance(cell, PValue):
        return "0.0000"
    if isinstance(cell, MeanSD):
        return "0.00"
    return "0.0" if second else "0"


def _head(layout: TableLayout, column: str) -> str:
    sizes = column_sizes(layout, column)
    return COLUMN_LABELS[column] if sizes is None else f"{COLUMN_LABELS[column]} ({sizes})"


def _header(sheet: Worksheet, layout: TableLayout, report: Report) -> int:
    """Title, how to read the cells, source, filters and the column heads; the last header row."""
    table = layout.table
    sheet.append([table.title])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=12)
    if layout.caption:
        sheet.append([f"{layout.caption}."])
        sheet.cell(row=sheet.max_row, column=1).font = _NOTE
    sheet.append([f"Data: {report.source}; engine: {report.engine}"])
    sheet.append([f"Filters: {report.filters.describe()}"])
    heads: list[XlsxValue] = [None]
    subheads: list[XlsxValue] = [None]
    for column in table.columns:
        heads += [_head(layout, column), None]
        subheads += ["n", "%"]
    sheet.append(heads)
    top = sheet.max_row
    sheet.append(subheads)
    for index in range(len(table.columns)):
        first = 2 + 2 * index
        sheet.merge_cells(start_row=top, start_column=first, end_row=top, end_column=first + 1)
    for line in (top, top + 1):
        for header in sheet[line]:
            header.font = _BOLD
            header.alignment = Alignment(horizontal="center", wrap_text=True)
    for header in sheet[top + 1]:
        header.border = _RULE
    return top + 1


def _sheet(sheet: Worksheet, table: OutcomeTable, report: Report) -> None:
    layout = lay_out(table)
    sheet.title = table.key
    last_header = _header(sheet, layout, report)
    labels: list[str] = []
    for section in layout.sections:
        if section.heading is not None:
            sheet.append([section.heading])
            sheet.cell(row=sheet.max_row, column=1).font = _BOLD
            labels.append(section.heading)
        for laid in section.rows:
            values: list[XlsxValue] = [laid.label]
            for column in table.columns:
                values += list(_pair(laid.row.cell(column)))
            sheet.append(values)
            line = sheet.max_row
            label = sheet.cell(row=line, column=1)
            label.alignment = Alignment(indent=1 if section.heading is not None else 0)
            labels.append(("  " if section.heading is not None else "") + laid.label)
            for index, column in enumerate(table.columns):
                cell = laid.row.cell(column)
                for offset in (0, 1):
                    target = sheet.cell(row=line, column=2 + 2 * index + offset)
                    if isinstance(target.value, int | float):
                        target.number_format = _number_format(cell, offset == 1)
                    else:
                        target.alignment = Alignment(horizontal="right")
    for bottom in sheet[sheet.max_row]:
        bottom.border = _RULE
    for test in layout.tests:
        sheet.append([f"P value test: {TEST_LEGEND[test]}"])
        sheet.cell(row=sheet.max_row, column=1).font = _NOTE
    # The label column fits the longest row label; titles and notes may run across the numbers.
    width = max(_LABEL_MIN_WIDTH, *(len(label) + 2 for label in labels))
    sheet.column_dimensions["A"].width = width
    for index in range(2 * len(table.columns)):
        sheet.column_dimensions[get_column_letter(2 + index)].width = _NUMBER_WIDTH
    sheet.freeze_panes = f"B{last_header + 1}"


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
