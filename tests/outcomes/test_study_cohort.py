"""The synthetic study cohort: it fits the schema, it is seeded, and it counts back to the paper.

The counting here is deliberately plain Python over the rows, independent of kip.synth.study, and
the expected values come from the published-figures file (kip.outcomes.published), not from the
generator's constants. Every count, group size, mean, SD and percent of Tables 1-6 is compared;
the ones the paper's own numbers rule out are listed in DEVIATIONS with the value the cohort gives
instead and why, so no figure is skipped without a recorded reason. P values are out of scope
here: they are tests over these counts (kip.outcomes.stats), checked where the tables are
recomputed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import itertools
import statistics
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import pytest

from kip.outcomes.dataset import TABLES, Row, validate_dataset, validate_rows
from kip.outcomes.published import BLANK, Kind, PublishedFigure, by_id, load
from kip.synth.study import study_cohort

Cohort = Mapping[str, Sequence[Row]]

IN_SCOPE_TABLES = ("T1", "T2", "T3", "T4", "T5", "T6")
IN_SCOPE_KINDS = (Kind.N, Kind.COUNT, Kind.MEAN, Kind.SD, Kind.PERCENT)

_OPIOID_41 = "paper: Table 4 opioid responders sum to 41, not Table 2's 42 (cells sum to 23)"
_SNRI_CIPN_0 = "paper: CIPN non-SNRI responders printed 0, but CIPN has 21 responders, 6 on SNRIs"
_TCA_18 = "paper: non-TCA responders printed 18 (9+9 of two columns) over 54 non-TCA patients"
_GABA_TOTAL = (
    "paper: gabapentinoid users by column sum to 33 / non-users to 24, totals print 32 / 25"
)
_PAE_45 = "paper: 12 of 42 responders printed 26.7%, which is 12/45"
_ROUNDING = "paper: rounding slip (printed percent does not follow from its own count)"
_NOT_PRINTED = "paper prints '–' (not applicable / not reported); value is what the cohort holds"

# figure_id -> (value the cohort gives, why it is not the printed one)
DEVIATIONS: Mapping[str, tuple[str, str]] = {
    "T2.pae_limited.total.percent": ("28.6", _PAE_45),
    "T4.opioids.responders_users.total.count": ("23", _OPIOID_41),
    "T4.opioids.responders_users.total.percent": ("69.7", _OPIOID_41),
    "T4.snris.responders_nonusers.cipn.count": ("15", _SNRI_CIPN_0),
    "T4.snris.responders_nonusers.total.count": ("31", _SNRI_CIPN_0),
    "T4.snris.responders_nonusers.total.percent": ("68.9", _SNRI_CIPN_0),
    "T4.snris.nonusers.postsurgical.percent": ("76.9", _ROUNDING),
    "T4.tcas.responders_nonusers.total.count": ("42", _TCA_18),
    "T4.tcas.responders_nonusers.total.percent": ("77.8", _TCA_18),
    "T4.tcas.responders_nonusers.postsurgical.percent": ("75.0", _ROUNDING + " (9/10, not 9/12)"),
    "T4.gabapentinoids.users.total.count": ("33", _GABA_TOTAL),
    "T4.gabapentinoids.users.total.percent": ("57.9", _GABA_TOTAL),
    "T4.gabapentinoids.nonusers.total.count": ("24", _GABA_TOTAL),
    "T4.gabapentinoids.nonusers.total.percent": ("42.1", _GABA_TOTAL),
    "T4.gabapentinoids.responders_users.total.percent": ("72.7", _GABA_TOTAL + " (24/33)"),
    "T4.gabapentinoids.responders_nonusers.total.percent": ("75.0", _GABA_TOTAL + " (18/24)"),
    "T4.gabapentinoids.responders_nonusers.cipn.percent": ("72.7", _ROUNDING),
    # Blank cells that stand for "not printed" rather than "no patients".
    "T4.tcas.nonusers.cipn.count": ("25", _NOT_PRINTED),
    "T4.tcas.nonusers.postradiation.count": ("6", _NOT_PRINTED),
    "T4.tcas.responders_nonusers.cipn.count": ("21", _NOT_PRINTED),
    "T4.tcas.responders_nonusers.postradiation.count": ("3", _NOT_PRINTED),
    **{
        f"T1.{row}.total.count": (value, _NOT_PRINTED)
        for row, value in {
            "compression_site.cranial_nerve": "3",
            "compression_site.nerve_roots": "8",
            "compression_site.plexus": "2",
            **{f"cipn_regimen.{r}": "1" for r in ("oxaliplatin", "octreotide", "docetaxel")},
            **{f"cipn_regimen.{r}": "1" for r in ("exemestane", "cetuximab", "thp", "r_gemox")},
            **{f"cipn_regimen.{r}": "1" for r in ("paclitaxel_herceptin", "cisplatin_etoposide")},
            **{f"cipn_regimen.{r}": "1" for r in ("rvd", "cybord", "flag_ida", "hyper_cvad")},
            **{f"cipn_regimen.{r}": "1" for r in ("epoch", "hidac")},
            **{f"cipn_regimen.{r}": "2" for r in ("paclitaxel", "paclitaxel_carboplatin")},
            **{f"cipn_regimen.{r}": "2" for r in ("folfox", "ddac", "ac_t")},
            "postsurgical_type.post_thoracotomy": "3",
            "postsurgical_type.postmastectomy": "3",
            "postsurgical_type.post_nephrectomy": "1",
            "postsurgical_type.other": "6",
            "radiation_site.head_and_neck": "4",
            "radiation_site.spine": "2",
        }.items()
    },
}

# Percent cells whose denominator is empty (postradiation had no adverse events): printed "–".
_EMPTY_DENOMINATOR = "–"

_DETAIL_BLOCKS = {
    "compression_site": "tumor_compression",
    "cipn_regimen": "cipn",
    "postsurgical_type": "postsurgical",
    "radiation_site": "postradiation",
}
_CLASSES = {
    "opioids": "opioid",
    "snris": "snri",
    "tcas": "tca",
    "gabapentinoids": "gabapentinoid",
}
_T6_AE = {"gastrointestinal": "ae_gi", "neurological": "ae_neuro", "psychiatric": "ae_psych"}
_T6_MED = {
    "opioids": "opioid_increase",
    "gabapentinoids": "gabapentinoid_increase",
    "cannabis": "cannabis_start",
    "no_change": "none",
}
_BAND = {"relief_lt_2wk": "lt_2wk", "relief_2_3wk": "2_3wk", "relief_ge_3wk": "ge_3wk"}


@cache
def _cohort(seed: int = 2021) -> Cohort:
    return study_cohort(seed)


def _half_up(value: float, places: int) -> str:
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


class _Counter:
    """Counts one etiology column (or the total) of a cohort, the way each table defines it."""

    def __init__(self, cohort: Cohort, column: str) -> None:
        def keep(patient: Row) -> bool:
            return column == "total" or patient["etiology"] == column

        self.patients = [p for p in cohort["patients"] if keep(p)]
        ids = {p["patient_id"] for p in self.patients}
        self.infusions = [i for i in cohort["infusions"] if i["patient_id"] in ids]
        self.events = [e for e in cohort["adverse_events"] if e["patient_id"] in ids]
        self.followups = [f for f in cohort["pandemic_followups"] if f["patient_id"] in ids]
        self.in_use = {
            (a["patient_id"], a["drug_class"]): a["in_use_during_ketamine"]
            for a in cohort["adjuvants"]
            if a["patient_id"] in ids
        }

    def responders(self) -> list[Row]:
        return [p for p in self.patients if p["responder"]]

    def responders_ge2(self) -> list[Row]:
        return [p for p in self.responders() if _int(p["n_infusions"]) >= 2]

    def users(self, drug_class: str, using: bool) -> list[Row]:
        return [p for p in self.patients if self.in_use[(p["patient_id"], drug_class)] is using]

    def ae_infusions(self) -> list[Row]:
        return [i for i in self.infusions if i["any_adverse_event"]]

    def returned(self) -> list[Row]:
        return [f for f in self.followups if f["pain_returned"]]


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _t1(c: _Counter, row: str) -> tuple[list[Row], int]:
    head, _, tail = row.partition(".")
    if row == "patients":
        return c.patients, len(c.patients)
    if head == "sex":
        return c.patients, sum(p["sex"] == tail for p in c.patients)
    if head == "cancer":
        return c.patients, sum(p["primary_cancer"] == tail for p in c.patients)
    if head == "metastases":
        return c.patients, sum(p["metastases"] is (tail == "yes") for p in c.patients)
    block = _DETAIL_BLOCKS[head]
    return c.patients, sum(
        p["etiology"] == block and p["etiology_detail"] == tail for p in c.patients
    )


def _t2(c: _Counter, row: str) -> tuple[list[Row], int]:
    if row == "patients":
        return c.patients, len(c.patients)
    if row == "responders":
        return c.patients, len(c.responders())
    if row == "nonresponders":
        return c.patients, len(c.patients) - len(c.responders())
    assert row == "pae_limited"
    return c.responders(), sum(p["pain_or_ae_limited"] is True for p in c.responders())


def _t3(c: _Counter, row: str) -> tuple[list[Row], int]:
    if row == "responders_ge2_infusions":
        return c.responders(), len(c.responders_ge2())
    return c.responders_ge2(), sum(p["duration_band"] == _BAND[row] for p in c.responders_ge2())


def _t4(c: _Counter, row: str) -> tuple[list[Row], int]:
    if row == "patients":
        return c.patients, len(c.patients)
    drug, _, group = row.partition(".")
    drug_class = _CLASSES[drug]
    if group in ("users", "nonusers"):
        return c.patients, len(c.users(drug_class, group == "users"))
    pool = c.users(drug_class, group == "responders_users")
    return pool, sum(p["responder"] is True for p in pool)


def _t5(c: _Counter, row: str) -> tuple[list[Row], int]:
    head, _, tail = row.partition(".")
    if row == "patients":
        return c.patients, len(c.patients)
    if row == "infusions":
        return c.infusions, len(c.infusions)
    if head == "any_ae":
        return c.patients, sum(p["any_adverse_event"] is (tail == "yes") for p in c.patients)
    if row == "ae_type.any":
        return c.infusions, len(c.ae_infusions())
    if head == "ae_type":
        slots = {(e["patient_id"], e["infusion_number"]) for e in c.events if e["category"] == tail}
        return c.infusions, len(slots)
    assert head == "resolution"
    return c.ae_infusions(), sum(e["resolution"] == tail for e in c.events)


def _t6(c: _Counter, row: str) -> tuple[list[Row], int]:
    head, _, tail = row.partition(".")
    if row == "patients":
        return c.followups, len(c.followups)
    if row == "responders":
        return c.followups, sum(f["responder_last"] is True for f in c.followups)
    if row in _BAND:
        return c.followups, sum(f["duration_band_last"] == _BAND[row] for f in c.followups)
    if row == "ae.none":
        flags = _T6_AE.values()
        return c.followups, sum(not any(f[k] for k in flags) for f in c.followups)
    if head == "ae":
        return c.followups, sum(f[_T6_AE[tail]] is True for f in c.followups)
    assert head == "medication_change"
    return c.returned(), sum(f["med_change"] == _T6_MED[tail] for f in c.returned())


_TABLES: Mapping[str, Callable[[_Counter, str], tuple[list[Row], int]]] = {
    "T1": _t1,
    "T2": _t2,
    "T3": _t3,
    "T4": _t4,
    "T5": _t5,
    "T6": _t6,
}


def count_back(cohort: Cohort, figure: PublishedFigure) -> str:
    """The cohort's value for a printed figure, formatted the way the paper prints that kind."""
    counter = _Counter(cohort, figure.column.value)
    if figure.kind in (Kind.MEAN, Kind.SD):
        ages = [_int(p["age_years"]) for p in counter.patients]
        value = statistics.mean(ages) if figure.kind is Kind.MEAN else statistics.stdev(ages)
        return _half_up(value, 2)
    denominator, count = _TABLES[figure.table](counter, figure.row)
    if figure.kind is Kind.PERCENT:
        if not denominator:
            return _EMPTY_DENOMINATOR
        return _half_up(100 * count / len(denominator), 1)
    return str(count)


def expected(figure: PublishedFigure) -> str:
    if figure.figure_id in DEVIATIONS:
        return DEVIATIONS[figure.figure_id][0]
    if figure.is_blank and figure.kind is Kind.COUNT:
        return "0"  # Tables 1, 4 and 5 print "–" for no patients
    return figure.value


SCOPE = tuple(f for f in load() if f.table in IN_SCOPE_TABLES and f.kind in IN_SCOPE_KINDS)


class TestSchema:
    def test_cohort_validates(self) -> None:
        assert validate_dataset(_cohort()) == []

    def test_other_seeds_validate(self) -> None:
        assert validate_dataset(study_cohort(7)) == []

    def test_validation_names_table_row_and_column(self) -> None:
        patient = dict(_cohort()["patients"][0])
        patient["sex"] = "unknown"
        patient["age_years"] = True
        errors = validate_rows("patients", [patient])
        assert "patients[0]: sex: 'unknown' is not one of female, male" in errors
        assert "patients[0]: age_years: expected integer, got bool True" in errors

    def test_validation_catches_broken_links(self) -> None:
        cohort = dict(_cohort())
        cohort["adverse_events"] = list(cohort["adverse_events"][1:])
        assert any("any_adverse_event: disagrees" in e for e in validate_dataset(cohort))

    def test_every_feeds_pattern_names_a_published_figure(self) -> None:
        ids = [f.figure_id for f in load()]
        for table in TABLES.values():
            for column in table.columns:
                for pattern in column.feeds:
                    assert fnmatch.filter(ids, pattern), f"{table.name}.{column.name}: {pattern}"


class TestSeed:
    def test_same_seed_same_cohort(self) -> None:
        assert study_cohort(2021) == study_cohort(2021)

    def test_other_seed_other_assignment_same_counts(self) -> None:
        first, second = _cohort(), study_cohort(99)
        assert first["patients"] != second["patients"]
        assert first["infusions"] != second["infusions"]
        for figure in SCOPE:
            assert count_back(second, figure) == count_back(first, figure), figure.figure_id


class TestPublishedFigures:
    @pytest.mark.parametrize("figure", SCOPE, ids=lambda f: f.figure_id)
    def test_counts_back(self, figure: PublishedFigure) -> None:
        assert count_back(_cohort(), figure) == expected(figure)

    def test_scope_is_every_table_figure_but_p_values(self) -> None:
        tables = [f for f in load() if f.table in IN_SCOPE_TABLES]
        left_out = {f.kind for f in tables} - set(IN_SCOPE_KINDS)
        assert left_out == {Kind.P_VALUE}
        assert len(SCOPE) == len(tables) - sum(f.kind is Kind.P_VALUE for f in tables)

    @pytest.mark.parametrize("figure_id", sorted(DEVIATIONS))
    def test_each_deviation_is_a_real_one(self, figure_id: str) -> None:
        # A stale entry (a figure the cohort now matches, or one outside scope) must not linger.
        figure = next(f for f in SCOPE if f.figure_id == figure_id)
        printed_as = "0" if figure.value == BLANK else figure.value
        is_not_printed = DEVIATIONS[figure_id][1] == _NOT_PRINTED
        assert figure.is_blank is is_not_printed
        assert DEVIATIONS[figure_id][0] != printed_as


def _no_adjuvant_responders(cohort: Cohort) -> int:
    on_something = {a["patient_id"] for a in cohort["adjuvants"] if a["in_use_during_ketamine"]}
    return sum(
        p["responder"] is True and p["patient_id"] not in on_something for p in cohort["patients"]
    )


def _other_anticonvulsant_users(cohort: Cohort) -> int:
    return sum(
        a["drug_class"] == "other_anticonvulsant" and a["in_use_during_ketamine"] is True
        for a in cohort["adjuvants"]
    )


def _sustained_postsurgical(cohort: Cohort) -> int:
    etiology = {p["patient_id"]: p["etiology"] for p in cohort["patients"]}
    return sum(
        f["pain_returned"] is False
        and _int(f["relief_days_last"]) > 90
        and etiology[f["patient_id"]] == "postsurgical"
        for f in cohort["pandemic_followups"]
    )


def _pain_returned(cohort: Cohort) -> int:
    return sum(f["pain_returned"] is True for f in cohort["pandemic_followups"])


def _ae_infusions(cohort: Cohort) -> int:
    return sum(i["any_adverse_event"] is True for i in cohort["infusions"])


def _detail(*details: str) -> Callable[[Cohort], int]:
    return lambda cohort: sum(p["etiology_detail"] in details for p in cohort["patients"])


# Text figures that no table cell carries (the other text counts repeat a table cell, which
# TestPublishedFigures already checks).
TEXT_FIGURES: Mapping[str, Callable[[Cohort], int]] = {
    "text.discussion.no_adjuvant_responders.total.count": _no_adjuvant_responders,
    "text.results.adjuvant.other_anticonvulsants.total.count": _other_anticonvulsant_users,
    "text.results.pandemic.sustained_relief_3mo.postsurgical.count": _sustained_postsurgical,
    "text.discussion.pandemic_sustained_relief_3mo.total.count": _sustained_postsurgical,
    "text.abstract.pandemic_pain_returned.total.count": _pain_returned,
    "text.results.demographics.somatostatin_analog.cipn.count": _detail("octreotide"),
    "text.results.demographics.thoracotomy_or_mastectomy.postsurgical.count": _detail(
        "post_thoracotomy", "postmastectomy"
    ),
    "text.abstract.ae_infusions.total.count": _ae_infusions,
}
TEXT_DEVIATIONS: Mapping[str, tuple[int, str]] = {
    "text.abstract.ae_infusions.total.count": (
        34,
        "paper: the abstract's 32 of 192 contradicts Table 5 and the Results (34 of 192)",
    ),
}


class TestTextFigures:
    @pytest.mark.parametrize("figure_id", sorted(TEXT_FIGURES))
    def test_counts_back(self, figure_id: str) -> None:
        figure = by_id()[figure_id]
        wanted = TEXT_DEVIATIONS[figure_id][0] if figure_id in TEXT_DEVIATIONS else figure.integer
        assert TEXT_FIGURES[figure_id](_cohort()) == wanted

    def test_deviations_differ_from_print(self) -> None:
        for figure_id, (value, _) in TEXT_DEVIATIONS.items():
            assert by_id()[figure_id].integer != value


class TestCountingCanFail:
    def test_one_changed_patient_breaks_published_counts(self) -> None:
        cohort = dict(_cohort())
        patients = [dict(p) for p in cohort["patients"]]
        first = patients[0]
        first["sex"] = "male" if first["sex"] == "female" else "female"
        cohort["patients"] = patients
        broken = {f.figure_id for f in SCOPE if count_back(cohort, f) != expected(f)}
        assert f"T1.sex.male.{first['etiology']}.count" in broken
        assert "T1.sex.male.total.count" in broken


def _date(value: object) -> dt.date:
    assert isinstance(value, dt.date)
    return value


class TestSchedule:
    def test_dates_follow_the_protocol_within_the_study(self) -> None:
        enrolled = {f["patient_id"]: f for f in _cohort()["pandemic_followups"]}
        by_patient: dict[str, list[Row]] = {}
        for infusion in _cohort()["infusions"]:
            by_patient.setdefault(str(infusion["patient_id"]), []).append(infusion)
        for patient_id, infusions in by_patient.items():
            ordered = sorted(infusions, key=lambda i: _int(i["infusion_number"]))
            dates = [_date(i["date"]) for i in ordered]
            days = [(later - earlier).days for earlier, later in itertools.pairwise(dates)]
            assert days[:2] == [7, 7][: len(days)], patient_id  # infusions 2 and 3: weekly
            # Only an enrolled patient may have an infusion after the pause: the resumed one.
            resumed = patient_id in enrolled and len(dates) > _int(
                enrolled[patient_id]["last_infusion_number"]
            )
            monthly = days[2:-1] if resumed else days[2:]
            assert all(25 <= d <= 31 for d in monthly), patient_id
            assert dt.date(2018, 4, 1) <= dates[0] and dates[-1] <= dt.date(2020, 5, 31)
            before_pause = dates[:-1] if resumed else dates
            assert all(d < dt.date(2020, 3, 16) for d in before_pause), patient_id
