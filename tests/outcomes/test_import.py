"""kip.outcomes.flatfiles and `kip import` / `kip export-cohort`: the flat-file analysis dataset."""

from __future__ import annotations

import csv
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kip.cli_outcomes import ERRORS_PER_FILE
from kip.outcomes import engines
from kip.outcomes.dataset import TABLES
from kip.outcomes.flatfiles import FlatFormat, parse_cell, read_directory, write_directory
from kip.synth.study import study_cohort

KIP = Path(sys.executable).parent / "kip"
COHORT = study_cohort()


def _kip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KIP), *args], capture_output=True, text=True, timeout=120)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _set(path: Path, line: int, column: str, text: str) -> None:
    """Put `text` in `column` of the CSV's `line` (the header is line 1)."""
    rows = _rows(path)
    rows[line - 1][rows[0].index(column)] = text
    _write_rows(path, rows)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    write_directory(COHORT, tmp_path / "good")
    return tmp_path / "good"


def _messages(directory: Path) -> list[str]:
    return [str(e) for e in read_directory(directory).errors]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_cohort_reads_back_equal(tmp_path: Path, fmt: FlatFormat) -> None:
    write_directory(COHORT, tmp_path, fmt)
    result = read_directory(tmp_path)
    assert result.errors == ()
    assert {t: list(rows) for t, rows in result.dataset.items()} == COHORT
    assert {p.suffix for p in result.files.values()} == {f".{fmt}"}


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("age_years", "42", 42),
        ("metastases", "TRUE", True),
        ("metastases", "False", False),
        ("relief_days_last_infusion", "", None),
    ],
)
def test_cells_read_by_column_type(column: str, text: str, expected: object) -> None:
    assert parse_cell(TABLES["patients"].column(column), text) == expected


@pytest.mark.parametrize(
    ("table", "column", "text", "rule"),
    [
        ("patients", "age_years", "abc", "'abc' is not an integer"),
        ("patients", "age_years", "42.0", "'42.0' is not an integer"),
        ("patients", "metastases", "1", "'1' is not a boolean (true or false)"),
        ("infusions", "max_rate_mg_per_h", "inf", "'inf' is not a number"),
        ("infusions", "date", "2019-02-30", "'2019-02-30' is not a date of the calendar"),
        ("infusions", "date", "20190201", "'20190201' is not a date (YYYY-MM-DD)"),
    ],
)
def test_unreadable_cells_are_refused(table: str, column: str, text: str, rule: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_cell(TABLES[table].column(column), text)
    assert str(info.value) == rule


def test_a_bad_cell_names_file_line_and_column_once(good: Path) -> None:
    _set(good / "patients.csv", 14, "age_years", "abc")
    # One message: the schema check of the same cell is not repeated as "expected integer".
    assert _messages(good) == ["patients.csv:14: age_years: 'abc' is not an integer"]


def test_every_problem_of_a_file_is_listed(good: Path) -> None:
    _set(good / "patients.csv", 3, "sex", "x")
    _set(good / "patients.csv", 9, "age_years", "12")
    _set(good / "adjuvants.csv", 4, "drug_class", "aspirin")
    messages = _messages(good)
    assert "patients.csv:3: sex: 'x' is not one of female, male" in messages
    assert "patients.csv:9: age_years: 12 is below the minimum 18" in messages
    assert any(
        m.startswith("adjuvants.csv:4: drug_class: 'aspirin' is not one of") for m in messages
    )


def test_links_between_files_name_the_line(good: Path) -> None:
    _set(good / "infusions.csv", 6, "patient_id", "OH999")
    messages = _messages(good)
    assert "infusions.csv:6: patient_id: 'OH999' unknown" in messages
    # The patient who lost the infusion no longer has n_infusions rows: reported on its line.
    assert any(m.startswith("patients.csv:") and "n_infusions" in m for m in messages)


def test_a_duplicate_row_names_both_lines(good: Path) -> None:
    rows = _rows(good / "pandemic_followups.csv")
    _write_rows(good / "pandemic_followups.csv", [*rows, rows[2]])
    messages = _messages(good)
    assert f"pandemic_followups.csv:{len(rows) + 1}: patient_id: duplicates line 3" in messages


def test_header_problems_stop_the_file_and_skip_links(good: Path) -> None:
    rows = _rows(good / "infusions.csv")
    header = ["when" if c == "date" else c for c in rows[0]]
    _write_rows(good / "infusions.csv", [header, *rows[1:]])
    assert _messages(good) == [
        "infusions.csv:1: date: column missing",
        "infusions.csv:1: when: not a column of infusions",
    ]


def test_missing_and_doubled_files(good: Path) -> None:
    (good / "adjuvants.csv").unlink()
    write_directory(COHORT, good / "pq", "parquet")
    (good / "pq" / "patients.parquet").rename(good / "patients.parquet")
    messages = _messages(good)
    assert any(m.startswith("adjuvants.csv: missing") for m in messages)
    assert "patients.csv: patients.parquet also given: keep one" in messages


def test_a_bad_parquet_value_names_its_row(tmp_path: Path) -> None:
    cohort = {t: [dict(r) for r in rows] for t, rows in COHORT.items()}
    cohort["infusions"][4]["phase"] = "loading"
    write_directory(cohort, tmp_path, "parquet")
    assert _messages(tmp_path) == [
        "infusions.parquet:5: phase: 'loading' is not one of first, induction, maintenance"
    ]


def test_cli_import_loads_the_files(good: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kip.db'}"
    done = _kip("import", str(good), "--engine", url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("loaded 57 patients, 192 infusions, 34 adverse_events")
    tables = engines.analysis_tables(engines.connect(url))
    assert tables.infusions.count().execute() == 192


def test_cli_import_of_bad_files_loads_nothing(good: Path, tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'kip.duckdb'}"
    assert _kip("import", str(good), "--engine", url).returncode == 0
    # A second import with one valid file changed and one broken: nothing of it may land.
    rows = _rows(good / "patients.csv")
    _write_rows(good / "patients.csv", [rows[0], *rows[2:]])  # drops a patient: links break
    for line in range(2, 27):
        _set(good / "infusions.csv", line, "max_rate_mg_per_h", "fast")
    done = _kip("import", str(good), "--engine", url)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in done.stderr
    assert "error: infusions.csv:2: max_rate_mg_per_h: 'fast' is not a number" in lines
    listed = [line for line in lines if line.startswith("error: infusions.csv:")]
    assert len(listed) == ERRORS_PER_FILE + 1  # the rest (25 bad rates, orphans) counted
    assert re.fullmatch(r"error: infusions\.csv: and [0-9]+ more problem\(s\)", listed[-1])
    assert lines[-1].startswith("error: import: ") and lines[-1].endswith("nothing loaded")
    tables = engines.analysis_tables(engines.connect(url))
    assert tables.patients.count().execute() == 57  # still the first import


def test_cli_export_cohort_refuses_to_overwrite(tmp_path: Path) -> None:
    assert _kip("export-cohort", str(tmp_path), "--seed", "7").returncode == 0
    again = _kip("export-cohort", str(tmp_path))
    assert again.returncode == 2
    assert again.stderr.startswith("error: ") and "already there" in again.stderr
    assert _kip("export-cohort", str(tmp_path), "--force").returncode == 0
    result = read_directory(tmp_path)
    assert result.errors == ()
    first = result.dataset["infusions"][0]["date"]
    assert isinstance(first, dt.date)
