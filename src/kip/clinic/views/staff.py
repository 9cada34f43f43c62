"""The administrator's pages: staff at their sites (add an account, give an account a role at
another of the administrator's sites, change a role, remove a membership, deactivate or
reactivate an account). Each write calls one service of kip.registry.services.admin, which
checks the sites and writes the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kip.clinic import forms, guards
from kip.registry.models import Membership, Site
from kip.registry.models.choices import Role
from kip.registry.services import admin as service
from kip.registry.services.errors import NotFound, ServiceError


@dataclass(frozen=True)
class StaffRow:
    user: User
    memberships: list[Membership]
    open_sites: list[Site]  # the administrator's sites where this account has no role yet


def _rows(staff: list[service.StaffMember], sites: list[Site]) -> list[StaffRow]:
    rows = []
    for s in staff:
        held = {m.site_id for m in s.memberships}
        rows.append(
            StaffRow(s.user, s.memberships, [site for site in sites if site.pk not in held])
        )
    return rows


def _context(request: HttpRequest) -> dict[str, Any]:
    actor = guards.user_of(request)
    sites = list(service.admin_sites(actor).order_by("code"))
    return {
        "staff": _rows(service.staff(actor), sites),
        "sites": sites,
        "roles": Role.choices,
        "me": actor.pk,
        "errors": {},
        "posted": {},
    }


@require_GET
def staff(request: HttpRequest) -> HttpResponse:
    return render(request, "clinic/staff.html", _context(request))


def _after(
    request: HttpRequest,
    form: str,
    write: Callable[[User], str],
    *,
    check: Callable[[], None],
) -> HttpResponse:
    """Another site's id is a 404 before any field is read; then one write, post/redirect/get
    on success, the page again with the service's reasons beside the form's fields on refusal.
    A row's form is named by its row (forms.row_form), so only that row shows the refusal."""
    check()
    try:
        outcome = write(guards.user_of(request))
    except NotFound:
        raise Http404("not at your sites") from None
    except forms.Refused as exc:
        context = _context(request)
        context |= forms.refused_context(exc, form, request.POST)
        status = exc.status if isinstance(exc, ServiceError) and exc.status == 403 else 422
        return render(request, "clinic/staff.html", context, status=status)
    messages.success(request, outcome)
    return HttpResponseRedirect(reverse("staff"))


def _membership_or_404(request: HttpRequest, pk: int) -> Callable[[], None]:
    def check() -> None:
        actor = guards.user_of(request)
        if not Membership.objects.filter(pk=pk, site__in=service.admin_sites(actor)).exists():
            raise Http404("no such membership at your sites")

    return check


def _user_or_404(request: HttpRequest, pk: int) -> Callable[[], None]:
    def check() -> None:
        actor = guards.user_of(request)
        sites = service.admin_sites(actor)
        if not User.objects.filter(pk=pk, memberships__site__in=sites).exists():
            raise Http404("no such account at your sites")

    return check


@require_POST
def create_user(request: HttpRequest) -> HttpResponse:
    data = request.POST

    def write(actor: User) -> str:
        f = forms.Form(data)
        site_id = f.integer("site_id", required=True)
        f.check()
        assert site_id is not None
        made = service.create_user(
            actor,
            site_id,
            username=f.text("username", 150),
            first_name=f.text("first_name", 150),
            last_name=f.text("last_name", 150),
            password=data.get("password", ""),
            role=data.get("role", ""),
            reason=f.text("reason"),
        )
        return (
            f"Account {made.user.username} created: {made.get_role_display()} at {made.site.code}."
        )

    return _after(request, "create", write, check=lambda: None)


@require_POST
def add_role(request: HttpRequest, pk: int) -> HttpResponse:
    """A role at another of the administrator's sites for an account that works at one of them."""
    data = request.POST

    def write(actor: User) -> str:
        f = forms.Form(data)
        site_id = f.integer("site_id", required=True)
        role, reason = data.get("role", ""), f.text("reason")
        # A site that does not parse is told together with the role and the reason.
        f.check(lambda found: service.check_role_and_reason(found, reason, role))
        assert site_id is not None
        m = service.add_membership(actor, pk, site_id, role, reason=reason)
        return f"{m.user.username} is now also {m.get_role_display()} at {m.site.code}."

    return _after(request, forms.row_form("add", pk), write, check=_user_or_404(request, pk))


@require_POST
def change_role(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(actor: User) -> str:
        m = service.change_role(actor, pk, data.get("role", ""), reason=forms.text(data, "reason"))
        return f"{m.user.username} is now {m.get_role_display()} at {m.site.code}."

    form = forms.row_form("role", pk)
    return _after(request, form, write, check=_membership_or_404(request, pk))


@require_POST
def remove_membership(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(actor: User) -> str:
        service.remove_membership(actor, pk, reason=forms.text(data, "reason"))
        return "Role removed."

    form = forms.row_form("remove", pk)
    return _after(request, form, write, check=_membership_or_404(request, pk))


@require_POST
def set_active(request: HttpRequest, pk: int) -> HttpResponse:
    data = request.POST

    def write(actor: User) -> str:
        raw = data.get("active", "")
        if raw not in {"yes", "no"}:
            raise forms.FieldError("active", "yes or no")
        user = service.set_active(actor, pk, raw == "yes", reason=forms.text(data, "reason"))
        state = "reactivated" if user.is_active else "deactivated"
        return f"Account {user.username} {state}."

    return _after(request, forms.row_form("active", pk), write, check=_user_or_404(request, pk))
