"""The API over the gaps closed in migration 0004: continuation inputs on a follow-up, the
decision minute, soft-exclusion clearance and the nurse's soft-limit request a physician
co-signs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from kip.registry.models import TitrationStep
from kip.registry.models.choices import FollowUpKind
from kip.registry.services import sessions
from service_world import DAY, World, completed, running

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api_only_urls")]


def post(client: Client, url: str, body: dict[str, Any], status: int) -> Any:
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == status, response.content
    return response.json()


def test_continuation_inputs_reach_the_engine_and_the_decision(
    world: World, client_for: Callable[[User], Client]
) -> None:
    infusion = completed(world.nurse, world.patient)
    call = infusion.follow_ups.get(kind=FollowUpKind.CALL_24H)
    body = {
        "done_on": (DAY + timedelta(days=1)).isoformat(),
        "nprs": 3,
        "qualifier": "good relief",
        "functional_improvement": True,
        "patient_choice": "stop",
    }
    done = post(client_for(world.nurse), f"/api/follow-ups/{call.pk}", body, 200)
    assert done["follow_up"]["patient_choice"] == "stop"
    assert done["follow_up"]["patient_id"] == world.patient.pk
    assert done["classification"]["continuation"] == {
        "decision": "stop",
        "reason": "patient_choice",
    }
    bad = post(client_for(world.nurse), f"/api/follow-ups/{call.pk}", body | {"deceased": "y"}, 422)
    assert bad["field"] == "deceased"
    decision = post(
        client_for(world.physician),
        f"/api/follow-ups/{call.pk}/confirmation",
        {"agree": True},
        201,
    )
    assert (decision["continuation"], decision["stop_reason"]) == ("stop", "patient_choice")


def test_a_physician_clears_a_soft_exclusion_through_the_api(
    world: World, client_for: Callable[[User], Client]
) -> None:
    nurse, physician = client_for(world.nurse), client_for(world.physician)
    created = post(
        nurse,
        "/api/patients",
        {
            "site_id": world.site.pk,
            "mrn": "MRN-CRPS",
            "given_name": "Ida",
            "family_name": "Holm",
            "date_of_birth": "1975-01-01",
            "sex": "male",
            "weight_kg": 70,
            "primary_cancer": "other",
            "etiology": "postsurgical",
        },
        201,
    )
    p = created["id"]
    post(
        nurse,
        f"/api/patients/{p}/enrolment",
        {"started_on": DAY.isoformat(), "protocol_id": "schwartzman-2009"},
        201,
    )
    patched = nurse.patch(
        f"/api/patients/{p}",
        {"other_conditions": ["active_psychosis"], "reason": "screening"},
        content_type="application/json",
    )
    assert patched.json()["other_conditions"] == ["active_psychosis"]
    plan = nurse.get(f"/api/patients/{p}/plan", {"on_date": DAY.isoformat()}).json()
    assert plan["eligible"] is False
    body = {"exclusion_id": "active_psychosis", "reason": "psychiatry: in remission"}
    assert (
        post(nurse, f"/api/patients/{p}/clearances", body, 403)["rule"]
        == "access.approve_deviation"
    )
    post(client_for(world.other_physician), f"/api/patients/{p}/clearances", body, 404)
    cleared = post(physician, f"/api/patients/{p}/clearances", body, 201)
    assert cleared["cleared_by"] == world.physician.pk
    assert physician.get(f"/api/patients/{p}").json()["cleared_exclusions"] == ["active_psychosis"]
    plan = nurse.get(f"/api/patients/{p}/plan", {"on_date": DAY.isoformat()}).json()
    assert plan["eligible"] is True
    post(physician, f"/api/patients/{p}/clearances", body, 409)


def test_a_nurse_requests_a_soft_limit_rate_and_a_physician_approves(
    world: World, client_for: Callable[[User], Client]
) -> None:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    nurse, physician = client_for(world.nurse), client_for(world.physician)
    i = infusion.pk
    # Setting it directly needs a physician (403); asking for it is the nurse's way.
    post(nurse, f"/api/infusions/{i}/rates", {"minute": 10, "rate_mg_per_h": 15}, 403)
    asked = post(
        nurse,
        f"/api/infusions/{i}/deviation-requests",
        {"minute": 10, "rate_mg_per_h": 15, "reason": "pain 9/10"},
        201,
    )
    r = asked["request"]["id"]
    assert (asked["request"]["status"], asked["classification"]["classification"]) == (
        "pending",
        "soft_limit",
    )
    detail = nurse.get(f"/api/infusions/{i}").json()
    assert [d["id"] for d in detail["deviation_requests"]] == [r]
    reason = {"reason": "reviewed, tolerating well"}
    post(nurse, f"/api/deviation-requests/{r}/approval", reason, 403)
    post(client_for(world.other_physician), f"/api/deviation-requests/{r}/approval", reason, 404)
    post(physician, f"/api/deviation-requests/{r}/approval", {}, 422)
    done = post(physician, f"/api/deviation-requests/{r}/approval", reason, 201)
    assert done["step"]["approved_by"] == world.physician.pk
    assert done["step"]["entered_by"] == world.nurse.pk
    assert done["request"]["status"] == "approved"
    assert TitrationStep.objects.get(pk=done["step"]["id"]).deviation_reason == reason["reason"]
    post(physician, f"/api/deviation-requests/{r}/decline", reason, 409)


def test_a_decision_records_its_minute(world: World, client_for: Callable[[User], Client]) -> None:
    infusion = running(world.nurse, world.patient)
    sessions.record_rate(world.nurse, infusion.pk, 0, 10)
    nurse = client_for(world.nurse)
    event = post(
        nurse,
        f"/api/infusions/{infusion.pk}/adverse-events",
        {"term": "headache", "minute": 12},
        201,
    )["event"]
    decided = post(
        client_for(world.physician),
        f"/api/adverse-events/{event['id']}/decision",
        {"decision": "continue", "minute": 15},
        200,
    )
    assert decided["event"]["decided_minute"] == 15
