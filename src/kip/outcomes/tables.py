"""Tables 1-6 of Oh et al. 2021 in the paper's layout, assembled from engine counts.

`study_tables(tables)` runs the counting in the engine (kip.outcomes.counts) and builds the cells
here: counts over the denominators the paper uses (docs/analysis-dataset.md), exact intervals, age
mean ± SD and P values naming their test. Row keys are the row slugs of
kip.outcomes.published, so each cell can be set beside the figure the paper printed for it.

Which test a P value cell runs follows the paper's "Statistical Analysis" as written: Tables 2, 3
and 5 test one distribution per column (one-way goodness-of-fit against equal counts, which is what
their printed values are); Table 4 compares drug users with non-users by chi-squared, or Fisher's
exact test when a subgroup has fewer than six patients (kip.outcomes.stats.compare, rule "paper").
Where the printed Table 4 did something else, `kip reproduce` says so; the rule is not bent here
to match it.
"""

from __future__ import annotations

from collections.abc import Callable

from kip.outcomes.builders import (
    ColumnCount,
    comparison_cell,
    gof,
    row,
    share,
    size,
    slug_label,
    total_of,
    where,
)
from kip.outcomes.cells import MeanSD, OutcomeTable, TableRow
from kip.outcomes.counts import StudyCounts, count_study
from kip.outcomes.dataset import AE_CATEGORIES, CANCERS, ETIOLOGY_DETAILS
from kip.outcomes.engines import AnalysisTables

__all__ = ["DRUG_ROWS", "TABLE_TITLES", "study_tables", "tables_from_counts"]

TABLE_TITLES = {
    "T1": "Table 1. Patient demographics by etiology",
    "T2": "Table 2. Response to IV ketamine",
    "T3": "Table 3. Duration of pain relief after the last infusion (responders, ≥2 infusions)",
    "T4": "Table 4. Adjuvant medications and response",
    "T5": "Table 5. Adverse events",
    "T6": "Table 6. Patients enrolled when infusions stopped for COVID-19",
    "S": "Figures the text prints that no table carries",
}

# Table 4's row blocks (published row prefix) and the adjuvants.drug_class each counts.
DRUG_ROWS: tuple[tuple[str, str, str], ...] = (
    ("opioids", "opioid", "Opioids"),
    ("snris", "snri", "SNRIs"),
    ("tcas", "tca", "TCAs"),
    ("gabapentinoids", "gabapentinoid", "Gabapentinoids"),
)

_DETAIL_BLOCKS = (
    ("compression_site", "tumor_compression", "Location of tumor compression"),
    ("cipn_regimen", "cipn", "CIPN: causative regimen"),
    ("postsurgical_type", "postsurgical", "Type of chronic postsurgical pain"),
    ("radiation_site", "postradiation", "Location of radiation therapy"),
)
_BANDS = (
    ("relief_lt_2wk", "lt_2wk", "<2 weeks"),
    ("relief_2_3wk", "2_3wk", "2–3 weeks"),
    ("relief_ge_3wk", "ge_3wk", "≥3 weeks"),
)
_T6_AE = (
    ("ae.gastrointestinal", "ae_gi", "Gastrointestinal"),
    ("ae.neurological", "ae_neuro", "Neurological"),
    ("ae.psychiatric", "ae_psych", "Psychiatric"),
)
_T6_MEDS = (
    ("medication_change.opioids", "opioid_increase", "Increased opioids"),
    ("medication_change.gabapentinoids", "gabapentinoid_increase", "Increased gabapentinoids"),
    ("medication_change.cannabis", "cannabis_start", "Started cannabis"),
    ("medication_change.no_change", "none", "No change"),
)


def table_1(c: StudyCounts) -> OutcomeTable:
    n = where(c.sex)
    rows = [
        row("patients", "Total", size(n)),
        row("age_years", "Age, mean ± SD", lambda col: MeanSD(*c.ages.get(col))),
    ]
    rows += [
        row(f"sex.{s}", slug_label(s), share(where(c.sex, sex=s), "patients", n))
        for s in ("male", "female")
    ]
    rows += [
        row(f"cancer.{k}", slug_label(k), share(where(c.cancer, primary_cancer=k), "patients", n))
        for k in CANCERS
    ]
    rows += [
        row(
            f"metastases.{label.lower()}",
            f"Metastases: {label}",
            share(where(c.metastases, metastases=value), "patients", n),
        )
        for label, value in (("Yes", True), ("No", False))
    ]
    for block, etiology, title in _DETAIL_BLOCKS:
        rows += [
            row(
                f"{block}.{d}",
                f"{title}: {slug_label(d)}",
                share(where(c.detail, etiology_detail=d), "patients", n),
            )
            for d in ETIOLOGY_DETAILS[etiology]
        ]
    return OutcomeTable(key="T1", title=TABLE_TITLES["T1"], rows=tuple(rows))


def table_2(c: StudyCounts) -> OutcomeTable:
    patients = where(c.response)
    responders = where(c.response, responder=True)
    nonresponders = where(c.response, responder=False)
    limited = where(c.response, responder=True, pain_or_ae_limited=True)
    rows = (
        row("patients", "Total number", size(patients)),
        row("responders", "Responders", share(responders, "patients", patients)),
        row(
            "pae_limited",
            "Pain/adverse event–limited (% of responders)",
            share(limited, "responders", responders),
        ),
        row("nonresponders", "Nonresponders", share(nonresponders, "patients", patients)),
        row("p_value", "P value", gof((responders, nonresponders), "responders, nonresponders")),
    )
    return OutcomeTable(key="T2", title=TABLE_TITLES["T2"], rows=rows)


def table_3(c: StudyCounts) -> OutcomeTable:
    multi = where(c.response, responder=True, multi=True)
    bands = [where(c.response, responder=True, multi=True, duration_band=b) for _, b, _ in _BANDS]
    rows = [
        row(key, label, share(band, "responders_ge2_infusions", multi))
        for (key, _, label), band in zip(_BANDS, bands, strict=True)
    ]
    rows.append(
        row(
            "responders_ge2_infusions",
            "No. responders receiving ≥2 infusions",
            share(multi, "responders", where(c.response, responder=True)),
        )
    )
    rows.append(row("p_value", "P value", gof(bands, "relief durations")))
    return OutcomeTable(key="T3", title=TABLE_TITLES["T3"], rows=tuple(rows))


def _drug_rows(c: StudyCounts, prefix: str, drug_class: str, label: str) -> list[TableRow]:
    def group(using: bool, **conditions: object) -> ColumnCount:
        return where(c.adjuvants, drug_class=drug_class, in_use_during_ketamine=using, **conditions)

    def split(using: bool) -> Callable[[str], tuple[int, int]]:
        yes, no = group(using, responder=True), group(using, responder=False)
        return lambda col: (yes(col), no(col))

    patients = where(c.response)
    users, nonusers = split(True), split(False)
    return [
        row(f"{prefix}.users", f"{label}: users", share(group(True), "patients", patients)),
        row(
            f"{prefix}.nonusers",
            f"{label}: non-users",
            share(group(False), "patients", patients),
        ),
        row(
            f"{prefix}.responders_users",
            f"{label}: responders among users",
            share(group(True, responder=True), "users", group(True)),
        ),
        row(
            f"{prefix}.responders_nonusers",
            f"{label}: responders among non-users",
            share(group(False, responder=True), "nonusers", group(False)),
        ),
        row(
            f"{prefix}.p_value",
            f"{label}: P value",
            lambda col: comparison_cell(users(col), nonusers(col)),
        ),
    ]


def table_4(c: StudyCounts) -> OutcomeTable:
    rows = [row("patients", "Total number of patients", size(where(c.response)))]
    for prefix, drug_class, label in DRUG_ROWS:
        rows += _drug_rows(c, prefix, drug_class, label)
    return OutcomeTable(key="T4", title=TABLE_TITLES["T4"], rows=tuple(rows))


def table_5(c: StudyCounts) -> OutcomeTable:
    patients = where(c.patient_ae)
    infusions = where(c.infusions)
    with_ae = where(c.infusions, any_adverse_event=True)
    yes = where(c.patient_ae, any_adverse_event=True)
    no = where(c.patient_ae, any_adverse_event=False)
    rows = [
        row("patients", "Total number of patients", size(patients)),
        row("infusions", "Total number of infusions", size(infusions)),
        row("any_ae.yes", "Any adverse event: yes", share(yes, "patients", patients)),
        row("any_ae.no", "Any adverse event: no", share(no, "patients", patients)),
        row("p_value", "P value", gof((yes, no), "patients with, without an event")),
    ]
    rows += [
        row(
            f"ae_type.{cat}",
            f"Type of adverse event: {slug_label(cat)}",
            share(where(c.ae_category, category=cat), "infusions", infusions),
        )
        for cat in AE_CATEGORIES
    ]
    rows.append(row("ae_type.any", "Any adverse event", share(with_ae, "infusions", infusions)))
    rows += [
        row(
            f"resolution.{key}",
            f"Resolution: {label}",
            share(where(c.ae_resolution, resolution=key), "adverse_events", with_ae),
        )
        # "no" (unresolved) is not a value the dataset allows, so it counts 0, as printed.
        for key, label in (
            ("self_resolved", "self-resolved"),
            ("intervention", "with intervention"),
            ("no", "not resolved"),
        )
    ]
    return OutcomeTable(key="T5", title=TABLE_TITLES["T5"], rows=tuple(rows))


def table_6(c: StudyCounts) -> OutcomeTable:
    enrolled = where(c.pandemic)
    returned = where(c.pandemic, pain_returned=True)
    no_ae = where(c.pandemic, ae_gi=False, ae_neuro=False, ae_psych=False)
    rows = [
        row("patients", "Total number of patients", size(enrolled)),
        row(
            "responders",
            "Responders",
            share(where(c.pandemic, responder_last=True), "pandemic_patients", enrolled),
        ),
    ]
    rows += [
        row(
            key,
            f"Duration of relief: {label}",
            share(where(c.pandemic, duration_band_last=band), "pandemic_patients", enrolled),
        )
        for key, band, label in _BANDS
    ]
    rows += [
        row(
            key,
            f"Adverse events: {label}",
            share(where(c.pandemic, **{flag: True}), "pandemic_patients", enrolled),
        )
        for key, flag, label in _T6_AE
    ]
    rows.append(row("ae.none", "Adverse events: none", share(no_ae, "pandemic_patients", enrolled)))
    rows += [
        row(
            key,
            f"Pain medication change: {label}",
            share(
                where(c.pandemic, pain_returned=True, med_change=change),
                "pandemic_pain_returned",
                returned,
            ),
        )
        for key, change, label in _T6_MEDS
    ]
    return OutcomeTable(key="T6", title=TABLE_TITLES["T6"], rows=tuple(rows))


def text_table(c: StudyCounts) -> OutcomeTable:
    """Counts the text prints that no table carries, in the same cell model."""
    patients = where(c.response)
    enrolled = where(c.pandemic)
    returned = where(c.pandemic, pain_returned=True)
    increased = total_of(
        *(
            where(c.pandemic, pain_returned=True, med_change=m)
            for m in ("opioid_increase", "gabapentinoid_increase", "cannabis_start")
        )
    )
    surgery = total_of(
        *(where(c.detail, etiology_detail=d) for d in ("post_thoracotomy", "postmastectomy"))
    )
    non_snri = where(c.adjuvants, drug_class="snri", in_use_during_ketamine=False)
    other_anticonvulsant = where(
        c.adjuvants, drug_class="other_anticonvulsant", in_use_during_ketamine=True
    )
    rows = (
        row(
            "no_adjuvant_responders",
            "Responders on none of the recorded adjuvants",
            share(where(c.without_adjuvants, responder=True), "patients", patients),
        ),
        row(
            "other_anticonvulsant_users",
            "Patients on another anticonvulsant",
            share(other_anticonvulsant, "patients", patients),
        ),
        row(
            "thoracotomy_or_mastectomy",
            "Post-thoracotomy or postmastectomy pain",
            share(surgery, "patients", patients),
        ),
        row(
            "snri_nonresponders_nonusers",
            "Nonresponders among patients not on SNRIs",
            share(
                where(
                    c.adjuvants, drug_class="snri", in_use_during_ketamine=False, responder=False
                ),
                "nonusers",
                non_snri,
            ),
        ),
        row(
            "pandemic_pain_returned",
            "Pandemic patients whose pain returned to baseline",
            share(returned, "pandemic_patients", enrolled),
        ),
        row(
            "pandemic_pain_not_returned",
            "Pandemic patients with sustained relief (pain did not return)",
            share(where(c.pandemic, pain_returned=False), "pandemic_patients", enrolled),
        ),
        row(
            "pandemic_medication_increased",
            "Increased or started a pain medication (of those whose pain returned)",
            share(increased, "pandemic_pain_returned", returned),
        ),
    )
    return OutcomeTable(key="S", title=TABLE_TITLES["S"], rows=rows)


def tables_from_counts(c: StudyCounts) -> tuple[OutcomeTable, ...]:
    """Tables 1-6 and the text-only table, from counts already brought back from the engine."""
    return (table_1(c), table_2(c), table_3(c), table_4(c), table_5(c), table_6(c), text_table(c))


def study_tables(tables: AnalysisTables) -> tuple[OutcomeTable, ...]:
    """Count in the engine, then assemble Tables 1-6 (and "S", the text's own figures)."""
    return tables_from_counts(count_study(tables))
