"""The study's counts in plain pandas: the baseline bench/outcomes_scale.py measures kip against.

Written the way an analyst would (read the Parquet into DataFrames, merge the etiology in,
groupby().size()), with the usual care (low-cardinality strings as categoricals, only the needed
columns), and returning kip's own StudyCounts so that the bench can assert both give the same
numbers before it compares their times. Not part of kip: the report never runs on pandas.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from kip.outcomes.counts import AgeSums, Key, StudyCounts, Tally
from kip.outcomes.dataset import ETIOLOGIES

# The columns the counts read, per table (the same ones kip's queries touch).
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "age_years",
        "sex",
        "etiology",
        "primary_cancer",
        "metastases",
        "etiology_detail",
        "responder",
        "pain_or_ae_limited",
        "n_infusions",
        "duration_band",
        "any_adverse_event",
    ),
    "infusions": ("patient_id", "any_adverse_event"),
    "adverse_events": ("patient_id", "infusion_number", "category", "resolution"),
    "adjuvants": ("patient_id", "drug_class", "in_use_during_ketamine"),
    "pandemic_followups": (
        "patient_id",
        "responder_last",
        "duration_band_last",
        "ae_gi",
        "ae_neuro",
        "ae_psych",
        "pain_returned",
        "med_change",
    ),
}

# Strings with a handful of values: categoricals group faster and take less memory.
_CATEGORICAL = {
    "sex",
    "etiology",
    "primary_cancer",
    "etiology_detail",
    "duration_band",
    "category",
    "resolution",
    "drug_class",
    "duration_band_last",
    "med_change",
}


def read_frames(directory: Path | str) -> dict[str, pd.DataFrame]:
    """The needed columns of bench/outcomes_scale.py's Parquet files, as DataFrames."""
    frames = {}
    for name, columns in COLUMNS.items():
        frame = pd.read_parquet(Path(directory) / f"{name}.parquet", columns=list(columns))
        for column in _CATEGORICAL.intersection(columns):
            frame[column] = frame[column].astype("category")
        frames[name] = frame
    return frames


def _plain(value: Hashable) -> object:
    # Group keys come back as NumPy scalars and NaN; kip's come back as Python values and None.
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def tally(frame: pd.DataFrame, by: tuple[str, ...]) -> Tally:
    sizes = frame.groupby(list(by), dropna=False, observed=True).size()
    counts: dict[Key, int] = {}
    for key, n in sizes.items():
        parts = key if isinstance(key, tuple) else (key,)
        if n:
            counts[tuple(_plain(part) for part in parts)] = int(n)
    return Tally(by=by, counts=MappingProxyType(counts))


def _age_sums(patients: pd.DataFrame) -> AgeSums:
    ages = patients.assign(squares=patients["age_years"] ** 2)
    sums = ages.groupby("etiology", observed=True).agg(
        n=("age_years", "size"), total=("age_years", "sum"), squares=("squares", "sum")
    )
    return AgeSums(
        sums=MappingProxyType(
            {
                str(et): (int(row.n), int(row.total), int(row.squares))
                for et, row in sums.iterrows()
                if et in ETIOLOGIES
            }
        )
    )


def study_counts(frames: Mapping[str, pd.DataFrame]) -> StudyCounts:
    """kip.outcomes.counts.count_study's counts, computed by pandas from DataFrames."""
    patients = frames["patients"]
    etiology = patients[["patient_id", "etiology"]]
    adjuvants = frames["adjuvants"]
    in_use = adjuvants.loc[adjuvants["in_use_during_ketamine"], "patient_id"]
    events = frames["adverse_events"].merge(etiology, on="patient_id")
    key = ["etiology", "patient_id", "infusion_number"]
    return StudyCounts(
        sex=tally(patients, ("etiology", "sex")),
        cancer=tally(patients, ("etiology", "primary_cancer")),
        metastases=tally(patients, ("etiology", "metastases")),
        detail=tally(patients, ("etiology", "etiology_detail")),
        ages=_age_sums(patients),
        response=tally(
            patients.assign(multi=patients["n_infusions"] >= 2),
            ("etiology", "responder", "pain_or_ae_limited", "multi", "duration_band"),
        ),
        adjuvants=tally(
            adjuvants.merge(patients[["patient_id", "etiology", "responder"]], on="patient_id"),
            ("etiology", "drug_class", "in_use_during_ketamine", "responder"),
        ),
        without_adjuvants=tally(
            patients[~patients["patient_id"].isin(in_use)], ("etiology", "responder")
        ),
        patient_ae=tally(patients, ("etiology", "any_adverse_event")),
        infusions=tally(
            frames["infusions"].merge(etiology, on="patient_id"),
            ("etiology", "any_adverse_event"),
        ),
        ae_category=tally(events.drop_duplicates([*key, "category"]), ("etiology", "category")),
        ae_resolution=tally(
            events.drop_duplicates([*key, "resolution"]), ("etiology", "resolution")
        ),
        pandemic=tally(
            frames["pandemic_followups"].merge(etiology, on="patient_id"),
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
