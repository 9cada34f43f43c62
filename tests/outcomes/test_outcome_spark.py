"""Tables 1-6 counted on a local PySpark session equal DuckDB's, cell by cell.

PySpark and Java are required, not optional (they are in the dev extra and CI has Java 17): a run
that skipped this would claim the report works on Spark without having checked it, so a missing
piece fails the test with what to install.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kip.outcomes import engines
from kip.outcomes.cells import Count, OutcomeTable
from kip.outcomes.tables import study_tables
from kip.synth import scale
from kip.synth.study import study_cohort


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail("PySpark needs Java 17+ on PATH (Debian: apt-get install openjdk-17-jre)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("pyspark is not installed: pip install -e '.[dev]' (or '.[spark]')")
    con = engines.connect("pyspark://local")
    yield con
    con.disconnect()


def _cells(tables: tuple[OutcomeTable, ...]) -> dict[str, object]:
    return {f"{t.key}.{r.key}.{c}": cell for t in tables for r in t.rows for c, cell in r.cells}


def _assert_same(spark_tables: tuple[OutcomeTable, ...], duck: tuple[OutcomeTable, ...]) -> None:
    got, reference = _cells(spark_tables), _cells(duck)
    assert len(reference) > 500
    assert got.keys() == reference.keys()
    differing = [k for k in reference if got[k] != reference[k]]
    assert differing == [], f"pyspark differs from duckdb in {differing[:5]}"


def test_study_cohort_on_spark_equals_duckdb(spark: Any) -> None:
    cohort = study_cohort()
    on_spark = study_tables(engines.load_dataset(spark, cohort))
    _assert_same(on_spark, study_tables(engines.load_dataset(engines.connect("duckdb://"), cohort)))
    # The engine really counted: the study's totals, not an empty table that equals another.
    responders = next(t for t in on_spark if t.key == "T2").cell("responders", "total")
    assert isinstance(responders, Count) and responders.count == 42


def test_scale_registry_from_parquet_on_spark_equals_duckdb(spark: Any, tmp_path: Path) -> None:
    # Spark's own reader on the generator's Parquet: the path a registry too big for one
    # machine takes; a few thousand patients give every group (and the null keys) some rows.
    directory = scale.write_parquet(scale.generate(3000, seed=11), tmp_path)
    on_spark = study_tables(scale.load_parquet(spark, directory))
    duck = study_tables(scale.load_parquet(engines.connect("duckdb://"), directory))
    _assert_same(on_spark, duck)


@pytest.mark.parametrize(
    "url", ["pyspark://cluster:7077", "pyspark://local?threads=0", "pyspark://local?x=1"]
)
def test_bad_spark_urls_are_engine_errors(url: str) -> None:
    with pytest.raises(engines.EngineError, match=r"^engine: "):
        engines.connect(url)
