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
from kip.registry.services.reads import log_view


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


def _answers(f: forms.Form) -> service.FollowUpAnswers:
    """The answers as typed; a field that does not parse is noted in `f` and read as missing."""
    change = f.choice("medication_change", MedicationChange.values, "choose from the list")
    choice = f.choice("patient_choice", PatientChoice.values, "continue, stop or empty")
    return service.FollowUpAnswers(
        nprs=f.integer("nprs"),
        qualifier=f.text("qualifier", 200),
        functional_improvement=f.boolean("functional_improvement"),
        analgesics_reduced=f.boolean("analgesics_reduced"),
        relief_hours=f.number("relief_hours"),
        relief_ongoing=f.checkbox("relief_ongoing"),
        satisfaction=f.text("satisfaction", 200),
        adverse_events_reported=f.text("adverse_events_reported"),
        pain_returned_to_baseline=f.boolean("pain_returned_to_baseline"),
        medication_change=MedicationChange(change) if change else None,
        function_worse=f.boolean("function_worse"),
        mobility_worse=f.boolean("mobility_worse"),
        mood_worse=f.boolean("mood_worse"),
        appetite_worse=f.boolean("appetite_worse"),
        note=f.text("note", 1000),
        patient_choice=PatientChoice(choice) if choice else None,
        adverse_event_limited=f.checkbox("adverse_event_limited"),
        deceased=f.checkbox("deceased"),
        other_stop_reason=f.text("other_stop_reason", 200),
    )


@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    fu = guards.follow_up_or_404(request, pk, Action.RUN_INFUSION)
    if request.method == "POST":
        user = guards.user_of(request)
        try:
            f = forms.Form(request.POST)
            done_on = f.day("done_on", required=True)
            answers = _answers(f)
            f.check(lambda found: service.check_answers(found, answers))
            assert done_on is not None
            recorded = service.record_follow_up(
                user, pk, answers, done_on=done_on, reason=f.text("reason")
            )
        except NotFound:
            raise Http404("no such follow-up at your sites") from None
        except forms.Refused as exc:
            context = _context(request, fu)
            context |= forms.refused_context(exc, "record", request.POST)
            return render(request, "clinic/follow_up.html", context, status=422)
        verdict = recorded.classification
        summary = ""
        if verdict is not None:
            summary = f" Engine: {'responder' if verdict.responder else 'non-responder'}."
        messages.success(request, f"{fu.get_kind_display()} recorded.{summary}")
        return HttpResponseRedirect(reverse("follow-up", args=[pk]))
    # Only the page load is a view: a refused POST shows the page again to the one who just
    # wrote it, and a recorded one redirects here.
    context = _context(request, fu)
    log_view(guards.user_of(request), fu, source="app")
    return render(request, "clinic/follow_up.html", context)


@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    fu = guards.follow_up_or_404(request, pk, Action.DECIDE_RESPONSE)
    data = request.POST
    user = guards.user_of(request)
    try:
        f = forms.Form(data)
        agree = data.get("agree") == "yes"
        if agree:
            # A decision is kept for good: agreeing takes a tick, not one click.
            f.confirmed("confirm_agree", "the engine's classification")
        responder = None if agree else f.boolean("responder")
        raw_cont = f.choice("continuation", Continuation.values, "choose from the list")
        raw_stop = f.choice("stop_reason", EndReason.values, "choose from the list")
        f.check()
        decision, _ = service.confirm_response(
            user,
            pk,
            agree=agree,
            responder=responder,
            continuation=None if agree or not raw_cont else Continuation(raw_cont),
            stop_reason=EndReason(raw_stop) if raw_stop else None,
            reason=f.text("reason"),
        )
    except NotFound:
        raise Http404("no such follow-up at your sites") from None
    except forms.Refused as exc:
        context = _context(request, fu)
        context |= forms.refused_context(exc, "decision", data)
        return render(request, "clinic/follow_up.html", context, status=422)
    what = "confirmed" if not decision.override_reason else "overridden"
    messages.success(request, f"Response decision {what}: {decision.get_continuation_display()}.")
    return HttpResponseRedirect(reverse("follow-up", args=[pk]))
