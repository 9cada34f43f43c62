"""Clinic test fixtures: two sites, a user per role, and a patient with a planned first infusion
at each site, all made through the services as the app makes them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from kip.registry.audit.context import audit_context
from kip.registry.models import (
    AdverseEvent,
    DeviationRequest,
    FollowUp,
    Infusion,
    Membership,
    Patient,
    Site,
)
from kip.registry.models.choices import CheckStatus, Role
from kip.registry.services import deviations, events, planning, sessions
from kip.registry.services import patients as patient_service

PASSWORD = "correct horse battery staple"


@dataclass
class Clinic:
    main: Site
    other: Site
    users: dict[str, User]
    patient: Patient
    infusion: Infusion
    other_patient: Patient
    other_infusion: Infusion

    def client(self, who: str) -> Client:
        client = Client()
        if who != "anonymous":
            client.force_login(self.users[who])
        return client


@functools.cache
def password_hash() -> str:
    # Argon2id with Django's cost (100 MiB) takes a good part of a second: hash once per run.
    return make_password(PASSWORD)


def make_user(username: str, memberships: list[tuple[Site, str]]) -> User:
    user = User.objects.create(
        username=username, password=password_hash(), first_name=username.title()
    )
    for site, role in memberships:
        Membership.objects.create(user=user, site=site, role=role)
    return user


def make_patient(nurse: User, site: Site, mrn: str, **fields: object) -> tuple[Patient, Infusion]:
    base: dict[str, object] = {
        "mrn": mrn,
        "given_name": "Ana",
        "family_name": "Diaz",
        "date_of_birth": date(1968, 5, 2),
        "sex": "female",
        "premenopausal": False,
        "weight_kg": 70,
        "primary_cancer": "breast",
        "etiology": "cipn",
        "cipn_regimen": "AC-T",
    }
    today = timezone.localdate()
    patient = patient_service.create_patient(nurse, site.pk, base | fields, enrol_on=today)
    infusion = planning.schedule_infusion(nurse, patient.pk, today).infusion
    return patient, infusion


@pytest.fixture(autouse=True)
def _empty_cache(db: None) -> None:
    # The login throttle lives in the database cache; start each test with no failures counted.
    cache.clear()


@pytest.fixture
def clinic(db: None) -> Clinic:
    setup = User.objects.create(username="setup", password=password_hash())
    with audit_context(setup, reason="test set-up", source="test"):
        main = Site.objects.create(code="main", name="Main infusion center")
        other = Site.objects.create(code="other", name="Other hospital")
        users = {
            "nurse": make_user("nurse", [(main, Role.NURSE)]),
            "physician": make_user("physician", [(main, Role.PHYSICIAN)]),
            "researcher": make_user("researcher", [(main, Role.RESEARCHER)]),
            "admin": make_user("admin", [(main, Role.ADMIN)]),
            "other_nurse": make_user("other_nurse", [(other, Role.NURSE)]),
            "other_physician": make_user("other_physician", [(other, Role.PHYSICIAN)]),
        }
    patient, infusion = make_patient(users["nurse"], main, "MRN-100")
    other_patient, other_infusion = make_patient(
        users["other_nurse"], other, "MRN-900", given_name="Otto", family_name="Berg", sex="male"
    )
    return Clinic(main, other, users, patient, infusion, other_patient, other_infusion)


def run_to_end(nurse: User, infusion: Infusion) -> tuple[AdverseEvent, FollowUp, DeviationRequest]:
    """Run an infusion through the services: checks, premedication, a rate, a soft-limit rate
    requested (left pending), nausea, end."""
    pk = infusion.pk
    sessions.check_in(
        nurse,
        pk,
        baseline_nprs=7,
        baseline_function="walks with a cane",
        baseline_satisfaction="dissatisfied",
        baseline_analgesics="gabapentin",
    )
    for check in planning.plan_for_infusion(nurse, pk).checklist:
        sessions.record_check(nurse, pk, check.id, CheckStatus.PASSED)
    sessions.start_infusion(nurse, pk)
    sessions.record_rate(nurse, pk, 0, 10)
    asked = deviations.request_deviation(nurse, pk, 10, 15, reason="pain 9/10").request
    event = events.report_adverse_event(nurse, pk, "nausea", 20).event
    ended = sessions.end_infusion(nurse, pk)
    return event, ended.follow_ups[0], asked


@dataclass
class Records:
    """One of each object a route takes an id of, at the main site and at the other site."""

    own: dict[str, int]
    other: dict[str, int]


@pytest.fixture
def records(clinic: Clinic) -> Records:
    ids = {}
    for label, nurse, patient, infusion, site in (
        ("own", clinic.users["nurse"], clinic.patient, clinic.infusion, clinic.main),
        (
            "other",
            clinic.users["other_nurse"],
            clinic.other_patient,
            clinic.other_infusion,
            clinic.other,
        ),
    ):
        event, follow_up, asked = run_to_end(nurse, infusion)
        ids[label] = {
            "deviation": asked.pk,
            "patient": patient.pk,
            "infusion": infusion.pk,
            "event": event.pk,
            "follow_up": follow_up.pk,
            # The administrator's routes: the nurse's account and role at the site.
            "account": nurse.pk,
            "membership": Membership.objects.get(user=nurse, site=site).pk,
        }
    return Records(ids["own"], ids["other"])
