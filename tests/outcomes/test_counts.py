"""kip.outcomes.counts: two queries per report, and every tally equal to a plain count of the rows.

The engine-side counting groups once and sums the groups per tally in Python, stacks the fact
tables into one join on DuckDB and joins them one by one on SQLite. Each tally here is recounted
row by row with collections.Counter, the definition in docs/analysis-dataset.md written out, and
must come out the same on both engines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from kip.outcomes import engines
from kip.outcomes.counts import TOTAL, Key, StudyCounts, Tally, count_study
from kip.outcomes.dataset import Row, Value
from kip.synth import scale

Rows = Mapping[str, Sequence[Row]]


def _by(rows: Sequence[Row], patients: Mapping[Value, Row], *columns: str) -> dict[Key, int]:
    """Rows counted per (patient's etiology, columns), a column named `p.x` being the patient's."""
    counts: Counter[Key] = Counter()
    for r in rows:
        patient = patients[r["patient_id"]]
        values = (patient[c[2:]] if c.startswith("p.") else r[c] for c in columns)
        counts[(patient["etiology"], *values)] += 1
    return dict(counts)


def _plain_counts(data: Rows) -> dict[str, Any]:
    patients = {p["patient_id"]: p for p in data["patients"]}
    everyone = list(patients.values())
    with_multi = [{**p, "multi": p["n_infusions"] >= 2} for p in everyone]  # type: ignore[operator]
    users = {a["patient_id"] for a in data["adjuvants"] if a["in_use_during_ketamine"]}
    events = data["adverse_events"]
    ages: dict[Value, tuple[int, int, int]] = {}
    for p in everyone:
        n, total, squares = ages.get(p["etiology"], (0, 0, 0))
        age = int(p["age_years"])  # type: ignore[arg-type]
        ages[p["etiology"]] = (n + 1, total + age, squares + age * age)

    def once(*columns: str) -> list[Row]:
        # Table 5 counts an infusion once per kind of event.
        distinct = {
            tuple(e[c] for c in ("patient_id", "infusion_number", *columns)) for e in events
        }
        return [
            dict(zip(("patient_id", "infusion_number", *columns), d, strict=True)) for d in distinct
        ]

    return {
        "sex": _by(everyone, patients, "sex"),
        "cancer": _by(everyone, patients, "primary_cancer"),
        "metastases": _by(everyone, patients, "metastases"),
        "detail": _by(everyone, patients, "etiology_detail"),
        "ages": ages,
        "response": _by(
            with_multi, patients, "responder", "pain_or_ae_limited", "multi", "duration_band"
        ),
        "adjuvants": _by(
            data["adjuvants"], patients, "drug_class", "in_use_during_ketamine", "p.responder"
        ),
        "without_adjuvants": _by(
            [p for p in everyone if p["patient_id"] not in users], patients, "responder"
        ),
        "patient_ae": _by(everyone, patients, "any_adverse_event"),
        "infusions": _by(data["infusions"], patients, "any_adverse_event"),
        "ae_category": _by(once("category"), patients, "category"),
        "ae_resolution": _by(once("resolution"), patients, "resolution"),
        "pandemic": _by(
            data["pandemic_followups"],
            patients,
            "responder_last",
            "duration_band_last",
            "ae_gi",
            "ae_neuro",
            "ae_psych",
            "pain_returned",
            "med_change",
        ),
    }


def _as_plain(counts: StudyCounts) -> dict[str, Any]:
    return {
        name: dict(value.sums if name == "ages" else value.counts)
        for name, value in ((n, getattr(counts, n)) for n in counts.__dataclass_fields__)
    }


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_every_tally_equals_a_plain_count_of_the_rows(engine: str, tmp_path: Path) -> None:
    data = scale.to_rows(scale.generate(1500, seed=7))
    url = "duckdb://" if engine == "duckdb" else f"sqlite:///{tmp_path / 'counts.db'}"
    counts = count_study(engines.load_dataset(engines.connect(url), data))
    expected = _plain_counts(data)
    # Data where every tally has several groups, so a tally mixed up with another would show.
    assert all(len(groups) >= 2 for groups in expected.values())
    assert _as_plain(counts) == expected


def test_patients_without_an_adjuvant_in_use_include_those_with_none_recorded() -> None:
    data = {name: list(rows) for name, rows in scale.to_rows(scale.generate(300, seed=2)).items()}
    dropped = data["patients"][0]["patient_id"]
    data["adjuvants"] = [a for a in data["adjuvants"] if a["patient_id"] != dropped]
    counts = count_study(engines.load_dataset(engines.connect("duckdb://"), data))
    assert dict(counts.without_adjuvants.counts) == _plain_counts(data)["without_adjuvants"]


def test_tally_get_sums_the_columns_it_does_not_name() -> None:
    tally = Tally(
        by=("etiology", "responder", "band"),
        counts=MappingProxyType(
            {
                ("cipn", True, "lt_2wk"): 3,
                ("cipn", True, None): 2,
                ("cipn", False, None): 5,
                ("postsurgical", True, None): 7,
            }
        ),
    )
    assert tally.get("cipn") == 10
    assert tally.get(TOTAL) == 17
    assert tally.get("cipn", responder=True) == 5
    assert tally.get(TOTAL, band=None) == 14
    assert tally.get(TOTAL, responder=True, band=None) == 9
    assert tally.get("postradiation", responder=True) == 0
    # Asked again (answered from the sums kept after the first time): the same.
    assert tally.get("cipn", responder=True) == 5
    with pytest.raises(KeyError, match="not grouped by sex"):
        tally.get("cipn", sex="male")
