"""Schema errors read as kip's own do ("must be a whole number", "is required"), not as pydantic
words them; the rule stays pydantic's type (schema.int_type), which clients match on."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from service_world import World, running

pytestmark = pytest.mark.django_db


def _new_patient(w: World, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": w.site.pk,
        "mrn": "MRN-NEW",
        "given_name": "Ann",
        "family_name": "Roe",
        "date_of_birth": "1970-01-01",
        "sex": "female",
        "primary_cancer": "lung",
        "etiology": "cipn",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@dataclass(frozen=True)
class Case:
    name: str
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]]
    errors: list[tuple[str, str, str]]  # (field, rule, detail), in the order listed


def _vitals(w: World) -> str:
    return f"/api/infusions/{running(w.nurse, w.patient).pk}/vitals"


CASES = [
    Case(
        "vitals: text for numbers, a reading beyond its bounds",
        _vitals,
        lambda w: {"minute": 5, "systolic_mmhg": "high", "temperature_c": "warm", "spo2_pct": 20},
        [
            ("temperature_c", "schema.float_type", "temperature_c: must be a number"),
            ("systolic_mmhg", "schema.int_type", "systolic_mmhg: must be a whole number"),
            ("spo2_pct", "schema.greater_than_equal", "spo2_pct: must be between 30 and 100"),
        ],
    ),
    Case(
        "new patient: a required field left out",
        lambda w: "/api/patients",
        lambda w: _new_patient(w, mrn=None),
        [("mrn", "schema.missing", "mrn: is required")],
    ),
    Case(
        "new patient: a choice that is not offered, an empty name",
        lambda w: "/api/patients",
        lambda w: _new_patient(w, sex="unknown", given_name=""),
        [
            ("given_name", "schema.string_too_short", "given_name: must not be empty"),
            ("sex", "schema.enum", "sex: must be one of: female, male, other"),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_schema_errors_read_plainly(
    world: World, client_for: Callable[[User], Client], case: Case
) -> None:
    client = client_for(world.physician)
    body = json.dumps(case.body(world))
    response = client.post(case.path(world), body, content_type="application/json")
    assert response.status_code == 422, response.content
    data = response.json()
    assert [(e["field"], e["rule"], e["detail"]) for e in data["errors"]] == case.errors
    assert data["detail"] == case.errors[0][2]


QUERIES = [
    ("/api/worklist?on_date=2019-03-04&days=400", "days: must be between 0 and 366"),
    ("/api/worklist?on_date=2019-03-04&days=many", "days: must be a whole number"),
    ("/api/worklist?on_date=1800-01-01", "on_date: must be between 1900-01-01 and 2100-12-31"),
    ("/api/worklist?on_date=04/03/2019", "on_date: must be a date, YYYY-MM-DD"),
    ("/api/worklist?on_date=2019-02-30", "on_date: must be a date, YYYY-MM-DD"),
    ("/api/worklist", "on_date: is required"),
]


@pytest.mark.parametrize(("url", "detail"), QUERIES)
def test_query_errors_read_plainly(
    world: World, client_for: Callable[[User], Client], url: str, detail: str
) -> None:
    response = client_for(world.nurse).get(url)
    assert response.status_code == 422, response.content
    assert response.json()["detail"] == detail
