"""`kip report` through the installed console script, each format written to a file."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Callable
from html import unescape
from pathlib import Path

import openpyxl
import pytest

KIP = Path(sys.executable).parent / "kip"


def _kip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KIP), *args], capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("terminal", lambda data: b"Table 4. Adjuvant medications and response" in data),
        ("html", lambda data: data.startswith(b"<!DOCTYPE html>") and b"<svg" in data),
        ("markdown", lambda data: data.startswith(b"# Oh et al. 2021")),
        ("csv", lambda data: data.startswith(b"table,row,column,value,denominator,percent")),
        ("xlsx", lambda data: data.startswith(b"PK")),
        ("pdf", lambda data: data.startswith(b"%PDF")),
    ],
)
def test_each_format_to_a_file(tmp_path: Path, fmt: str, check: Callable[[bytes], bool]) -> None:
    out = tmp_path / f"report.{fmt}"
    done = _kip("report", "--format", fmt, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert check(out.read_bytes())


def test_filters_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    done = _kip(
        "report", "--etiology", "cipn", "--etiology", "postsurgical", "--from", "2019-01-01",
        "--site", "mskcc", "--format", "xlsx", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(out)["T2"]
    heads = next(r for r in sheet.iter_rows(values_only=True) if r[0] is None)
    found = [re.fullmatch(r"(\w+) \([nN] = (\d+)\)", str(h)) for h in heads if h]
    assert [m.group(1) for m in found if m] == ["CIPN", "Postsurgical", "Total"]
    cipn, postsurgical, total = (int(m.group(2)) for m in found if m)
    assert cipn + postsurgical == total > 0  # the group sizes of the filtered patients
    assert any("Filters: " in str(r[0]) and "2019-01-01" in str(r[0]) for r in sheet.values)


def test_filtered_formats_share_the_markdown_section_headings(tmp_path: Path) -> None:
    filters = ["--etiology", "tumor_compression", "--etiology", "postradiation"]
    files = {fmt: tmp_path / f"r.{fmt}" for fmt in ("markdown", "html", "xlsx")}
    for fmt, out in files.items():
        done = _kip("report", *filters, "--format", fmt, "--out", str(out))
        assert done.returncode == 0, done.stderr
    markdown = re.findall(r"^\| \*\*(.+?)\*\* \|", files["markdown"].read_text(), flags=re.M)
    page = unescape(files["html"].read_text())
    html = re.findall(r'<th scope="rowgroup" colspan="4">([^<]+)</th>', page)
    book = openpyxl.load_workbook(files["xlsx"])
    xlsx = [
        str(row[0].value)
        for sheet in book
        for row in sheet.iter_rows(min_row=2)  # below the title
        if row[0].font.b and row[0].value and row[1].value is None
    ]
    assert "Location of tumor compression" in markdown and len(markdown) > 10
    assert html == markdown
    assert xlsx == markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "nowhere"], "error: filters: no patient matches (site nowhere)"),
        (["--from", "2031-01-01"], "error: filters: no patient matches"),
        (["--from", "2020-02-01", "--to", "2020-01-01"], "error: --from: 2020-02-01 is after"),
        (["--format", "pdf"], "error: --out: required for --format pdf"),
        (["--engine", "mysql://x/y"], "error: engine: URL must start with one of"),
    ],
)
def test_bad_requests_exit_2_with_one_line(args: list[str], message: str) -> None:
    done = _kip("report", *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_export_import_report_round_trip(tmp_path: Path) -> None:
    """The exported template, imported into an engine, reports exactly what the cohort does."""
    assert _kip("export-cohort", str(tmp_path / "files"), "--format", "parquet").returncode == 0
    url = f"sqlite:///{tmp_path / 'kip.db'}"
    imported = _kip("import", str(tmp_path / "files"), "--engine", url)
    assert imported.returncode == 0, imported.stderr
    direct = _kip("report", "--format", "csv")
    via_files = _kip("report", "--engine", url, "--format", "csv")
    assert direct.returncode == via_files.returncode == 0, via_files.stderr
    assert via_files.stdout == direct.stdout
    rows = list(csv.DictReader(io.StringIO(via_files.stdout)))
    assert {r["table"] for r in rows} == {"T1", "T2", "T3", "T4", "T5", "T6"}
