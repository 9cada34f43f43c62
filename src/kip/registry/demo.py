"""`kip demo`: the study's cohort as a pain clinic's registry would hold it, plus live work today.

What is loaded:

- Site `main` (the study's single centre; the site `kip init` creates) with the 57 patients of
  `kip.synth.study.study_cohort`: identifiers, Table 1 details, exclusion screening, adjuvants,
  enrolments with their end reasons, the 192 infusions of 2018-04..2020-05 with checks,
  premedication, titration log, vitals, adverse events (Table 5) with PRN doses and physician
  decisions, the 24-hour calls and clinic visits with the engine's responder classification and the
  clinician's confirmation, and the COVID-19 pause of 2020-03-16 with its 14 calls (Table 6).
- Site `north`, a small satellite clinic with a few patients of its own (2025 onwards), so that a
  user of one site visibly sees nothing of the other.
- Work for today at both sites: infusions planned today with checks pending, one infusion
  running, 24-hour calls and clinic visits due. These go through the services (the same rules as
  the app); their patients are not study patients, and their infusions are dated after 2020, so
  `kip reproduce --site main --to 2020-12-31` reads exactly the study cohort back.
- Demo users, one per role and site, all with one printed password.

The history is written with the models directly, inside one audit context (source "demo"): the
services judge every write against today (a 24-hour call is not done before it is due, a rate is
set on a running infusion's clock), so they cannot record 2018. The engine still decides what it
decides in the app: the protocol file gives the rates, steps, checklist and premedication, and
`kip.protocol.classify` judges every clinic visit, with the clinician's override and its reason
stored wherever the cohort's course differs from the engine's verdict.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from kip.outcomes.dataset import Value
from kip.protocol import classify, loader
from kip.protocol.model import Phase, Protocol
from kip.registry.audit.context import audit_context
from kip.registry.models import (
    AdjuvantChange,
    AdjuvantMedication,
    AdverseEvent,
    CheckResult,
    Enrolment,
    FollowUp,
    Infusion,
    MedicationDose,
    Membership,
    Patient,
    ResponseDecision,
    ServiceInterruption,
    Site,
    TitrationStep,
    VitalSigns,
)
from kip.registry.models.choices import (
    CheckStatus,
    Continuation,
    DoseChange,
    DoseKind,
    EndReason,
    FollowUpKind,
    FollowUpStatus,
    InfusionStatus,
    PhysicianDecision,
    RateClassification,
    Resolution,
    Role,
)
from kip.registry.services import engine_io, patients, planning, sessions
from kip.synth.study import study_cohort

PROTOCOL_ID = "mskcc-2021"
PAUSE_STARTS = date(2020, 3, 16)  # the cohort's pause (docs/study-cohort.md, choice 12)
PAUSE_ENDS = date(2020, 5, 3)  # the day before the one resumed infusion's window opens
STUDY_CLOSED = date(2020, 6, 30)  # enrolments still open at the pause end here (see _end)
MRN_PREFIX = "DEMO"

SITES: Mapping[str, str] = {
    "main": "Main infusion center",
    "north": "North satellite clinic (demo)",
}
ROLES: tuple[Role, ...] = (Role.NURSE, Role.PHYSICIAN, Role.RESEARCHER, Role.ADMIN)


def username(role: Role, site: str) -> str:
    # The main site's accounts get the short names, which `kip init --username admin` matches.
    return role.value if site == "main" else f"{role.value}.{site}"


DEMO_USERNAMES: frozenset[str] = frozenset(username(r, s) for s in SITES for r in ROLES)

GIVEN_NAMES = (
    "Avery", "Blake", "Casey", "Dana", "Emerson", "Finley", "Gray", "Harper", "Indigo", "Jordan",
    "Kendall", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sawyer", "Tatum",
)  # fmt: skip
# Plainly invented surnames: nobody should mistake a demo record for a person.
FAMILY_NAMES = (
    "Sampleton", "Testwood", "Mockridge", "Fakeley", "Dummerton", "Placeholm", "Exampleby",
    "Demoford", "Trialson", "Fictor", "Madeupson", "Notrealton", "Specimen", "Protoby",
)  # fmt: skip

# The drugs a clinic would record for each adjuvant class the study reports.
ADJUVANT_DRUGS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "opioid": (("oxycodone", "10 mg q6h"), ("morphine ER", "30 mg q12h"), ("hydromorphone", "2mg")),
    "snri": (("duloxetine", "60 mg daily"), ("venlafaxine", "75 mg daily")),
    "tca": (("nortriptyline", "25 mg nightly"), ("amitriptyline", "10 mg nightly")),
    "gabapentinoid": (("gabapentin", "300 mg tid"), ("pregabalin", "75 mg bid")),
    "other_anticonvulsant": (("carbamazepine", "200 mg bid"),),
}  # fmt: skip
# The classes the program reconciles at enrolment; the analysis views report these five.
RECONCILED = tuple(ADJUVANT_DRUGS)

# PRN medication for an adverse event that was resolved with an intervention (Table 5), by term;
# other terms were evaluated by a physician who reduced the rate.
PRN_FOR_TERM: Mapping[str, str] = {
    "nausea": "ondansetron-oral",
    "vomiting": "ondansetron-oral",
    "hallucinations": "lorazepam-oral",
    "anxiety": "lorazepam-oral",
    "dissociation": "lorazepam-oral",
}
# What the clinic visit records as "another reason to stop", so the engine's continuation agrees.
OTHER_STOP: Mapping[str, str] = {
    EndReason.SOCIAL_TRANSPORT: "social circumstances / transport",
    EndReason.OTHER: "study period closed",
}
AE_ONSET_MINUTE = 150  # after the first two phases reach their maximum (minute 90)


class DemoRefused(Exception):
    """The database is not one a demo may be loaded into (one line, for the command line)."""


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    site: str
    created: bool


@dataclass(frozen=True)
class DemoResult:
    accounts: list[DemoAccount]
    password: str
    counts: dict[str, int]
    seconds: float


# --------------------------------------------------------------------------- scripts


@dataclass
class Event:
    term: str
    category: str
    intervention: bool


@dataclass
class Course:
    """One infusion as it went, before it is written."""

    number: int
    day: date
    phase: str
    responded: bool
    relief_hours: int
    event: Event | None = None
    go_on: bool = True  # the clinician decided to continue after it
    follow_ups_done: bool = True


@dataclass
class Script:
    """A patient's whole course: who they are, what they received and how it ended."""

    site: Site
    row: Mapping[str, Value]
    courses: list[Course]
    adjuvants: dict[str, bool]
    end: tuple[date, EndReason, str] | None
    pandemic: Mapping[str, Value] | None = None
    resumed: Course | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _relief_days(row: Mapping[str, Value], key: str) -> int | None:
    value = row.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _study_scripts(site: Site, seed: int, rng: random.Random) -> list[Script]:
    cohort = study_cohort(seed)
    infusions: dict[str, list[Mapping[str, Value]]] = {}
    for inf in cohort["infusions"]:
        infusions.setdefault(str(inf["patient_id"]), []).append(inf)
    events = {(str(e["patient_id"]), e["infusion_number"]): e for e in cohort["adverse_events"]}
    adjuvants: dict[str, dict[str, bool]] = {}
    for a in cohort["adjuvants"]:
        adjuvants.setdefault(str(a["patient_id"]), {})[str(a["drug_class"])] = bool(
            a["in_use_during_ketamine"]
        )
    pandemic = {str(f["patient_id"]): f for f in cohort["pandemic_followups"]}
    scripts = []
    for row in sorted(cohort["patients"], key=lambda r: str(r["patient_id"])):
        pid = str(row["patient_id"])
        rows = sorted(infusions[pid], key=lambda r: int(str(r["infusion_number"])))
        responder = bool(row["responder"])
        followup = pandemic.get(pid)
        last_relief = _relief_days(row, "relief_days_last_infusion")
        courses = []
        for i, given in enumerate(rows):
            n = int(str(given["infusion_number"]))
            day = given["date"]
            assert isinstance(day, date)
            is_last = i == len(rows) - 1
            if not responder:
                relief = rng.choice((0, 2, 4, 6))
            elif is_last and last_relief is not None:
                relief = last_relief * 24
            elif followup is not None and n == followup["last_infusion_number"]:
                relief = int(str(followup["relief_days_last"])) * 24
            elif n == 1:
                relief = rng.randint(3, 6) * 24
            elif n == 2:
                relief = rng.randint(7, 13) * 24
            else:
                relief = rng.randint(14, 30) * 24
            ev = events.get((pid, n))
            courses.append(
                Course(
                    number=n,
                    day=day,
                    phase=str(given["phase"]),
                    responded=responder,
                    relief_hours=relief,
                    event=None
                    if ev is None
                    else Event(
                        str(ev["term"]), str(ev["category"]), ev["resolution"] == "intervention"
                    ),
                    go_on=not is_last or followup is not None,
                )
            )
        resumed = None
        if followup is not None and courses[-1].number != followup["last_infusion_number"]:
            # The one patient infused again after the pause (docs/study-cohort.md, choice 6).
            resumed = courses[-1]
            resumed.go_on = False
        last_day = courses[-1].day
        if followup is not None:
            end = (STUDY_CLOSED, EndReason.OTHER, "Study period closed after the COVID-19 pause")
        elif not responder:
            end = (last_day + timedelta(days=28), EndReason.INADEQUATE_RELIEF, "")
        elif row["pain_or_ae_limited"]:
            reason = (
                EndReason.ADVERSE_EVENTS
                if row["any_adverse_event"]
                else (EndReason.INADEQUATE_RELIEF)
            )
            end = (last_day + timedelta(days=28), reason, "Came off despite relief")
        else:
            reason = rng.choice(
                (EndReason.PATIENT_CHOICE, EndReason.SOCIAL_TRANSPORT, EndReason.DEATH)
            )
            end = (last_day + timedelta(days=28), reason, "")
        scripts.append(
            Script(
                site=site,
                row=row,
                courses=courses,
                adjuvants=adjuvants.get(pid, {}),
                end=end,
                pandemic=followup,
                resumed=resumed,
            )
        )
    return scripts


def _course(
    number: int,
    day: date,
    *,
    responded: bool = True,
    relief_days: int = 21,
    event: Event | None = None,
) -> Course:
    phase = "first" if number == 1 else "induction" if number <= 3 else "maintenance"
    return Course(number, day, phase, responded, relief_days * 24, event)


def _present_scripts(main: Site, north: Site, today: date) -> list[Script]:
    """Patients whose courses reach today. Their infusions planned for today are added through
    the services afterwards (`_today`)."""

    def row(etiology: str, detail: str, cancer: str, sex: str, age: int) -> dict[str, Value]:
        return {
            "etiology": etiology,
            "etiology_detail": detail,
            "primary_cancer": cancer,
            "sex": sex,
            "age_years": age,
            "metastases": False,
        }

    d = today
    nausea = Event("nausea", "gastrointestinal", True)
    return [
        # main: infusion 3 is planned for today (checked in, checks partly recorded).
        Script(main, row("cipn", "paclitaxel", "breast", "female", 58), [
            _course(1, d - timedelta(days=14), relief_days=4),
            _course(2, d - timedelta(days=7), relief_days=7, event=nausea),
        ], {"snri": True, "opioid": True}, None, extra={"today": "checked_in"}),
        # main: maintenance infusion 5 runs now.
        Script(main, row("postsurgical", "post_thoracotomy", "lung", "male", 64), [
            _course(1, d - timedelta(days=84), relief_days=5),
            _course(2, d - timedelta(days=77), relief_days=8),
            _course(3, d - timedelta(days=70), relief_days=20),
            _course(4, d - timedelta(days=35), relief_days=24),
        ], {"gabapentinoid": True}, None, extra={"today": "running"}),
        # main: first infusion yesterday; the 24-hour call is due today.
        Script(main, row("tumor_compression", "nerve_roots", "bone_soft_tissue", "male", 47), [
            _course(1, d - timedelta(days=1), relief_days=1),
        ], {"opioid": True}, None, extra={"open_follow_ups": True}),
        # north: a maintenance patient infused 26 days ago; the clinic visit is due this week.
        Script(north, row("postradiation", "head_and_neck", "head_and_neck", "female", 66), [
            _course(1, date(2025, 9, 8), relief_days=3),
            _course(2, date(2025, 9, 15), relief_days=9),
            _course(3, date(2025, 9, 22), relief_days=25),
            _course(4, d - timedelta(days=26), relief_days=22),
        ], {"opioid": True, "tca": True}, None),
        # north: a nonresponder who came off the program in 2025.
        Script(north, row("cipn", "folfox", "colorectal", "male", 71), [
            _course(1, date(2025, 6, 2), responded=False, relief_days=0),
            _course(2, date(2025, 6, 9), responded=False, relief_days=0),
        ], {"gabapentinoid": True}, (date(2025, 7, 7), EndReason.INADEQUATE_RELIEF, "")),
    ]  # fmt: skip


# --------------------------------------------------------------------------- writing


class Writer:
    """Writes one patient's record, with the site's nurse and physician as the authors."""

    def __init__(self, protocol: Protocol, staff: Mapping[str, Mapping[Role, User]], seed: int):
        self.protocol = protocol
        self.staff = staff
        self.rng = random.Random(seed)
        self.serial = 0
        self.pause: ServiceInterruption | None = None
        self.today = timezone.localdate()

    def user(self, site: Site, role: Role) -> User:
        return self.staff[site.code][role]

    # ---- patient
    def patient(self, script: Script) -> Patient:
        rng = self.rng
        row = script.row
        self.serial += 1
        first_day = script.courses[0].day
        age = int(str(row["age_years"]))
        anchor = first_day.replace(year=first_day.year - age, day=min(first_day.day, 28))
        born = anchor - timedelta(days=rng.randint(1, 330))  # so age_on(first infusion) == age
        sex = str(row["sex"])
        etiology = str(row["etiology"])
        detail = str(row["etiology_detail"])
        detail_field = {
            "tumor_compression": "compression_location",
            "cipn": "cipn_regimen",
            "postsurgical": "surgery_type",
            "postradiation": "radiation_site",
        }[etiology]
        patient = Patient(
            site=script.site,
            mrn=f"{MRN_PREFIX}-{self.serial:06d}",
            given_name=rng.choice(GIVEN_NAMES),
            family_name=rng.choice(FAMILY_NAMES),
            date_of_birth=born,
            sex=sex,
            premenopausal=(age < 50) if sex == "female" else None,
            weight_kg=Decimal(rng.randint(480, 950)) / 10,
            primary_cancer=str(row["primary_cancer"]),
            metastases=bool(row["metastases"]),
            etiology=etiology,
            diabetes_mellitus=False,
            prior_peripheral_neuropathy=False,
        )
        setattr(patient, detail_field, detail)
        patient.full_clean()
        patient.save()
        enrolled = first_day - timedelta(days=rng.randint(7, 21))
        enrolment = Enrolment.objects.create(
            patient=patient,
            protocol_id=self.protocol.id,
            protocol_version=self.protocol.version,
            started_on=enrolled,
        )
        self.adjuvants(patient, script.adjuvants, enrolled)
        for course in script.courses:
            self.infusion(patient, enrolment, course, script)
        if script.end is not None:
            ended_on, reason, note = script.end
            enrolment.ended_on = ended_on
            enrolment.end_reason = reason
            enrolment.end_note = note
            enrolment.save()
        return patient

    def adjuvants(self, patient: Patient, use: Mapping[str, bool], enrolled: date) -> None:
        for drug_class in RECONCILED:
            if use.get(drug_class):
                drug, dose = self.rng.choice(ADJUVANT_DRUGS[drug_class])
                AdjuvantMedication.objects.create(
                    patient=patient,
                    drug_class=drug_class,
                    drug=drug,
                    dose=dose,
                    started_on=enrolled - timedelta(days=self.rng.randint(30, 400)),
                )

    # ---- infusion
    def phase(self, number: int) -> Phase:
        phase = self.protocol.phase_for(number)
        assert phase is not None
        return phase

    def checklist(self, patient: Patient, day: date) -> list[str]:
        """The day's required checks, as plan lists them from the protocol's eligibility."""
        periods = {p.id: p for p in self.protocol.eligibility.periods}
        return [
            c.id
            for c in self.protocol.eligibility.checks
            if c.required
            and (not c.only_female_premenopausal or bool(patient.premenopausal))
            and (c.period is None or periods[c.period].contains(day))
        ]

    def infusion(
        self,
        patient: Patient,
        enrolment: Enrolment,
        course: Course,
        script: Script,
        existing: Infusion | None = None,
    ) -> Infusion:
        rng = self.rng
        nurse = self.user(patient.site, Role.NURSE)
        start = timezone.make_aware(
            datetime.combine(course.day, time(8 + rng.randint(0, 3), rng.choice((0, 15, 30, 45))))
        )
        phase = self.phase(course.number)
        baseline = rng.randint(6, 9)
        fields = {
            "enrolment": enrolment,
            "phase": phase.id,
            "protocol_id": self.protocol.id,
            "protocol_version": self.protocol.version,
            "planned_on": course.day,
            # No study adverse event needed a stop (Table 5 has no anaphylaxis or respiratory one).
            "status": InfusionStatus.COMPLETED,
            "weight_kg": patient.weight_kg,
            "baseline_nprs": baseline,
            "baseline_function": rng.choice(("limited by pain", "needs help with chores")),
            "baseline_satisfaction": rng.choice(("dissatisfied", "somewhat dissatisfied")),
            "baseline_analgesics": "as reconciled",
            "started_at": start,
            "ended_at": start + timedelta(minutes=phase.session_minutes),
        }
        if existing is None:
            infusion = Infusion.objects.create(patient=patient, number=course.number, **fields)
        else:
            # A postponed infusion given after the pause keeps its number (planning.REUSABLE).
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            infusion = existing
        for check_id in self.checklist(patient, course.day):
            CheckResult.objects.create(
                infusion=infusion, check_id=check_id, status=CheckStatus.PASSED, recorded_by=nurse
            )
        for premed in self.protocol.premedication:
            MedicationDose.objects.create(
                infusion=infusion,
                kind=DoseKind.PREMEDICATION,
                drug=premed.drug,
                route=premed.route.value,
                dose_mg=Decimal(str(premed.dose_mg)),
                minute=Decimal(-premed.minutes_before_start),
                given_by=nurse,
            )
        top = self.titrate(infusion, phase, course, nurse)
        self.vitals(infusion, phase, course, nurse)
        infusion.max_rate_mg_per_h = top
        infusion.save()
        self.follow_ups(patient, infusion, course, script, baseline)
        return infusion

    def titrate(self, infusion: Infusion, phase: Phase, course: Course, nurse: User) -> Decimal:
        """The protocol's titration: the start rate, then one step every interval up to the
        phase maximum, held from an adverse event's onset (reduced one step when a physician
        decided so). Returns the highest rate run."""
        assert phase.step is not None and phase.step_interval_minutes is not None
        rate = Decimal(str(phase.start_rate.value))
        step = Decimal(str(phase.step.value))
        top_rate = Decimal(str(min(r.value for r in phase.max_rate)))
        onset = AE_ONSET_MINUTE if course.event is not None else phase.session_minutes
        minute = 0
        action = "start"
        highest = rate
        while minute < min(onset, phase.session_minutes):
            TitrationStep.objects.create(
                infusion=infusion,
                minute=Decimal(minute),
                rate_mg_per_h=rate,
                classification=RateClassification.OK,
                engine_action=action,
                engine_rate_mg_per_h=rate,
                entered_by=nurse,
            )
            highest = rate
            if rate + step > top_rate:
                break
            rate += step
            minute += phase.step_interval_minutes
            action = "step_up"
        if course.event is not None:
            self.adverse_event(infusion, course.event, highest - step, nurse)
        return highest

    def adverse_event(
        self, infusion: Infusion, event: Event, reduced: Decimal, nurse: User
    ) -> None:
        onset = Decimal(AE_ONSET_MINUTE)
        physician = self.user(infusion.patient.site, Role.PHYSICIAN)
        rule = self.protocol.event_rule(event.term)
        assert rule is not None, event.term
        prn_id = PRN_FOR_TERM.get(event.term) if event.intervention else None
        evaluated = rule.response.value == "physician_evaluation"
        row = AdverseEvent.objects.create(
            infusion=infusion,
            term=event.term,
            category=rule.category.value,
            onset_minute=onset,
            resolved_minute=onset + (20 if event.intervention else 15),
            resolution=Resolution.SELF_RESOLVED
            if not event.intervention
            else Resolution.PRN_MEDICATION
            if prn_id
            else Resolution.RATE_REDUCED,
            physician_evaluated=evaluated,
            evaluated_by=physician if evaluated else None,
            physician_decision=""
            if not evaluated
            else PhysicianDecision.CONTINUE
            if not event.intervention
            else PhysicianDecision.PRN_MEDICATION
            if prn_id
            else PhysicianDecision.REDUCE,
            decided_minute=onset + 5 if evaluated else None,
            recorded_by=nurse,
        )
        if prn_id is not None:
            med = self.protocol.prn_medication(prn_id)
            MedicationDose.objects.create(
                infusion=infusion,
                kind=DoseKind.PRN,
                drug=med.drug,
                route=med.route.value,
                dose_mg=Decimal(str(med.dose_mg)),
                minute=onset + 5,
                prn_id=med.id,
                adverse_event=row,
                given_by=nurse,
            )
        elif event.intervention:
            TitrationStep.objects.create(
                infusion=infusion,
                minute=onset + 5,
                rate_mg_per_h=reduced,
                classification=RateClassification.OK,
                engine_action="reduce",
                engine_rate_mg_per_h=reduced,
                entered_by=nurse,
            )

    def vitals(self, infusion: Infusion, phase: Phase, course: Course, nurse: User) -> None:
        rng = self.rng
        every = self.protocol.monitoring.record_every_minutes
        for minute in range(0, phase.session_minutes + 1, every):
            high = course.event is not None and minute == AE_ONSET_MINUTE
            term = course.event.term if course.event is not None else ""
            VitalSigns.objects.create(
                infusion=infusion,
                minute=Decimal(minute),
                temperature_c=Decimal(rng.randint(363, 373)) / 10,
                systolic_mmhg=185 if high and term == "hypertension" else rng.randint(112, 142),
                diastolic_mmhg=rng.randint(64, 88),
                heart_rate_bpm=124 if high and term == "tachycardia" else rng.randint(62, 96),
                spo2_pct=rng.randint(95, 99),
                respiratory_rate=rng.randint(12, 18),
                recorded_by=nurse,
            )

    # ---- follow-ups
    def follow_ups(
        self, patient: Patient, infusion: Infusion, course: Course, script: Script, baseline: int
    ) -> None:
        nurse = self.user(patient.site, Role.NURSE)
        physician = self.user(patient.site, Role.PHYSICIAN)
        rng = self.rng
        after = baseline - (baseline // 2 if course.responded else 1)
        event_note = course.event.term if course.event else "none"
        call_day = course.day + timedelta(days=1)
        called = course.follow_ups_done and call_day <= self.today
        FollowUp.objects.create(
            patient=patient,
            infusion=infusion,
            kind=FollowUpKind.CALL_24H,
            due_on=call_day,
            status=FollowUpStatus.DONE if called else FollowUpStatus.DUE,
            done_on=call_day if called else None,
            nprs=after if called else None,
            qualifier=("good relief" if course.responded else "about the same") if called else "",
            # At 24 hours a responder's relief is still going on: the engine keeps its verdict
            # pending until the clinic visit says how long it lasted.
            relief_hours=Decimal(24) if called and course.responded else None,
            relief_ongoing=called and course.responded,
            functional_improvement=course.responded if called else None,
            adverse_events_reported=event_note if called else "",
            recorded_by=nurse if called else None,
        )
        later = [c.day for c in script.courses if c.day > course.day]
        visit_day = min([course.day + timedelta(days=28), *later])
        if not called or visit_day > self.today:
            FollowUp.objects.create(
                patient=patient,
                infusion=infusion,
                kind=FollowUpKind.CLINIC_VISIT,
                due_on=course.day + timedelta(days=28),
            )
            return
        ending = not course.go_on and script.end is not None
        reason = script.end[1] if ending and script.end is not None else None
        visit = FollowUp.objects.create(
            patient=patient,
            infusion=infusion,
            kind=FollowUpKind.CLINIC_VISIT,
            due_on=course.day + timedelta(days=28),
            status=FollowUpStatus.DONE,
            done_on=visit_day,
            nprs=after,
            qualifier="good relief" if course.responded else "no real change",
            functional_improvement=course.responded,
            analgesics_reduced=course.responded and rng.random() < 0.4,
            relief_hours=Decimal(course.relief_hours),
            relief_ongoing=False,
            satisfaction="satisfied" if course.responded else "dissatisfied",
            adverse_events_reported=event_note,
            patient_choice="stop" if reason == EndReason.PATIENT_CHOICE else "",
            adverse_event_limited=reason == EndReason.ADVERSE_EVENTS,
            deceased=reason == EndReason.DEATH,
            other_stop_reason=OTHER_STOP.get(reason, "") if reason else "",
            recorded_by=nurse,
        )
        self.decide(visit, infusion, course, reason, physician)

    def decide(
        self,
        visit: FollowUp,
        infusion: Infusion,
        course: Course,
        end_reason: EndReason | None,
        physician: User,
    ) -> None:
        """The engine's classification and the physician's confirmation; where the course went
        otherwise (the study kept every patient eligible for infusions 2 and 3, for instance), an
        override with its reason, as a physician would record it."""
        verdict = classify.judge(engine_io.assessment_of(visit, course.number), self.protocol)
        engine = Continuation(verdict.continuation.decision)
        wanted = Continuation.CONTINUE if course.go_on else Continuation.STOP
        responder = course.responded
        agree = (responder, wanted) == (verdict.responder, engine)
        ResponseDecision.objects.create(
            infusion=infusion,
            follow_up=visit,
            engine_responder=verdict.responder,
            engine_duration_band=verdict.duration_band or "",
            engine_continuation=engine,
            engine_reason=verdict.continuation.reason or "",
            engine_reasons=[r.model_dump() for r in verdict.reasons],
            responder=responder,
            continuation=wanted,
            stop_reason=(end_reason or EndReason.OTHER) if wanted == Continuation.STOP else "",
            override_reason=""
            if agree
            else "Study protocol: every patient is offered infusions 2 and 3"
            if course.number < 3 and wanted == Continuation.CONTINUE
            else "Physician's judgement at the clinic visit (see the visit note)",
            confirmed_by=physician,
        )

    # ---- the COVID-19 pause
    def pandemic(self, patient: Patient, script: Script) -> None:
        row = script.pandemic
        assert row is not None and self.pause is not None
        nurse = self.user(patient.site, Role.NURSE)
        number = int(str(row["last_infusion_number"]))
        last = Infusion.objects.get(patient=patient, number=number)
        returned = bool(row["pain_returned"])
        change = str(row["med_change"] or "")
        call_day = PAUSE_STARTS + timedelta(days=self.rng.randint(1, 21))
        FollowUp.objects.create(
            patient=patient,
            infusion=last,
            kind=FollowUpKind.INTERRUPTION_CALL,
            due_on=PAUSE_STARTS,
            status=FollowUpStatus.DONE,
            done_on=call_day,
            interruption=self.pause,
            pain_returned_to_baseline=returned,
            medication_change=change if returned else "",
            function_worse=returned and self.rng.random() < 0.6,
            mobility_worse=returned and self.rng.random() < 0.4,
            mood_worse=returned and self.rng.random() < 0.5,
            appetite_worse=returned and self.rng.random() < 0.3,
            note="Telephone call during the COVID-19 pause",
            recorded_by=nurse,
        )
        changed = {"opioid_increase": "opioid", "gabapentinoid_increase": "gabapentinoid"}
        if change in changed:
            med = AdjuvantMedication.objects.filter(
                patient=patient, drug_class=changed[change]
            ).first()
            assert med is not None, "the cohort makes an increaser a user of the class"
            AdjuvantChange.objects.create(
                medication=med,
                changed_on=call_day,
                change=DoseChange.INCREASED,
                reason="Pain returned during the COVID-19 pause",
            )
        elif change == "cannabis_start":
            med = AdjuvantMedication.objects.create(
                patient=patient, drug_class="cannabis", drug="medical cannabis", started_on=call_day
            )
            AdjuvantChange.objects.create(
                medication=med,
                changed_on=call_day,
                change=DoseChange.STARTED,
                reason="Pain returned during the COVID-19 pause",
            )


def _staff(password: str) -> tuple[dict[str, dict[Role, User]], list[DemoAccount], dict[str, Site]]:
    users: dict[tuple[str, Role], tuple[User, bool]] = {}
    for code in SITES:
        for role in ROLES:
            name = username(role, code)
            user = User.objects.filter(username=name).first()
            created = user is None
            if user is None:
                # Accounts are Django's, not clinical records: the audit trail starts with the
                # memberships that give them access.
                user = User.objects.create_user(
                    name, password=password, first_name="Demo", last_name=role.label
                )
                if role == Role.ADMIN:
                    user.is_staff = user.is_superuser = True
                    user.save()
            users[code, role] = (user, created)
    admin = users["main", Role.ADMIN][0]
    sites: dict[str, Site] = {}
    staff: dict[str, dict[Role, User]] = {}
    accounts = []
    with audit_context(admin, reason="demo: sites and accounts", source="demo"):
        for code, name in SITES.items():
            site = Site.objects.filter(code=code).first() or Site.objects.create(
                code=code, name=name
            )
            sites[code] = site
            for role in ROLES:
                user, created = users[code, role]
                if not Membership.objects.filter(user=user, site=site).exists():
                    Membership.objects.create(user=user, site=site, role=role)
                staff.setdefault(code, {})[role] = user
                accounts.append(DemoAccount(user.username, role, code, created))
    return staff, accounts, sites


def refusal(force: bool) -> str | None:
    """Why `kip demo` must not load into this database, or None."""
    if Patient.objects.filter(mrn__startswith=f"{MRN_PREFIX}-").exists():
        return (
            "database: the demo is already loaded (patients are never deleted; "
            "start from an empty database)"
        )
    if force:
        return None
    others = User.objects.exclude(username__in=DEMO_USERNAMES).order_by("username")
    if others.exists():
        names = ", ".join(others.values_list("username", flat=True)[:3])
        return (
            f"database: has users other than the demo accounts ({names}); "
            "use --force to load anyway"
        )
    if Patient.objects.exists():
        return "database: already holds patients; use --force to load the demo beside them"
    return None


def _today(
    writer: Writer, sites: Mapping[str, Site], scripts: Sequence[Script], today: date
) -> None:
    """Today's work, through the services (the rules the clinic app applies)."""
    by_state = {str(s.extra.get("today")): s for s in scripts if s.extra.get("today")}
    for site in sites.values():
        nurse = writer.user(site, Role.NURSE)
        # A new patient's first infusion, scheduled for today, nothing checked yet.
        writer.serial += 1
        fresh = patients.create_patient(
            nurse,
            site.pk,
            {
                "mrn": f"{MRN_PREFIX}-{writer.serial:06d}",
                "given_name": writer.rng.choice(GIVEN_NAMES),
                "family_name": writer.rng.choice(FAMILY_NAMES),
                "date_of_birth": date(today.year - 55, 5, 17),
                "sex": "female",
                "premenopausal": False,
                "weight_kg": Decimal("68.5"),
                "primary_cancer": "breast",
                "metastases": True,
                "etiology": "postsurgical",
                "surgery_type": "postmastectomy",
                "diabetes_mellitus": False,
                "prior_peripheral_neuropathy": False,
            },
            enrol_on=today - timedelta(days=10),
            source="demo",
        )
        planning.schedule_infusion(nurse, fresh.pk, today, source="demo")
    for state, script in by_state.items():
        nurse = writer.user(script.site, Role.NURSE)
        patient = script.extra["patient"]
        assert isinstance(patient, Patient)
        scheduled = planning.schedule_infusion(nurse, patient.pk, today, source="demo")
        infusion = scheduled.infusion
        sessions.check_in(
            nurse,
            infusion.pk,
            baseline_nprs=7,
            baseline_function="limited by pain",
            baseline_satisfaction="dissatisfied",
            baseline_analgesics="as reconciled",
            source="demo",
        )
        checks = [c.id for c in scheduled.plan.checklist if c.required]
        done = checks if state == "running" else checks[:2]
        for check_id in done:
            sessions.record_check(nurse, infusion.pk, check_id, CheckStatus.PASSED, source="demo")
        if state != "running":
            continue
        for premed in writer.protocol.premedication:
            sessions.give_premedication(nurse, infusion.pk, premed.drug, source="demo")
        sessions.start_infusion(nurse, infusion.pk, source="demo")
        with audit_context(nurse, reason="demo: the session began 65 minutes ago", source="demo"):
            infusion.refresh_from_db()
            infusion.started_at = timezone.now() - timedelta(minutes=65)
            infusion.save()
        phase = writer.phase(infusion.number)
        assert phase.step is not None and phase.step_interval_minutes is not None
        rate = phase.start_rate.value
        for minute in (0, 30, 60):
            sessions.record_rate(nurse, infusion.pk, minute, rate, source="demo")
            rate += phase.step.value
        for minute in (0, 15, 30, 45, 60):
            sessions.record_vitals(
                nurse,
                infusion.pk,
                minute,
                temperature_c=36.8,
                systolic_mmhg=128,
                diastolic_mmhg=78,
                heart_rate_bpm=74,
                spo2_pct=98,
                respiratory_rate=14,
                source="demo",
            )


def load_demo(*, seed: int, password: str, force: bool = False) -> DemoResult:
    """Load the demo registry; raises DemoRefused when the database is not a demo's."""
    begun = datetime.now(UTC)
    protocol = loader.load(PROTOCOL_ID)
    today = timezone.localdate()
    with transaction.atomic():
        reason = refusal(force)
        if reason:
            raise DemoRefused(reason)
        staff, accounts, sites = _staff(password)
        admin = staff["main"][Role.ADMIN]
        writer = Writer(protocol, staff, seed)
        rng = random.Random(seed)
        study = _study_scripts(sites["main"], seed, rng)
        present = _present_scripts(sites["main"], sites["north"], today)
        with audit_context(admin, reason="demo: the study cohort's history", source="demo"):
            writer.pause = ServiceInterruption.objects.create(
                site=sites["main"],
                starts_on=PAUSE_STARTS,
                ends_on=PAUSE_ENDS,
                reason="COVID-19 pandemic: infusions postponed",
            )
            for script in study:
                _study_patient(writer, script)
            for script in present:
                if script.extra.get("open_follow_ups"):
                    script.courses[0].follow_ups_done = False
                if script.end is not None:
                    script.courses[-1].go_on = False
                script.extra["patient"] = writer.patient(script)
        _today(writer, sites, present, today)
    counts = {
        "sites": Site.objects.count(),
        "patients": Patient.objects.count(),
        "infusions": Infusion.objects.count(),
        "adverse events": AdverseEvent.objects.count(),
        "follow-ups": FollowUp.objects.count(),
    }
    seconds = (datetime.now(UTC) - begun).total_seconds()
    return DemoResult(accounts, password, counts, seconds)


def _study_patient(writer: Writer, script: Script) -> None:
    """A study patient; a patient enrolled at the pause gets the postponed infusion, the call and,
    for the one resumed, the infusion given in May 2020 under the postponed one's number."""
    resumed = script.resumed
    if resumed is not None:
        script.courses.remove(resumed)
    patient = writer.patient(script)
    if script.pandemic is None:
        return
    enrolment = Enrolment.objects.get(patient=patient)
    last = script.courses[-1]
    postponed = Infusion.objects.create(
        patient=patient,
        enrolment=enrolment,
        number=last.number + 1,
        phase=writer.phase(last.number + 1).id,
        protocol_id=writer.protocol.id,
        protocol_version=writer.protocol.version,
        planned_on=max(last.day + timedelta(days=28), PAUSE_STARTS),
        status=InfusionStatus.POSTPONED,
        weight_kg=patient.weight_kg,
    )
    writer.pandemic(patient, script)
    if resumed is not None:
        script.courses.append(resumed)
        writer.infusion(patient, enrolment, resumed, script, existing=postponed)


def iter_accounts(result: DemoResult) -> Iterator[str]:
    for account in result.accounts:
        note = "" if account.created else " (existing account, password unchanged)"
        yield f"  {account.username:<18} {account.role.label:<14} site {account.site}{note}"
