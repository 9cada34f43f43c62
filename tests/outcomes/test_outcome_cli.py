"""`kip reproduce` through the installed console script, as a script or CI job would run it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kip.outcomes.published import load

KIP = Path(sys.executable).parent / "kip"


def _kip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KIP), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def as_json() -> dict[str, Any]:
    done = _kip("reproduce", "--format", "json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_json_has_a_status_for_every_figure(as_json: dict[str, Any]) -> None:
    figures = as_json["figures"]
    assert [f["figure_id"] for f in figures] == [f.figure_id for f in load()]
    assert {f["status"] for f in figures} <= {"match", "explained"}
    assert all(f["why"] for f in figures if f["status"] != "match")
    assert as_json["summary"]["unexplained"] == 0
    assert as_json["summary"]["figures"] == len(figures)


def test_table_prints_the_summary_line(as_json: dict[str, Any]) -> None:
    done = _kip("reproduce")
    assert done.returncode == 0, done.stderr
    summary = as_json["summary"]
    expected = (
        f"{summary['figures']} figures, {summary['match']} match, "
        f"{summary['explained']} explained mismatches, 0 unexplained"
    )
    assert expected in done.stdout


def test_csv_on_a_sqlite_file_loaded_then_read_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kip.db'}"
    assert _kip("reproduce", "--engine", url, "--load-cohort", "--format", "csv").returncode == 0
    # Second run reads the tables the first one wrote.
    done = _kip("reproduce", "--engine", url, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == len(load())
    assert rows[0]["status"] == "match"


def test_bad_engine_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _kip("reproduce", "--engine", "mysql://somewhere/db")
    assert done.returncode == 2
    assert done.stderr.startswith("error: engine: URL must start with one of")
    assert done.stderr.count("\n") == 1
    empty = _kip("reproduce", "--engine", f"duckdb://{tmp_path / 'empty.duckdb'}")
    assert empty.returncode == 2
    assert "table 'patients' not found" in empty.stderr


def test_unexplained_figures_exit_1(tmp_path: Path) -> None:
    # Break the engine's data after loading: a changed count no documented reason covers.
    url = f"duckdb://{tmp_path / 'kip.duckdb'}"
    assert _kip("reproduce", "--engine", url, "--load-cohort", "--format", "json").returncode == 0
    with duckdb.connect(str(tmp_path / "kip.duckdb")) as con:
        con.execute("UPDATE patients SET metastases = NOT metastases WHERE etiology = 'cipn'")
    done = _kip("reproduce", "--engine", url, "--format", "json")
    assert done.returncode == 1
    summary = json.loads(done.stdout)["summary"]
    assert summary["unexplained"] > 0
