"""The report as a PDF for A4: the tables (headings repeated across pages), then the figures.

The tables read as in the terminal and HTML (kip.outcomes.report.layout): group sizes in the column
heads, bold section headings over indented row labels, the denominator named under the title, and
the P value tests spelled out under each table.

Laid out with fpdf2 (pure Python), in DejaVu Sans taken from matplotlib's own font files: the
tables need ≥, ±, χ² and en dashes, which the PDF base fonts lack, and no font is fetched from
anywhere. Figures are embedded as 200 dpi PNG, which prints sharply at the width used.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import Align
from fpdf.fonts import FontFace

from kip.outcomes.cells import Cell, OutcomeTable, PValue
from kip.outcomes.report.cell_text import COLUMN_LABELS, cell_text, p_text
from kip.outcomes.report.figures import ReportFigure, png_bytes, report_figures
from kip.outcomes.report.layout import (
    TEST_LEGEND,
    TEST_SHORT,
    TableLayout,
    column_sizes,
    lay_out,
)
from kip.outcomes.report.model import Report
from kip.outcomes.report.odds import adjuvant_odds_ratios, odds_ratio_text

__all__ = ["render_pdf"]

_FONT = "DejaVu"
_MARGIN = 12.0  # mm
_WIDTH = 210.0 - 2 * _MARGIN  # A4 portrait
_LABEL_WIDTH = 62.0
_INDENT = 4.0  # mm, a row label under a section heading
_BOLD = FontFace(emphasis="BOLD")


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
        value, _ = p_text(cell)
        if cell.result is None:
            return f"{value}\nnot tested"
        # The short name, as in the terminal; the legend under the table spells it out.
        return f"P = {value}\n{TEST_SHORT[cell.result.test]}"
    return cell_text(cell)


def _heading(pdf: FPDF, text: str, size: float = 10.5) -> None:
    pdf.set_font(_FONT, "B", size)
    pdf.multi_cell(_WIDTH, 5.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _note(pdf: FPDF, text: str, size: float = 7) -> None:
    pdf.set_font(_FONT, "", size)
    pdf.set_text_color(68)
    pdf.multi_cell(_WIDTH, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)


def _head(layout: TableLayout, column: str) -> str:
    sizes = column_sizes(layout, column)
    return COLUMN_LABELS[column] if sizes is None else f"{COLUMN_LABELS[column]}\n{sizes}"


def _table(pdf: FPDF, table: OutcomeTable) -> None:
    layout = lay_out(table)
    if pdf.will_page_break(30):
        pdf.add_page()
    _heading(pdf, table.title)
    if layout.caption:
        _note(pdf, f"{layout.caption}.", 7.5)
        pdf.ln(1)
    pdf.set_font(_FONT, "", 7)
    other = (_WIDTH - _LABEL_WIDTH) / len(table.columns)
    aligns = (Align.L, *(Align.R for _ in table.columns))
    with pdf.table(
        col_widths=(_LABEL_WIDTH, *(other for _ in table.columns)),
        text_align=aligns,
        line_height=3.4,
        repeat_headings=1,
        borders_layout="HORIZONTAL_LINES",
        v_align="TOP",
        padding=(0.6, 1.0),
    ) as grid:
        grid.row(["", *(_head(layout, c) for c in table.columns)])
        for section in layout.sections:
            if section.heading is not None:
                heading = grid.row()
                heading.cell(section.heading, style=_BOLD, colspan=1 + len(table.columns))
            for laid in section.rows:
                row = grid.row()
                indent = _INDENT if section.heading is not None else 1.0
                row.cell(laid.label, padding=(0.6, 1.0, 0.6, indent))
                for column in table.columns:
                    row.cell(_cell(laid.row.cell(column)))
    if layout.tests:
        pdf.ln(1)
        _note(pdf, "\n".join(f"P value test: {TEST_LEGEND[t]}" for t in layout.tests))
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
        "Cells read n/N (%), N the denominator each table names (the column's n unless a "
        "heading or row says otherwise). Each P value names its test, spelled out under its "
        "table (χ² is chi-squared).",
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
