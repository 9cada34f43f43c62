"""The API's reads in the audit trail: a GET of one patient or infusion (or of the plan read from
it) is a VIEW with source "api"; a list that hands out many patients' records, and the research
cohort, is an EXPORT with its row count. Writes gain no VIEW; a 403 or 404 logs nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client

from kip.registry.audit.chain import verify
from kip.registry.models import Infusion, Patient
from kip.registry.services import reads
from service_world import DAY, World, entries_after, head, responded, running

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api_only_urls")]


@dataclass(frozen=True)
class Records:
    patient: Patient
    infusion: Infusion


@dataclass(frozen=True)
class Sites:
    own: Records
    other: Records


@pytest.fixture
def sites(world: World) -> Sites:
    """A running infusion at each site (the main site's patient with one given before)."""
    responded(world.nurse, world.patient)
    later = DAY + timedelta(days=7)
    return Sites(
        own=Records(world.patient, running(world.nurse, world.patient, later)),
        other=Records(world.other_patient, running(world.other_nurse, world.other_patient)),
    )


@dataclass(frozen=True)
class Detail:
    name: str
    url: Callable[[Records], str]
    record: Callable[[Records], Model]


PLAN_DAY = (DAY + timedelta(days=30)).isoformat()
DETAILS = [
    Detail("api-patient-detail", lambda r: f"/api/patients/{r.patient.pk}", lambda r: r.patient),
    Detail(
        "api-patient-plan",
        lambda r: f"/api/patients/{r.patient.pk}/plan?on_date={PLAN_DAY}",
        lambda r: r.patient,
    ),
    Detail(
        "api-infusion-detail", lambda r: f"/api/infusions/{r.infusion.pk}", lambda r: r.infusion
    ),
    Detail(
        "api-infusion-plan", lambda r: f"/api/infusions/{r.infusion.pk}/plan", lambda r: r.infusion
    ),
]


@pytest.mark.parametrize("route", DETAILS, ids=[d.name for d in DETAILS])
def test_a_get_of_one_record_is_one_view(
    world: World, sites: Sites, client_for: Callable[[User], Client], route: Detail
) -> None:
    record = route.record(sites.own)
    before = head()
    response = client_for(world.physician).get(route.url(sites.own))
    assert response.status_code == 200, response.content
    [entry] = entries_after(before)
    assert (entry.action, entry.model, entry.object_id) == (
        "view",
        record._meta.label_lower,
        str(record.pk),
    )
    assert (entry.user_id, entry.username, entry.source) == (
        world.physician.pk,
        "physician",
        "api",
    )
    assert entry.research_id == sites.own.patient.research_id != ""
    assert verify().ok


@pytest.mark.parametrize("route", DETAILS, ids=[d.name for d in DETAILS])
def test_another_sites_record_is_a_404_and_no_view(
    world: World, sites: Sites, client_for: Callable[[User], Client], route: Detail
) -> None:
    before = head()
    response = client_for(world.nurse).get(route.url(sites.other))
    assert response.status_code == 404, response.content
    assert entries_after(before) == []


def test_a_role_without_view_clinical_is_a_403_and_no_view(
    world: World, sites: Sites, client_for: Callable[[User], Client]
) -> None:
    before = head()
    response = client_for(world.researcher).get(f"/api/patients/{sites.own.patient.pk}")
    assert response.status_code == 403, response.content
    assert entries_after(before) == []


@dataclass(frozen=True)
class Listing:
    name: str
    who: str
    url: str
    what: str
    rows: Callable[[Any], int]
    research_ids: Callable[[Any], set[str]]  # the patients the answer shows, read off the body


def by_patient_id(items: list[dict[str, Any]]) -> set[str]:
    ids = {item["patient_id"] for item in items}
    return set(Patient.objects.filter(pk__in=ids).values_list("research_id", flat=True))


def own_ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["research_id"] for item in items}


LISTINGS = [
    Listing("api-patient-list", "nurse", "/api/patients", reads.PATIENT_LIST, len, own_ids),
    Listing(
        "api-follow-up-list",
        "nurse",
        f"/api/follow-ups?until={PLAN_DAY}",
        reads.FOLLOW_UPS_DUE,
        len,
        by_patient_id,
    ),
    Listing(
        "api-worklist",
        "nurse",
        f"/api/worklist?on_date={DAY.isoformat()}&days=30",
        reads.WORKLIST,
        lambda body: len(body["calls"]) + len(body["infusions"]),
        lambda body: by_patient_id(body["calls"]) | own_ids(body["infusions"]),
    ),
    Listing(
        "api-research-patients",
        "researcher",
        "/api/research/patients",
        reads.RESEARCH_COHORT,
        len,
        own_ids,
    ),
]


@pytest.mark.parametrize("route", LISTINGS, ids=[r.name for r in LISTINGS])
def test_a_list_of_many_patients_is_one_export_with_its_count(
    world: World, sites: Sites, client_for: Callable[[User], Client], route: Listing
) -> None:
    user: User = world.users()[route.who]
    before = head()
    response = client_for(user).get(route.url)
    assert response.status_code == 200, response.content
    rows = route.rows(response.json())
    assert rows >= 1  # a list with something in it, so the count is the rows handed out
    [entry] = entries_after(before)
    assert (entry.action, entry.source, entry.user_id, entry.username) == (
        "export",
        "api",
        user.pk,
        user.username,
    )
    # Whose data left, each patient once: "who has had this patient's data" covers lists too.
    research_ids = route.research_ids(response.json())
    assert research_ids
    assert entry.new_values == {
        "what": route.what,
        "count": rows,
        "research_ids": sorted(research_ids),
    }
    assert verify().ok


def test_writes_gain_no_view(
    world: World, sites: Sites, client_for: Callable[[User], Client]
) -> None:
    nurse = client_for(world.nurse)
    infusion, patient = sites.own.infusion, sites.own.patient
    before = head()
    vitals = nurse.post(
        f"/api/infusions/{infusion.pk}/vitals",
        {"minute": 5, "heart_rate_bpm": 80},
        content_type="application/json",
    )
    assert vitals.status_code == 201, vitals.content
    changed = nurse.patch(
        f"/api/patients/{patient.pk}",
        {"weight_kg": 71, "reason": "weighed today"},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    written = entries_after(before)
    assert [(e.action, e.model) for e in written] == [
        ("create", "registry.vitalsigns"),
        ("update", "registry.patient"),
    ]
