"""A small clinic for service and API tests: two sites, every role at the first, a nurse and a
physician at the second, and an enrolled patient at each. Infusions are run through the services
themselves, so a test starts from states the rules allow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from kip.registry.audit import audit_context
from kip.registry.audit.models import AuditEntry
from kip.registry.models import Enrolment, Infusion, Membership, Patient, Site
from kip.registry.models.choices import CheckStatus, Role
from kip.registry.services import followups, planning, sessions
from kip.registry.services.followups import FollowUpAnswers

# Before the COVID-19 screening period (2020-03-16): the checklist is the four baseline records.
DAY = date(2019, 3, 4)
BASELINE_CHECKS = (
    "baseline_nprs",
    "baseline_function",
    "baseline_satisfaction",
    "current_analgesics",
)
PASSWORD = "correct horse battery staple"


@dataclass
class World:
    site: Site
    other_site: Site
    nurse: User
    physician: User
    researcher: User
    admin: User
    other_nurse: User
    other_physician: User
    patient: Patient
    other_patient: Patient

    def users(self) -> dict[str, User]:
        return {
            "nurse": self.nurse,
            "physician": self.physician,
            "researcher": self.researcher,
            "admin": self.admin,
        }


def make_user(name: str) -> User:
    return User.objects.create_user(name, password=PASSWORD)


def make_patient(site: Site, mrn: str, **fields: object) -> Patient:
    base: dict[str, object] = {
        "site": site,
        "mrn": mrn,
        "given_name": "Ana",
        "family_name": "Diaz",
        "date_of_birth": date(1968, 5, 2),
        "sex": "female",
        "premenopausal": False,
        "weight_kg": Decimal("70.0"),
        "primary_cancer": "breast",
        "etiology": "cipn",
        "cipn_regimen": "paclitaxel/carboplatin",
        "diabetes_mellitus": False,
        "prior_peripheral_neuropathy": False,
    }
    patient = Patient.objects.create(**(base | fields))
    Enrolment.objects.create(
        patient=patient, protocol_id="mskcc-2021", protocol_version="1.0.0", started_on=DAY
    )
    return patient


def build_world() -> World:
    setup = make_user("setup")
    users = {name: make_user(name) for name in ("nurse", "physician", "researcher", "admin")}
    other_nurse, other_physician = make_user("other_nurse"), make_user("other_physician")
    with audit_context(setup, reason="test set-up", source="test"):
        site = Site.objects.create(code="main", name="Main infusion center")
        other = Site.objects.create(code="north", name="North clinic")
        for name, user in users.items():
            Membership.objects.create(user=user, site=site, role=Role(name))
        Membership.objects.create(user=other_nurse, site=other, role=Role.NURSE)
        Membership.objects.create(user=other_physician, site=other, role=Role.PHYSICIAN)
        patient = make_patient(site, "MRN001")
        other_patient = make_patient(other, "MRN900", given_name="Bo", family_name="Lind")
    return World(
        site=site,
        other_site=other,
        patient=patient,
        other_patient=other_patient,
        other_nurse=other_nurse,
        other_physician=other_physician,
        **users,
    )


def checked_in(nurse: User, patient: Patient, day: date = DAY) -> Infusion:
    """The patient's next infusion scheduled on `day`, checked in with every baseline check."""
    infusion = planning.schedule_infusion(nurse, patient.pk, day).infusion
    sessions.check_in(
        nurse,
        infusion.pk,
        baseline_nprs=8,
        baseline_function="limited",
        baseline_satisfaction="dissatisfied",
        baseline_analgesics="gabapentin",
    )
    for check in BASELINE_CHECKS:
        sessions.record_check(nurse, infusion.pk, check, CheckStatus.PASSED)
    return infusion


def running(nurse: User, patient: Patient, day: date = DAY) -> Infusion:
    infusion = checked_in(nurse, patient, day)
    sessions.give_premedication(nurse, infusion.pk, "ondansetron")
    sessions.give_premedication(nurse, infusion.pk, "lorazepam")
    return sessions.start_infusion(nurse, infusion.pk)


def completed(nurse: User, patient: Patient, day: date = DAY) -> Infusion:
    """A first infusion run by the protocol: 10 mg/h, +5 every 30 minutes to 25 mg/h."""
    infusion = running(nurse, patient, day)
    for minute, rate in ((0, 10), (30, 15), (60, 20), (90, 25)):
        sessions.record_rate(nurse, infusion.pk, minute, rate)
    return sessions.end_infusion(nurse, infusion.pk).infusion


def responded(nurse: User, patient: Patient, day: date = DAY) -> Infusion:
    """A completed infusion whose 24-hour call shows a response."""
    infusion = completed(nurse, patient, day)
    call = infusion.follow_ups.get(kind="call_24h")
    answers = FollowUpAnswers(
        nprs=4, qualifier="good relief", functional_improvement=True, relief_hours=24
    )
    followups.record_follow_up(nurse, call.pk, answers, done_on=day + timedelta(days=1))
    return infusion


# Argon2 is the production hasher; tests that create a dozen users use a fast one.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def head() -> int:
    """The audit trail's last sequence number (0 when empty), to read what a request adds."""
    last = AuditEntry.objects.order_by("-sequence").first()
    return last.sequence if last else 0


def entries_after(sequence: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(sequence__gt=sequence).order_by("sequence"))
