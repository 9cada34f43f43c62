"""The study's counts, computed inside the engine with Ibis.

Every query is a group_by/aggregate over the analysis tables, so the engine reads the patient-level
rows and only a count per group (a few hundred rows at most, whatever the registry's size) comes
back to Python. kip.outcomes.tables then assembles cells and runs the tests on these counts.

Groups always start with `etiology`, the column of every table; a column's "total" is the sum of
its etiologies, which the tally does in Python on the already small count table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kip.outcomes.dataset import ETIOLOGIES
from kip.outcomes.engines import AnalysisTables

__all__ = ["AgeSums", "StudyCounts", "Tally", "count_study", "tally"]

TOTAL = "total"

Key = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts per group, `by` naming the group columns (etiology first)."""

    by: tuple[str, ...]
    counts: Mapping[Key, int]

    def get(self, column: str, **where: object) -> int:
        """Rows of `column` (an etiology, or "total") whose group values equal `where`."""
        unknown = set(where) - set(self.by[1:])
        if unknown:
            raise KeyError(f"not grouped by {', '.join(sorted(unknown))} (by {self.by})")
        positions = [(self.by.index(name), value) for name, value in where.items()]
        return sum(
            n
            for key, n in self.counts.items()
            if (column == TOTAL or key[0] == column)
            and all(key[i] == value for i, value in positions)
        )


@dataclass(frozen=True, slots=True)
class AgeSums:
    """n, sum and sum of squares of ages per etiology: the exact inputs of mean ± SD."""

    sums: Mapping[str, tuple[int, int, int]]

    def get(self, column: str) -> tuple[int, int, int]:
        parts = list(self.sums.values()) if column == TOTAL else [self.sums.get(column, (0, 0, 0))]
        return (
            sum(p[0] for p in parts),
            sum(p[1] for p in parts),
            sum(p[2] for p in parts),
        )


@dataclass(frozen=True, slots=True)
class StudyCounts:
    """Every count Tables 1-6 (and the text's own figures) are assembled from."""

    sex: Tally
    cancer: Tally
    metastases: Tally
    detail: Tally
    ages: AgeSums
    response: Tally
    """(etiology, responder, pain_or_ae_limited, multi: n_infusions >= 2, duration_band)."""
    adjuvants: Tally
    """(etiology, drug_class, in_use_during_ketamine, responder), recorded rows only."""
    without_adjuvants: Tally
    """(etiology, responder) of patients with no adjuvant recorded as in use."""
    patient_ae: Tally
    infusions: Tally
    """(etiology, any_adverse_event) per infusion."""
    ae_category: Tally
    """(etiology, category): infusions with an event of the category."""
    ae_resolution: Tally
    """(etiology, resolution): infusions with an event resolved that way."""
    pandemic: Tally
    """(etiology, responder_last, duration_band_last, ae_gi, ae_neuro, ae_psych, pain_returned,
    med_change) of the pandemic follow-ups."""


def tally(table: Any, by: tuple[str, ...]) -> Tally:
    """Run `table.group_by(by).count()` in the engine and bring back the groups."""
    query = table.group_by(list(by)).aggregate(n=table.count())
    rows = query.to_pyarrow().to_pylist()
    counts: dict[Key, int] = {}
    for row in rows:
        counts[tuple(row[name] for name in by)] = int(row["n"])
    return Tally(by=by, counts=MappingProxyType(counts))


def _age_sums(patients: Any) -> AgeSums:
    age = patients.age_years
    query = patients.group_by("etiology").aggregate(
        n=patients.count(), total=age.sum(), squares=(age * age).sum()
    )
    sums = {
        str(row["etiology"]): (int(row["n"]), int(row["total"]), int(row["squares"]))
        for row in query.to_pyarrow().to_pylist()
        if row["etiology"] in ETIOLOGIES
    }
    return AgeSums(sums=MappingProxyType(sums))


def _with_etiology(table: Any, patients: Any) -> Any:
    # Per-infusion and per-event tables carry no etiology; it is the patient's.
    return table.join(patients.select("patient_id", "etiology"), "patient_id")


def _distinct_infusions(events: Any, column: str) -> Any:
    # Table 5 counts infusions with an event of a kind, so two events of one kind in one infusion
    # count once.
    return events.select("etiology", "patient_id", "infusion_number", column).distinct()


def _without(patients: Any, users: Any) -> Any:
    """Patients with no row in `users`, as a left join keeping the unmatched.

    Not `anti_join`: Ibis writes that as a correlated NOT EXISTS, which SQLite runs as one scan of
    the adjuvants per patient (quadratic; 10^5 patients did not finish in 5 minutes), and not
    NOT IN, which PostgreSQL can only hash while the list fits in work_mem. A join every engine
    hashes (or indexes); `distinct` keeps one row per patient.
    """
    ids = users.select(user_id=users.patient_id).distinct()
    joined = patients.left_join(ids, patients.patient_id == ids.user_id)
    return joined.filter(joined.user_id.isnull())


def count_study(tables: AnalysisTables) -> StudyCounts:
    """All the study's counts, each a group_by/aggregate run in the engine."""
    patients = tables.patients
    in_use = tables.adjuvants.filter(tables.adjuvants.in_use_during_ketamine)
    response = patients.mutate(multi=patients.n_infusions >= 2)
    events = _with_etiology(tables.adverse_events, patients)
    return StudyCounts(
        sex=tally(patients, ("etiology", "sex")),
        cancer=tally(patients, ("etiology", "primary_cancer")),
        metastases=tally(patients, ("etiology", "metastases")),
        detail=tally(patients, ("etiology", "etiology_detail")),
        ages=_age_sums(patients),
        response=tally(
            response, ("etiology", "responder", "pain_or_ae_limited", "multi", "duration_band")
        ),
        adjuvants=tally(
            tables.adjuvants.join(
                patients.select("patient_id", "etiology", "responder"), "patient_id"
            ),
            ("etiology", "drug_class", "in_use_during_ketamine", "responder"),
        ),
        without_adjuvants=tally(_without(patients, in_use), ("etiology", "responder")),
        patient_ae=tally(patients, ("etiology", "any_adverse_event")),
        infusions=tally(
            _with_etiology(tables.infusions, patients), ("etiology", "any_adverse_event")
        ),
        ae_category=tally(_distinct_infusions(events, "category"), ("etiology", "category")),
        ae_resolution=tally(_distinct_infusions(events, "resolution"), ("etiology", "resolution")),
        pandemic=tally(
            _with_etiology(tables.pandemic_followups, patients),
            (
                "etiology",
                "responder_last",
                "duration_band_last",
                "ae_gi",
                "ae_neuro",
                "ae_psych",
                "pain_returned",
                "med_change",
            ),
        ),
    )
