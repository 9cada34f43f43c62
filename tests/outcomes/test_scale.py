"""kip.synth.scale: valid analysis data, the study's rates, and the same tables on every engine.

No timing here (bench/outcomes_scale.py measures); these check what a benchmark's numbers mean.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kip.outcomes import engines
from kip.outcomes.cells import GroupSize
from kip.outcomes.dataset import TABLES, validate_dataset
from kip.outcomes.tables import study_tables
from kip.synth import scale


@cache
def _registry(n: int, seed: int) -> scale.Registry:
    return scale.generate(n, seed=seed)


def _mean(column: pa.ChunkedArray) -> float:
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.int8())
    return float(pc.mean(column).as_py())


@pytest.mark.parametrize("seed", [0, 1])
def test_small_registry_is_a_valid_analysis_dataset(seed: int) -> None:
    registry = _registry(500, seed)
    assert validate_dataset(scale.to_rows(registry)) == []
    for name in TABLES:
        assert registry[name].schema == scale.arrow_schema(name)
    # Every table has rows, so validation checked links and not empty tables.
    assert all(registry[name].num_rows > 0 for name in TABLES)


def test_same_seed_same_registry_other_seed_other() -> None:
    assert scale.generate(300, seed=5)["infusions"].equals(scale.generate(300, seed=5)["infusions"])
    assert not scale.generate(300, seed=5)["patients"].equals(
        scale.generate(300, seed=6)["patients"]
    )


def test_rates_are_the_studys() -> None:
    registry = _registry(20_000, 3)
    patients, infusions = registry["patients"], registry["infusions"]
    assert 3.0 <= _mean(patients["n_infusions"]) <= 3.8  # 192/57 = 3.37
    assert 0.16 <= _mean(infusions["any_adverse_event"]) <= 0.195  # 34/192 = 17.7%
    assert 0.70 <= _mean(patients["responder"]) <= 0.77  # 42/57 = 73.7%
    assert 49 <= _mean(patients["age_years"]) <= 55  # 52.23 years
    male = _mean(pc.equal(patients["sex"], "male"))
    assert 0.36 <= male <= 0.45  # 23/57 = 40.4%
    counts = {
        row["values"]: row["counts"] for row in pc.value_counts(patients["etiology"]).to_pylist()
    }
    assert 0.41 <= counts["cipn"] / patients.num_rows <= 0.47  # 25/57 = 43.9%
    assert 0.08 <= counts["postradiation"] / patients.num_rows <= 0.13  # 6/57 = 10.5%
    enrolled = _mean(patients["enrolled_at_pandemic"])
    assert 0.15 <= enrolled <= 0.30  # 14/57 = 24.6%
    assert registry["pandemic_followups"].num_rows == round(enrolled * patients.num_rows)


def test_responders_respond_by_etiology_as_in_the_study() -> None:
    patients = _registry(20_000, 3)["patients"]
    for etiology, low, high in (("cipn", 0.80, 0.88), ("postradiation", 0.44, 0.56)):
        rows = patients.filter(pc.equal(patients["etiology"], etiology))
        assert low <= _mean(rows["responder"]) <= high, etiology  # 21/25, 3/6


def test_snri_users_respond_more_as_table_4_says() -> None:
    registry = _registry(20_000, 3)
    adjuvants = registry["adjuvants"].join(
        registry["patients"].select(["patient_id", "responder"]), "patient_id"
    )
    snri = adjuvants.filter(pc.equal(adjuvants["drug_class"], "snri"))
    users = snri.filter(snri["in_use_during_ketamine"])
    nonusers = snri.filter(pc.invert(snri["in_use_during_ketamine"]))
    assert _mean(users["responder"]) > _mean(nonusers["responder"]) + 0.1


def test_parquet_round_trip_and_engines_agree(tmp_path: Path) -> None:
    registry = _registry(2000, 4)
    directory = scale.write_parquet(registry, tmp_path / "registry", row_group_size=500)
    back = scale.read_parquet(directory)
    assert all(back[name].equals(registry[name]) for name in TABLES)
    duck = study_tables(scale.load_parquet(engines.connect("duckdb://"), directory))
    lite = study_tables(
        scale.load_parquet(engines.connect(f"sqlite:///{tmp_path / 'r.db'}"), directory)
    )
    rows = engines.load_dataset(engines.connect("duckdb://"), scale.to_rows(registry))
    assert duck == lite == study_tables(rows)
    infusions = next(t for t in duck if t.key == "T5").cell("infusions", "total")
    assert infusions == GroupSize(registry["infusions"].num_rows)
