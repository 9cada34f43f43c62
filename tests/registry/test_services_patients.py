"""Patients through the services: site access, validation as ServiceError, changes need reasons,
researchers see no clinical records."""

from __future__ import annotations

from datetime import date

import pytest
from pytest_django.fixtures import Settings

from kip.registry.audit.models import AuditEntry
from kip.registry.services import patients
from kip.registry.services.errors import NotFound, PermissionDenied, ServiceError
from service_world import FAST_HASHERS, World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Settings) -> World:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return build_world()


FIELDS: dict[str, object] = {
    "mrn": "MRN777",
    "given_name": "Cy",
    "family_name": "Moss",
    "date_of_birth": date(1970, 1, 1),
    "sex": "male",
    "primary_cancer": "lung",
    "etiology": "postsurgical",
    "surgery_type": "post_thoracotomy",
}


def test_search_sees_only_the_users_sites(world: World) -> None:
    assert list(patients.list_patients(world.nurse)) == [world.patient]
    assert list(patients.list_patients(world.nurse, "lind")) == []
    assert list(patients.list_patients(world.other_nurse, "lind")) == [world.other_patient]
    assert list(patients.list_patients(world.researcher)) == []
    assert list(patients.research_patients(world.researcher)) == [world.patient]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"etiology": "cipn"}, "surgery_type"),  # detail of another etiology
        ({"mrn": "MRN001"}, "patient"),  # MRN taken at this site
        ({"sex": "robot"}, "sex"),
        ({"shoe_size": 9}, "shoe_size"),
    ],
)
def test_invalid_patients_are_refused_naming_the_field(
    world: World, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        patients.create_patient(world.nurse, world.site.pk, FIELDS | changes)
    assert caught.value.field == field


def test_create_enrol_and_update_with_a_reason(world: World) -> None:
    with pytest.raises(PermissionDenied):
        patients.create_patient(world.researcher, world.site.pk, FIELDS)
    with pytest.raises(NotFound):
        patients.create_patient(world.nurse, world.other_site.pk, FIELDS)
    patient = patients.create_patient(world.nurse, world.site.pk, FIELDS, enrol_on=date(2019, 1, 2))
    assert patient.enrolments.get().protocol_version == "1.0.0"
    with pytest.raises(ServiceError) as caught:
        patients.update_patient(world.nurse, patient.pk, {"weight_kg": 81}, reason=" ")
    assert caught.value.rule == "audit.reason_for_change"
    patients.update_patient(world.nurse, patient.pk, {"weight_kg": 81}, reason="weighed today")
    entry = AuditEntry.objects.filter(model="registry.patient", object_id=str(patient.pk)).last()
    assert entry is not None and entry.reason == "weighed today"
    with pytest.raises(NotFound):
        patients.update_patient(world.other_nurse, patient.pk, {"weight_kg": 80}, reason="x")
