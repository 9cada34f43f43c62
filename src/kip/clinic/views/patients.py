"""Patient list with search and filters, and the patient's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kip.clinic import guards
from kip.protocol import loader
from kip.protocol.errors import InputError
from kip.protocol.model import LimitKind
from kip.registry import access
from kip.registry.access import Action
from kip.registry.models import (
    AdjuvantMedication,
    AdverseEvent,
    Enrolment,
    FollowUp,
    Infusion,
    Patient,
    ResponseDecision,
)
from kip.registry.models.choices import Etiology, FollowUpStatus
from kip.registry.services import planning
from kip.registry.services.errors import ServiceError
from kip.registry.services.planning import OPEN
from kip.registry.services.reads import log_view

STATUSES = {
    "active": "On the program",
    "ended": "Program ended",
    "never": "Not enrolled",
}
PAGE_SIZE = 100


def _search(qs: QuerySet[Patient], text: str) -> QuerySet[Patient]:
    # Every word must match a name, the MRN or the research id: "diaz ana" finds Ana Diaz.
    for word in text.split():
        qs = qs.filter(
            Q(given_name__icontains=word)
            | Q(family_name__icontains=word)
            | Q(mrn__icontains=word)
            | Q(research_id__icontains=word)
        )
    return qs


@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    sites = access.sites_for(request.user, Action.VIEW_CLINICAL)
    qs = guards.patients(request, Action.VIEW_CLINICAL).select_related("site")
    q = request.GET.get("q", "").strip()[:100]
    site = request.GET.get("site", "")
    etiology = request.GET.get("etiology", "")
    status = request.GET.get("status", "")
    if q:
        qs = _search(qs, q)
    if site:
        qs = qs.filter(site__code=site)
    if etiology in Etiology.values:
        qs = qs.filter(etiology=etiology)
    open_enrolment = Q(enrolments__ended_on__isnull=True)
    if status == "active":
        qs = qs.filter(open_enrolment, enrolments__isnull=False)
    elif status == "ended":
        qs = qs.filter(enrolments__isnull=False).exclude(
            pk__in=Enrolment.objects.filter(ended_on__isnull=True).values("patient")
        )
    elif status == "never":
        qs = qs.filter(enrolments__isnull=True)
    qs = qs.annotate(
        n_infusions=Count(
            "infusions", filter=Q(infusions__started_at__isnull=False), distinct=True
        ),
        last_infusion=Max("infusions__planned_on", filter=Q(infusions__started_at__isnull=False)),
        active=Count("enrolments", filter=open_enrolment, distinct=True),
        n_enrolments=Count("enrolments", distinct=True),
    ).order_by("family_name", "given_name", "pk")
    total = qs.count()
    today = timezone.localdate()
    rows = [
        {
            "patient": p,
            "age": p.age_on(today),
            "status": "active" if p.active else ("ended" if p.n_enrolments else "never"),
        }
        for p in qs[:PAGE_SIZE]
    ]
    context = {
        "rows": rows,
        "total": total,
        "truncated": total > PAGE_SIZE,
        "q": q,
        "site": site,
        "etiology": etiology,
        "status": status,
        "sites": sites,
        "etiologies": Etiology.choices,
        "statuses": STATUSES,
        "show_site": sites.count() > 1,
    }
    if "HX-Request" in request.headers and "HX-Boosted" not in request.headers:
        return render(request, "clinic/_patient_rows.html", context)
    return render(request, "clinic/patients.html", context)


def _clearable(patient: Patient, enrolments: list[Enrolment]) -> list[tuple[str, str]]:
    """The patient's recorded conditions that are soft exclusions of the open enrolment's
    protocol and not yet cleared: (id, label) for the physician's clearance form."""
    current = next((e for e in enrolments if e.ended_on is None), None)
    if current is None:
        return []
    try:
        protocol = loader.load(current.protocol_id)
    except InputError:
        return []
    cleared = set(patient.clearances.values_list("exclusion_id", flat=True))
    conditions = set(patient.conditions)
    return [
        (e.id, e.label)
        for e in protocol.eligibility.exclusions
        if e.kind is LimitKind.SOFT and e.id in conditions and e.id not in cleared
    ]


@dataclass(frozen=True)
class TimelineEntry:
    day: date
    kind: str
    text: str
    url: str = ""


def patient_context(request: HttpRequest, patient: Patient) -> dict[str, Any]:
    """What the patient page shows: the record, the plan and its forms (no refusal yet)."""
    infusions = list(
        Infusion.objects.filter(patient=patient)
        .annotate(n_events=Count("adverse_events"))
        .order_by("number")
    )
    events = list(
        AdverseEvent.objects.filter(infusion__patient=patient)
        .select_related("infusion")
        .order_by("infusion__number", "onset_minute")
    )
    follow_ups = list(
        FollowUp.objects.filter(patient=patient).select_related("infusion").order_by("due_on", "id")
    )
    medications = list(
        AdjuvantMedication.objects.filter(patient=patient).prefetch_related(Prefetch("changes"))
    )
    decisions = list(
        ResponseDecision.objects.filter(infusion__patient=patient)
        .select_related("infusion", "confirmed_by")
        .order_by("confirmed_at")
    )
    enrolments = list(patient.enrolments.all())
    today = timezone.localdate()
    open_infusion = next((i for i in infusions if i.status in OPEN), None)
    plan, plan_unavailable = None, ""
    try:
        if open_infusion is not None:
            # The scheduled infusion's own plan, with its check results.
            plan = planning.plan_for_infusion(guards.user_of(request), open_infusion.pk)
        else:
            plan = planning.plan_next(guards.user_of(request), patient.pk, today)
    except ServiceError as exc:
        plan_unavailable = exc.detail

    timeline: list[TimelineEntry] = []
    for inf in infusions:
        rate = f", max {float(inf.max_rate_mg_per_h):g} mg/h" if inf.max_rate_mg_per_h else ""
        timeline.append(
            TimelineEntry(
                inf.planned_on,
                "infusion",
                f"Infusion {inf.number} ({inf.phase}): {inf.get_status_display()}{rate}",
                f"/infusions/{inf.pk}/",
            )
        )
    for ev in events:
        timeline.append(
            TimelineEntry(
                ev.infusion.planned_on,
                "event",
                f"Adverse event in infusion {ev.infusion.number}: {ev.term} at min "
                f"{float(ev.onset_minute):g}, {ev.get_resolution_display().lower()}",
            )
        )
    for fu in follow_ups:
        timeline.append(
            TimelineEntry(
                fu.done_on or fu.due_on,
                "follow-up",
                f"{fu.get_kind_display()}"
                + (f" after infusion {fu.infusion.number}" if fu.infusion else "")
                + ": "
                f"{fu.get_status_display().lower()}"
                + (f", NPRS {fu.nprs}" if fu.nprs is not None else ""),
                f"/follow-ups/{fu.pk}/",
            )
        )
    for med in medications:
        if med.started_on:
            timeline.append(TimelineEntry(med.started_on, "medication", f"Started {med}"))
        for change in med.changes.all():
            timeline.append(
                TimelineEntry(
                    change.changed_on,
                    "medication",
                    f"{med.drug}: {change.get_change_display().lower()}"
                    + (f" to {change.dose}" if change.dose else ""),
                )
            )
    for d in decisions:
        timeline.append(
            TimelineEntry(
                d.confirmed_at.date(),
                "decision",
                f"Infusion {d.infusion.number}: "
                f"{'responder' if d.responder else 'non-responder'}, "
                f"{d.get_continuation_display().lower()}"
                + (" (overrides the engine)" if d.override_reason else ""),
            )
        )
    for e in enrolments:
        timeline.append(TimelineEntry(e.started_on, "program", f"Enrolled ({e.protocol_id})"))
        if e.ended_on:
            timeline.append(
                TimelineEntry(e.ended_on, "program", f"Program ended: {e.get_end_reason_display()}")
            )
    timeline.sort(key=lambda t: t.day, reverse=True)

    return {
        "patient": patient,
        "age": patient.age_on(today),
        "infusions": infusions,
        "events": events,
        "follow_ups": follow_ups,
        "due_follow_ups": [f for f in follow_ups if f.status == FollowUpStatus.DUE],
        "medications": medications,
        "decisions": decisions,
        "latest_decision": decisions[-1] if decisions else None,
        "enrolments": enrolments,
        "timeline": timeline,
        "plan": plan,
        "plan_unavailable": plan_unavailable,
        "today": today,
        "can_run": guards.can_at(request, Action.RUN_INFUSION, patient),
        "open_infusion": open_infusion,
        "can_decide": guards.can_at(request, Action.DECIDE_RESPONSE, patient),
        "can_clear": guards.can_at(request, Action.APPROVE_DEVIATION, patient),
        "clearable": _clearable(patient, enrolments),
        "clearances": list(patient.clearances.select_related("cleared_by")),
        "errors": {},
        "posted": {},
    }


@require_GET
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = guards.patient_or_404(request, pk, Action.VIEW_CLINICAL)
    context = patient_context(request, patient)
    # Whatever the request's headers: this view always renders the whole record.
    log_view(guards.user_of(request), patient, source="app")
    return render(request, "clinic/patient.html", context)
