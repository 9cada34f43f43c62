"""kip.outcomes.report: every output format of the study cohort, checked for its content."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import openpyxl
import pytest
from pypdf import PdfReader
from rich.console import Console
from scipy.stats.contingency import odds_ratio

from kip.outcomes import engines
from kip.outcomes.cells import Count, GroupSize, PValue
from kip.outcomes.report.cell_text import TEST_LABELS
from kip.outcomes.report.figures import ReportFigure, png_bytes, report_figures
from kip.outcomes.report.filters import ReportFilter
from kip.outcomes.report.layout import TEST_LEGEND, TEST_SHORT
from kip.outcomes.report.model import PAPER_TABLES, Report, build_report
from kip.outcomes.report.odds import adjuvant_odds_ratios
from kip.outcomes.report.render_csv import FIELDS, render_csv
from kip.outcomes.report.render_html import render_html
from kip.outcomes.report.render_markdown import render_markdown
from kip.outcomes.report.render_pdf import render_pdf
from kip.outcomes.report.render_terminal import render_terminal
from kip.outcomes.report.render_xlsx import render_xlsx
from kip.outcomes.stats import StatTest
from kip.synth.study import study_cohort


@pytest.fixture(scope="module")
def report() -> Report:
    tables = engines.load_dataset(engines.connect("duckdb://"), study_cohort())
    return build_report(tables, ReportFilter(), source="seeded study cohort", engine="duckdb://")


@pytest.fixture(scope="module")
def figures(report: Report) -> tuple[ReportFigure, ...]:
    return report_figures(report)


def _snri(report: Report) -> PValue:
    cell = report.table("T4").cell("snris.p_value", "total")
    assert isinstance(cell, PValue) and cell.result is not None
    return cell


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_report_holds_tables_1_to_6(report: Report) -> None:
    assert [t.key for t in report.tables] == list(PAPER_TABLES)
    responders = report.table("T2").cell("responders", "total")
    assert isinstance(responders, Count) and (responders.count, responders.denominator_n) == (
        42,
        57,
    )


def test_html_is_one_file_with_titles_p_cells_and_figures(
    report: Report, figures: tuple[ReportFigure, ...]
) -> None:
    page = render_html(report, figures)
    text = unescape(page)
    for table in report.tables:
        assert table.title in text
    snri = _snri(report)
    assert snri.result is not None
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page) if "SNRIs: P value" in r)
    total = re.findall(r"<td[^>]*>(.*?)</td>", row)[-1]  # the total column's cell
    assert f"P = {snri.result.p_value:.4f}" in total
    assert TEST_LABELS[snri.result.test] in unescape(total)
    assert page.count("<svg") == len(figures) == 4
    # Self-contained: no stylesheet, script or image fetched from anywhere.
    assert not re.search(r"<(link|script|img)\b", page)
    assert not re.search(r"url\((?!#)", page)  # only references inside the page (clip paths)
    assert not re.search(r"(href|src)=\"(?!#)", page)


def test_markdown_has_every_table_and_named_tests(report: Report) -> None:
    text = render_markdown(report)
    for table in report.tables:
        assert f"## {table.title}" in text
    snri = _snri(report)
    assert snri.result is not None
    lines = text.splitlines()
    snris = lines.index("| **SNRIs** |  |  |  |  |  |")
    line = next(line for line in lines[snris:] if line.startswith("| P value |"))
    assert line.endswith(f"P = {snri.result.p_value:.4f} ({TEST_LABELS[snri.result.test]}) |")
    # As the paper prints it: n per column in the header, the denominator said once.
    assert "| Tumor compression (n = 13) | CIPN (n = 25) |" in text
    assert "_n/N (%) of patients, unless a heading or row says otherwise._" in text
    assert "| Responders | 9/13 (69.2%) | 21/25 (84.0%) |" in text
    assert (
        "| **Location of tumor compression** |" in text and "| Nerve roots | 8/13 (61.5%) |" in text
    )
    assert "| **Resolution (% of infusions with an adverse event)** |" in text
    assert "(% of patients)" not in text.split("## Table 2")[0]  # Table 1: all of patients


def test_terminal_names_the_test_of_every_p_value(report: Report) -> None:
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(render_terminal(report))
    text = console.export_text()
    for table in report.tables:
        assert table.title in text
    tested = [
        cell
        for table in report.tables
        for row in table.rows
        for _, cell in row.cells
        if isinstance(cell, PValue) and cell.result is not None
    ]
    assert sum(text.count(f"{c.result.p_value:.4f}") > 0 for c in tested if c.result) > 0
    # Every P value cell names its test by a short name; each table's legend spells it out.
    for test in StatTest:
        cells = sum(1 for c in tested if c.result and c.result.test is test)
        assert text.count(TEST_SHORT[test]) >= cells
        assert (TEST_LEGEND[test] in text) == (cells > 0)
    assert "42/57 (73.7%)" in text
    assert "Location of tumor compression\n  Cranial nerve" in text  # a heading over its rows


@pytest.mark.parametrize("width", [100, 200])
def test_terminal_never_breaks_a_word_at_100_columns_or_wide(report: Report, width: int) -> None:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(render_terminal(report))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    words = {"Tumor", "compression", "CIPN", "Postsurgical", "Postradiation", "Total"}
    for table in report.tables:
        head = text[text.index(table.title) :].split("─" * 20)[0]
        assert words <= set(head.split()), head  # each header word whole, on one line
    assert "N = 57" in text and "n = 13" in text
    # Labels are short under their headings, the denominator named once, not on every row.
    assert "% of patients) " not in text.split("Table 2.")[0]
    assert "  Nerve roots " in text and "  Paclitaxel carboplatin" in text
    if width >= 160:
        assert "Tumor compression" in text  # room enough: the header on one line


def test_csv_parses_back_to_the_tables(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert tuple(rows[0]) == FIELDS
    index = {(r["table"], r["row"], r["column"]): r for r in rows}
    checked = 0
    for table in report.tables:
        for row in table.rows:
            for column, cell in row.cells:
                if isinstance(cell, Count):
                    got = index[(table.key, row.key, column)]
                    assert int(got["value"]) == cell.count
                    assert int(got["denominator"]) == cell.denominator_n
                    assert got["percent"] == (cell.percent_text if cell.denominator_n else "")
                    if cell.interval is not None:
                        assert float(got["ci_low"]) == pytest.approx(
                            100 * cell.interval[0], abs=0.05
                        )
                        assert float(got["ci_high"]) == pytest.approx(
                            100 * cell.interval[1], abs=0.05
                        )
                elif isinstance(cell, GroupSize):
                    assert int(index[(table.key, row.key, column)]["value"]) == cell.n
                elif isinstance(cell, PValue) and cell.result is not None:
                    got = index[(table.key, row.key, column)]
                    assert got["test"] == cell.result.test.value
                    assert float(got["value"]) == pytest.approx(cell.result.p_value, rel=1e-5)
                checked += 1
    assert checked > 400
    assert index[("T1", "age_years.mean", "total")]["value"] == "52.23"
    assert index[("T1", "age_years.sd", "total")]["value"] == "13.33"


def test_xlsx_has_six_sheets_of_numbers(report: Report) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert book.sheetnames == list(PAPER_TABLES)
    sheet = book["T2"]
    values = {str(r[0]): r for r in sheet.iter_rows(min_row=6, values_only=True) if r[0]}
    responders = values["Responders"]
    assert responders[1] == "patients"
    assert responders[4] == 21 and isinstance(responders[4], int)  # CIPN n
    assert responders[5] == pytest.approx(84.0)  # CIPN %
    assert responders[10] == 42 and responders[11] == pytest.approx(100 * 42 / 57)
    p_row = values["P value"]
    assert isinstance(p_row[4], float) and p_row[5] == TEST_LABELS[StatTest.GOODNESS_OF_FIT]
    age = {str(r[0]): r for r in book["T1"].iter_rows(min_row=6, values_only=True)}
    assert age["Age, mean ± SD"][10] == pytest.approx(52.23, abs=0.005)


def test_pdf_has_the_tables_and_figures(report: Report, figures: tuple[ReportFigure, ...]) -> None:
    data = render_pdf(report, figures)
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = _flat(" ".join(page.extract_text() for page in reader.pages))
    for table in report.tables:
        assert _flat(table.title) in text
    assert "Yates χ²" in text or "Fisher exact" in text
    assert sum(len(page.images) for page in reader.pages) == len(figures)
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_odds_ratios_are_scipys_conditional_estimates(report: Report) -> None:
    ratios = {r.label: r for r in adjuvant_odds_ratios(report.table("T4"))}
    snri = ratios["SNRIs"]
    assert (snri.users, snri.nonusers) == ((11, 1), (31, 14))
    expected = odds_ratio([[11, 1], [31, 14]], kind="conditional")
    interval = expected.confidence_interval(0.95)
    assert snri.estimate == pytest.approx(expected.statistic)
    assert (snri.low, snri.high) == pytest.approx((interval.low, interval.high))
    # No TCA user responded: a zero cell gives 0 and a finite upper bound, no correction.
    tca = ratios["TCAs"]
    assert tca.users == (0, 3) and tca.estimate == 0 and tca.high is not None and tca.high < 1


def test_figures_render_to_png(figures: tuple[ReportFigure, ...]) -> None:
    assert [f.key for f in figures] == ["response", "relief", "adverse_events", "adjuvants"]
    for figure in figures:
        assert png_bytes(figure.figure, dpi=50).startswith(b"\x89PNG")
        assert figure.figure.axes[0].get_title(loc="left")
