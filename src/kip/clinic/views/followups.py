"""Follow-up calls and visits (24-hour call, clinic visit, service-interruption call), and the
physician's confirmation or override of the engine's responder classification."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from kip.clinic import forms, guards
from kip.registry.access import Action
from kip.registry.models import FollowUp, ResponseDecision
from kip.registry.models.choices import (
    Continuation,
    EndReason,
    FollowUpKind,
    MedicationChange,
    PatientChoice,
)
from kip.registry.services import followups as service
from kip.registry.services.errors import NotFound, ServiceError


def _context(request: HttpRequest, fu: FollowUp) -> dict[str, Any]:
    patient = fu.patient
    try:
        verdict = service.classification_of(fu)
        verdict_error = ""
    except ServiceError as exc:
        verdict, verdict_error = None, exc.detail
    return {
        "fu": fu,
        "infusion": fu.infusion,
        "patient": patient,
        "age": patient.age_on(timezone.localdate()),
        "interruption": fu.kind == FollowUpKind.INTERRUPTION_CALL,
        "verdict": verdict,
        "verdict_error": verdict_error,
        "decisions": ResponseDecision.objects.filter(follow_up=fu)
        .select_related("confirmed_by")
        .order_by("confirmed_at"),
        "medication_changes": MedicationChange.choices,
        "patient_choices": PatientChoice.choices,
        "continuations": [c for c in Continuation.choices if c[0] != Continuation.PENDING],
        "end_reasons": EndReason.choices,
        "done_default": (fu.done_on or timezone.localdate()).isoformat(),
        "can_decide": guards.can_at(request, Action.DECIDE_RESPONSE, patient),
        "errors": {},
        "posted": {},
    }


def _answers(data: Any) -> service.FollowUpAnswers:
    change = data.get("medication_change", "")
    if change and change not in MedicationChange.values:
        raise forms.FieldError("medication_change", "choose from the list")
    relief = forms.decimal(data, "relief_hours")
    choice = data.get("patient_choice", "")
    if choice and choice not in PatientChoice.values:
        raise forms.FieldError("patient_choice", "continue, stop or empty")
    return service.FollowUpAnswers(
        nprs=forms.integer(data, "nprs"),
        qualifier=forms.text(data, "qualifier", 200),
        functional_improvement=forms.boolean(data, "functional_improvement"),
        analgesics_reduced=forms.boolean(data, "analgesics_reduced"),
        relief_hours=None if relief is None else float(relief),
        relief_ongoing=forms.checkbox(data, "relief_ongoing"),
        satisfaction=forms.text(data, "satisfaction", 200),
        adverse_events_reported=forms.text(data, "adverse_events_reported"),
        pain_returned_to_baseline=forms.boolean(data, "pain_returned_to_baseline"),
        medication_change=MedicationChange(change) if change else None,
        function_worse=forms.boolean(data, "function_worse"),
        mobility_worse=forms.boolean(data, "mobility_worse"),
        mood_worse=forms.boolean(data, "mood_worse"),
        appetite_worse=forms.boolean(data, "appetite_worse"),
        note=forms.text(data, "note", 1000),
        patient_choice=PatientChoice(choice) if choice else None,
        adverse_event_limited=forms.checkbox(data, "adverse_event_limited"),
        deceased=forms.checkbox(data, "deceased"),
        other_stop_reason=forms.text(data, "other_stop_reason", 200),
    )


@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    fu = guards.follow_up_or_404(request, pk, Action.RUN_INFUSION)
    if request.method == "POST":
        user = guards.user_of(request)
        try:
            done_on = forms.day(request.POST, "done_on", required=True)
            assert done_on is not None
            recorded = service.record_follow_up(
                user,
                pk,
                _answers(request.POST),
                done_on=done_on,
                reason=forms.text(request.POST, "reason"),
            )
        except NotFound:
            raise Http404("no such follow-up at your sites") from None
        except (ServiceError, forms.FieldError) as exc:
            context = _context(request, fu)
            message = forms.error_text(exc)
            context |= {
                "errors": {"record": message},
                "error_field": exc.field,
                "posted": request.POST,
                "posted_form": "record",
            }
            return render(request, "clinic/follow_up.html", context, status=422)
        verdict = recorded.classification
        summary = ""
        if verdict is not None:
            summary = f" Engine: {'responder' if verdict.responder else 'non-responder'}."
        messages.success(request, f"{fu.get_kind_display()} recorded.{summary}")
        return HttpResponseRedirect(reverse("follow-up", args=[pk]))
    return render(request, "clinic/follow_up.html", _context(request, fu))


@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    fu = guards.follow_up_or_404(request, pk, Action.DECIDE_RESPONSE)
    data = request.POST
    user = guards.user_of(request)
    try:
        agree = data.get("agree") == "yes"
        if agree:
            # A decision is kept for good: agreeing takes a tick, not one click.
            forms.confirmed(data, "confirm_agree", "the engine's classification")
        responder = None if agree else forms.boolean(data, "responder")
        raw_cont = data.get("continuation", "")
        raw_stop = data.get("stop_reason", "")
        if raw_cont and raw_cont not in Continuation.values:
            raise forms.FieldError("continuation", "choose from the list")
        if raw_stop and raw_stop not in EndReason.values:
            raise forms.FieldError("stop_reason", "choose from the list")
        decision, _ = service.confirm_response(
            user,
            pk,
            agree=agree,
            responder=responder,
            continuation=None if agree or not raw_cont else Continuation(raw_cont),
            stop_reason=EndReason(raw_stop) if raw_stop else None,
            reason=forms.text(data, "reason"),
        )
    except NotFound:
        raise Http404("no such follow-up at your sites") from None
    except (ServiceError, forms.FieldError) as exc:
        context = _context(request, fu)
        message = forms.error_text(exc)
        context |= {
            "errors": {"decision": message},
            "error_field": exc.field,
            "posted": data,
            "posted_form": "decision",
        }
        return render(request, "clinic/follow_up.html", context, status=422)
    what = "confirmed" if not decision.override_reason else "overridden"
    messages.success(request, f"Response decision {what}: {decision.get_continuation_display()}.")
    return HttpResponseRedirect(reverse("follow-up", args=[pk]))
