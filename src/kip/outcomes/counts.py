"""The study's counts, computed inside the engine with Ibis.

Every query is a group_by/aggregate over the analysis tables, so the engine reads the patient-level
rows and only a count per group (a few thousand rows at most, whatever the registry's size) comes
back to Python. kip.outcomes.tables then assembles cells and runs the tests on these counts.

Two queries do all the counting, because at scale the engine's time goes into passes over the
tables, not into the size of the result: one scan of `patients` grouped by every column a
patient-level tally uses, and one join of all the per-infusion, per-event and per-adjuvant rows to
their patient's etiology (a single hash table on `patient_id`, probed once per row; on SQLite, one
join per tally within the same query). Each tally is then the sum of the returned groups over the
columns it does not use, in Python, on a result whose size depends on the vocabularies, not on N.

Groups always start with `etiology`, the column of every table; a column's "total" is the sum of
its etiologies, which the tally does in Python on the already small count table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from kip.outcomes.dataset import ETIOLOGIES
from kip.outcomes.engines import AnalysisTables

__all__ = ["AgeSums", "StudyCounts", "Tally", "count_study"]

TOTAL = "total"
# The key of a column's total in Tally's sums: equal to no etiology value, not even a null one.
_ALL = object()

Key = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts per group, `by` naming the group columns (etiology first)."""

    by: tuple[str, ...]
    counts: Mapping[Key, int]
    # Sums over the columns a `get` does not name, per set of named columns: a table asks a
    # tally the same question of five columns, and ~1,200 cells ask ~20 distinct questions.
    _sums: dict[tuple[str, ...], dict[Key, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def get(self, column: str, **where: object) -> int:
        """Rows of `column` (an etiology, or "total") whose group values equal `where`."""
        unknown = set(where) - set(self.by[1:])
        if unknown:
            raise KeyError(f"not grouped by {', '.join(sorted(unknown))} (by {self.by})")
        names = tuple(sorted(where))
        sums = self._sums.get(names)
        if sums is None:
            sums = self._sums[names] = self._sum_by(names)
        return sums.get((_ALL if column == TOTAL else column, *(where[n] for n in names)), 0)

    def _sum_by(self, names: tuple[str, ...]) -> dict[Key, int]:
        positions = [self.by.index(name) for name in names]
        sums: defaultdict[Key, int] = defaultdict(int)
        for key, n in self.counts.items():
            values = tuple(key[i] for i in positions)
            sums[(key[0], *values)] += n
            sums[(_ALL, *values)] += n
        return dict(sums)


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


def _rows(query: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = query.to_pyarrow().to_pylist()
    return rows


def _tally(by: tuple[str, ...], groups: Iterable[tuple[Key, int]]) -> Tally:
    """The groups summed per key: a tally over fewer columns than the query grouped by."""
    counts: defaultdict[Key, int] = defaultdict(int)
    for key, n in groups:
        counts[key] += int(n)
    return Tally(by=by, counts=MappingProxyType({k: n for k, n in counts.items() if n}))


# ---- patient-level tallies: one scan of `patients` -------------------------------------------

# Every column a patient-level tally groups by. Most are functions of the etiology or each other
# (a detail belongs to one etiology, a duration band only to responders with >= 2 infusions), so
# the groups number about two thousand however many patients there are.
_PATIENT_GROUPS = (
    "etiology",
    "sex",
    "primary_cancer",
    "metastases",
    "etiology_detail",
    "responder",
    "pain_or_ae_limited",
    "multi",
    "duration_band",
    "any_adverse_event",
)
_PATIENT_TALLIES: Mapping[str, tuple[str, ...]] = {
    "sex": ("etiology", "sex"),
    "cancer": ("etiology", "primary_cancer"),
    "metastases": ("etiology", "metastases"),
    "detail": ("etiology", "etiology_detail"),
    "response": ("etiology", "responder", "pain_or_ae_limited", "multi", "duration_band"),
    "patient_ae": ("etiology", "any_adverse_event"),
}


def _patient_groups(patients: Any) -> pa.Table:
    rows = patients.mutate(multi=patients.n_infusions >= 2)
    age = rows.age_years
    query = rows.group_by(list(_PATIENT_GROUPS)).aggregate(
        n=rows.count(), total=age.sum(), squares=(age * age).sum()
    )
    groups: pa.Table = query.to_pyarrow()
    return groups


def _sum_groups(groups: pa.Table, by: tuple[str, ...], columns: tuple[str, ...]) -> list[Any]:
    # Arrow's group_by, in C++: the patients' groups number a few thousand, asked seven ways.
    summed = groups.group_by(list(by)).aggregate([(c, "sum") for c in columns])
    return [
        (tuple(row[name] for name in by), *(row[f"{c}_sum"] for c in columns))
        for row in summed.to_pylist()
    ]


def _patient_tally(groups: pa.Table, by: tuple[str, ...]) -> Tally:
    return _tally(by, _sum_groups(groups, by, ("n",)))


def _age_sums(groups: pa.Table) -> AgeSums:
    sums = {
        str(key[0]): (int(n), int(total), int(squares))
        for key, n, total, squares in _sum_groups(groups, ("etiology",), ("n", "total", "squares"))
        if key[0] in ETIOLOGIES
    }
    return AgeSums(sums=MappingProxyType(sums))


# ---- per-infusion, per-event and per-adjuvant tallies: one join to `patients` ----------------

# The patient columns a fact tally may group by besides etiology.
_FROM_PATIENT = ("responder",)
_NULLABLE = {"text": dt.String(nullable=True), "flag": dt.Boolean(nullable=True)}
# The stacked columns that carry the tallies' own columns, by type; a tally uses the first few.
_SLOT_TYPES = (*(f"text_{i}" for i in range(1, 3)), *(f"flag_{i}" for i in range(1, 6)))


@dataclass(frozen=True, slots=True)
class _Facts:
    """One tally's rows before the join: `patient_id` and the columns of `by` (after etiology)
    that are not the patient's."""

    rows: Any
    by: tuple[str, ...]


def _fact_sources(tables: AnalysisTables) -> dict[str, _Facts]:
    adjuvants = tables.adjuvants
    in_use = adjuvants.filter(adjuvants.in_use_during_ketamine)
    events = tables.adverse_events
    return {
        "adjuvants": _Facts(adjuvants, ("drug_class", "in_use_during_ketamine", "responder")),
        # Patients with an adjuvant in use, once each: without_adjuvants is all patients of the
        # group minus these.
        "adjuvant_users": _Facts(in_use.select("patient_id").distinct(), ("responder",)),
        "infusions": _Facts(tables.infusions, ("any_adverse_event",)),
        # Table 5 counts infusions with an event of a kind, so two events of one kind in one
        # infusion count once.
        "ae_category": _Facts(
            events.select("patient_id", "infusion_number", "category").distinct(), ("category",)
        ),
        "ae_resolution": _Facts(
            events.select("patient_id", "infusion_number", "resolution").distinct(),
            ("resolution",),
        ),
        "pandemic": _Facts(
            tables.pandemic_followups,
            (
                "responder_last",
                "duration_band_last",
                "ae_gi",
                "ae_neuro",
                "ae_psych",
                "pain_returned",
                "med_change",
            ),
        ),
    }


def _slots(facts: _Facts) -> dict[str, str]:
    """The stacked column (text_i or flag_i) that carries each of the tally's own columns."""
    slots: dict[str, str] = {}
    for name in facts.by:
        if name in _FROM_PATIENT:
            continue
        dtype = facts.rows[name].type()
        kind = "text" if dtype.is_string() else "flag" if dtype.is_boolean() else None
        if kind is None:
            raise TypeError(f"{name}: a fact tally groups by strings and booleans, not {dtype}")
        slots[name] = f"{kind}_{sum(s.startswith(kind) for s in slots.values()) + 1}"
    return slots


def _null(column: str) -> Any:
    # A text slot is a string; a flag slot and the patient's responder are booleans.
    return ibis.null(_NULLABLE["text" if column.startswith("text_") else "flag"])


def _fact_groups(tables: AnalysisTables) -> dict[str, Tally]:
    """Every fact tally from one query, its groups tagged with the tally they belong to."""
    sources = _fact_sources(tables)
    slots = {name: _slots(facts) for name, facts in sources.items()}
    used = {slot for by_slot in slots.values() for slot in by_slot.values()}
    columns = [c for c in _SLOT_TYPES if c in used]
    patients = tables.patients.select("patient_id", "etiology", *_FROM_PATIENT)
    parts = []
    for name, facts in sources.items():
        # Nullable in every part: engines declare NOT NULL columns, and a union's parts must
        # have one schema.
        own = {
            slot: facts.rows[column].cast(_NULLABLE[slot.split("_")[0]])
            for column, slot in slots[name].items()
        }
        parts.append(_Part(facts.rows, own, tuple(c for c in facts.by if c in _FROM_PATIENT)))
    if ibis.get_backend(tables.patients).name == "sqlite":
        query = _join_then_stack(parts, patients, columns)
    else:
        query = _stack_then_join(parts, patients, columns)
    groups = _rows(query)
    tallies = {}
    for tag, (name, facts) in enumerate(sources.items()):
        where = [slots[name].get(c, c) for c in facts.by]
        tallies[name] = _tally(
            ("etiology", *facts.by),
            (
                ((g["etiology"], *(g[c] for c in where)), g["n"])
                for g in groups
                if g["tally"] == tag
            ),
        )
    return tallies


@dataclass(frozen=True, slots=True)
class _Part:
    """One tally's rows: their table, its columns as stacked columns, the patient's columns."""

    rows: Any
    own: Mapping[str, Any]
    from_patient: tuple[str, ...]


def _stack_then_join(parts: list[_Part], patients: Any, columns: list[str]) -> Any:
    """Hash-join engines (DuckDB, PostgreSQL, Spark): every part's rows stacked, then one join,
    so the hash table on `patients` is built once and probed by every row. Building it once per
    tally costs more than grouping the stacked rows by more columns."""
    stacked = ibis.union(
        *(
            part.rows.select(
                tally=ibis.literal(tag, "int8"),
                patient_id=part.rows.patient_id,
                **{c: part.own.get(c, _null(c)) for c in columns},
            )
            for tag, part in enumerate(parts)
        ),
        distinct=False,
    )
    joined = stacked.join(patients, "patient_id")
    return joined.group_by(["tally", "etiology", *_FROM_PATIENT, *columns]).aggregate(
        n=joined.count()
    )


def _join_then_stack(parts: list[_Part], patients: Any, columns: list[str]) -> Any:
    """SQLite: each part joined and grouped by its own columns, then the groups stacked. SQLite
    materializes a union before joining it and sorts to group, at a cost per grouped column and
    row, so stacking first is slower there than one query per tally."""
    grouped = []
    for tag, part in enumerate(parts):
        joined = part.rows.select("patient_id", **part.own).join(patients, "patient_id")
        own = ["etiology", *part.from_patient, *part.own]
        counted = joined.group_by(own).aggregate(n=joined.count())
        grouped.append(
            counted.select(
                tally=ibis.literal(tag, "int8"),
                etiology=counted.etiology,
                **{c: counted[c] if c in own else _null(c) for c in (*_FROM_PATIENT, *columns)},
                n=counted.n,
            )
        )
    return ibis.union(*grouped, distinct=False)


def _without(patients: Tally, users: Tally) -> Tally:
    """Patients per (etiology, responder) minus those with an adjuvant in use."""
    return _tally(
        patients.by,
        [*patients.counts.items(), *((key, -n) for key, n in users.counts.items())],
    )


def count_study(tables: AnalysisTables) -> StudyCounts:
    """All the study's counts, from two group_by/aggregate queries run in the engine."""
    groups = _patient_groups(tables.patients)
    patient = {name: _patient_tally(groups, by) for name, by in _PATIENT_TALLIES.items()}
    facts = _fact_groups(tables)
    return StudyCounts(
        **patient,
        ages=_age_sums(groups),
        adjuvants=facts["adjuvants"],
        without_adjuvants=_without(
            _patient_tally(groups, ("etiology", "responder")), facts["adjuvant_users"]
        ),
        infusions=facts["infusions"],
        ae_category=facts["ae_category"],
        ae_resolution=facts["ae_resolution"],
        pandemic=facts["pandemic"],
    )
