"""The analysis dataset: one table per entity, described as data (docs/analysis-dataset.md).

Oh et al. 2021 count some figures per patient (Tables 1, 2, 4 and 5's "any adverse event"), some per
responder (Table 3), some per infusion (Table 5's types of adverse event) and some per enrolled
patient at the COVID-19 pause (Table 6). Keeping one table per entity, with the study's definitions
on each column, is what lets a recomputation count each figure over the right denominator.

The schema is plain data (`TABLES`), not a model class, so the same description can validate rows
read from CSV or Parquet and generate SQL views without tying kip to one engine. Rows are dicts of
Python values: str, int, float, bool, `datetime.date`, or None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ADJUVANT_CLASSES",
    "AE_CATEGORIES",
    "AE_TERMS",
    "CANCERS",
    "DURATION_BANDS",
    "ETIOLOGIES",
    "ETIOLOGY_DETAILS",
    "MED_CHANGES",
    "PHASES",
    "RESOLUTIONS",
    "TABLES",
    "Column",
    "ColumnType",
    "Row",
    "Table",
    "Value",
    "duration_band",
    "validate_dataset",
    "validate_rows",
]

ColumnType = Literal["string", "integer", "number", "boolean", "date"]
Value = str | int | float | bool | dt.date | None
Row = Mapping[str, Value]

ETIOLOGIES: tuple[str, ...] = ("tumor_compression", "cipn", "postsurgical", "postradiation")

# Table 1's primary cancer rows, in printed order.
CANCERS: tuple[str, ...] = (
    "germ_cell",
    "gynecological",
    "skin",
    "breast",
    "colorectal",
    "lymphoma_leukemia",
    "prostate",
    "lung",
    "esophageal",
    "multiple_myeloma",
    "kidney",
    "pituitary",
    "pancreas",
    "nerve_sheath",
    "bone_soft_tissue",
    "head_and_neck",
)

# Table 1 prints one detail block per etiology; a patient's detail must come from its own block.
ETIOLOGY_DETAILS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "tumor_compression": ("cranial_nerve", "nerve_roots", "plexus"),
        "cipn": (
            "oxaliplatin",
            "octreotide",
            "docetaxel",
            "exemestane",
            "paclitaxel",
            "cetuximab",
            "paclitaxel_herceptin",
            "paclitaxel_carboplatin",
            "cisplatin_etoposide",
            "thp",
            "folfox",
            "r_gemox",
            "ddac",
            "rvd",
            "cybord",
            "ac_t",
            "flag_ida",
            "hyper_cvad",
            "epoch",
            "hidac",
        ),
        "postsurgical": ("post_thoracotomy", "postmastectomy", "post_nephrectomy", "other"),
        "postradiation": ("head_and_neck", "spine"),
    }
)

# Relief after the last infusion, as Tables 3 and 6 band it; "2_3wk" is 14 to 20 days.
DURATION_BANDS: tuple[str, ...] = ("lt_2wk", "2_3wk", "ge_3wk")

# Protocol phases of kip.protocol's mskcc-2021 (infusion 1; infusions 2-3; infusion 4 onwards).
PHASES: tuple[str, ...] = ("first", "induction", "maintenance")

# Table 5's categories, printed order; the terms are the examples Table 5 prints beside each.
AE_TERMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "anaphylaxis": ("anaphylaxis",),
        "cardiovascular": ("hypertension", "tachycardia"),
        "gastrointestinal": ("nausea", "vomiting"),
        "muscular": ("stiffness", "spasms"),
        "neurological": ("headache", "dizziness", "somnolence"),
        "ophthalmologic": ("diplopia",),
        "psychiatric": ("anxiety", "depression", "dissociation", "hallucinations"),
        "respiratory": ("laryngospasm", "respiratory_depression"),
        "skin": ("rash",),
    }
)
AE_CATEGORIES: tuple[str, ...] = tuple(AE_TERMS)

# Table 5 also prints a "No" (not resolved) row; it is 0 everywhere and the text says every adverse
# event resolved, so an unresolved event is not a value this dataset can hold.
RESOLUTIONS: tuple[str, ...] = ("self_resolved", "intervention")

ADJUVANT_CLASSES: tuple[str, ...] = (
    "opioid",
    "snri",
    "tca",
    "gabapentinoid",
    "other_anticonvulsant",
    "topical",
    "cannabis",
    "other",
)

MED_CHANGES: tuple[str, ...] = (
    "opioid_increase",
    "gabapentinoid_increase",
    "cannabis_start",
    "none",
)


def duration_band(relief_days: int) -> str:
    """The Table 3 / Table 6 band of a relief duration in days."""
    if relief_days < 14:
        return "lt_2wk"
    if relief_days < 21:
        return "2_3wk"
    return "ge_3wk"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    allowed: tuple[str, ...] | None = None
    nullable: bool = False
    description: str = ""
    feeds: tuple[str, ...] = ()
    """Published figures (figure_id patterns, kip.outcomes.published) counted from this column."""
    minimum: float | None = None
    maximum: float | None = None


RowRule = Callable[[Row], str | None]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = field(default=())
    """Checks across columns of one row; each returns an error message or None."""

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _detail_matches_etiology(row: Row) -> str | None:
    etiology, detail = row.get("etiology"), row.get("etiology_detail")
    if isinstance(etiology, str) and detail not in ETIOLOGY_DETAILS.get(etiology, (detail,)):
        return f"etiology_detail: {detail!r} is not a Table 1 detail of {etiology}"
    return None


def _limited_needs_responder(row: Row) -> str | None:
    # Table 2 counts pain/AE-limited patients out of responders: a nonresponder cannot be one.
    if row.get("pain_or_ae_limited") is True and row.get("responder") is not True:
        return "pain_or_ae_limited: only a responder can be pain/adverse event-limited"
    return None


def _band_matches_days(row: Row, days_key: str, band_key: str) -> str | None:
    days, band = row.get(days_key), row.get(band_key)
    if (days is None) != (band is None):
        return f"{band_key}: must be null exactly when {days_key} is null"
    if isinstance(days, int) and not isinstance(days, bool) and band != duration_band(days):
        return f"{band_key}: {band!r} does not match {days_key}={days} ({duration_band(days)!r})"
    return None


def _patient_band(row: Row) -> str | None:
    return _band_matches_days(row, "relief_days_last_infusion", "duration_band")


def _followup_band(row: Row) -> str | None:
    return _band_matches_days(row, "relief_days_last", "duration_band_last")


def _term_matches_category(row: Row) -> str | None:
    category, term = row.get("category"), row.get("term")
    if isinstance(category, str) and category in AE_TERMS and term not in AE_TERMS[category]:
        return f"term: {term!r} is not a Table 5 {category} term"
    return None


def _med_change_needs_pain_returned(row: Row) -> str | None:
    # Table 6's medication changes are counted over the 13 patients whose pain returned only.
    if (row.get("med_change") is None) == (row.get("pain_returned") is True):
        return "med_change: must be set exactly when pain_returned is true"
    return None


def _responder_last_is_two_weeks(row: Row) -> str | None:
    # The paper's responder rule after a subsequent infusion is >= 2 weeks of relief; Table 6's
    # responder and "<2 weeks" counts agree with it column by column.
    band, responder = row.get("duration_band_last"), row.get("responder_last")
    if isinstance(band, str) and isinstance(responder, bool) and responder != (band != "lt_2wk"):
        return "responder_last: must be true exactly when duration_band_last is not lt_2wk"
    return None


PATIENT_ID = Column(
    "patient_id",
    "string",
    description="Study identifier; random, never derived from patient data (HIPAA 164.514(c)).",
)

PATIENTS = Table(
    name="patients",
    description="One row per patient treated with the IV ketamine protocol (57 in the study).",
    key=("patient_id",),
    columns=(
        PATIENT_ID,
        Column("site", "string", description="Treating centre (the study is single-centre)."),
        Column(
            "age_years",
            "integer",
            description="Age in whole years (Table 1 prints mean and sample SD per column).",
            feeds=("T1.age_years.*",),
            minimum=18,
            maximum=89,
        ),
        Column("sex", "string", ("female", "male"), feeds=("T1.sex.*",)),
        Column(
            "etiology",
            "string",
            ETIOLOGIES,
            description="Cause of the neuropathic pain: the column of every table.",
            feeds=("T1.patients.*", "T2.patients.*", "T4.patients.*", "T5.patients.*"),
        ),
        Column("primary_cancer", "string", CANCERS, feeds=("T1.cancer.*",)),
        Column("metastases", "boolean", feeds=("T1.metastases.*",)),
        Column(
            "etiology_detail",
            "string",
            tuple(d for details in ETIOLOGY_DETAILS.values() for d in details),
            description="Compression location, CIPN regimen, surgery type or radiation site; "
            "must belong to the row's etiology.",
            feeds=(
                "T1.compression_site.*",
                "T1.cipn_regimen.*",
                "T1.postsurgical_type.*",
                "T1.radiation_site.*",
            ),
        ),
        Column(
            "responder",
            "boolean",
            description=">= 30% NPRS reduction or positive qualifiers, with functional "
            "improvement and/or fewer adjuvants; per patient over the whole program.",
            feeds=("T2.responders.*", "T2.nonresponders.*", "T4.*.responders_*"),
        ),
        Column(
            "pain_or_ae_limited",
            "boolean",
            description="A responder who came off the program despite relief, because of an "
            "adverse event or reduced efficacy of later infusions (Table 2 footnote).",
            feeds=("T2.pae_limited.*",),
        ),
        Column(
            "n_infusions",
            "integer",
            description="Infusions received; must equal the patient's rows in `infusions`.",
            feeds=("T3.responders_ge2_infusions.*", "T5.infusions.*"),
            minimum=1,
        ),
        Column(
            "relief_days_last_infusion",
            "integer",
            nullable=True,
            description="Days of relief after the last infusion in the record. Null where the "
            "study reports none: nonresponders and responders with a single infusion.",
            minimum=0,
        ),
        Column(
            "duration_band",
            "string",
            DURATION_BANDS,
            nullable=True,
            description="Band of relief_days_last_infusion; Table 3 counts it over responders "
            "with >= 2 infusions.",
            feeds=("T3.relief_*",),
        ),
        Column(
            "any_adverse_event",
            "boolean",
            description="An adverse event during any infusion of the program (Table 5 footnote); "
            "must agree with `adverse_events`.",
            feeds=("T5.any_ae.*",),
        ),
        Column(
            "enrolled_at_pandemic",
            "boolean",
            description="On the protocol when infusions were postponed for COVID-19; such a "
            "patient has one `pandemic_followups` row.",
            feeds=("T6.patients.*",),
        ),
    ),
    rules=(_detail_matches_etiology, _limited_needs_responder, _patient_band),
)

INFUSIONS = Table(
    name="infusions",
    description="One row per 4-hour infusion session (192 in the study).",
    key=("patient_id", "infusion_number"),
    columns=(
        PATIENT_ID,
        Column(
            "infusion_number",
            "integer",
            description="1 for the first infusion; each row is one infusion of Table 5's counts.",
            feeds=("T5.infusions.*", "T5.ae_type.*"),
            minimum=1,
        ),
        Column("date", "date", description="Day of the session."),
        Column("phase", "string", PHASES, description="Protocol phase (kip.protocol ids)."),
        Column(
            "max_rate_mg_per_h",
            "number",
            description="Highest rate reached in the session.",
            minimum=0,
            maximum=70,
        ),
        Column(
            "any_adverse_event",
            "boolean",
            description="The infusion had an adverse event; must agree with `adverse_events`.",
            feeds=("T5.ae_type.any.*",),
        ),
    ),
)

ADVERSE_EVENTS = Table(
    name="adverse_events",
    description="One row per adverse event of an infusion, with its Table 5 category.",
    key=("patient_id", "infusion_number", "term"),
    columns=(
        PATIENT_ID,
        Column("infusion_number", "integer", minimum=1),
        Column("term", "string", tuple(t for terms in AE_TERMS.values() for t in terms)),
        Column(
            "category",
            "string",
            AE_CATEGORIES,
            description="Table 5 counts infusions with an event of the category.",
            feeds=("T5.ae_type.*",),
        ),
        Column(
            "resolution",
            "string",
            RESOLUTIONS,
            description="Self-resolved (no intervention, infusion not adjusted) or resolved "
            "with intervention (infusion stopped/reduced, as-needed medication).",
            feeds=("T5.resolution.*",),
        ),
    ),
    rules=(_term_matches_category,),
)

ADJUVANTS = Table(
    name="adjuvants",
    description="One row per patient and adjuvant class recorded; a missing row means unknown.",
    key=("patient_id", "drug_class"),
    columns=(
        PATIENT_ID,
        Column(
            "drug_class",
            "string",
            ADJUVANT_CLASSES,
            description="Adjuvant class (named drug_class: `class` is a Python keyword).",
            feeds=("T4.*",),
        ),
        Column(
            "in_use_during_ketamine",
            "boolean",
            description="Taken concurrently with the ketamine program (Table 4's users).",
            feeds=("T4.*.users.*", "T4.*.nonusers.*"),
        ),
    ),
)

PANDEMIC_FOLLOWUPS = Table(
    name="pandemic_followups",
    description="One row per patient enrolled when infusions stopped for COVID-19 (14).",
    key=("patient_id",),
    columns=(
        Column(
            "patient_id",
            "string",
            description="A patient of `patients` with enrolled_at_pandemic true.",
            feeds=("T6.patients.*",),
        ),
        Column(
            "last_infusion_number",
            "integer",
            description="The patient's last infusion before the pause, which the row describes.",
            minimum=1,
        ),
        Column(
            "responder_last",
            "boolean",
            description="Responded to that infusion (>= 2 weeks of relief).",
            feeds=("T6.responders.*",),
        ),
        Column("relief_days_last", "integer", description="Days of relief.", minimum=0),
        Column("duration_band_last", "string", DURATION_BANDS, feeds=("T6.relief_*",)),
        Column("ae_gi", "boolean", feeds=("T6.ae.gastrointestinal.*", "T6.ae.none.*")),
        Column("ae_neuro", "boolean", feeds=("T6.ae.neurological.*", "T6.ae.none.*")),
        Column("ae_psych", "boolean", feeds=("T6.ae.psychiatric.*", "T6.ae.none.*")),
        Column(
            "pain_returned",
            "boolean",
            description="Pain returned to baseline during the pause (13 of 14); the "
            "denominator of Table 6's medication changes.",
            feeds=("T6.medication_change.*",),
        ),
        Column(
            "med_change",
            "string",
            MED_CHANGES,
            nullable=True,
            description="Pain medication change; null when pain did not return (Table 6 "
            "counts changes over the 13 whose pain returned).",
            feeds=("T6.medication_change.*",),
        ),
    ),
    rules=(_followup_band, _med_change_needs_pain_returned, _responder_last_is_two_weeks),
)

TABLES: Mapping[str, Table] = MappingProxyType(
    {t.name: t for t in (PATIENTS, INFUSIONS, ADVERSE_EVENTS, ADJUVANTS, PANDEMIC_FOLLOWUPS)}
)


def _type_error(column: Column, value: object) -> str | None:
    # bool is an int subclass and date a datetime base: check exact kinds so a CSV loader's
    # mistakes (True for 1, a datetime for a date) are caught.
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "date": isinstance(value, dt.date) and not isinstance(value, dt.datetime),
    }[column.type]
    return None if ok else f"expected {column.type}, got {type(value).__name__} {value!r}"


def _value_error(column: Column, value: Value) -> str | None:
    if value is None:
        return None if column.nullable else "must not be null"
    wrong_type = _type_error(column, value)
    if wrong_type is not None:
        return wrong_type
    if column.allowed is not None and value not in column.allowed:
        return f"{value!r} is not one of {', '.join(column.allowed)}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if column.minimum is not None and value < column.minimum:
            return f"{value!r} is below the minimum {column.minimum:g}"
        if column.maximum is not None and value > column.maximum:
            return f"{value!r} is above the maximum {column.maximum:g}"
    return None


def validate_rows(table: str, rows: Iterable[Row]) -> list[str]:
    """Every schema error of `rows`, each reading "table[row]: column: problem" (row from 0)."""
    if table not in TABLES:
        return [f"{table}: unknown table (known: {', '.join(TABLES)})"]
    spec = TABLES[table]
    errors: list[str] = []
    seen: dict[tuple[Value, ...], int] = {}
    for index, row in enumerate(rows):
        where = f"{table}[{index}]"
        for name in sorted(set(row) - set(spec.column_names)):
            errors.append(f"{where}: {name}: not a column of {table}")
        for column in spec.columns:
            if column.name not in row:
                errors.append(f"{where}: {column.name}: missing")
                continue
            problem = _value_error(column, row[column.name])
            if problem is not None:
                errors.append(f"{where}: {column.name}: {problem}")
        for rule in spec.rules:
            problem = rule(row)
            if problem is not None:
                errors.append(f"{where}: {problem}")
        key = tuple(row.get(k) for k in spec.key)
        if key in seen:
            errors.append(f"{where}: {', '.join(spec.key)}: duplicates row {seen[key]}")
        else:
            seen[key] = index
    return errors


def validate_dataset(dataset: Mapping[str, Sequence[Row]]) -> list[str]:
    """Schema errors of every table, then the links between tables that one table cannot check."""
    errors = [e for name in TABLES for e in validate_rows(name, dataset.get(name, ()))]
    for name in sorted(set(dataset) - set(TABLES)):
        errors.append(f"{name}: unknown table (known: {', '.join(TABLES)})")
    return errors + _link_errors(dataset)


def _link_errors(dataset: Mapping[str, Sequence[Row]]) -> list[str]:
    patients = {p["patient_id"]: p for p in dataset.get("patients", ())}
    infusions = dataset.get("infusions", ())
    events = dataset.get("adverse_events", ())
    errors: list[str] = []
    for table in ("infusions", "adverse_events", "adjuvants", "pandemic_followups"):
        for index, row in enumerate(dataset.get(table, ())):
            if row.get("patient_id") not in patients:
                errors.append(f"{table}[{index}]: patient_id: {row.get('patient_id')!r} unknown")
    infusion_keys = {(i["patient_id"], i["infusion_number"]) for i in infusions}
    event_keys = {(e["patient_id"], e["infusion_number"]) for e in events}
    for index, event in enumerate(events):
        if (event["patient_id"], event["infusion_number"]) not in infusion_keys:
            errors.append(f"adverse_events[{index}]: infusion_number: no such infusion")
    for index, infusion in enumerate(infusions):
        has_event = (infusion["patient_id"], infusion["infusion_number"]) in event_keys
        if infusion.get("any_adverse_event") is not has_event:
            errors.append(f"infusions[{index}]: any_adverse_event: disagrees with adverse_events")
    counts: dict[Value, int] = {}
    for infusion in infusions:
        counts[infusion["patient_id"]] = counts.get(infusion["patient_id"], 0) + 1
    followed = {f.get("patient_id") for f in dataset.get("pandemic_followups", ())}
    with_events = {e.get("patient_id") for e in events}
    for index, (pid, patient) in enumerate(patients.items()):
        where = f"patients[{index}]"
        if patient.get("n_infusions") != counts.get(pid, 0):
            errors.append(f"{where}: n_infusions: {counts.get(pid, 0)} rows in infusions")
        if patient.get("any_adverse_event") is not (pid in with_events):
            errors.append(f"{where}: any_adverse_event: disagrees with adverse_events")
        if patient.get("enrolled_at_pandemic") is not (pid in followed):
            errors.append(f"{where}: enrolled_at_pandemic: disagrees with pandemic_followups")
    return errors
