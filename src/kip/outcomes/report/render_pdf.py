"""The report as a PDF for A4: the tables (headings repeated across pages), then the figures.

Laid out with fpdf2 (pure Python), in DejaVu Sans taken from matplotlib's own font files: the
tables need ≥, ±, χ² and en dashes, which the PDF base fonts lack, and no font is fetched from
anywhere. Figures are embedded as 200 dpi PNG, which prints sharply at the width used.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode

from kip.outcomes.cells import Cell, OutcomeTable, PValue
from kip.outcomes.report.cell_text import COLUMN_LABELS, cell_text, p_text, row_label
from kip.outcomes.report.figures import ReportFigure, png_bytes, report_figures
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text

__all__ = ["render_pdf"]

_FONT = "DejaVu"
_MARGIN = 12.0  # mm
_WIDTH = 210.0 - 2 * _MARGIN  # A4 portrait
_LABEL_WIDTH = 62.0


def _font_file(name: str) -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def _document() -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    pdf.add_font(_FONT, "", str(_font_file("DejaVuSans.ttf")))
    pdf.add_font(_FONT, "B", str(_font_file("DejaVuSans-Bold.ttf")))
    pdf.set_title("Oh et al. 2021, Tables 1–6 recomputed")
    pdf.set_creator("kip report")
    return pdf


def _cell(cell: Cell | None) -> str:
    if isinstance(cell, PValue):
        value, test = p_text(cell)
        return f"P = {value}\n{test}" if cell.result is not None else f"{value}\n{test}"
    return cell_text(cell)


def _heading(pdf: FPDF, text: str, size: float = 10.5) -> None:
    pdf.set_font(_FONT, "B", size)
    pdf.multi_cell(_WIDTH, 5.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _table(pdf: FPDF, table: OutcomeTable) -> None:
    if pdf.will_page_break(30):
        pdf.add_page()
    _heading(pdf, table.title)
    pdf.set_font(_FONT, "", 7)
    other = (_WIDTH - _LABEL_WIDTH) / len(table.columns)
    aligns = (Align.L, *(Align.R for _ in table.columns))
    with pdf.table(
        col_widths=(_LABEL_WIDTH, *(other for _ in table.columns)),
        text_align=aligns,
        line_height=3.4,
        repeat_headings=1,
        cell_fill_mode=TableCellFillMode.ROWS,
        cell_fill_color=(243, 245, 247),
        borders_layout="HORIZONTAL_LINES",
    ) as layout:
        layout.row(["", *(COLUMN_LABELS[c] for c in table.columns)])
        for row in table.rows:
            layout.row([row_label(row), *(_cell(row.cell(c)) for c in table.columns)])
    pdf.ln(4)


def _odds(pdf: FPDF, report: Report) -> None:
    _heading(pdf, "Adjuvants: odds ratio of response, users vs non-users (total column)")
    pdf.set_font(_FONT, "", 7.5)
    with pdf.table(
        col_widths=(40, 60, 40, 40), line_height=3.6, borders_layout="HORIZONTAL_LINES"
    ) as layout:
        layout.row(["Class", "Odds ratio (95% CI)", "Responders: users", "non-users"])
        for r in adjuvant_odds_ratios(report.table("T4")):
            layout.row(
                [
                    r.label,
                    odds_ratio_text(r),
                    f"{r.users[0]}/{sum(r.users)}",
                    f"{r.nonusers[0]}/{sum(r.nonusers)}",
                ]
            )
    pdf.set_font(_FONT, "", 7)
    pdf.multi_cell(
        _WIDTH,
        3.5,
        "Conditional maximum-likelihood odds ratio with its exact 95% interval "
        "(scipy.stats.contingency.odds_ratio).",
        new_x="LMARGIN",
        new_y="NEXT",
    )


def _figure(pdf: FPDF, figure: ReportFigure) -> None:
    width_in, height_in = figure.figure.get_size_inches()
    height = _WIDTH * float(height_in) / float(width_in)
    if pdf.will_page_break(height + 20):
        pdf.add_page()
    pdf.image(io.BytesIO(png_bytes(figure.figure)), w=_WIDTH, h=height)
    pdf.set_font(_FONT, "", 8)
    pdf.multi_cell(_WIDTH, 4, f"{figure.title}. {figure.caption}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def render_pdf(report: Report, figures: tuple[ReportFigure, ...] | None = None) -> bytes:
    drawn = report_figures(report) if figures is None else figures
    pdf = _document()
    pdf.add_page()
    _heading(pdf, "Oh et al. 2021, Tables 1–6 recomputed", 14)
    pdf.set_font(_FONT, "", 8.5)
    pdf.multi_cell(
        _WIDTH,
        4.2,
        f"Data: {report.source}\nEngine: {report.engine}\n"
        f"Filters: {report.filters.describe()}\n"
        "Cells read n/denominator (%). Each P value names its test (χ² is chi-squared).",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    for table in report.tables:
        _table(pdf, table)
    _odds(pdf, report)
    pdf.add_page()
    _heading(pdf, "Figures", 12)
    for figure in drawn:
        _figure(pdf, figure)
    return bytes(pdf.output())
