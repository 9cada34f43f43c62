"""The administrator's job: accounts and roles at their sites (services.admin), and the staff and
service-interruption pages, per role and site. Runs on SQLite and, with KIP_DATABASE_URL, on
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from kip.registry import access
from kip.registry.audit.chain import verify
from kip.registry.audit.context import audit_context
from kip.registry.models import AuditEntry, FollowUp, Membership, ServiceInterruption
from kip.registry.models.choices import InfusionStatus, Role
from kip.registry.services import admin
from kip.registry.services.errors import Conflict, NotFound, PermissionDenied, ServiceError
from service_world import FAST_HASHERS

from .conftest import Clinic

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet river lantern 42"


@pytest.fixture(autouse=True)
def _fast_hashers(settings: Settings) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def new_user(c: Clinic, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "username": "nurse2",
        "first_name": "Nia",
        "last_name": "Moss",
        "password": NEW_PASSWORD,
        "role": "nurse",
        "reason": "new starter",
    }
    site_id = overrides.pop("site_id", c.main.pk)
    actor = overrides.pop("actor", c.users["admin"])
    return admin.create_user(actor, site_id, **(fields | overrides))


def membership(c: Clinic, who: str) -> Membership:
    return Membership.objects.get(user=c.users[who])


def entries(model: str, object_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(model=model, object_id=str(object_id)))


# --------------------------------------------------------------------------- services


def test_admin_creates_an_account_with_a_role_at_their_site(clinic: Clinic) -> None:
    made = new_user(clinic)
    user = made.user
    assert (made.site, made.role) == (clinic.main, Role.NURSE)
    assert user.check_password(NEW_PASSWORD) and user.is_active
    assert access.can(user, access.Action.RUN_INFUSION, clinic.main)
    created = entries("auth.user", user.pk)
    assert len(created) == 1 and created[0].action == "create"
    assert created[0].reason == "new starter" and created[0].username == "admin"
    assert "password" not in created[0].new_values
    assert created[0].new_values["username"] == "nurse2"
    assert entries("registry.membership", made.pk)[0].action == "create"
    assert verify().ok


# (overrides, error class, field, rule or message fragment)
REFUSED_CREATES: list[tuple[str, dict[str, Any], type[ServiceError], str, str]] = [
    ("another site", {"site_id": "other"}, NotFound, "site_id", "access.site"),
    ("not an admin", {"actor": "physician"}, NotFound, "site_id", "access.site"),
    ("short password", {"password": "abc"}, ServiceError, "password", "too short"),
    ("common password", {"password": "password123"}, ServiceError, "password", "too common"),
    ("numeric password", {"password": "40918273645"}, ServiceError, "password", "numeric"),
    ("like the username", {"password": "nurse2x!"}, ServiceError, "password", "similar"),
    ("username taken", {"username": "NURSE"}, Conflict, "username", "admin.username_taken"),
    ("no username", {"username": "  "}, ServiceError, "username", "admin.username"),
    ("unknown role", {"role": "boss"}, ServiceError, "role", "admin.role"),
    ("no reason", {"reason": " "}, ServiceError, "reason", "admin.reason"),
]


@pytest.mark.parametrize(
    ("overrides", "error", "field", "says"),
    [case[1:] for case in REFUSED_CREATES],
    ids=[case[0] for case in REFUSED_CREATES],
)
def test_create_account_refusals(
    clinic: Clinic, overrides: dict[str, Any], error: type[ServiceError], field: str, says: str
) -> None:
    overrides = dict(overrides)
    if overrides.get("site_id") == "other":
        overrides["site_id"] = clinic.other.pk
    if "actor" in overrides:
        overrides["actor"] = clinic.users[overrides["actor"]]
    before = User.objects.count()
    with pytest.raises(error) as caught:
        new_user(clinic, **overrides)
    assert type(caught.value) is error
    assert caught.value.field == field and says in caught.value.detail
    assert User.objects.count() == before


def test_change_role_is_audited_with_its_reason(clinic: Clinic) -> None:
    m = admin.change_role(
        clinic.users["admin"], membership(clinic, "nurse").pk, "physician", reason="promoted"
    )
    assert m.role == Role.PHYSICIAN
    assert access.can(clinic.users["nurse"], access.Action.APPROVE_DEVIATION, clinic.main)
    update = entries("registry.membership", m.pk)[-1]
    assert update.action == "update" and update.reason == "promoted"
    assert (update.old_values, update.new_values) == ({"role": "nurse"}, {"role": "physician"})


def test_remove_membership_is_audited(clinic: Clinic) -> None:
    pk = membership(clinic, "nurse").pk
    admin.remove_membership(clinic.users["admin"], pk, reason="left the clinic")
    assert not Membership.objects.filter(pk=pk).exists()
    gone = entries("registry.membership", pk)[-1]
    assert gone.action == "delete" and gone.reason == "left the clinic"
    # The account stays: accounts are never deleted.
    assert User.objects.filter(pk=clinic.users["nurse"].pk).exists()


def _as_second_admin_elsewhere(c: Clinic) -> None:
    with audit_context(c.users["admin"], reason="test set-up", source="test"):
        Membership.objects.create(user=c.users["admin"], site=c.other, role=Role.ADMIN)


# (case, what the admin does, error class, rule)
Act = Callable[[Clinic], object]
REFUSED_CHANGES: list[tuple[str, Act, type[ServiceError], str]] = [
    (
        "role at another site",
        lambda c: admin.change_role(
            c.users["admin"], membership(c, "other_nurse").pk, "physician", reason="r"
        ),
        NotFound,
        "registry.membership",
    ),
    (
        "remove at another site",
        lambda c: admin.remove_membership(
            c.users["admin"], membership(c, "other_nurse").pk, reason="r"
        ),
        NotFound,
        "registry.membership",
    ),
    (
        "non-admin changes a role",
        lambda c: admin.change_role(
            c.users["physician"], membership(c, "nurse").pk, "physician", reason="r"
        ),
        NotFound,
        "registry.membership",
    ),
    (
        "demote own last admin role",
        lambda c: admin.change_role(
            c.users["admin"], membership(c, "admin").pk, "nurse", reason="r"
        ),
        ServiceError,
        admin.LAST_ADMIN_RULE,
    ),
    (
        "remove own last admin role",
        lambda c: admin.remove_membership(c.users["admin"], membership(c, "admin").pk, reason="r"),
        ServiceError,
        admin.LAST_ADMIN_RULE,
    ),
    (
        "role change without reason",
        lambda c: admin.change_role(
            c.users["admin"], membership(c, "nurse").pk, "physician", reason=""
        ),
        ServiceError,
        "admin.reason",
    ),
    (
        "unknown role",
        lambda c: admin.change_role(
            c.users["admin"], membership(c, "nurse").pk, "boss", reason="r"
        ),
        ServiceError,
        "admin.role",
    ),
    (
        "remove without reason",
        lambda c: admin.remove_membership(c.users["admin"], membership(c, "nurse").pk, reason=""),
        ServiceError,
        "admin.reason",
    ),
    (
        "deactivate at another site",
        lambda c: admin.set_active(c.users["admin"], c.users["other_nurse"].pk, False, reason="r"),
        NotFound,
        "auth.user",
    ),
    (
        "deactivate self",
        lambda c: admin.set_active(c.users["admin"], c.users["admin"].pk, False, reason="r"),
        ServiceError,
        admin.SELF_RULE,
    ),
    (
        "deactivate without reason",
        lambda c: admin.set_active(c.users["admin"], c.users["nurse"].pk, False, reason=""),
        ServiceError,
        "admin.reason",
    ),
]


@pytest.mark.parametrize(
    ("act", "error", "rule"),
    [case[1:] for case in REFUSED_CHANGES],
    ids=[case[0] for case in REFUSED_CHANGES],
)
def test_membership_and_account_refusals(
    clinic: Clinic, act: Act, error: type[ServiceError], rule: str
) -> None:
    roles = sorted(Membership.objects.values_list("pk", "role"))
    with pytest.raises(error) as caught:
        act(clinic)
    assert type(caught.value) is error and caught.value.rule == rule
    assert sorted(Membership.objects.values_list("pk", "role")) == roles
    assert User.objects.filter(is_active=False).count() == 0


def test_own_admin_role_may_go_while_another_remains(clinic: Clinic) -> None:
    _as_second_admin_elsewhere(clinic)
    admin.change_role(
        clinic.users["admin"], membership_at(clinic, "main"), "researcher", reason="r"
    )
    assert access.roles_at(clinic.users["admin"], clinic.main) == {Role.RESEARCHER}


def membership_at(c: Clinic, code: str) -> int:
    return Membership.objects.get(user=c.users["admin"], site__code=code).pk


def test_deactivate_and_reactivate_an_account(clinic: Clinic) -> None:
    nurse = clinic.users["nurse"]
    admin.set_active(clinic.users["admin"], nurse.pk, False, reason="on leave")
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert access.roles_at(nurse, clinic.main) == set()
    assert Client().login(username="nurse", password="correct horse battery staple") is False
    admin.set_active(clinic.users["admin"], nurse.pk, True, reason="back from leave")
    nurse.refresh_from_db()
    assert nurse.is_active
    off, on = entries("auth.user", nurse.pk)
    assert (off.old_values, off.new_values, off.reason) == (
        {"is_active": True},
        {"is_active": False},
        "on leave",
    )
    assert on.new_values == {"is_active": True} and on.reason == "back from leave"
    assert verify().ok


def test_an_account_working_at_another_site_too_cannot_be_deactivated(clinic: Clinic) -> None:
    with audit_context(clinic.users["admin"], reason="test set-up", source="test"):
        Membership.objects.create(user=clinic.users["nurse"], site=clinic.other, role=Role.NURSE)
    with pytest.raises(PermissionDenied) as caught:
        admin.set_active(clinic.users["admin"], clinic.users["nurse"].pk, False, reason="r")
    assert caught.value.rule == "admin.user_at_other_sites"
    # And the staff list shows only the roles at the admin's own site.
    listed = {s.user.username: s for s in admin.staff(clinic.users["admin"])}
    assert [m.site.code for m in listed["nurse"].memberships] == ["main"]


def test_staff_lists_only_the_admins_sites(clinic: Clinic) -> None:
    listed = {s.user.username for s in admin.staff(clinic.users["admin"])}
    assert listed == {"nurse", "physician", "researcher", "admin"}
    assert admin.staff(clinic.users["nurse"]) == []


# --------------------------------------------------------------------------- pages


PAGES = {"staff": {"admin"}, "interruptions": {"admin", "physician"}}


@pytest.mark.parametrize("who", ["nurse", "physician", "researcher", "admin"])
def test_pages_and_nav_by_role(clinic: Clinic, who: str) -> None:
    client = clinic.client(who)
    for name, allowed in PAGES.items():
        response = client.get(reverse(name))
        assert response.status_code == (200 if who in allowed else 403), (who, name)
        assert response.headers["Cache-Control"].startswith("no-store") or (
            "no-store" in response.headers["Cache-Control"]
        )
    home = client.get(reverse("home"))
    nav = client.get(home.headers["Location"]).content.decode()
    assert ('href="/staff/"' in nav) == (who == "admin"), who
    assert ('href="/interruptions/"' in nav) == (who in {"admin", "physician"}), who
    if who == "admin":
        assert home.headers["Location"] == reverse("staff")


def test_staff_page_shows_my_site_only(clinic: Clinic) -> None:
    page = clinic.client("admin").get(reverse("staff")).content.decode()
    assert "nurse" in page and "other_nurse" not in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_admin_pages_write_through_the_services(clinic: Clinic) -> None:
    client = clinic.client("admin")
    form = {
        "username": "nurse2",
        "first_name": "Nia",
        "password": NEW_PASSWORD,
        "site_id": clinic.main.pk,
        "role": "nurse",
        "reason": "new starter",
    }
    refused = client.post(reverse("staff-create"), form | {"password": "abc"})
    assert refused.status_code == 422 and "too short" in refused.content.decode()
    assert 'value="nurse2"' in refused.content.decode()  # kept as typed
    done = client.post(reverse("staff-create"), form, follow=True)
    assert "Account nurse2 created: Nurse at main" in done.content.decode()
    made = Membership.objects.get(user__username="nurse2")
    client.post(reverse("staff-role", args=[made.pk]), {"role": "physician", "reason": "r"})
    made.refresh_from_db()
    assert made.role == Role.PHYSICIAN
    own = membership(clinic, "admin").pk
    last = client.post(reverse("staff-remove", args=[own]), {"reason": "r"})
    assert last.status_code == 422 and admin.LAST_ADMIN_RULE in last.content.decode()
    client.post(reverse("staff-active", args=[made.user_id]), {"active": "no", "reason": "r"})
    assert not User.objects.get(pk=made.user_id).is_active
    client.post(reverse("staff-remove", args=[made.pk]), {"reason": "wrong site"})
    assert not Membership.objects.filter(pk=made.pk).exists()


@pytest.mark.parametrize(
    ("name", "target"),
    [("staff-role", "membership"), ("staff-remove", "membership"), ("staff-active", "account")],
)
def test_other_site_objects_are_not_found(clinic: Clinic, name: str, target: str) -> None:
    pk = (
        membership(clinic, "other_nurse").pk
        if target == "membership"
        else clinic.users["other_nurse"].pk
    )
    data = {"role": "physician", "active": "no", "reason": "r"}
    assert clinic.client("admin").post(reverse(name, args=[pk]), data).status_code == 404
    assert membership(clinic, "other_nurse").role == Role.NURSE
    assert clinic.users["other_nurse"].is_active


def test_staff_create_at_another_site_is_not_found(clinic: Clinic) -> None:
    form = {
        "username": "spy",
        "password": NEW_PASSWORD,
        "site_id": clinic.other.pk,
        "role": "admin",
        "reason": "r",
    }
    assert clinic.client("admin").post(reverse("staff-create"), form).status_code == 404
    assert not User.objects.filter(username="spy").exists()


@pytest.mark.parametrize("who", ["admin", "physician"])
def test_interruption_postpones_planned_infusions(clinic: Clinic, who: str) -> None:
    today = timezone.localdate()
    client = clinic.client(who)
    form = {"starts_on": today.isoformat(), "site_id": clinic.main.pk, "reason": "COVID-19"}
    refused = client.post(reverse("interruption-create"), form | {"reason": ""})
    assert refused.status_code == 422 and "needs a reason" in refused.content.decode()
    page = client.post(reverse("interruption-create"), form, follow=True).content.decode()
    assert "1 planned infusion(s) postponed, 1 interruption call(s) created" in page
    assert "COVID-19" in page
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.status == InfusionStatus.POSTPONED
    clinic.other_infusion.refresh_from_db()
    assert clinic.other_infusion.status == InfusionStatus.PLANNED
    assert FollowUp.objects.filter(patient=clinic.patient, kind="interruption_call").count() == 1


def test_interruption_at_another_site_is_not_found(clinic: Clinic) -> None:
    form = {"starts_on": "2030-01-01", "site_id": clinic.other.pk, "reason": "COVID-19"}
    assert clinic.client("admin").post(reverse("interruption-create"), form).status_code == 404
    # Every site at once needs the right at every site.
    every = clinic.client("admin").post(reverse("interruption-create"), form | {"site_id": "all"})
    assert every.status_code == 403
    assert not ServiceInterruption.objects.exists()


# --------------------------------------------------------------------------- a role at another site


def test_admin_of_both_sites_gives_a_nurse_a_physician_role_at_the_other(clinic: Clinic) -> None:
    _as_second_admin_elsewhere(clinic)
    nurse = clinic.users["nurse"]
    made = admin.add_membership(
        clinic.users["admin"], nurse.pk, clinic.other.pk, "physician", reason="covers other"
    )
    assert (made.site, made.role) == (clinic.other, Role.PHYSICIAN)
    assert access.roles_at(nurse, clinic.main) == {Role.NURSE}
    assert access.can(nurse, access.Action.APPROVE_DEVIATION, clinic.other)
    created = entries("registry.membership", made.pk)
    assert [(e.action, e.reason) for e in created] == [("create", "covers other")]
    assert verify().ok


# (case, what the admin does, error class, field, rule)
REFUSED_ADDS: list[tuple[str, Act, type[ServiceError], str, str]] = [
    (
        "admin of one site only",
        lambda c: admin.add_membership(
            c.users["admin"], c.users["nurse"].pk, c.other.pk, "physician", reason="r"
        ),
        NotFound,
        "site_id",
        "access.site",
    ),
    (
        "account at none of my sites",
        lambda c: admin.add_membership(
            c.users["admin"], c.users["other_nurse"].pk, c.main.pk, "nurse", reason="r"
        ),
        NotFound,
        "user_id",
        "auth.user",
    ),
    (
        "no such account",
        lambda c: admin.add_membership(c.users["admin"], 10**9, c.main.pk, "nurse", reason="r"),
        NotFound,
        "user_id",
        "auth.user",
    ),
    (
        "a role there already",
        lambda c: admin.add_membership(
            c.users["admin"], c.users["nurse"].pk, c.main.pk, "physician", reason="r"
        ),
        Conflict,
        "site_id",
        "admin.membership_exists",
    ),
    (
        "no reason",
        lambda c: admin.add_membership(
            c.users["admin"], c.users["nurse"].pk, c.main.pk, "physician", reason=" "
        ),
        ServiceError,
        "reason",
        "admin.reason",
    ),
    (
        "not an admin",
        lambda c: admin.add_membership(
            c.users["physician"], c.users["nurse"].pk, c.main.pk, "physician", reason="r"
        ),
        NotFound,
        "user_id",
        "auth.user",
    ),
]


@pytest.mark.parametrize(
    ("act", "error", "field", "rule"),
    [case[1:] for case in REFUSED_ADDS],
    ids=[case[0] for case in REFUSED_ADDS],
)
def test_add_role_refusals(
    clinic: Clinic, act: Act, error: type[ServiceError], field: str, rule: str
) -> None:
    before = sorted(Membership.objects.values_list("pk", "user_id", "site_id", "role"))
    with pytest.raises(error) as caught:
        act(clinic)
    assert type(caught.value) is error
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert sorted(Membership.objects.values_list("pk", "user_id", "site_id", "role")) == before


def test_staff_page_adds_a_role_at_another_of_my_sites(clinic: Clinic) -> None:
    client = clinic.client("admin")
    nurse = clinic.users["nurse"]
    url = reverse("staff-add-role", args=[nurse.pk])
    # Administrator of main only: no form to offer, and the other site is not found.
    assert url not in client.get(reverse("staff")).content.decode()
    form = {"site_id": clinic.other.pk, "role": "physician", "reason": "covers other"}
    assert client.post(url, form).status_code == 404
    _as_second_admin_elsewhere(clinic)
    page = client.get(reverse("staff")).content.decode()
    assert url in page
    refused = client.post(url, form | {"reason": ""})
    assert refused.status_code == 422 and "admin.reason" in refused.content.decode()
    done = client.post(url, form, follow=True).content.decode()
    assert "nurse is now also Physician at other" in done
    assert Membership.objects.get(user=nurse, site=clinic.other).role == Role.PHYSICIAN
    again = client.post(url, form | {"role": "nurse"})
    assert again.status_code == 422 and "already has a role at other" in again.content.decode()
    # An account that works only at a site the administrator does not administer: not found.
    stranger = clinic.users["other_nurse"]
    admin.remove_membership(clinic.users["admin"], membership_at(clinic, "other"), reason="r")
    outside = reverse("staff-add-role", args=[stranger.pk])
    assert client.post(outside, form | {"site_id": clinic.main.pk}).status_code == 404
    assert not Membership.objects.filter(user=stranger, site=clinic.main).exists()
