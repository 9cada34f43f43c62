"""A seeded patient-level cohort that counts back to the tables of Oh et al. 2021.

The paper publishes only aggregates. This module builds 57 patients, their 192 infusions, adverse
events, adjuvants and the 14 pandemic follow-ups so that every count of Tables 1-6 the paper's own
numbers allow is reproduced exactly, per etiology column and in total. The seed decides only what
the paper leaves open: which patient of a group gets which attribute, ages within the printed mean
and SD, infusion counts and dates within the protocol schedule. docs/study-cohort.md lists every
choice and the printed figures that no cohort can reproduce because the paper contradicts itself.

The constants below are the paper's figures as the generator needs them; the tests count the cohort
back against the machine-readable file (kip.outcomes.published), not against these constants, so a
typo here cannot hide.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import product
from types import MappingProxyType

from kip.outcomes.dataset import AE_TERMS, DURATION_BANDS, Value

__all__ = ["DEFAULT_SEED", "STUDY_TABLE_CLASSES", "round_half_up", "study_cohort"]

DEFAULT_SEED = 2021

TC, CIPN, PS, PR = "tumor_compression", "cipn", "postsurgical", "postradiation"
ETIOLOGIES = (TC, CIPN, PS, PR)
SITE = "mskcc"

# ---- Table 1 -------------------------------------------------------------------------------------
PATIENTS = MappingProxyType({TC: 13, CIPN: 25, PS: 13, PR: 6})
AGE_MEAN_SD: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        TC: ("50.92", "18.14"),
        CIPN: ("53.48", "11.22"),
        PS: ("46.23", "11.26"),
        PR: ("62.83", "7.22"),
    }
)
AGE_TOTAL = ("52.23", "13.33")
AGE_MIN, AGE_MAX = 18, 89  # adults; 89 keeps every age inside HIPAA Safe Harbor
MALES = MappingProxyType({TC: 9, CIPN: 9, PS: 2, PR: 3})
METASTASES = MappingProxyType({TC: 4, CIPN: 2, PS: 1, PR: 1})

# Table 1 prints cancers and etiology details as separate margins. Pairing them at random would give
# e.g. a postmastectomy syndrome after kidney cancer, so the pairing is fixed to the clinically
# natural one (each regimen with the cancer it treats); both margins still match the table.
PROFILES: Mapping[str, tuple[tuple[str, str, int], ...]] = MappingProxyType(
    {
        TC: (
            ("cranial_nerve", "head_and_neck", 1),
            ("cranial_nerve", "nerve_sheath", 2),
            ("plexus", "nerve_sheath", 1),
            ("plexus", "breast", 1),
            ("nerve_roots", "germ_cell", 2),
            ("nerve_roots", "skin", 2),
            ("nerve_roots", "nerve_sheath", 2),
            ("nerve_roots", "bone_soft_tissue", 2),
        ),
        CIPN: (
            ("ddac", "breast", 2),
            ("ac_t", "breast", 2),
            ("thp", "breast", 1),
            ("paclitaxel_herceptin", "breast", 1),
            ("exemestane", "breast", 1),
            ("paclitaxel", "breast", 2),
            ("paclitaxel_carboplatin", "gynecological", 2),
            ("folfox", "colorectal", 1),
            ("folfox", "pancreas", 1),
            ("octreotide", "pituitary", 1),
            ("r_gemox", "lymphoma_leukemia", 1),
            ("flag_ida", "lymphoma_leukemia", 1),
            ("hyper_cvad", "lymphoma_leukemia", 1),
            ("epoch", "lymphoma_leukemia", 1),
            ("hidac", "lymphoma_leukemia", 1),
            ("rvd", "multiple_myeloma", 1),
            ("cybord", "multiple_myeloma", 1),
            ("cisplatin_etoposide", "germ_cell", 1),
            ("docetaxel", "prostate", 1),
            ("cetuximab", "skin", 1),
            ("oxaliplatin", "esophageal", 1),
        ),
        PS: (
            ("post_thoracotomy", "lung", 2),
            ("post_thoracotomy", "esophageal", 1),
            ("postmastectomy", "breast", 3),
            ("post_nephrectomy", "kidney", 1),
            ("other", "skin", 2),
            ("other", "esophageal", 1),
            ("other", "nerve_sheath", 1),
            ("other", "bone_soft_tissue", 2),
        ),
        PR: (
            ("head_and_neck", "esophageal", 4),
            ("spine", "lymphoma_leukemia", 1),
            ("spine", "nerve_sheath", 1),
        ),
    }
)
FEMALE_CANCERS = frozenset({"breast", "gynecological"})
MALE_CANCERS = frozenset({"prostate", "germ_cell"})

# ---- Tables 2 and 3 ------------------------------------------------------------------------------
RESPONDERS = MappingProxyType({TC: 9, CIPN: 21, PS: 9, PR: 3})
PAE_LIMITED = MappingProxyType({TC: 3, CIPN: 4, PS: 4, PR: 1})
RESPONDERS_GE2 = MappingProxyType({TC: 9, CIPN: 21, PS: 7, PR: 2})
RELIEF_BANDS: Mapping[str, tuple[int, int, int]] = MappingProxyType(  # in DURATION_BANDS order
    {TC: (3, 1, 5), CIPN: (1, 3, 17), PS: (2, 0, 5), PR: (1, 0, 1)}
)

# ---- Table 4: per class and column, (users, responders among users) ------------------------------
# Non-users' responders are not taken from the table: they follow from Table 2's responders, which
# is where the table's SNRI, TCA and opioid totals go wrong (docs/study-cohort.md).
STUDY_TABLE_CLASSES = ("opioid", "snri", "tca", "gabapentinoid", "other_anticonvulsant")
ADJUVANT_USERS: Mapping[str, Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        "opioid": {TC: (8, 6), CIPN: (12, 9), PS: (10, 6), PR: (3, 2)},
        "snri": {TC: (2, 1), CIPN: (6, 6), PS: (3, 3), PR: (1, 1)},
        "tca": {TC: (2, 0), CIPN: (0, 0), PS: (1, 0), PR: (0, 0)},
        "gabapentinoid": {TC: (7, 4), CIPN: (14, 13), PS: (8, 4), PR: (4, 3)},
        "other_anticonvulsant": {TC: (0, 0), CIPN: (0, 0), PS: (0, 0), PR: (0, 0)},
    }
)
NO_ADJUVANT_RESPONDERS = 3  # Discussion: three responders on no adjuvant medication

# ---- Table 5 -------------------------------------------------------------------------------------
INFUSIONS = MappingProxyType({TC: 34, CIPN: 113, PS: 32, PR: 13})
AE_PATIENTS = MappingProxyType({TC: 5, CIPN: 14, PS: 6, PR: 0})
# The categories of each column sum to its infusions with an adverse event (8/20/6/0), so every
# such infusion has exactly one categorised event.
AE_CATEGORY_COUNTS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        TC: {"cardiovascular": 1, "gastrointestinal": 3, "muscular": 1, "neurological": 3},
        CIPN: {
            "cardiovascular": 2,
            "gastrointestinal": 2,
            "muscular": 1,
            "neurological": 11,
            "psychiatric": 3,
            "skin": 1,
        },
        PS: {
            "cardiovascular": 1,
            "gastrointestinal": 2,
            "muscular": 1,
            "neurological": 1,
            "psychiatric": 1,
        },
        PR: {},
    }
)
RESOLUTION_COUNTS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        TC: {"self_resolved": 4, "intervention": 4},
        CIPN: {"self_resolved": 15, "intervention": 5},
        PS: {"self_resolved": 3, "intervention": 3},
        PR: {},
    }
)

# ---- Table 6 -------------------------------------------------------------------------------------
PANDEMIC = MappingProxyType({TC: 2, CIPN: 9, PS: 3, PR: 0})
PANDEMIC_BANDS: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {TC: (0, 1, 1), CIPN: (2, 1, 6), PS: (1, 0, 2), PR: (0, 0, 0)}
)
# Each column's AE rows plus "None" add up to its patients: one event category per patient at most.
PANDEMIC_AES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        TC: ("gastrointestinal", "neurological"),
        CIPN: ("gastrointestinal", "neurological", "psychiatric"),
        PS: ("neurological",),
        PR: (),
    }
)
PANDEMIC_AE_TERMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "gastrointestinal": ("nausea", "vomiting"),
        "neurological": ("headache", "somnolence"),
        "psychiatric": ("hallucinations",),
    }
)
PANDEMIC_SUSTAINED_ETIOLOGY = PS  # "one patient in the postsurgical group had sustained relief"
PANDEMIC_MED_CHANGES: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        TC: {"opioid_increase": 1, "none": 1},
        CIPN: {"opioid_increase": 3, "gabapentinoid_increase": 2, "cannabis_start": 1, "none": 3},
        PS: {"cannabis_start": 1, "none": 1},
        PR: {},
    }
)
# A patient who increased a drug during the pause must have been taking it.
MED_CHANGE_CLASS = MappingProxyType(
    {"opioid_increase": "opioid", "gabapentinoid_increase": "gabapentinoid"}
)

# ---- Schedule (the protocol, and kip's choices where the paper gives no date) --------------------
STUDY_START = dt.date(2018, 4, 1)
PAUSE = dt.date(2020, 3, 16)  # not printed; New York postponed elective care mid-March 2020
RESUMED_FIRST, RESUMED_LAST = dt.date(2020, 5, 4), dt.date(2020, 5, 29)
MAINTENANCE_GAP_DAYS = (25, 31)  # "roughly every 4 weeks"
PHASE_MAX_RATE = MappingProxyType({"first": 25.0, "induction": 40.0, "maintenance": 70.0})
RELIEF_DAYS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"lt_2wk": (2, 13), "2_3wk": (14, 20), "ge_3wk": (21, 35)}
)
SUSTAINED_RELIEF_DAYS = (91, 120)  # "sustained relief for more than 3 months"
MAX_INFUSIONS = 20


@dataclass
class _Patient:
    index: int
    etiology: str
    responder: bool = False
    single: bool = False
    pandemic: bool = False
    resumed: bool = False
    pae: bool = False
    band: str | None = None
    relief_days: int | None = None
    n_infusions: int = 0
    dates: list[dt.date] = field(default_factory=list)
    age: int = 0
    sex: str = ""
    cancer: str = ""
    detail: str = ""
    metastases: bool = False
    patient_id: str = ""

    @property
    def pre_pause_last(self) -> int:
        """The last infusion before the COVID-19 pause (Table 6 describes this one)."""
        return self.n_infusions - 1 if self.resumed else self.n_infusions


@dataclass
class _Followup:
    patient: _Patient
    band: str
    relief_days: int
    ae: str | None
    pain_returned: bool = True
    med_change: str | None = None


@dataclass(frozen=True)
class _Event:
    patient: _Patient
    infusion_number: int
    category: str
    term: str
    resolution: str = ""


def round_half_up(value: float, places: int = 2) -> str:
    """The paper's rounding (6.25 prints 6.3), on the float's shortest repr."""
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def _expand(counts: Mapping[str, int]) -> list[str]:
    return [name for name, count in counts.items() for _ in range(count)]


def _bands(counts: tuple[int, int, int]) -> list[str]:
    return _expand(dict(zip(DURATION_BANDS, counts, strict=True)))


def _of(patients: Iterable[_Patient], etiology: str) -> list[_Patient]:
    return [p for p in patients if p.etiology == etiology]


def _sample(rng: random.Random, pool: Sequence[_Patient], k: int, what: str) -> list[_Patient]:
    if k > len(pool):
        raise ValueError(f"{what}: need {k} patients, only {len(pool)} eligible")
    return rng.sample(list(pool), k)


# ---- outcomes (Tables 2, 3, 6) -------------------------------------------------------------------


def _assign_outcomes(rng: random.Random, patients: list[_Patient]) -> None:
    for et in ETIOLOGIES:
        group = _of(patients, et)
        responders = _sample(rng, group, RESPONDERS[et], f"{et} responders")
        for p in responders:
            p.responder = True
        singles = _sample(rng, responders, RESPONDERS[et] - RESPONDERS_GE2[et], f"{et} single")
        for p in singles:
            p.single = True
        multi = [p for p in responders if not p.single]
        # Enrolled at the pause means still on the protocol: a responder with several infusions
        # who had not come off it.
        for p in _sample(rng, multi, PANDEMIC[et], f"{et} pandemic"):
            p.pandemic = True
        # A responder with one infusion left despite relief, which is Table 2's definition of
        # pain/AE-limited; the rest of that row is drawn from responders not enrolled at the pause.
        others = [p for p in multi if not p.pandemic]
        for p in singles + _sample(rng, others, PAE_LIMITED[et] - len(singles), f"{et} limited"):
            p.pae = True


def _assign_followups(rng: random.Random, patients: list[_Patient]) -> list[_Followup]:
    followups: list[_Followup] = []
    for et in ETIOLOGIES:
        group = [p for p in _of(patients, et) if p.pandemic]
        bands = _bands(PANDEMIC_BANDS[et])
        aes: list[str | None] = [
            *PANDEMIC_AES[et],
            *([None] * (len(group) - len(PANDEMIC_AES[et]))),
        ]
        rng.shuffle(bands)
        rng.shuffle(aes)
        column = [
            _Followup(p, band, rng.randint(*RELIEF_DAYS[band]), ae)
            for p, band, ae in zip(group, bands, aes, strict=True)
        ]
        if et == PANDEMIC_SUSTAINED_ETIOLOGY:
            sustained = rng.choice([f for f in column if f.band == "ge_3wk"])
            sustained.pain_returned = False
            sustained.relief_days = rng.randint(*SUSTAINED_RELIEF_DAYS)
        returned = [f for f in column if f.pain_returned]
        changes = _expand(PANDEMIC_MED_CHANGES[et])
        rng.shuffle(changes)
        for f, change in zip(returned, changes, strict=True):
            f.med_change = change
        followups.extend(column)
    return followups


def _assign_relief(
    rng: random.Random, patients: list[_Patient], followups: list[_Followup]
) -> None:
    by_patient = {f.patient.index: f for f in followups}
    for et in ETIOLOGIES:
        remaining = Counter(_bands(RELIEF_BANDS[et]))
        multi = [p for p in _of(patients, et) if p.responder and not p.single]
        enrolled = [p for p in multi if p.pandemic]
        rng.shuffle(enrolled)
        rest = [p for p in multi if not p.pandemic]
        for p in enrolled:
            followup = by_patient[p.index]
            if remaining[followup.band] > 0:
                remaining[followup.band] -= 1
                p.band, p.relief_days = followup.band, followup.relief_days
            else:
                # Table 6 has more CIPN "<2 weeks" than Table 3 has in all of CIPN, so for such a
                # patient Table 3's last infusion must be a later one: an infusion after
                # infusions resumed (the Methods say patients have since been infused).
                p.resumed = True
                rest.append(p)
        bands = _expand(remaining)
        rng.shuffle(bands)
        for p, band in zip(rest, bands, strict=True):
            p.band, p.relief_days = band, rng.randint(*RELIEF_DAYS[band])


# ---- infusions (Table 5) and their dates ---------------------------------------------------------


def _infusion_bounds(p: _Patient) -> tuple[int, int]:
    # All patients were eligible for infusions 2 and 3; only responders go on to maintenance.
    extra = 1 if p.resumed else 0
    if not p.responder:
        return 1, 3
    if p.single:
        return 1, 1
    if p.pandemic:
        return 4 + extra, MAX_INFUSIONS
    return 2, MAX_INFUSIONS


def _assign_infusion_counts(rng: random.Random, patients: list[_Patient]) -> None:
    for et in ETIOLOGIES:
        group = _of(patients, et)
        for p in group:
            low, high = _infusion_bounds(p)
            p.n_infusions = rng.randint(low, min(high, low + 6))
        total = sum(p.n_infusions for p in group)
        while total != INFUSIONS[et]:
            step = 1 if total < INFUSIONS[et] else -1
            movable = [
                p
                for p in group
                if _infusion_bounds(p)[0] <= p.n_infusions + step <= _infusion_bounds(p)[1]
            ]
            if not movable:
                raise ValueError(f"{et}: cannot reach {INFUSIONS[et]} infusions")
            rng.choice(movable).n_infusions += step
            total += step


def _gaps(rng: random.Random, n: int) -> list[int]:
    # Infusions 2 and 3 come a week apart; maintenance about every 4 weeks.
    return [7 if k in (2, 3) else rng.randint(*MAINTENANCE_GAP_DAYS) for k in range(2, n + 1)]


def _assign_dates(rng: random.Random, patients: list[_Patient]) -> None:
    for p in patients:
        gaps = _gaps(rng, p.pre_pause_last)
        span = sum(gaps)
        if p.pandemic:
            # Due for the next monthly infusion after the pause, so the last one is recent.
            last = PAUSE - dt.timedelta(days=rng.randint(1, 28))
            first = last - dt.timedelta(days=span)
        else:
            # Everyone not among the 14 had come off the protocol before the pause.
            latest_first = PAUSE - dt.timedelta(days=36 + span)
            first = STUDY_START + dt.timedelta(
                days=rng.randint(0, (latest_first - STUDY_START).days)
            )
        if first < STUDY_START:
            raise ValueError(f"patient {p.index}: {p.n_infusions} infusions do not fit the study")
        p.dates = [first]
        for gap in gaps:
            p.dates.append(p.dates[-1] + dt.timedelta(days=gap))
        if p.resumed:
            window = (RESUMED_LAST - RESUMED_FIRST).days
            p.dates.append(RESUMED_FIRST + dt.timedelta(days=rng.randint(0, window)))


def _phase(infusion_number: int) -> str:
    if infusion_number == 1:
        return "first"
    return "induction" if infusion_number <= 3 else "maintenance"


# ---- adverse events (Tables 5 and 6) -------------------------------------------------------------


def _free_slots(p: _Patient) -> list[int]:
    # The pre-pause infusion of an enrolled patient carries exactly Table 6's event (or none).
    reserved = {p.pre_pause_last} if p.pandemic else set()
    return [n for n in range(1, p.n_infusions + 1) if n not in reserved]


def _adverse_events(
    rng: random.Random, patients: list[_Patient], followups: list[_Followup]
) -> list[_Event]:
    events: list[_Event] = []
    for et in ETIOLOGIES:
        forced = [(f.patient, f.ae) for f in followups if f.patient.etiology == et and f.ae]
        column = _column_events(rng, et, _of(patients, et), forced)
        resolutions = _expand(RESOLUTION_COUNTS[et])
        rng.shuffle(resolutions)
        events.extend(
            _Event(p, number, category, term, resolution)
            for (p, number, category, term), resolution in zip(column, resolutions, strict=True)
        )
    return events


def _column_events(
    rng: random.Random,
    etiology: str,
    group: list[_Patient],
    forced: list[tuple[_Patient, str]],
) -> list[tuple[_Patient, int, str, str]]:
    """One etiology's events as (patient, infusion, category, term), Table 6's events first."""
    categories = Counter(AE_CATEGORY_COUNTS[etiology])
    column = []
    for p, category in forced:
        categories[category] -= 1
        term = rng.choice(PANDEMIC_AE_TERMS[category])
        column.append((p, p.pre_pause_last, category, term))
    forced_ids = {p.index for p, _ in forced}
    candidates = [p for p in group if p.index not in forced_ids and _free_slots(p)]
    new = _sample(rng, candidates, AE_PATIENTS[etiology] - len(forced), f"{etiology} AE patients")
    slots = {p.index: _free_slots(p) for p in [*(p for p, _ in forced), *new]}
    for free in slots.values():
        rng.shuffle(free)
    # Every new AE patient has at least one event; the rest of the column's events go to any AE
    # patient with a free infusion left.
    owners = [p.index for p in new]
    for _ in range(sum(categories.values()) - len(new)):
        owners.append(rng.choice([i for i, free in slots.items() if len(free) > owners.count(i)]))
    remaining = _expand(categories)
    rng.shuffle(remaining)
    by_index = {p.index: p for p in group}
    for index, category in zip(owners, remaining, strict=True):
        term = rng.choice(AE_TERMS[category])
        column.append((by_index[index], slots[index].pop(), category, term))
    return column


# ---- adjuvants (Table 4) -------------------------------------------------------------------------


def _no_adjuvant_responders(
    rng: random.Random, patients: list[_Patient], forced: Mapping[str, set[int]]
) -> set[int]:
    forced_any = set().union(*forced.values())
    pool = [p for p in patients if p.responder and p.index not in forced_any]
    rng.shuffle(pool)
    chosen: list[_Patient] = []
    for p in pool:
        if len(chosen) == NO_ADJUVANT_RESPONDERS:
            break
        et = p.etiology
        nones = 1 + sum(1 for c in chosen if c.etiology == et)
        # A responder on nothing is a non-user of every class: each class must leave room.
        if all(RESPONDERS[et] - ADJUVANT_USERS[c][et][1] >= nones for c in STUDY_TABLE_CLASSES):
            chosen.append(p)
    if len(chosen) != NO_ADJUVANT_RESPONDERS:
        raise ValueError("no room for the Discussion's three responders without adjuvants")
    return {p.index for p in chosen}


def _class_users(
    rng: random.Random,
    group: list[_Patient],
    quotas: Mapping[str, int],
    forced: Mapping[str, set[int]],
    excluded: set[int],
    cover: bool,
) -> dict[str, set[int]]:
    ids = [p.index for p in group]
    users = {c: {i for i in forced[c] if i in ids} for c in quotas}
    if cover:
        # Every responder but the excluded ones is on at least one adjuvant (the text singles out
        # only three who were on none).
        uncovered = [
            i for i in ids if i not in excluded and not any(i in u for u in users.values())
        ]
        rng.shuffle(uncovered)
        for i in uncovered:
            open_classes = [c for c in quotas if len(users[c]) < quotas[c]]
            if not open_classes:
                raise ValueError("adjuvant quotas cannot cover every responder")
            users[rng.choice(open_classes)].add(i)
    for c, quota in quotas.items():
        pool = [i for i in ids if i not in users[c] and i not in excluded]
        if quota - len(users[c]) > len(pool) or quota < len(users[c]):
            raise ValueError(f"{c}: quota {quota} does not fit")
        users[c] |= set(rng.sample(pool, quota - len(users[c])))
    return users


def _users_quota(drug_class: str, etiology: str, responder: bool) -> int:
    users, responding_users = ADJUVANT_USERS[drug_class][etiology]
    return responding_users if responder else users - responding_users


def _adjuvants(
    rng: random.Random, patients: list[_Patient], followups: list[_Followup]
) -> dict[tuple[int, str], bool]:
    forced: dict[str, set[int]] = {c: set() for c in STUDY_TABLE_CLASSES}
    for f in followups:
        if f.med_change is not None and f.med_change in MED_CHANGE_CLASS:
            forced[MED_CHANGE_CLASS[f.med_change]].add(f.patient.index)
    nones = _no_adjuvant_responders(rng, patients, forced)
    in_use: dict[tuple[int, str], bool] = {}
    for et, responder in product(ETIOLOGIES, (True, False)):
        group = [p for p in _of(patients, et) if p.responder is responder]
        quotas = {c: _users_quota(c, et, responder) for c in STUDY_TABLE_CLASSES}
        users = _class_users(rng, group, quotas, forced, nones, cover=responder)
        for p, c in product(group, STUDY_TABLE_CLASSES):
            in_use[(p.index, c)] = p.index in users[c]
    return in_use


# ---- demographics (Table 1) ----------------------------------------------------------------------


def _assign_demographics(rng: random.Random, patients: list[_Patient]) -> None:
    for et in ETIOLOGIES:
        group = _of(patients, et)
        profiles = [(d, c) for d, c, n in PROFILES[et] for _ in range(n)]
        rng.shuffle(profiles)
        for p, (detail, cancer) in zip(group, profiles, strict=True):
            p.detail, p.cancer = detail, cancer
        males = [p for p in group if p.cancer in MALE_CANCERS]
        free = [p for p in group if p.cancer not in MALE_CANCERS | FEMALE_CANCERS]
        males += _sample(rng, free, MALES[et] - len(males), f"{et} males")
        for p in group:
            p.sex = "male" if p in males else "female"
        for p in _sample(rng, group, METASTASES[et], f"{et} metastases"):
            p.metastases = True


def _sample_sd(n: int, total: int, squares: int) -> float:
    return math.sqrt((squares - total * total / n) / (n - 1))


def _square_sums(n: int, mean: str, sd: str) -> tuple[int, list[int]]:
    """The age sum giving the printed mean, and every sum of squares giving the printed SD."""
    total = int((Decimal(mean) * n).quantize(Decimal(1), ROUND_HALF_UP))
    if round_half_up(total / n) != mean:
        raise ValueError(f"no integer ages of {n} patients have mean {mean}")
    low = total * total / n + (float(sd) - 0.01) ** 2 * (n - 1)
    high = total * total / n + (float(sd) + 0.01) ** 2 * (n - 1)
    # x*x has the parity of x, so the sum of squares has the parity of the sum.
    options = [
        q
        for q in range(math.floor(low), math.ceil(high) + 1)
        if q % 2 == total % 2 and round_half_up(_sample_sd(n, total, q)) == sd
    ]
    return total, options


def _age_targets() -> dict[str, tuple[int, int]]:
    """Per column (sum, sum of squares) matching its mean and SD and, together, the total's."""
    per_column = {et: _square_sums(PATIENTS[et], *AGE_MEAN_SD[et]) for et in ETIOLOGIES}
    n = sum(PATIENTS.values())
    total = sum(s for s, _ in per_column.values())
    best: tuple[float, tuple[int, ...]] | None = None
    for squares in product(*(options for _, options in per_column.values())):
        sd = _sample_sd(n, total, sum(squares))
        if round_half_up(sd) != AGE_TOTAL[1]:
            continue
        # Among exact matches prefer the one nearest the printed SDs (least rounding slack).
        slack = abs(sd - float(AGE_TOTAL[1])) + sum(
            abs(_sample_sd(PATIENTS[et], per_column[et][0], q) - float(AGE_MEAN_SD[et][1]))
            for et, q in zip(ETIOLOGIES, squares, strict=True)
        )
        if best is None or slack < best[0]:
            best = (slack, squares)
    if best is None or round_half_up(total / n) != AGE_TOTAL[0]:
        raise ValueError("no integer ages reproduce every printed age mean and SD")
    return {et: (per_column[et][0], q) for et, q in zip(ETIOLOGIES, best[1], strict=True)}


def _fix_squares(rng: random.Random, ages: list[int], target: int) -> bool:
    # Moving one year from patient j to patient i keeps the sum and changes the sum of squares by
    # 2 * (ages[i] - ages[j] + 1); walk towards the target without overshooting.
    for _ in range(2000):
        diff = target - sum(a * a for a in ages)
        if diff == 0:
            return True
        moves = [
            (2 * (ages[i] - ages[j] + 1), i, j)
            for i in range(len(ages))
            for j in range(len(ages))
            if i != j and ages[i] < AGE_MAX and ages[j] > AGE_MIN
        ]
        exact = [m for m in moves if m[0] == diff]
        toward = exact or [m for m in moves if 0 < m[0] / diff < 1]
        if not toward:
            return False
        # Any step covering half the distance keeps the walk short without always stretching
        # the two extreme ages (which would pile ages up at AGE_MIN and AGE_MAX).
        biggest = max(abs(m[0]) for m in toward)
        big = [m for m in toward if 2 * abs(m[0]) >= min(abs(diff), 2 * biggest)]
        _, i, j = rng.choice(big)
        ages[i] += 1
        ages[j] -= 1
    return False


def _ages(
    rng: random.Random, n: int, mean: float, sd: float, total: int, squares: int
) -> list[int]:
    for _ in range(500):
        ages = [min(AGE_MAX, max(AGE_MIN, round(rng.gauss(mean, sd)))) for _ in range(n)]
        while (diff := total - sum(ages)) != 0:
            step = 1 if diff > 0 else -1
            movable = [i for i, a in enumerate(ages) if AGE_MIN <= a + step <= AGE_MAX]
            ages[rng.choice(movable)] += step
        if _fix_squares(rng, ages, squares):
            return ages
    raise ValueError(f"could not draw {n} ages with sum {total} and sum of squares {squares}")


def _assign_ages(rng: random.Random, patients: list[_Patient]) -> None:
    for et, (total, squares) in _age_targets().items():
        group = _of(patients, et)
        mean, sd = (float(v) for v in AGE_MEAN_SD[et])
        for p, age in zip(group, _ages(rng, len(group), mean, sd, total, squares), strict=True):
            p.age = age


# ---- rows ----------------------------------------------------------------------------------------


def _patient_row(p: _Patient, any_ae: bool) -> dict[str, Value]:
    return {
        "patient_id": p.patient_id,
        "site": SITE,
        "age_years": p.age,
        "sex": p.sex,
        "etiology": p.etiology,
        "primary_cancer": p.cancer,
        "metastases": p.metastases,
        "etiology_detail": p.detail,
        "responder": p.responder,
        "pain_or_ae_limited": p.pae,
        "n_infusions": p.n_infusions,
        "relief_days_last_infusion": p.relief_days,
        "duration_band": p.band,
        "any_adverse_event": any_ae,
        "enrolled_at_pandemic": p.pandemic,
    }


def _followup_row(f: _Followup) -> dict[str, Value]:
    return {
        "patient_id": f.patient.patient_id,
        "last_infusion_number": f.patient.pre_pause_last,
        "responder_last": f.band != "lt_2wk",
        "relief_days_last": f.relief_days,
        "duration_band_last": f.band,
        "ae_gi": f.ae == "gastrointestinal",
        "ae_neuro": f.ae == "neurological",
        "ae_psych": f.ae == "psychiatric",
        "pain_returned": f.pain_returned,
        "med_change": f.med_change,
    }


def _rows(
    patients: list[_Patient],
    events: list[_Event],
    in_use: Mapping[tuple[int, str], bool],
    followups: list[_Followup],
) -> dict[str, list[dict[str, Value]]]:
    event_slots = {(e.patient.index, e.infusion_number) for e in events}
    ordered = sorted(patients, key=lambda p: p.patient_id)
    infusions: list[dict[str, Value]] = [
        {
            "patient_id": p.patient_id,
            "infusion_number": number,
            "date": date,
            "phase": _phase(number),
            "max_rate_mg_per_h": PHASE_MAX_RATE[_phase(number)],
            "any_adverse_event": (p.index, number) in event_slots,
        }
        for p in ordered
        for number, date in enumerate(p.dates, start=1)
    ]
    return {
        "patients": [_patient_row(p, any(i == p.index for i, _ in event_slots)) for p in ordered],
        "infusions": infusions,
        "adverse_events": [
            {
                "patient_id": e.patient.patient_id,
                "infusion_number": e.infusion_number,
                "term": e.term,
                "category": e.category,
                "resolution": e.resolution,
            }
            for e in sorted(events, key=lambda e: (e.patient.patient_id, e.infusion_number))
        ],
        "adjuvants": [
            {
                "patient_id": p.patient_id,
                "drug_class": c,
                "in_use_during_ketamine": in_use[(p.index, c)],
            }
            for p in ordered
            for c in STUDY_TABLE_CLASSES
        ],
        "pandemic_followups": [
            _followup_row(f) for f in sorted(followups, key=lambda f: f.patient.patient_id)
        ],
    }


def study_cohort(seed: int = DEFAULT_SEED) -> dict[str, list[dict[str, Value]]]:
    """The cohort as rows of the analysis dataset (kip.outcomes.dataset), table name to rows."""
    rng = random.Random(seed)
    etiologies = [et for et in ETIOLOGIES for _ in range(PATIENTS[et])]
    patients = [_Patient(index=i, etiology=et) for i, et in enumerate(etiologies)]
    _assign_outcomes(rng, patients)
    followups = _assign_followups(rng, patients)
    _assign_relief(rng, patients, followups)
    _assign_infusion_counts(rng, patients)
    _assign_dates(rng, patients)
    events = _adverse_events(rng, patients, followups)
    in_use = _adjuvants(rng, patients, followups)
    _assign_demographics(rng, patients)
    _assign_ages(rng, patients)
    # Identifiers are random, not derived from any patient attribute (HIPAA 164.514(c)).
    ids = [f"OH{n:03d}" for n in range(1, len(patients) + 1)]
    rng.shuffle(ids)
    for p, patient_id in zip(patients, ids, strict=True):
        p.patient_id = patient_id
    return _rows(patients, events, in_use, followups)
