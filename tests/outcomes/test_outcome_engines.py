"""kip.outcomes.engines: URLs, typed loading of the analysis dataset, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kip.outcomes import engines
from kip.outcomes.dataset import TABLES
from kip.synth.study import study_cohort

COHORT = study_cohort()


def test_redact_hides_only_the_password() -> None:
    assert engines.redact("postgresql://kip:s3cret@db:5432/x") == "postgresql://kip:***@db:5432/x"
    assert (
        engines.redact("postgresql://postgres@127.0.0.1/x") == "postgresql://postgres@127.0.0.1/x"
    )


@pytest.mark.parametrize("url", ["mysql://host/db", "duckdb", "/tmp/x.db", "file:///x.duckdb"])
def test_unknown_scheme_is_an_engine_error(url: str) -> None:
    with pytest.raises(engines.EngineError, match=r"^engine: URL must start with one of"):
        engines.connect(url)


def test_unreachable_server_is_an_engine_error_without_the_password() -> None:
    # Port 1 on localhost refuses at once, so this does not wait for a timeout.
    with pytest.raises(engines.EngineError, match=r"cannot connect") as info:
        engines.connect("postgresql://kip:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(info.value)


def test_schema_follows_the_dataset_types() -> None:
    schema = engines.table_schema("patients")
    assert str(schema["age_years"]) == "!int64"
    assert str(schema["relief_days_last_infusion"]) == "int64"  # nullable
    assert str(schema["responder"]) == "!boolean"
    assert str(engines.table_schema("infusions")["date"]) == "!date"
    assert list(schema.names) == list(TABLES["patients"].column_names)


def test_load_keeps_rows_and_types_in_sqlite(tmp_path: Path) -> None:
    con = engines.connect(f"sqlite:///{tmp_path / 'kip.db'}")
    tables = engines.load_dataset(con, COHORT)
    assert int(tables.infusions.count().execute()) == len(COHORT["infusions"])
    assert tables.patients.schema() == engines.table_schema("patients")
    # A second connection sees the same tables: they are in the file, not in memory.
    again = engines.analysis_tables(engines.connect(f"sqlite:///{tmp_path / 'kip.db'}"))
    assert int(again.patients.count().execute()) == 57


def test_invalid_rows_are_refused_before_loading() -> None:
    broken = dict(COHORT)
    broken["patients"] = [dict(p) for p in COHORT["patients"]]
    broken["patients"][0]["sex"] = "x"
    con = engines.connect("duckdb://")
    with pytest.raises(engines.EngineError, match=r"patients\[0\]: sex: 'x' is not one of"):
        engines.load_dataset(con, broken)
    assert con.list_tables() == []


def test_missing_table_and_column_are_named() -> None:
    con = engines.connect("duckdb://")
    with pytest.raises(engines.EngineError, match=r"table 'patients' not found"):
        engines.analysis_tables(con)
    engines.load_dataset(con, COHORT)
    con.raw_sql("ALTER TABLE adjuvants DROP COLUMN in_use_during_ketamine")
    with pytest.raises(engines.EngineError, match=r"adjuvants: missing column\(s\) in_use"):
        engines.analysis_tables(con)


def test_sqlite_url_reads_paths_as_the_registry_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sqlite:///relative and sqlite:////absolute, as kip.site.database reads them.
    monkeypatch.chdir(tmp_path)
    engines.connect("sqlite:///rel.db").raw_sql("CREATE TABLE t (x INTEGER)")
    assert (tmp_path / "rel.db").exists()
    absolute = tmp_path / "abs.db"
    engines.connect(f"sqlite:///{absolute}").raw_sql("CREATE TABLE t (x INTEGER)")
    assert absolute.exists()
