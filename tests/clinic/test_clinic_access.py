"""Every clinic route x role x site against the written policy below: a route missing from the
table, or declared with another action, fails; ids from another site are 404; every response
carries the security headers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from kip.clinic import urls as clinic_urls
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models.choices import Role

from .conftest import Clinic, Records

pytestmark = pytest.mark.django_db

A = Action
# route name -> (action, method, the id it takes)
POLICY: dict[str, tuple[Action | None, str, str | None]] = {
    "login": (None, "GET", None),
    "logout": (None, "POST", None),
    "home": (None, "GET", None),
    "static": (None, "GET", None),
    "worklist": (A.VIEW_CLINICAL, "GET", None),
    "patients": (A.VIEW_CLINICAL, "GET", None),
    "patient": (A.VIEW_CLINICAL, "GET", "patient"),
    "flowsheet": (A.VIEW_CLINICAL, "GET", "infusion"),
    "flowsheet-chart": (A.VIEW_CLINICAL, "GET", "infusion"),
    "research": (A.VIEW_RESEARCH, "GET", None),
    "patient-schedule": (A.RUN_INFUSION, "POST", "patient"),
    "infusion-checkin": (A.RUN_INFUSION, "POST", "infusion"),
    "infusion-check": (A.RUN_INFUSION, "POST", "infusion"),
    "infusion-premedication": (A.RUN_INFUSION, "POST", "infusion"),
    "infusion-start": (A.RUN_INFUSION, "POST", "infusion"),
    "infusion-rate": (A.RUN_INFUSION, "POST", "infusion"),
    "infusion-vitals": (A.RUN_INFUSION, "POST", "infusion"),
    "infusion-event": (A.RUN_INFUSION, "POST", "infusion"),
    "infusion-end": (A.RUN_INFUSION, "POST", "infusion"),
    "event-prn": (A.RUN_INFUSION, "POST", "event"),
    "event-decision": (A.APPROVE_DEVIATION, "POST", "event"),
    "event-resolve": (A.RUN_INFUSION, "POST", "event"),
    "infusion-deviation-request": (A.RUN_INFUSION, "POST", "infusion"),
    "deviation-approve": (A.APPROVE_DEVIATION, "POST", "deviation"),
    "deviation-decline": (A.APPROVE_DEVIATION, "POST", "deviation"),
    "patient-clearance": (A.APPROVE_DEVIATION, "POST", "patient"),
    "follow-up": (A.RUN_INFUSION, "GET", "follow_up"),
    "follow-up-decision": (A.DECIDE_RESPONSE, "POST", "follow_up"),
    "interruptions": (A.MANAGE_PROGRAM, "GET", None),
    "interruption-create": (A.MANAGE_PROGRAM, "POST", None),
    "staff": (A.ADMINISTER, "GET", None),
    "staff-create": (A.ADMINISTER, "POST", None),
    "staff-active": (A.ADMINISTER, "POST", "account"),
    "staff-add-role": (A.ADMINISTER, "POST", "account"),
    "staff-role": (A.ADMINISTER, "POST", "membership"),
    "staff-remove": (A.ADMINISTER, "POST", "membership"),
}
ROLES = {
    "nurse": Role.NURSE,
    "physician": Role.PHYSICIAN,
    "researcher": Role.RESEARCHER,
    "admin": Role.ADMIN,
}
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def clinic_routes() -> list[str]:
    return [p.name for p in clinic_urls.urlpatterns if isinstance(p, URLPattern) and p.name]


def url(name: str, ids: dict[str, int]) -> str:
    kind = POLICY[name][2]
    if name == "static":
        return reverse(name, kwargs={"path": "kip/clinic.css"})
    return reverse(name, args=[ids[kind]]) if kind else reverse(name)


def call(client: Client, name: str, ids: dict[str, int]) -> tuple[int, dict[str, str]]:
    method = POLICY[name][1]
    target = url(name, ids)
    response = client.get(target) if method == "GET" else client.post(target, {})
    return response.status_code, dict(response.headers)


def assert_headers(headers: dict[str, str], where: str) -> None:
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp, where
    for name, value in HEADERS.items():
        assert headers.get(name) == value, (where, name)


def test_every_route_is_in_the_written_policy() -> None:
    routes = clinic_routes()
    assert sorted(routes) == sorted(POLICY), "a clinic route is missing from POLICY (or stale)"
    for name in routes:
        assert access.ROUTES[name] == POLICY[name][0], name


@pytest.mark.parametrize("who", [*ROLES, "anonymous"])
def test_route_by_role_on_own_site(clinic: Clinic, records: Records, who: str) -> None:
    client = clinic.client(who)
    grants = access.GRANTS[ROLES[who]] if who in ROLES else frozenset()
    for name in POLICY:
        action = POLICY[name][0]
        # Signing out is checked with a client of its own, so the other routes stay signed in.
        status, headers = call(
            clinic.client(who) if name == "logout" else client, name, records.own
        )
        where = f"{who} {name} -> {status}"
        assert_headers(headers, where)
        assert status < 500, where
        if action is None:
            assert status not in (403, 404), where
        elif who == "anonymous":
            assert status == 302 and headers["Location"].startswith("/login/"), where
        elif action in grants:
            assert status not in (403, 404), where
        else:
            assert status == 403, where


@pytest.mark.parametrize("who", ["nurse", "physician", "other_nurse", "other_physician"])
def test_ids_from_another_site_are_not_found(clinic: Clinic, records: Records, who: str) -> None:
    client = clinic.client(who)
    foreign = records.other if not who.startswith("other") else records.own
    role = Role.PHYSICIAN if who.endswith("physician") else Role.NURSE
    for name, (action, _, kind) in POLICY.items():
        if kind is None or action not in access.GRANTS[role]:
            continue
        status, headers = call(client, name, foreign)
        assert status == 404, f"{who} {name} -> {status}"
        assert_headers(headers, name)


def test_researcher_cannot_open_a_patient_and_sees_no_identifiers(
    clinic: Clinic, records: Records
) -> None:
    client = clinic.client("researcher")
    assert client.get(reverse("patient", args=[clinic.patient.pk])).status_code == 403
    assert client.get(reverse("home")).headers["Location"] == reverse("research")
    page = client.get(reverse("research")).content.decode()
    assert clinic.patient.research_id in page
    for identifier in (clinic.patient.mrn, clinic.patient.family_name, "1968"):
        assert identifier not in page
    # Only the researcher's own site.
    assert clinic.other_patient.research_id not in page


def test_patient_search_and_filters(clinic: Clinic) -> None:
    client = clinic.client("nurse")
    for query in ("diaz", "ana diaz", "MRN-100", clinic.patient.research_id.lower()):
        page = client.get(reverse("patients"), {"q": query}).content.decode()
        assert "MRN-100" in page, query
    assert "1 patient" in client.get(reverse("patients"), {"q": "diaz"}).content.decode()
    assert (
        "No patient matches" in client.get(reverse("patients"), {"q": "MRN-900"}).content.decode()
    )
    page = client.get(reverse("patients"), {"etiology": "postsurgical"}).content.decode()
    assert "MRN-100" not in page
    page = client.get(reverse("patients"), {"status": "active"}).content.decode()
    assert "MRN-100" in page
    # htmx asks for the rows only.
    rows = client.get(reverse("patients"), {"q": "diaz"}, headers={"HX-Request": "true"})
    assert b"<table" in rows.content and b"<html" not in rows.content
