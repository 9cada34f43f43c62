"""Multi-site registries of any size, shaped like Oh et al. 2021, generated with NumPy.

`kip.synth.study` rebuilds the study's 57 patients exactly; this module draws N patients whose
rates are the study's (etiology mix 13/25/13/6, sex, age, cancer and detail by etiology,
responders, infusions per patient, adverse events per infusion with Table 5's category mix,
Table 4's adjuvant use by responder status, duration bands, pandemic follow-ups), for benchmarks
and for engines that must count more than the study holds. Every rate below is computed from the
study's constants, so the two generators cannot drift apart.

Everything is drawn column-wise (one NumPy call per attribute, or per etiology), never per row:
a million patients, ~3.4 million infusions, take a few seconds. The output is the analysis
dataset (kip.outcomes.dataset) as Arrow tables with the dataset's types, written to Parquet one
file per table, and loadable into any engine of kip.outcomes.engines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from kip.outcomes.dataset import (
    ADJUVANT_CLASSES,
    AE_CATEGORIES,
    AE_TERMS,
    CANCERS,
    DURATION_BANDS,
    ETIOLOGIES,
    ETIOLOGY_DETAILS,
    MED_CHANGES,
    PHASES,
    RESOLUTIONS,
    TABLES,
    ColumnType,
    Value,
)
from kip.synth import study

__all__ = [
    "Registry",
    "arrow_schema",
    "generate",
    "load_parquet",
    "read_parquet",
    "to_rows",
    "write_parquet",
]

Registry = dict[str, pa.Table]
"""Table name (kip.outcomes.dataset.TABLES) to an Arrow table of that table's schema."""

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]

REGISTRY_START = dt.date(2018, 4, 1)
REGISTRY_END = dt.date(2025, 12, 31)
# Share of infusions with an adverse event that have a second one (the paper: "several patients
# had multiple adverse events"); it exercises Table 5's count of distinct infusions per category.
SECOND_EVENT = 0.1
# Share of (patient, drug class) rows not recorded: the dataset's "unknown", which Table 4 must
# leave out of both users and non-users.
UNRECORDED_ADJUVANT = 0.03
# Titration stops short of the phase maximum when not tolerated: 0, 1 or 2 steps of 5 mg/h.
RATE_SHORTFALL_STEPS = (0.8, 0.15, 0.05)
ROW_GROUP_SIZE = 256 * 1024

_ARROW_TYPES: Mapping[ColumnType, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}
_EPOCH = dt.date(1970, 1, 1)
_N_ET = len(ETIOLOGIES)


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of an analysis table, NOT NULL where the dataset says so."""
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in TABLES[table].columns]
    )


# ---- rates from the study's constants ------------------------------------------------------------


def _by_etiology(values: Mapping[str, float]) -> Floats:
    return np.array([float(values[et]) for et in ETIOLOGIES])


def _ratio(numerator: Mapping[str, int], denominator: Mapping[str, int]) -> Floats:
    num, den = _by_etiology(numerator), _by_etiology(denominator)
    return np.divide(num, den, out=np.zeros(_N_ET), where=den > 0)


def _minus(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {et: a[et] - b[et] for et in ETIOLOGIES}


_RESPONDERS = study.RESPONDERS
_NONRESPONDERS = _minus(study.PATIENTS, _RESPONDERS)
_SINGLES = _minus(_RESPONDERS, study.RESPONDERS_GE2)


def _multi_infusion_mean() -> Floats:
    # Nonresponders get 1-3 infusions (mean 2) and single-infusion responders 1, so the rest of
    # each column's infusions (Table 5) fall to responders with >= 2 infusions.
    rest = _minus(
        _minus(study.INFUSIONS, {et: 2 * _NONRESPONDERS[et] for et in ETIOLOGIES}), _SINGLES
    )
    return _ratio(rest, study.RESPONDERS_GE2)


def _mix(counts: Mapping[str, Mapping[str, int]], names: Sequence[str]) -> Floats:
    """Per etiology, the share of each name; an etiology the study saw none of takes the
    pooled shares, since a registry's postradiation patients will have events too."""
    table = np.array([[counts[et].get(n, 0) for n in names] for et in ETIOLOGIES], dtype=float)
    pooled = table.sum(axis=0) / table.sum()
    rows = table.sum(axis=1, keepdims=True)
    return np.where(rows > 0, table / np.where(rows > 0, rows, 1), pooled)


def _ae_rate() -> float:
    # One rate for every column (34 of 192, 17.7%): the columns' own rates rest on 13 to 113
    # infusions each, and postradiation's 0 of 13 would make a registry's postradiation
    # patients never have an event.
    with_ae = sum(sum(study.AE_CATEGORY_COUNTS[et].values()) for et in ETIOLOGIES)
    return with_ae / sum(study.INFUSIONS.values())


def _pooled(counts: Sequence[tuple[str, int]], names: Sequence[str]) -> Floats:
    shares: Floats = np.array([sum(c for n, c in counts if n == name) for name in names], float)
    normalized: Floats = shares / shares.sum()
    return normalized


# ---- drawing helpers -----------------------------------------------------------------------------


def _choice_by_group(
    rng: np.random.Generator, group: Ints, shares: Floats
) -> npt.NDArray[np.int64]:
    """For each row, an index drawn with the probabilities of its group's row of `shares`."""
    cumulative = np.cumsum(shares, axis=1)
    cumulative[:, -1] = 1.0  # rounding must not leave a draw past the last bucket
    u: Floats = rng.random((group.shape[0],))
    drawn: Ints = (u[:, None] >= cumulative[group]).sum(axis=1).astype(np.int64)
    return drawn


def _uniform_int(rng: np.random.Generator, low: Ints, high: Ints) -> Ints:
    """Integers uniform on [low, high], inclusive, elementwise."""
    u: Floats = rng.random((low.shape[0],))
    drawn: Ints = low + np.floor(u * (high - low + 1)).astype(np.int64)
    return drawn


def _strings(values: Sequence[str], codes: Ints, null: Bools | None = None) -> pa.Array:
    indices = pa.array(codes, type=pa.int32(), mask=null)
    return pa.array(list(values), type=pa.string()).take(indices)


def _ids(rng: np.random.Generator, n: int) -> pa.Array:
    # Random identifiers, not derived from any attribute (HIPAA 164.514(c)): a permutation of
    # 0..n-1 written as "K" and 9 digits, built as Arrow buffers rather than Python strings.
    width = 10
    numbers = rng.permutation(n).astype(np.int64)
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, 0] = ord("K")
    powers = 10 ** np.arange(width - 2, -1, -1, dtype=np.int64)
    chars[:, 1:] = (numbers[:, None] // powers) % 10 + ord("0")
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def _table(name: str, columns: Mapping[str, Any]) -> pa.Table:
    schema = arrow_schema(name)
    arrays = [
        columns[f.name].cast(f.type)
        if isinstance(columns[f.name], pa.Array)
        else pa.array(columns[f.name], type=f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


# ---- the registry --------------------------------------------------------------------------------


def generate(n_patients: int, *, seed: int = 0, sites: int = 12) -> Registry:
    """A registry of `n_patients` over `sites` centres, the five analysis tables as Arrow."""
    if n_patients < 1 or sites < 1:
        raise ValueError("need at least one patient and one site")
    rng = np.random.default_rng(seed)
    n = n_patients
    patients = _patients(rng, n, sites)
    infusions, per_infusion_patient = _infusions(rng, patients)
    events = _adverse_events(rng, patients, infusions, per_infusion_patient)
    ids = _ids(rng, n)
    with_event = np.zeros(n, dtype=bool)
    with_event[per_infusion_patient[infusions["any_adverse_event"]]] = True
    patients["any_adverse_event"] = with_event
    followups = _followups(rng, patients)
    adjuvants = _adjuvants(rng, patients)
    return {
        "patients": _patient_table(patients, ids),
        "infusions": _table(
            "infusions", {**infusions, "patient_id": ids.take(pa.array(per_infusion_patient))}
        ),
        "adverse_events": _table(
            "adverse_events", {**events.columns, "patient_id": ids.take(pa.array(events.patient))}
        ),
        "adjuvants": _table(
            "adjuvants", {**adjuvants.columns, "patient_id": ids.take(pa.array(adjuvants.patient))}
        ),
        "pandemic_followups": _table(
            "pandemic_followups",
            {**followups.columns, "patient_id": ids.take(pa.array(followups.patient))},
        ),
    }


class _Rows:
    """Columns of a child table and, per row, the index of its patient."""

    def __init__(self, patient: Ints, columns: dict[str, Any]) -> None:
        self.patient = patient
        self.columns = columns


def _profiles() -> tuple[Ints, Ints, Ints, Floats]:
    """Table 1's (etiology, detail, cancer) pairings with their weights, as code arrays."""
    details = [d for et in ETIOLOGIES for d in ETIOLOGY_DETAILS[et]]
    rows = [
        (e, details.index(detail), CANCERS.index(cancer), count)
        for e, et in enumerate(ETIOLOGIES)
        for detail, cancer, count in study.PROFILES[et]
    ]
    et, detail, cancer, weight = (np.array(col) for col in zip(*rows, strict=True))
    return et, detail, cancer, weight.astype(float)


def _male_share_of_unforced() -> Floats:
    # Breast and gynecological cancers are female, prostate and germ cell male; the remaining
    # patients of a column are male at the rate that brings the column to Table 1's male count.
    share = np.zeros(_N_ET)
    for e, et in enumerate(ETIOLOGIES):
        forced = sum(c for _, cancer, c in study.PROFILES[et] if cancer in study.MALE_CANCERS)
        free = sum(
            c
            for _, cancer, c in study.PROFILES[et]
            if cancer not in study.MALE_CANCERS | study.FEMALE_CANCERS
        )
        share[e] = 0.0 if free == 0 else min(1.0, max(0.0, (study.MALES[et] - forced) / free))
    return share


def _patients(rng: np.random.Generator, n: int, sites: int) -> dict[str, Any]:
    et = rng.choice(_N_ET, size=n, p=_by_etiology(study.PATIENTS) / sum(study.PATIENTS.values()))
    site_weights = 1.0 / np.arange(1, sites + 1)  # a few large centres, a tail of small ones
    site = rng.choice(sites, size=n, p=site_weights / site_weights.sum())

    prof_et, prof_detail, prof_cancer, prof_weight = _profiles()
    shares = np.zeros((_N_ET, prof_et.shape[0]))
    shares[prof_et, np.arange(prof_et.shape[0])] = prof_weight
    shares /= shares.sum(axis=1, keepdims=True)
    profile = _choice_by_group(rng, et, shares)
    cancer = prof_cancer[profile]
    male_cancer = np.isin(cancer, [CANCERS.index(c) for c in study.MALE_CANCERS])
    female_cancer = np.isin(cancer, [CANCERS.index(c) for c in study.FEMALE_CANCERS])
    male = male_cancer | (~female_cancer & (rng.random(n) < _male_share_of_unforced()[et]))

    mean = np.array([float(study.AGE_MEAN_SD[e][0]) for e in ETIOLOGIES])
    sd = np.array([float(study.AGE_MEAN_SD[e][1]) for e in ETIOLOGIES])
    age = np.clip(np.rint(rng.normal(mean[et], sd[et])), study.AGE_MIN, study.AGE_MAX)

    responder = rng.random(n) < _ratio(_RESPONDERS, study.PATIENTS)[et]
    single = responder & (rng.random(n) < _ratio(_SINGLES, _RESPONDERS)[et])
    multi = responder & ~single
    n_infusions = np.where(responder, 1, rng.integers(1, 4, size=n))
    # Beyond the second infusion, stopping is a monthly yes/no: geometric, with the mean that
    # makes each etiology's infusions per patient the study's (192/57 overall).
    stop_p = 1.0 / (_multi_infusion_mean() - 1.0)
    extra = rng.geometric(stop_p[et])
    n_infusions = np.where(multi, np.minimum(1 + extra, study.MAX_INFUSIONS), n_infusions)
    # Enrolled at the pause means in maintenance (infusion 4 onwards), as all 14 were: drawn
    # among such patients at the rate that gives Table 6's share of multi-infusion responders
    # (capped at all of them), so the infusions per patient stay the study's.
    maintained = multi & (n_infusions >= 4)
    # P(1 + geometric >= 4) = (1 - p)^2, so the rate among maintained patients is exact.
    p_maintained = (1.0 - stop_p) ** 2
    pandemic_rate = np.minimum(1.0, _ratio(study.PANDEMIC, study.RESPONDERS_GE2) / p_maintained)
    pandemic = maintained & (rng.random(n) < pandemic_rate[et])
    # Single-infusion responders left despite relief, which is Table 2's pain/AE-limited; the
    # rest of the row comes from multi-infusion responders still off the protocol at the pause.
    limited_rate = _ratio(
        _minus(study.PAE_LIMITED, _SINGLES), _minus(study.RESPONDERS_GE2, study.PANDEMIC)
    )
    limited = single | (multi & ~pandemic & (rng.random(n) < limited_rate[et]))

    band_shares = np.array([study.RELIEF_BANDS[e] for e in ETIOLOGIES], dtype=float)
    band_shares /= band_shares.sum(axis=1, keepdims=True)
    band = _choice_by_group(rng, et, band_shares)
    low = np.array([study.RELIEF_DAYS[b][0] for b in DURATION_BANDS])[band]
    high = np.array([study.RELIEF_DAYS[b][1] for b in DURATION_BANDS])[band]
    relief = _uniform_int(rng, low, high)
    # "One patient in the postsurgical group had sustained relief for more than 3 months": the
    # one of Table 6's nine >= 3 week patients whose pain never returned.
    ge_3wk = DURATION_BANDS.index("ge_3wk")
    long_relief = sum(c[ge_3wk] for c in study.PANDEMIC_BANDS.values())
    sustained = pandemic & (band == ge_3wk) & (rng.random(n) < 1.0 / long_relief)
    relief = np.where(sustained, _uniform_int(rng, *_const(n, study.SUSTAINED_RELIEF_DAYS)), relief)

    return {
        "et": et,
        "site": site,
        "age": age.astype(np.int64),
        "male": male,
        "cancer": cancer,
        "detail": prof_detail[profile],
        "metastases": rng.random(n) < _ratio(study.METASTASES, study.PATIENTS)[et],
        "responder": responder,
        "limited": limited,
        "multi": multi,
        "pandemic": pandemic,
        "sustained": sustained,
        "n_infusions": n_infusions.astype(np.int64),
        "band": band,
        "relief": relief,
    }


def _const(n: int, bounds: tuple[int, int]) -> tuple[Ints, Ints]:
    return np.full(n, bounds[0], dtype=np.int64), np.full(n, bounds[1], dtype=np.int64)


def _days(day: dt.date) -> int:
    return (day - _EPOCH).days


def _infusions(rng: np.random.Generator, p: Mapping[str, Any]) -> tuple[dict[str, Any], Ints]:
    counts: Ints = p["n_infusions"]
    n_rows = int(counts.sum())
    patient = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    number = np.arange(n_rows) - np.repeat(starts, counts) + 1

    # Infusions 2 and 3 a week apart, maintenance about every 4 weeks (kip.protocol's schedule).
    gap = np.where(number == 1, 0, 7)
    maintenance = number > 3
    gap = np.where(maintenance, _uniform_int(rng, *_const(n_rows, study.MAINTENANCE_GAP_DAYS)), gap)
    elapsed = np.cumsum(gap)
    elapsed -= np.repeat(elapsed[starts], counts)
    span = elapsed[starts + counts - 1]
    latest = _days(REGISTRY_END) - span
    first = _days(REGISTRY_START) + np.floor(
        rng.random(counts.shape[0]) * (latest - _days(REGISTRY_START) + 1)
    ).astype(np.int64)
    # Enrolled at the pause: due for the next monthly infusion, so the last one is recent.
    last_before_pause = _days(study.PAUSE) - rng.integers(1, 29, size=counts.shape[0])
    first = np.where(p["pandemic"], last_before_pause - span, first)
    date = (first[patient] + elapsed).astype("datetime64[D]")

    phase = np.where(number == 1, 0, np.where(number <= 3, 1, 2))
    phase_max = np.array([study.PHASE_MAX_RATE[ph] for ph in PHASES])[phase]
    shortfall = rng.choice(len(RATE_SHORTFALL_STEPS), size=n_rows, p=RATE_SHORTFALL_STEPS)
    rate = phase_max - 5.0 * shortfall

    any_ae = rng.random(n_rows) < _ae_rate()
    columns = {
        "infusion_number": number,
        "date": date,
        "phase": _strings(PHASES, phase),
        "max_rate_mg_per_h": rate,
        "any_adverse_event": any_ae,
    }
    return columns, patient


def _adverse_events(
    rng: np.random.Generator,
    p: Mapping[str, Any],
    infusions: Mapping[str, Any],
    per_infusion_patient: Ints,
) -> _Rows:
    rows = np.flatnonzero(infusions["any_adverse_event"])
    et = p["et"][per_infusion_patient[rows]]
    categories = _mix(study.AE_CATEGORY_COUNTS, AE_CATEGORIES)
    self_resolved = _mix(study.RESOLUTION_COUNTS, RESOLUTIONS)[:, 0]
    terms = [t for c in AE_CATEGORIES for t in AE_TERMS[c]]
    term_count = np.array([len(AE_TERMS[c]) for c in AE_CATEGORIES])
    term_start = np.cumsum(term_count) - term_count

    def draw(where: Ints, et_of: Ints) -> tuple[Ints, Ints, Ints]:
        category = _choice_by_group(rng, et_of, categories)
        term = term_start[category] + np.floor(
            rng.random(where.shape[0]) * term_count[category]
        ).astype(np.int64)
        resolution = (rng.random(where.shape[0]) >= self_resolved[et_of]).astype(np.int64)
        return category, term, resolution

    first = draw(rows, et)
    second_of = rng.random(rows.shape[0]) < SECOND_EVENT
    second = draw(rows[second_of], et[second_of])
    # The key is (patient, infusion, term): a second event repeating the first's term is the
    # same event, so it is not recorded twice.
    keep = second[1] != first[1][second_of]
    infusion = np.concatenate([rows, rows[second_of][keep]])
    category, term, resolution = (
        np.concatenate([a, b[keep]]) for a, b in zip(first, second, strict=True)
    )
    order = np.argsort(infusion, kind="stable")
    infusion, category, term, resolution = (
        a[order] for a in (infusion, category, term, resolution)
    )
    return _Rows(
        per_infusion_patient[infusion],
        {
            "infusion_number": infusions["infusion_number"][infusion],
            "term": _strings(terms, term),
            "category": _strings(AE_CATEGORIES, category),
            "resolution": _strings(RESOLUTIONS, resolution),
        },
    )


def _followups(rng: np.random.Generator, p: dict[str, Any]) -> _Rows:
    who = np.flatnonzero(p["pandemic"])
    k = who.shape[0]
    # Table 6 pooled over columns: 14 patients are too few to split by etiology.
    ae_names = ("gastrointestinal", "neurological", "psychiatric", "none")
    ae_counts = [(a, 1) for et in ETIOLOGIES for a in study.PANDEMIC_AES[et]]
    ae_counts.append(("none", sum(study.PANDEMIC.values()) - len(ae_counts)))
    ae = rng.choice(len(ae_names), size=k, p=_pooled(ae_counts, ae_names))
    changes = [(c, n) for et in ETIOLOGIES for c, n in study.PANDEMIC_MED_CHANGES[et].items()]
    med = rng.choice(len(MED_CHANGES), size=k, p=_pooled(changes, MED_CHANGES))
    returned = ~p["sustained"][who]
    band = p["band"][who]
    # The last infusion before the pause is the patient's last recorded one, so Table 6's band
    # is Table 3's for these patients.
    return _Rows(
        who,
        {
            "last_infusion_number": p["n_infusions"][who],
            "responder_last": band != DURATION_BANDS.index("lt_2wk"),
            "relief_days_last": p["relief"][who],
            "duration_band_last": _strings(DURATION_BANDS, band),
            "ae_gi": ae == 0,
            "ae_neuro": ae == 1,
            "ae_psych": ae == 2,
            "pain_returned": returned,
            "med_change": _strings(MED_CHANGES, med, null=~returned),
        },
    )


def _adjuvants(rng: np.random.Generator, p: Mapping[str, Any]) -> _Rows:
    classes = study.STUDY_TABLE_CLASSES
    n = p["et"].shape[0]
    # P(user | class, etiology, responder) from Table 4, which keeps its associations (SNRIs
    # with response) in the registry.
    rate = np.zeros((len(classes), _N_ET, 2))
    for c, drug_class in enumerate(classes):
        users = {et: study.ADJUVANT_USERS[drug_class][et][0] for et in ETIOLOGIES}
        responding = {et: study.ADJUVANT_USERS[drug_class][et][1] for et in ETIOLOGIES}
        rate[c, :, 1] = _ratio(responding, _RESPONDERS)
        rate[c, :, 0] = _ratio(_minus(users, responding), _NONRESPONDERS)
    patient = np.repeat(np.arange(n), len(classes))
    drug = np.tile(np.arange(len(classes)), n)
    recorded = rng.random(patient.shape[0]) >= UNRECORDED_ADJUVANT
    patient, drug = patient[recorded], drug[recorded]
    in_use = (
        rng.random(patient.shape[0])
        < rate[drug, p["et"][patient], p["responder"][patient].astype(np.int64)]
    )
    class_codes = np.array([ADJUVANT_CLASSES.index(c) for c in classes])
    return _Rows(
        patient,
        {
            "drug_class": _strings(ADJUVANT_CLASSES, class_codes[drug]),
            "in_use_during_ketamine": in_use,
        },
    )


def _patient_table(p: Mapping[str, Any], ids: pa.Array) -> pa.Table:
    details = [d for et in ETIOLOGIES for d in ETIOLOGY_DETAILS[et]]
    no_relief = ~p["multi"]  # nonresponders and single-infusion responders report none
    site_names = [f"site{s + 1:02d}" for s in range(int(p["site"].max()) + 1)]
    return _table(
        "patients",
        {
            "patient_id": ids,
            "site": _strings(site_names, p["site"]),
            "age_years": p["age"],
            "sex": _strings(("female", "male"), p["male"].astype(np.int64)),
            "etiology": _strings(ETIOLOGIES, p["et"]),
            "primary_cancer": _strings(CANCERS, p["cancer"]),
            "metastases": p["metastases"],
            "etiology_detail": _strings(details, p["detail"]),
            "responder": p["responder"],
            "pain_or_ae_limited": p["limited"],
            "n_infusions": p["n_infusions"],
            "relief_days_last_infusion": pa.array(p["relief"], mask=no_relief),
            "duration_band": _strings(DURATION_BANDS, p["band"], null=no_relief),
            "any_adverse_event": p["any_adverse_event"],
            "enrolled_at_pandemic": p["pandemic"],
        },
    )


# ---- Parquet and engines -------------------------------------------------------------------------


def write_parquet(
    registry: Registry, directory: Path | str, *, row_group_size: int = ROW_GROUP_SIZE
) -> Path:
    """One `<table>.parquet` per table in `directory` (created), in row groups; the directory."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        pq.write_table(registry[name], path / f"{name}.parquet", row_group_size=row_group_size)
    return path


def read_parquet(
    directory: Path | str, columns: Mapping[str, Sequence[str]] | None = None
) -> Registry:
    """The tables written by write_parquet, optionally only some columns of each."""
    path = Path(directory)
    return {
        name: pq.read_table(
            path / f"{name}.parquet",
            columns=None if columns is None else list(columns.get(name, ())) or None,
        )
        for name in TABLES
    }


def to_rows(registry: Registry) -> dict[str, list[dict[str, Value]]]:
    """The registry as rows of Python values, for kip.outcomes.dataset.validate_dataset."""
    return {name: table.to_pylist() for name, table in registry.items()}


_SQLITE_BATCH = 64 * 1024


def load_parquet(con: Any, directory: Path | str) -> Any:
    """Create the analysis tables in an engine from write_parquet's files; its AnalysisTables.

    DuckDB and Spark read the Parquet themselves (columnar, in parallel). SQLite has no Parquet
    reader, so batches go in through one executemany per batch in a transaction; any other
    engine gets Ibis inserts per batch.
    """
    from kip.outcomes import engines  # imports Ibis: only when loading, not to generate

    path = Path(directory)
    for name in TABLES:
        file = path / f"{name}.parquet"
        if con.name in ("duckdb", "pyspark"):
            con.create_table(name, obj=con.read_parquet(str(file)), overwrite=True)
            continue
        con.create_table(name, schema=engines.table_schema(name), overwrite=True)
        batches = pq.ParquetFile(file).iter_batches(batch_size=_SQLITE_BATCH)
        if con.name == "sqlite":
            _sqlite_insert(con.con, name, batches)
        else:
            for batch in batches:
                con.insert(name, pa.Table.from_batches([batch]).to_pandas())
    return engines.analysis_tables(con)


def _sqlite_insert(connection: Any, name: str, batches: Any) -> None:
    columns = TABLES[name].column_names
    placeholders = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    statement = f'INSERT INTO "{name}" ({quoted}) VALUES ({placeholders})'
    with connection:  # one transaction: a commit per row would take minutes
        for batch in batches:
            # Ibis stores SQLite dates as ISO text and booleans as 0/1; match what it reads back.
            values = []
            for column in batch.columns:
                if pa.types.is_date(column.type):
                    column = column.cast(pa.string())
                elif pa.types.is_boolean(column.type):
                    column = column.cast(pa.int8())
                values.append(column.to_pylist())
            connection.executemany(statement, zip(*values, strict=True))
