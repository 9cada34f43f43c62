"""The access policy, walked: every URL pattern of the project must be declared in access.ROUTES,
and every API operation and clinic page answers each role, at its own site and at another, with
the status the declared action implies:

- anonymous: 401 from the API, a redirect to sign-in from a page;
- a role whose grants lack the action: 403;
- an object (or a site named in the body) at a site the user has no role at: 404;
- otherwise the route runs: any status but 401/403/404, and never a 5xx.

Each request runs in a transaction that is rolled back, so every request sees the same data."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from kip.api.auth import make_token
from kip.api.main import api
from kip.protocol.model import PhysicianOption
from kip.registry import access
from kip.registry.access import GRANTS, Action
from kip.registry.audit import audit_context
from kip.registry.models import Membership, Patient, Site
from kip.registry.models.choices import Role
from kip.registry.services import deviations, events
from service_world import DAY, World, make_patient, responded, running

pytestmark = pytest.mark.django_db

DENIED = {401, 403, 404}


@dataclass(frozen=True)
class Objects:
    site: Site
    patient: Patient
    infusion_id: int
    event_id: int
    follow_up_id: int
    deviation_request_id: int
    account_id: int  # a nurse's account and role at the site (the administrator's pages)
    membership_id: int

    def param(self, name: str, route: str) -> int:
        if name == "patient_id" or (name == "pk" and route.startswith("patients/")):
            return self.patient.pk
        if name == "infusion_id" or (name == "pk" and route.startswith("infusions/")):
            return self.infusion_id
        if name == "event_id" or (name == "pk" and route.startswith("events/")):
            return self.event_id
        if name == "follow_up_id" or (name == "pk" and route.startswith("follow-ups/")):
            return self.follow_up_id
        if name == "request_id" or (name == "pk" and route.startswith("deviation-requests/")):
            return self.deviation_request_id
        if name == "user_id" or (name == "pk" and route.startswith("staff/users/")):
            return self.account_id
        if name == "membership_id" or (name == "pk" and route.startswith("staff/memberships/")):
            return self.membership_id
        raise AssertionError(f"no object for path parameter {name!r} in {route!r}")


def objects_at(site: Site, nurse: User, physician: User, patient: Patient, mrn: str) -> Objects:
    given = responded(nurse, patient)
    with audit_context(nurse, reason="test set-up", source="test"):
        second = make_patient(site, mrn, given_name="Di")
    infusion = running(nurse, second)
    # Starting above the start rate (10 mg/h) is a soft-limit deviation: left pending.
    asked = deviations.request_deviation(nurse, infusion.pk, 0, 15, reason="pain 9/10").request
    event = events.report_adverse_event(nurse, infusion.pk, "headache", 5).event
    events.physician_decision(physician, event.pk, PhysicianOption.CONTINUE)
    call = given.follow_ups.get(kind="call_24h")
    membership = Membership.objects.get(user=nurse, site=site)
    return Objects(site, patient, infusion.pk, event.pk, call.pk, asked.pk, nurse.pk, membership.pk)


# A valid body (or query) for each API operation, so the request reaches the service and the
# access check, not only the schema. A new operation without one fails the walk.
BODIES: dict[str, Callable[[Objects], dict[str, Any]]] = {
    "api-patient-create": lambda o: {
        "site_id": o.site.pk,
        "mrn": "MRN555",
        "given_name": "Eli",
        "family_name": "Roe",
        "date_of_birth": "1970-01-01",
        "sex": "male",
        "primary_cancer": "lung",
        "etiology": "cipn",
    },
    "api-patient-update": lambda o: {"weight_kg": 71, "reason": "weighed today"},
    "api-patient-enrol": lambda o: {"started_on": DAY.isoformat()},
    "api-enrolment-end": lambda o: {"ended_on": DAY.isoformat(), "end_reason": "patient_choice"},
    "api-infusion-schedule": lambda o: {"on_date": (DAY + timedelta(days=7)).isoformat()},
    "api-infusion-check-in": lambda o: {"baseline_nprs": 7},
    "api-infusion-check": lambda o: {"check_id": "baseline_nprs", "status": "passed"},
    "api-infusion-premedication": lambda o: {"drug": "ondansetron"},
    "api-infusion-start": lambda o: {},
    # 0 mg/h: the headache holds titration, so any higher rate would need a physician (403).
    "api-infusion-rate": lambda o: {"minute": 30, "rate_mg_per_h": 0},
    "api-infusion-vitals": lambda o: {"minute": 30, "heart_rate_bpm": 80},
    "api-adverse-event-report": lambda o: {"term": "nausea", "minute": 30},
    "api-adverse-event-prn": lambda o: {"prn_id": "lorazepam-oral", "minute": 30},
    "api-adverse-event-decision": lambda o: {"decision": "reduce"},
    "api-adverse-event-resolve": lambda o: {"minute": 30, "resolution": "self_resolved"},
    "api-infusion-end": lambda o: {},
    "api-follow-up-record": lambda o: {"done_on": (DAY + timedelta(days=1)).isoformat()},
    "api-response-confirm": lambda o: {"agree": True},
    "api-interruption-create": lambda o: {
        "starts_on": (DAY + timedelta(days=60)).isoformat(),
        "reason": "COVID-19",
        "site_id": o.site.pk,
    },
    "api-token": lambda o: {},
    "api-deviation-request": lambda o: {"minute": 30, "rate_mg_per_h": 15, "reason": "pain 9/10"},
    "api-deviation-approve": lambda o: {"reason": "reviewed: tolerating well"},
    "api-deviation-decline": lambda o: {"reason": "keep the current rate"},
    "api-exclusion-clear": lambda o: {"exclusion_id": "active_psychosis", "reason": "reviewed"},
    "api-account-create": lambda o: {
        "username": "nurse9",
        "password": "quiet river lantern 42",
        "site_id": o.site.pk,
        "role": "nurse",
        "reason": "new starter",
    },
    "api-membership-create": lambda o: {"site_id": o.site.pk, "role": "physician", "reason": "r"},
    "api-account-active": lambda o: {"active": False, "reason": "on leave"},
    "api-membership-update": lambda o: {"role": "physician", "reason": "promoted"},
    "api-membership-remove": lambda o: {"reason": "left"},
}
QUERIES: dict[str, Callable[[Objects], dict[str, Any]]] = {
    "api-patient-plan": lambda o: {"on_date": (DAY + timedelta(days=7)).isoformat()},
    "api-worklist": lambda o: {"on_date": DAY.isoformat()},
}
# Operations without path parameters whose body names a site: another site's id is a 404 too.
SITE_IN_BODY = {"api-patient-create", "api-interruption-create", "api-account-create"}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str  # /api/patients/{patient_id}


def api_operations() -> list[Operation]:
    schema = api.get_openapi_schema()
    return [
        Operation(spec["operationId"], method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, spec in methods.items()
    ]


def walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for p in patterns:
        route = prefix + str(p.pattern)
        # Django's admin site has its own staff sign-in and is not a clinical route; kip only
        # wraps its sign-in page (admin/login/) to answer a locked username with 429.
        if route.startswith("admin/"):
            continue
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, route)
        else:
            yield route, p


@pytest.fixture
def sites(world: World) -> tuple[Objects, Objects]:
    own = objects_at(world.site, world.nurse, world.physician, world.patient, "MRN002")
    other = objects_at(
        world.other_site, world.other_nurse, world.other_physician, world.other_patient, "MRN902"
    )
    return own, other


def bearer(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")


class Rollback(Exception):
    pass


def call(
    client: Client, method: str, url: str, body: dict[str, Any] | None, query: dict[str, Any]
) -> int:
    try:
        with transaction.atomic():
            if method == "GET":
                status = client.get(url, query).status_code
            else:
                status = client.generic(
                    method,
                    url,
                    data=b"" if body is None else json.dumps(body),
                    content_type="application/json",
                ).status_code
            raise Rollback
    except Rollback:
        return status


def expected(role: Role | None, action: Action | None, other_site: bool) -> set[int] | None:
    """The statuses the policy allows; None: any status but 401/403/404."""
    if role is None:
        return {401}
    if action is None:
        return None
    if action not in GRANTS[role]:
        return {403}
    return {404} if other_site else None


def check(status: int, allowed: set[int] | None, what: str) -> None:
    assert status < 500, what
    if allowed is None:
        assert status not in DENIED, what
    else:
        assert status in allowed, what


def test_every_route_is_declared() -> None:
    missing = [
        f"{route} ({pattern.name or 'unnamed'})"
        for route, pattern in walk(get_resolver().url_patterns)
        if pattern.name not in access.ROUTES
    ]
    assert missing == []
    assert {op.name for op in api_operations()} <= set(access.ROUTES)


def test_api_operations_answer_each_role_at_each_site(
    world: World, sites: tuple[Objects, Objects]
) -> None:
    users: dict[Role | None, User | None] = {Role(k): u for k, u in world.users().items()}
    users[None] = None
    assert len(api_operations()) >= 25
    for op in api_operations():
        action = access.ROUTES[op.name]
        if op.name in {"openapi-json", "openapi-view", "api-health"}:
            continue
        if op.method != "GET":
            assert op.name in BODIES, f"{op.name}: add a sample body to BODIES"
        for other, objects in ((False, sites[0]), (True, sites[1])):
            names = re.findall(r"{(\w+)}", op.path)
            url = op.path
            for name in names:
                url = url.replace(f"{{{name}}}", str(objects.param(name, op.path)))
            body = BODIES[op.name](objects) if op.name in BODIES else None
            query = QUERIES[op.name](objects) if op.name in QUERIES else {}
            scoped = bool(names) or op.name in SITE_IN_BODY
            for role, user in users.items():
                client = (
                    Client(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}") if user else Client()
                )
                status = call(client, op.method, url, body, query)
                allowed = expected(role, action, other and scoped)
                check(
                    status, allowed, f"{op.method} {url} as {role} (other site: {other}): {status}"
                )


def test_pages_answer_each_role_at_each_site(world: World, sites: tuple[Objects, Objects]) -> None:
    pages = [
        (route, p)
        for route, p in walk(get_resolver().url_patterns)
        if not route.startswith("api/") and access.ROUTES.get(p.name) is not None
    ]
    assert len(pages) >= 5  # the walk must not pass by walking nothing
    for route, pattern in pages:
        action = access.ROUTES[pattern.name]
        names = list(pattern.pattern.converters)
        for other, objects in ((False, sites[0]), (True, sites[1])):
            url = "/" + route
            for name in names:
                url = re.sub(rf"<(\w+:)?{name}>", str(objects.param(name, route)), url)
            anonymous = Client().get(url)
            assert anonymous.status_code in (302, 401), url
            for role_name, user in world.users().items():
                client = Client()
                client.force_login(user)
                status = call(client, "GET", url, None, {})
                if status == 405:  # a form's target: it takes POST only
                    status = call_form(client, url)
                allowed = expected(Role(role_name), action, other and bool(names))
                check(status, allowed, f"GET/POST {url} as {role_name} (other: {other}): {status}")


def call_form(client: Client, url: str) -> int:
    try:
        with transaction.atomic():
            status = client.post(url, {}).status_code
            raise Rollback
    except Rollback:
        return status
