"""Access checks for the clinic's views, taken from the one declaration in `access.ROUTES`.

A route is declared once, in urls.py, with `clinic_path(...)`: that both records its action in
ROUTES and wraps the view, so the table the access test reads and the check the view makes cannot
drift apart. A user who holds the action at no site gets 403; an object outside the user's sites
gets 404, so ids from another site reveal nothing (OWASP API1:2023).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path

from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import FollowUp, Infusion, Patient

View = Callable[..., HttpResponseBase]


def guard(action: Action | None, view: View) -> View:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if action is not None:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not access.sites_for(request.user, action).exists():
                raise PermissionDenied(f"needs {action.value}")
        return view(request, *args, **kwargs)

    return guarded


def clinic_path(route: str, view: View, name: str, action: Action | None) -> URLPattern:
    return path(route, guard(action, view), name=access.route(name, action))


def user_of(request: HttpRequest) -> User:
    """The signed-in user (the guard has turned anonymous requests away)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("sign in first")
    return user


def patients(request: HttpRequest, action: Action) -> QuerySet[Patient]:
    return access.patients_for(request.user, action)


def patient_or_404(request: HttpRequest, pk: int, action: Action) -> Patient:
    try:
        return patients(request, action).select_related("site").get(pk=pk)
    except Patient.DoesNotExist:
        raise Http404("no such patient at your sites") from None


def infusion_or_404(request: HttpRequest, pk: int, action: Action) -> Infusion:
    try:
        return (
            Infusion.objects.select_related("patient", "patient__site", "enrolment")
            .filter(patient__in=patients(request, action))
            .get(pk=pk)
        )
    except Infusion.DoesNotExist:
        raise Http404("no such infusion at your sites") from None


def follow_up_or_404(request: HttpRequest, pk: int, action: Action) -> FollowUp:
    try:
        return (
            FollowUp.objects.select_related("infusion", "patient")
            .filter(patient__in=patients(request, action))
            .get(pk=pk)
        )
    except FollowUp.DoesNotExist:
        raise Http404("no such follow-up at your sites") from None


def can_at(request: HttpRequest, action: Action, patient: Patient) -> bool:
    return access.can(request.user, action, patient.site)
