"""Program-level pages: service interruptions (e.g. COVID-19), which postpone the planned
infusions inside the date range and create an interruption call for each enrolled patient
(kip.registry.services.program.create_service_interruption)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kip.clinic import forms, guards
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import Site
from kip.registry.services import program as service
from kip.registry.services.errors import NotFound, ServiceError


def _context(request: HttpRequest) -> dict[str, Any]:
    user = guards.user_of(request)
    sites = list(access.sites_for(user, Action.MANAGE_PROGRAM).order_by("code"))
    return {
        "interruptions": service.interruptions(user).select_related("site"),
        "sites": sites,
        # A program-wide pause needs the right at every site.
        "every_site": len(sites) == Site.objects.count(),
        "errors": {},
        "posted": {},
    }


@require_GET
def interruptions(request: HttpRequest) -> HttpResponse:
    return render(request, "clinic/interruptions.html", _context(request))


@require_POST
def create_interruption(request: HttpRequest) -> HttpResponse:
    data = request.POST
    try:
        f = forms.Form(data)
        starts_on = f.day("starts_on", required=True)
        ends_on = f.day("ends_on")
        raw_site = data.get("site_id", "")
        site_id = None if raw_site == "all" else f.integer("site_id", required=True)
        reason = f.text("reason", 200)
        f.check(lambda found: service.check_interruption(found, starts_on, ends_on, reason))
        assert starts_on is not None
        made = service.create_service_interruption(
            guards.user_of(request), starts_on, reason, ends_on=ends_on, site_id=site_id
        )
    except NotFound:
        raise Http404("no such site among yours") from None
    except forms.Refused as exc:
        context = _context(request)
        context |= forms.refused_context(exc, "create", data)
        status = 403 if isinstance(exc, ServiceError) and exc.status == 403 else 422
        return render(request, "clinic/interruptions.html", context, status=status)
    messages.success(
        request,
        f"Service interruption recorded: {len(made.postponed)} planned infusion(s) postponed, "
        f"{len(made.calls)} interruption call(s) created.",
    )
    return HttpResponseRedirect(reverse("interruptions"))
