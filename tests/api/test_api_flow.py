"""A first infusion through the API, and the API's answers where the rules refuse: 422 with the
field and rule for a refused rate, 403 for a soft limit without a physician's approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from kip.registry.models import TitrationStep
from service_world import BASELINE_CHECKS, DAY, World

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api_only_urls")]


def post(client: Client, url: str, body: dict[str, Any], status: int) -> Any:
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == status, response.content
    return response.json()


BASELINE = {
    "baseline_nprs": 8,
    "baseline_function": "walks with a cane",
    "baseline_satisfaction": "dissatisfied",
    "baseline_analgesics": "gabapentin",
}


def test_a_first_infusion_with_nausea_from_schedule_to_follow_up(
    world: World, client_for: Callable[[User], Client]
) -> None:
    nurse, physician = client_for(world.nurse), client_for(world.physician)
    p = world.patient.pk
    plan = nurse.get(f"/api/patients/{p}/plan", {"on_date": DAY.isoformat()}).json()
    assert (plan["eligible"], plan["infusion_number"], plan["start_rate_mg_per_h"]) == (True, 1, 10)
    scheduled = post(nurse, f"/api/patients/{p}/infusions", {"on_date": DAY.isoformat()}, 201)
    i = scheduled["infusion"]["id"]
    post(nurse, f"/api/infusions/{i}/check-in", BASELINE, 200)
    refused = post(nurse, f"/api/infusions/{i}/start", {}, 422)
    assert refused["field"] == "checks.baseline_nprs"
    for check in BASELINE_CHECKS:
        post(nurse, f"/api/infusions/{i}/checks", {"check_id": check, "status": "passed"}, 200)
    post(nurse, f"/api/infusions/{i}/premedication", {"drug": "ondansetron"}, 201)
    post(nurse, f"/api/infusions/{i}/start", {}, 200)

    step = post(nurse, f"/api/infusions/{i}/rates", {"minute": 0, "rate_mg_per_h": 10}, 201)
    assert step["classification"]["classification"] == "ok"
    assert step["next_step"]["action"] == "hold"
    hard = post(physician, f"/api/infusions/{i}/rates", {"minute": 30, "rate_mg_per_h": 75}, 422)
    assert (hard["field"], hard["rule"]) == ("rate_mg_per_h", "limits.hard_max_rate")
    soft = {"minute": 30, "rate_mg_per_h": 25, "reason": "tolerated before"}
    denied = post(nurse, f"/api/infusions/{i}/rates", soft, 403)
    assert (denied["field"], denied["rule"]) == ("approved_by", "limits.step_above_protocol_step")
    assert TitrationStep.objects.filter(infusion_id=i).count() == 1
    approved = post(
        nurse, f"/api/infusions/{i}/rates", soft | {"approved_by": world.physician.pk}, 201
    )
    assert approved["step"]["classification"] == "soft_limit"

    vitals = post(nurse, f"/api/infusions/{i}/vitals", {"minute": 45, "heart_rate_bpm": 88}, 201)
    assert vitals["next_step"]["events_triggered_by_vitals"] == []
    event = post(nurse, f"/api/infusions/{i}/adverse-events", {"term": "nausea", "minute": 50}, 201)
    assert event["response"]["recommended_prn"] == "ondansetron-oral"
    assert event["event"]["category"] == "gastrointestinal"
    e = event["event"]["id"]
    # Premedication ondansetron at -30 does not count toward the 6-hour interval, so a dose is
    # allowed; a second one an hour later is not.
    post(nurse, f"/api/adverse-events/{e}/prn", {"prn_id": "ondansetron-oral", "minute": 55}, 201)
    again = post(
        nurse, f"/api/adverse-events/{e}/prn", {"prn_id": "ondansetron-oral", "minute": 115}, 422
    )
    assert again["rule"] == "adverse_events.prn.ondansetron-oral.interval_minutes"
    post(nurse, f"/api/adverse-events/{e}/decision", {"decision": "continue"}, 403)
    post(
        nurse,
        f"/api/adverse-events/{e}/resolve",
        {"minute": 70, "resolution": "prn_medication"},
        200,
    )

    detail = nurse.get(f"/api/infusions/{i}").json()
    assert [s["rate_mg_per_h"] for s in detail["steps"]] == [10, 25]
    assert len(detail["doses"]) == 2 and len(detail["adverse_events"]) == 1
    assert detail["next_step"]["phase"] == "first"

    ended = post(nurse, f"/api/infusions/{i}/end", {}, 200)
    assert ended["infusion"]["max_rate_mg_per_h"] == 25
    call = next(f for f in ended["follow_ups"] if f["kind"] == "call_24h")
    due = nurse.get("/api/follow-ups").json()
    assert call["id"] in [f["id"] for f in due]
    answers = {
        "done_on": "2019-03-05",
        "nprs": 3,
        "qualifier": "good",
        "functional_improvement": True,
        "relief_hours": 30,
    }
    recorded = post(nurse, f"/api/follow-ups/{call['id']}", answers, 200)
    assert recorded["classification"]["responder"] is True
    post(nurse, f"/api/follow-ups/{call['id']}/confirmation", {"agree": True}, 403)
    override = post(
        physician,
        f"/api/follow-ups/{call['id']}/confirmation",
        {"agree": False, "continuation": "stop"},
        422,
    )
    assert override["field"] == "reason"
    confirmed = post(physician, f"/api/follow-ups/{call['id']}/confirmation", {"agree": True}, 201)
    assert confirmed["continuation"] == "continue"


NEW_PATIENT = (
    '{"site_id": "SITE", "mrn": "M-1", "given_name": "Eli", "family_name": "Roe", '
    '"date_of_birth": "1970-01-01", "sex": "male", "primary_cancer": "lung", "etiology": "cipn"}'
)


def test_bad_input_is_a_4xx_with_field_and_rule(
    world: World, client_for: Callable[[User], Client]
) -> None:
    nurse = client_for(world.nurse)
    p = world.patient.pk
    cases: list[tuple[str, str, int, str]] = [
        (f"/api/patients/{p}/infusions", "{", 400, ""),
        (f"/api/patients/{p}/infusions", '{"on_date": "yesterday"}', 422, "on_date"),
        (f"/api/patients/{p}/infusions", '{"on_date": "9999-12-31"}', 422, "on_date"),
        (f"/api/patients/{p}/infusions", '{"on_date": "2019-03-04", "x": 1}', 201, ""),
        (f"/api/patients/{p}/infusions", '{"on_date": "2019-03-05"}', 409, "patient_id"),
        ("/api/patients", NEW_PATIENT.replace('"SITE"', "1e400"), 422, "site_id"),
        ("/api/patients", NEW_PATIENT.replace('"SITE"', "1.5"), 422, "site_id"),
        ("/api/patients", NEW_PATIENT.replace("M-1", "M\\u0000"), 422, "mrn"),
        ("/api/patients", NEW_PATIENT.replace('"SITE"', str(world.site.pk)), 201, ""),
    ]
    for url, body, status, field in cases:
        response = nurse.post(url, body, content_type="application/json")
        assert response.status_code == status, (url, body, response.content)
        data = response.json()
        if status >= 400:
            assert set(data) == {"detail", "field", "rule", "errors"}, data
            assert not field or data["field"] == field, data
            # The first of the listed errors is the one the top-level keys name.
            first = data["errors"][0]
            assert (first["field"], first["rule"], first["detail"]) == (
                data["field"],
                data["rule"],
                data["detail"],
            )


def test_researchers_see_no_identifiers(world: World, client_for: Callable[[User], Client]) -> None:
    researcher = client_for(world.researcher)
    rows = researcher.get("/api/research/patients").json()
    assert [r["research_id"] for r in rows] == [world.patient.research_id]
    identifying = {"id", "mrn", "given_name", "family_name", "date_of_birth"}
    assert not identifying & set(rows[0])
    assert researcher.get(f"/api/patients/{world.patient.pk}").status_code == 403
    assert researcher.get("/api/patients").status_code == 403


def test_tokens_basic_and_session_auth(world: World) -> None:
    anonymous = Client()
    assert anonymous.get("/api/patients").status_code == 401
    assert anonymous.get("/api/health").json() == {"status": "ok"}
    basic = Client(HTTP_AUTHORIZATION="Basic " + _b64("nurse:correct horse battery staple"))
    assert basic.get("/api/patients").status_code == 200
    wrong = Client(HTTP_AUTHORIZATION="Basic " + _b64("nurse:guess"))
    assert wrong.get("/api/patients").status_code == 401
    token = basic.post("/api/auth/token").json()["token"]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/patients").status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}x").get("/api/patients").status_code == 401
    world.nurse.set_password("a new passphrase for the nurse")
    world.nurse.save()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/patients").status_code == 401

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.physician)
    assert browser.get("/api/patients").status_code == 200
    body = {"on_date": DAY.isoformat()}
    url = f"/api/patients/{world.patient.pk}/infusions"
    no_csrf = browser.post(url, body, content_type="application/json")
    assert no_csrf.status_code == 403 and no_csrf.json()["rule"] == "auth.csrf"


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("check_in", "check", "field", "rule"),
    [
        # An empty check-in form: the check-in is where the baseline is captured.
        ({}, None, "baseline", "eligibility.check_in_requires_baseline"),
        (
            {"baseline_nprs": None, "baseline_function": " "},
            None,
            "baseline",
            "eligibility.check_in_requires_baseline",
        ),
        # Baseline pain passed with no NPRS: the responder rule would have no denominator.
        (
            {"baseline_function": "walks with a cane"},
            "baseline_nprs",
            "baseline_nprs",
            "eligibility.checks.baseline_nprs.records",
        ),
        (
            {"baseline_nprs": 8},
            "current_analgesics",
            "baseline_analgesics",
            "eligibility.checks.current_analgesics.records",
        ),
    ],
)
def test_a_check_in_or_check_without_its_value_is_refused_with_field_and_rule(
    world: World,
    client_for: Callable[[User], Client],
    check_in: dict[str, Any],
    check: str | None,
    field: str,
    rule: str,
) -> None:
    nurse = client_for(world.nurse)
    body = {"on_date": DAY.isoformat()}
    i = post(nurse, f"/api/patients/{world.patient.pk}/infusions", body, 201)["infusion"]["id"]
    if check is None:
        refused = post(nurse, f"/api/infusions/{i}/check-in", check_in, 422)
    else:
        post(nurse, f"/api/infusions/{i}/check-in", check_in, 200)
        refused = post(
            nurse, f"/api/infusions/{i}/checks", {"check_id": check, "status": "passed"}, 422
        )
    assert (refused["field"], refused["rule"]) == (field, rule)
    assert field in refused["detail"]
    detail = nurse.get(f"/api/infusions/{i}").json()
    assert [c for c in detail["checks"] if c["status"] == "passed"] == []
    assert detail["infusion"]["status"] == ("planned" if check is None else "checked_in")
