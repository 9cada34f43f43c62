"""kip.outcomes.report: every output format of the study cohort, checked for its content."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from html.parser import HTMLParser

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader
from rich.console import Console
from scipy.stats.contingency import odds_ratio

from kip.outcomes import engines
from kip.outcomes.cells import Count, GroupSize, PValue
from kip.outcomes.report.cell_text import TEST_LABELS
from kip.outcomes.report.figures import ReportFigure, png_bytes, report_figures
from kip.outcomes.report.filters import ReportFilter
from kip.outcomes.report.layout import TEST_LEGEND, TEST_SHORT, lay_out
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
    t4 = page[page.index('<section id="T4">') : page.index('<section id="T5">')]
    snris = t4[t4.index(">SNRIs</th>") :]
    row = next(r for r in re.findall(r"<tr>.*?</tr>", snris) if ">P value</th>" in r)
    total = re.findall(r"<td[^>]*>(.*?)</td>", row)[-1]  # the total column's cell
    assert f"P = {snri.result.p_value:.4f}" in total
    assert TEST_SHORT[snri.result.test] in unescape(total)
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


def _xlsx_rows(sheet: Worksheet) -> dict[str, tuple[object, ...]]:
    """The sheet's body rows by label (the first of a repeated label), below the n / % heads."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[1:3] == ("n", "%")) + 1
    found: dict[str, tuple[object, ...]] = {}
    for row in rows[start:]:
        if row[0] is not None:
            found.setdefault(str(row[0]), row)
    return found


def test_xlsx_has_six_sheets_of_numbers(report: Report) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert book.sheetnames == list(PAPER_TABLES)
    values = _xlsx_rows(book["T2"])
    responders = values["Responders"]
    assert responders[3] == 21 and isinstance(responders[3], int)  # CIPN n
    assert responders[4] == pytest.approx(84.0)  # CIPN %
    assert responders[9] == 42 and responders[10] == pytest.approx(100 * 42 / 57)
    p_row = values["P value"]
    assert isinstance(p_row[3], float) and p_row[4] == TEST_SHORT[StatTest.GOODNESS_OF_FIT]
    age = _xlsx_rows(book["T1"])["Age, mean ± SD"]
    assert age[9] == pytest.approx(52.23, abs=0.005) and age[10] == pytest.approx(13.33, abs=0.005)
    sheet = book["T2"]
    rows = enumerate(sheet.iter_rows(values_only=True), start=1)
    head = next(line for line, r in rows if r[1] == "n")
    assert sheet.freeze_panes == f"B{head + 1}"  # the column heads stay in view
    assert sheet.cell(row=head - 1, column=4).value == "CIPN (n = 25)"
    assert sheet.cell(row=head + 1, column=2).number_format == "0"
    assert sheet.cell(row=head + 1, column=3).number_format == "0.0"


def test_pdf_has_the_tables_and_figures(report: Report, figures: tuple[ReportFigure, ...]) -> None:
    data = render_pdf(report, figures)
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = _flat(" ".join(page.extract_text() for page in reader.pages))
    for table in report.tables:
        assert _flat(table.title) in text
    assert "Yates χ²" in text and "Fisher" in text
    assert TEST_LEGEND[StatTest.FISHER] in text
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


# --------------------------------------------------------------------------- the paper's layout
# Each format must show the Markdown's outline: the same section headings over the same short row
# labels, in the same order, for all six tables. A renderer printing the self-contained labels
# ("Location of tumor compression: Plexus") instead fails every one of these.

Item = tuple[str, str]  # ("heading" | "row", text)


def _markdown_outlines(text: str) -> dict[str, list[Item]]:
    outlines: dict[str, list[Item]] = {}
    current: list[Item] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = outlines.setdefault(line[3:], []) if line.startswith("## Table ") else None
        elif current is not None and line.startswith("| "):
            first = re.split(r"(?<!\\)\|", line)[1].strip().replace("\\|", "|")
            bold = re.fullmatch(r"\*\*(.+)\*\*", first)
            if bold:
                current.append(("heading", bold.group(1)))
            elif first:  # the column-head line has an empty first cell
                current.append(("row", first))
    return outlines


def _markdown_heads(text: str) -> dict[str, list[str]]:
    heads: dict[str, list[str]] = {}
    for block in text.split("\n## ")[1:]:
        title, _, body = block.partition("\n")
        if not title.startswith("Table "):
            continue
        line = next(x for x in body.splitlines() if x.startswith("|  | "))
        heads[title] = [h.strip() for h in line.removesuffix(" |").split(" | ")[1:]]
    return heads


@pytest.fixture(scope="module")
def markdown(report: Report) -> str:
    return render_markdown(report)


@pytest.fixture(scope="module")
def outlines(report: Report, markdown: str) -> dict[str, list[Item]]:
    found = _markdown_outlines(markdown)
    assert list(found) == [t.title for t in report.tables]
    for table in report.tables:
        assert any(kind == "heading" for kind, _ in found[table.title]) == (
            table.key in ("T1", "T4", "T5", "T6")
        ), table.key
    return found


class _HtmlTables(HTMLParser):
    """Per table (by its caption's title): its outline, its column heads and its P value cells."""

    def __init__(self) -> None:
        super().__init__()
        self.outlines: dict[str, list[Item]] = {}
        self.heads: dict[str, list[str]] = {}
        self.p_cells: dict[str, list[str]] = {}
        self.legends: dict[str, list[str]] = {}
        self._table: str | None = None
        self._capture: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "span" and a.get("class") == "title":
            self._capture = ("title", [])
        elif tag == "th" and a.get("scope") in ("col", "row", "rowgroup"):
            self._capture = (str(a["scope"]), [])
        elif tag == "td" and a.get("class") == "p":
            self._capture = ("p", [])
        elif tag == "p" and a.get("class") == "legend":
            self._capture = ("legend", [])

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._capture[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._capture is None or tag not in ("span", "th", "td", "p"):
            return
        kind, parts = self._capture
        if (tag == "span") != (kind == "title"):
            return  # a span inside a head or cell ends nothing; the title is a span
        text = " ".join(" ".join(parts).split())
        self._capture = None
        if kind == "title":
            self._table = text
            for found in (self.outlines, self.heads, self.p_cells, self.legends):
                found.setdefault(text, [])
        elif self._table is not None:
            if kind == "col":
                self.heads[self._table].append(text)
            elif kind == "p":
                self.p_cells[self._table].append(text)
            elif kind == "legend":
                self.legends[self._table].append(text)
            else:
                self.outlines[self._table].append(
                    ("heading" if kind == "rowgroup" else "row", text)
                )


def _tested(report: Report, key: str) -> list[PValue]:
    return [
        c
        for row in report.table(key).rows
        for _, c in row.cells
        if isinstance(c, PValue) and c.result is not None
    ]


def test_html_tables_have_the_markdown_layout(
    report: Report,
    figures: tuple[ReportFigure, ...],
    markdown: str,
    outlines: dict[str, list[Item]],
) -> None:
    parser = _HtmlTables()
    parser.feed(render_html(report, figures))
    heads = _markdown_heads(markdown)
    for table in report.tables:
        assert parser.outlines[table.title] == outlines[table.title], table.key
        # "Tumor compression (n = 13)" in Markdown; the size on its own line in HTML.
        assert parser.heads[table.title] == [
            h.replace("(", "").replace(")", "") for h in heads[table.title]
        ]
        tested = _tested(report, table.key)
        named = [c for c in parser.p_cells[table.title] if c.startswith("P = ")]
        assert len(named) == len(tested)
        for cell, p in zip(named, tested, strict=True):
            assert p.result is not None and cell.endswith(TEST_SHORT[p.result.test])
        legend = [
            f"P value test: {TEST_LEGEND[t]}" for t in {p.result.test for p in tested if p.result}
        ]
        assert sorted(parser.legends[table.title]) == sorted(legend)


def test_html_sections_are_row_groups_and_rows_have_headers(report: Report) -> None:
    page = render_html(report, ())
    t1 = page[page.index('<section id="T1">') : page.index('<section id="T2">')]
    bodies = re.findall(r"<tbody>(.*?)</tbody>", t1, flags=re.S)
    heading = next(b for b in bodies if ">Location of tumor compression</th>" in b)
    assert '<th scope="rowgroup" colspan="6">Location of tumor compression</th>' in heading
    assert re.findall(r'<th scope="row" class="item">([^<]*)</th>', heading) == [
        "Cranial nerve",
        "Nerve roots",
        "Plexus",
    ]
    assert "<td" not in t1.split("<thead>")[1].split("</thead>")[0].replace("<td></td>", "")


def _xlsx_outline(sheet: Worksheet) -> tuple[list[Item], list[str], list[str], list[bool]]:
    """(outline, column heads, notes under the table, whether each row is indented)."""
    rows = list(sheet.iter_rows())
    start = next(i for i, r in enumerate(rows) if r[1].value == "n")
    heads = [str(c.value) for c in rows[start - 1][1::2]]
    outline: list[Item] = []
    notes: list[str] = []
    indented: list[bool] = []
    for row in rows[start + 1 :]:
        label = row[0]
        if label.value is None:
            continue
        text = str(label.value)
        if text.startswith("P value test: "):
            notes.append(text)
        elif label.font.b:
            assert all(c.value is None for c in row[1:]), text  # a heading row holds no numbers
            outline.append(("heading", text))
        else:
            outline.append(("row", text))
            indented.append(label.alignment.indent > 0)
    return outline, heads, notes, indented


def test_xlsx_sheets_have_the_markdown_layout(
    report: Report, markdown: str, outlines: dict[str, list[Item]]
) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    heads = _markdown_heads(markdown)
    for table in report.tables:
        sheet = book[table.key]
        assert sheet["A1"].value == table.title and sheet["A1"].font.b
        outline, columns, notes, indented = _xlsx_outline(sheet)
        assert outline == outlines[table.title], table.key
        sections = lay_out(table).sections
        assert indented == [s.heading is not None for s in sections for _ in s.rows]
        assert columns == heads[table.title]
        tested = _tested(report, table.key)
        assert sorted(notes) == sorted(
            f"P value test: {TEST_LEGEND[t]}" for t in {p.result.test for p in tested if p.result}
        )
    # Labels under a heading are indented, rows without one are not; plain counts are integers.
    sheet = book["T1"]
    cells = {str(r[0].value): r for r in sheet.iter_rows() if r[0].value is not None}
    assert cells["Plexus"][0].alignment.indent == 1 and cells["Plexus"][1].value == 2
    assert isinstance(cells["Plexus"][1].value, int)
    assert cells["Age, mean ± SD"][0].alignment.indent == 0


def _line_outline(lines: list[str], outline: list[Item]) -> None:
    """Every item of `outline` on its own line(s), in order: a heading alone on its line, a row
    label at the start of its line (a long label may wrap onto the next)."""
    lines = [" ".join(line.split()) for line in lines]
    at = 0
    for kind, text in outline:
        while at < len(lines):
            candidate, end = lines[at], at
            while kind == "row" and len(candidate) < len(text) and text.startswith(candidate):
                end += 1
                candidate = f"{candidate} {lines[end]}"
            at = end + 1
            if (
                candidate == text
                if kind == "heading"
                else (candidate == text or candidate.startswith(f"{text} "))
            ):
                break
        else:
            raise AssertionError(f"{kind} {text!r} not found in order")


def test_pdf_tables_have_the_markdown_layout(
    report: Report, figures: tuple[ReportFigure, ...], outlines: dict[str, list[Item]]
) -> None:
    reader = PdfReader(io.BytesIO(render_pdf(report, figures)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    titles = [t.title for t in report.tables]
    starts = [text.index(title) for title in titles]
    ends = [*starts[1:], text.index("Adjuvants: odds ratio")]
    for table, start, end in zip(report.tables, starts, ends, strict=True):
        chunk = text[start:end]
        _line_outline(chunk.splitlines(), outlines[table.title])
        for kind, heading in outlines[table.title]:
            if kind == "heading":
                assert f"{heading}: " not in _flat(chunk)  # not printed into the row labels
        for p in _tested(report, table.key):
            assert p.result is not None and TEST_LEGEND[p.result.test] in _flat(chunk)
        if table.key in ("T1", "T2", "T4"):
            assert "n = 13" in chunk and "N = 57" in chunk


def test_terminal_tables_have_the_markdown_layout(
    report: Report, outlines: dict[str, list[Item]]
) -> None:
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(render_terminal(report))
    text = console.export_text()
    titles = [t.title for t in report.tables]
    starts = [text.index(title) for title in titles]
    for table, start, end in zip(report.tables, starts, [*starts[1:], None], strict=True):
        _line_outline(text[start:end].splitlines(), outlines[table.title])


def test_csv_keeps_self_contained_labels_in_the_layout_order(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    for table in report.tables:
        layout = lay_out(table)
        laid = [r.row for s in layout.sections for r in s.rows]
        expected = [row.key for row in ([layout.sizes] if layout.sizes else []) + laid]
        keys = list(
            dict.fromkeys(
                r["row"].removesuffix(".mean").removesuffix(".sd")
                for r in rows
                if r["table"] == table.key
            )
        )
        assert keys == expected, table.key
        labels = {r["row"]: r["label"] for r in rows if r["table"] == table.key}
        for row in laid:
            assert labels.get(row.key, labels.get(f"{row.key}.mean")) == row.label
    plexus = next(r for r in rows if r["label"].endswith("Plexus"))
    assert plexus["label"] == "Location of tumor compression: Plexus"
