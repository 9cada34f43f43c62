"""A refused request lists every refused field in "errors", whether the request's own validation
or a service's rules refuse it; "detail", "field" and "rule" stay the first error's, and a single
error is a list of one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from kip.api.main import api
from kip.registry.models import ServiceInterruption, VitalSigns
from service_world import DAY, World, running

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    name: str
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]]
    fields: list[str]  # the refused fields, in the order listed
    rules: list[str]


def _vitals_path(w: World) -> str:
    return f"/api/infusions/{running(w.nurse, w.patient).pk}/vitals"


CASES = [
    Case(
        "vitals: three bad readings",
        _vitals_path,
        lambda w: {"minute": 5, "temperature_c": "abc", "spo2_pct": 140, "heart_rate_bpm": "x"},
        ["temperature_c", "heart_rate_bpm", "spo2_pct"],
        ["schema.float_type", "schema.int_type", "schema.less_than_equal"],
    ),
    Case(
        "vitals: one bad reading",
        _vitals_path,
        lambda w: {"minute": 5, "spo2_pct": 140},
        ["spo2_pct"],
        ["schema.less_than_equal"],
    ),
    Case(
        "service interruption: the service's rules",
        lambda w: "/api/service-interruptions",
        lambda w: {
            "starts_on": DAY.isoformat(),
            "ends_on": (DAY - timedelta(days=1)).isoformat(),
            "reason": " ",
            "site_id": w.site.pk,
        },
        ["reason", "ends_on"],
        ["service_interruptions.reason", "service_interruptions.end"],
    ),
    Case(
        "new patient: two empty names",
        lambda w: "/api/patients",
        lambda w: {
            "site_id": w.site.pk,
            "mrn": "",
            "given_name": "",
            "family_name": "Roe",
            "date_of_birth": "1970-01-01",
            "sex": "male",
            "primary_cancer": "lung",
            "etiology": "cipn",
        },
        ["mrn", "given_name"],
        ["schema.string_too_short", "schema.string_too_short"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_refused_field_is_listed(
    world: World, client_for: Callable[[User], Client], case: Case
) -> None:
    client = client_for(world.physician)
    path = case.path(world)
    response = client.post(path, json.dumps(case.body(world)), content_type="application/json")
    assert response.status_code == 422, response.content
    data = response.json()
    errors = data["errors"]
    assert [e["field"] for e in errors] == case.fields
    assert [e["rule"] for e in errors] == case.rules
    assert all(e["detail"].startswith(f"{e['field']}: ") for e in errors)
    assert (data["field"], data["rule"], data["detail"]) == (
        errors[0]["field"],
        errors[0]["rule"],
        errors[0]["detail"],
    )
    assert not VitalSigns.objects.exists()
    assert not ServiceInterruption.objects.exists()


def test_a_state_refusal_is_one_error(world: World, client_for: Callable[[User], Client]) -> None:
    nurse = client_for(world.nurse)
    path = f"/api/patients/{world.patient.pk}/infusions"
    body = json.dumps({"on_date": DAY.isoformat()})
    assert nurse.post(path, body, content_type="application/json").status_code == 201
    again = nurse.post(path, body, content_type="application/json")
    assert again.status_code == 409
    data = again.json()
    assert data["errors"] == [
        {"field": data["field"], "rule": data["rule"], "detail": data["detail"]}
    ]


def test_the_schema_documents_the_list_of_errors() -> None:
    schemas = api.get_openapi_schema()["components"]["schemas"]
    error = schemas["ErrorOut"]
    assert set(error["required"]) == {"detail", "field", "rule", "errors"}
    item = error["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(schemas[item]["required"]) == {"field", "rule", "detail"}
