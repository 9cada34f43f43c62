"""The administrator's job through the API (kip.api.admin over services.admin): staff at my
sites, accounts, a role at another of my sites for an existing account, role changes, removal,
deactivation; and the login throttle on HTTP Basic credentials and the token endpoint. Runs on
SQLite and, with KIP_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from kip.registry import access
from kip.registry.access import Action
from kip.registry.audit import audit_context
from kip.registry.audit.chain import verify
from kip.registry.models import AuditEntry, Membership
from kip.registry.models.choices import Role
from service_world import PASSWORD, World

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api_only_urls")]

NEW_PASSWORD = "quiet river lantern 42"


def send(client: Client, method: str, url: str, body: dict[str, Any] | None, status: int) -> Any:
    if method == "GET":
        response = client.get(url)
    else:
        response = client.generic(
            method,
            url,
            data=b"" if body is None else json.dumps(body),
            content_type="application/json",
        )
    assert response.status_code == status, response.content
    return response.json() if response.content else None


def admin_at_both_sites(world: World) -> None:
    with audit_context(world.admin, reason="test set-up", source="test"):
        Membership.objects.create(user=world.admin, site=world.other_site, role=Role.ADMIN)


def test_staff_lists_my_sites_only(world: World, client_for: Callable[[User], Client]) -> None:
    listed = send(client_for(world.admin), "GET", "/api/staff", None, 200)
    by_name = {s["username"]: s for s in listed}
    assert set(by_name) == {"nurse", "physician", "researcher", "admin"}
    assert by_name["nurse"]["memberships"] == [
        {
            "id": Membership.objects.get(user=world.nurse).pk,
            "user_id": world.nurse.pk,
            "username": "nurse",
            "site_id": world.site.pk,
            "site_code": "main",
            "role": "nurse",
        }
    ]
    admin_at_both_sites(world)
    both = {s["username"] for s in send(client_for(world.admin), "GET", "/api/staff", None, 200)}
    assert {"other_nurse", "other_physician"} <= both


def test_create_an_account_and_its_refusals(
    world: World, client_for: Callable[[User], Client]
) -> None:
    client = client_for(world.admin)
    body = {
        "username": "nia",
        "first_name": "Nia",
        "last_name": "Moss",
        "password": NEW_PASSWORD,
        "site_id": world.site.pk,
        "role": "nurse",
        "reason": "new starter",
    }
    made = send(client, "POST", "/api/staff/accounts", body, 201)
    assert (made["username"], made["site_code"], made["role"]) == ("nia", "main", "nurse")
    user = User.objects.get(username="nia")
    assert user.check_password(NEW_PASSWORD)
    created = AuditEntry.objects.get(model="auth.user", object_id=str(user.pk))
    assert (created.source, created.reason) == ("api", "new starter")
    taken = send(client, "POST", "/api/staff/accounts", body | {"username": "NIA"}, 409)
    assert (taken["field"], taken["rule"]) == ("username", "admin.username_taken")
    weak = send(
        client, "POST", "/api/staff/accounts", body | {"username": "o", "password": "1"}, 422
    )
    assert (weak["field"], weak["rule"]) == ("password", "auth.password_validators")
    other = body | {"username": "spy", "site_id": world.other_site.pk}
    assert send(client, "POST", "/api/staff/accounts", other, 404)["field"] == "site_id"
    role = send(client, "POST", "/api/staff/accounts", body | {"role": "boss"}, 422)
    assert role["field"] == "role" and role["rule"].startswith("schema.")
    no_reason = send(client, "POST", "/api/staff/accounts", body | {"reason": " "}, 422)
    assert (no_reason["field"], no_reason["rule"]) == ("reason", "admin.reason")
    assert not User.objects.filter(username__in=["o", "spy"]).exists()


def test_a_role_at_another_of_my_sites_for_an_existing_account(
    world: World, client_for: Callable[[User], Client]
) -> None:
    url = f"/api/staff/accounts/{world.nurse.pk}/memberships"
    body = {"site_id": world.other_site.pk, "role": "physician", "reason": "covers north"}
    # An administrator of the main site only cannot touch the north site.
    refused = send(client_for(world.admin), "POST", url, body, 404)
    assert (refused["field"], refused["rule"]) == ("site_id", "access.site")
    assert not Membership.objects.filter(user=world.nurse, site=world.other_site).exists()

    admin_at_both_sites(world)
    client = client_for(world.admin)
    made = send(client, "POST", url, body, 201)
    assert (made["user_id"], made["site_code"], made["role"]) == (
        world.nurse.pk,
        "north",
        "physician",
    )
    assert access.can(world.nurse, Action.APPROVE_DEVIATION, world.other_site)
    assert access.roles_at(world.nurse, world.site) == {Role.NURSE}
    audit = AuditEntry.objects.get(model="registry.membership", object_id=str(made["id"]))
    assert (audit.action, audit.source, audit.reason) == ("create", "api", "covers north")
    assert audit.new_values["role"] == "physician"
    assert verify().ok

    again = send(client, "POST", url, body | {"role": "nurse"}, 409)
    assert (again["field"], again["rule"]) == ("site_id", "admin.membership_exists")
    unknown = send(client, "POST", "/api/staff/accounts/999999/memberships", body, 404)
    assert (unknown["field"], unknown["rule"]) == ("user_id", "auth.user")
    no_reason = send(client, "POST", url, body | {"reason": ""}, 422)
    assert no_reason["field"] == "reason"
    # Other roles hold no administer action anywhere.
    for who in (world.nurse, world.physician, world.researcher):
        denied = send(client_for(who), "POST", url, body, 403)
        assert denied["rule"] == "access.administer"
    assert Membership.objects.filter(user=world.nurse).count() == 2


def test_an_account_seen_at_none_of_my_sites_is_not_found(
    world: World, client_for: Callable[[User], Client]
) -> None:
    loner = User.objects.create_user("loner", password=PASSWORD)
    url = f"/api/staff/accounts/{loner.pk}/memberships"
    body = {"site_id": world.site.pk, "role": "nurse", "reason": "r"}
    assert send(client_for(world.admin), "POST", url, body, 404)["field"] == "user_id"
    assert not Membership.objects.filter(user=loner).exists()


def test_change_remove_deactivate(world: World, client_for: Callable[[User], Client]) -> None:
    client = client_for(world.admin)
    nurse_role = Membership.objects.get(user=world.nurse)
    url = f"/api/staff/memberships/{nurse_role.pk}"
    changed = send(client, "PATCH", url, {"role": "physician", "reason": "promoted"}, 200)
    assert changed["role"] == "physician"
    other_role = Membership.objects.get(user=world.other_nurse)
    other_url = f"/api/staff/memberships/{other_role.pk}"
    send(client, "PATCH", other_url, {"role": "admin", "reason": "r"}, 404)
    send(client, "POST", other_url + "/removal", {"reason": "r"}, 404)
    own = Membership.objects.get(user=world.admin)
    last = send(client, "POST", f"/api/staff/memberships/{own.pk}/removal", {"reason": "r"}, 422)
    assert last["rule"] == "admin.own_last_admin_membership"

    off = send(
        client,
        "POST",
        f"/api/staff/accounts/{world.nurse.pk}/active",
        {"active": False, "reason": "on leave"},
        200,
    )
    assert off["is_active"] is False
    assert (
        Client(HTTP_AUTHORIZATION=basic("nurse", PASSWORD)).get("/api/patients").status_code == 401
    )
    on = send(
        client,
        "POST",
        f"/api/staff/accounts/{world.nurse.pk}/active",
        {"active": True, "reason": "back"},
        200,
    )
    assert on["is_active"] is True
    send(
        client,
        "POST",
        f"/api/staff/accounts/{world.other_nurse.pk}/active",
        {"active": False, "reason": "r"},
        404,
    )
    assert User.objects.get(pk=world.other_nurse.pk).is_active

    assert send(client, "POST", url + "/removal", {"reason": "left"}, 204) is None
    assert not Membership.objects.filter(pk=nurse_role.pk).exists()
    assert User.objects.filter(pk=world.nurse.pk).exists()  # accounts are never deleted


# --------------------------------------------------------------------------- login throttling


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize(("method", "url"), [("GET", "/api/patients"), ("POST", "/api/auth/token")])
@pytest.mark.parametrize("username", ["nurse", "nobody"])
def test_basic_credentials_are_throttled(
    world: World, method: str, url: str, username: str
) -> None:
    def call(password: str, **extra: str) -> Any:
        client = Client(HTTP_AUTHORIZATION=basic(username, password), **extra)
        return client.generic(method, url, content_type="application/json")

    for _ in range(settings.KIP_LOGIN_MAX_FAILURES):
        assert call("wrong password").status_code == 401
    # Locked: even the right password is refused, and an unknown username answers the same.
    locked = call(PASSWORD)
    assert locked.status_code == 429
    assert (locked.json()["field"], locked.json()["rule"]) == ("authorization", "auth.throttled")
    assert "try again in 900 s" in locked.json()["detail"]
    assert locked.headers["Retry-After"] == "900"
    # The same username from another address is not locked.
    elsewhere = call(PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert elsewhere.status_code == (401 if username == "nobody" else 200)


def test_a_locked_username_keeps_its_issued_token(world: World) -> None:
    token = (
        Client()
        .generic("POST", "/api/auth/token", HTTP_AUTHORIZATION=basic("nurse", PASSWORD))
        .json()["token"]
    )
    for _ in range(settings.KIP_LOGIN_MAX_FAILURES):
        Client(HTTP_AUTHORIZATION=basic("nurse", "wrong")).get("/api/patients")
    assert (
        Client(HTTP_AUTHORIZATION=basic("nurse", PASSWORD)).get("/api/patients").status_code == 429
    )
    # The throttle guards password checks; a token holds no password to guess.
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.get("/api/patients").status_code == 200
