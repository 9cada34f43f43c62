"""The researcher's page: the cohort without identifiers (HIPAA Safe Harbor: research id, no
names, MRN or dates beyond the year)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kip.clinic import guards
from kip.registry.models import ResponseDecision
from kip.registry.models.choices import Etiology, InfusionStatus
from kip.registry.services import patients as patient_service
from kip.registry.services.reads import RESEARCH_COHORT, log_export

GIVEN = (InfusionStatus.COMPLETED, InfusionStatus.STOPPED)


@require_GET
def research(request: HttpRequest) -> HttpResponse:
    found = (
        patient_service.research_patients(guards.user_of(request))
        .annotate(
            n_infusions=Count("infusions", filter=Q(infusions__status__in=GIVEN), distinct=True),
            n_events=Count("infusions__adverse_events", distinct=True),
            first_year=Max("enrolments__started_on__year"),
        )
        .order_by("research_id")
    )
    patients = list(found)
    latest: dict[int, bool] = {}
    decisions = (
        ResponseDecision.objects.filter(infusion__patient__in=patients)
        .order_by("confirmed_at", "pk")
        .values_list("infusion__patient_id", "responder")
    )
    for patient_id, responder in decisions:
        latest[patient_id] = responder
    # Only these fields leave the view: no name, MRN, date of birth or site.
    rows: list[dict[str, Any]] = [
        {
            "research_id": p.research_id,
            "sex": p.get_sex_display(),
            "etiology": p.etiology,
            "etiology_label": p.get_etiology_display(),
            "primary_cancer": p.get_primary_cancer_display(),
            "n_infusions": p.n_infusions,
            "n_events": p.n_events,
            "first_year": p.first_year,
            "responder": latest.get(p.pk),
        }
        for p in patients
    ]
    by_etiology = {
        label: {
            "patients": sum(1 for r in rows if r["etiology"] == code),
            "responders": sum(1 for r in rows if r["etiology"] == code and r["responder"]),
        }
        for code, label in Etiology.choices
    }
    research_ids = (r["research_id"] for r in rows)
    log_export(guards.user_of(request), RESEARCH_COHORT, len(rows), research_ids, source="app")
    return render(request, "clinic/research.html", {"rows": rows, "by_etiology": by_etiology})
